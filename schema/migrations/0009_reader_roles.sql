-- The roles each reader holds (LIBRARIAN, ADMIN), as the readers projection folds them from
-- RoleGranted and RoleRevoked. Only shown to clients: the command services check roles from
-- the log itself.
CREATE TABLE reader_roles (
    reader_id uuid NOT NULL,
    role      text NOT NULL,
    PRIMARY KEY (reader_id, role)
);
