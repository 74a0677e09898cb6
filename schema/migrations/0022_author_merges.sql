-- Merged duplicate authors: the catalog projection marks the duplicate, makes its books list
-- the author it was merged into, and queues the move of its followers (a gateway job, as for
-- books).
ALTER TABLE authors ADD COLUMN merged_into uuid;

CREATE TABLE author_merges (
    duplicate   uuid PRIMARY KEY,
    into_id     uuid NOT NULL,
    position    bigint NOT NULL,
    done        boolean NOT NULL DEFAULT false,
    held_until  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX author_merges_waiting ON author_merges (created_at) WHERE NOT done;
