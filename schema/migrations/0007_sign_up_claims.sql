-- Sign-up claims its handle before it records the reader: the credentials row commits first
-- and remembers what the event needs, so a retry (or the first sign-in) finds it and finishes
-- the registration with the same command id. A lost reply or a failed append never leaves a
-- handle twice or a reader without credentials.
ALTER TABLE social_credentials
    ADD COLUMN handle       text NOT NULL DEFAULT '',
    ADD COLUMN display_name text NOT NULL DEFAULT '',
    ADD COLUMN command_id   uuid,
    ADD COLUMN registered   boolean NOT NULL DEFAULT true;
