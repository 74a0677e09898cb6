-- Merged duplicates. The catalog projection marks a duplicate book with the book it was merged
-- into (its id resolves there; lists leave it out) and, in the same transaction, queues the move
-- of its readers' ratings, shelves and reviews (for an author, of its followers), which a
-- gateway makes with their own commands: a job like an import's, held while it runs and resumed
-- by any process.
ALTER TABLE books ADD COLUMN merged_into uuid;

CREATE TABLE merges (
    duplicate   uuid PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('book', 'author')),
    into_id     uuid NOT NULL,
    -- The stream position of the merge: the readers are read once the read models include it.
    position    bigint NOT NULL,
    done        boolean NOT NULL DEFAULT false,
    held_until  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX merges_waiting ON merges (created_at) WHERE NOT done;
