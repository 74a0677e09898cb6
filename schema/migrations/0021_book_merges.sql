-- Merged duplicates: the catalog projection marks a duplicate with the book it was merged
-- into (its id resolves there; lists leave it out) and, in the same transaction, queues the
-- move of its readers' ratings, shelves and reviews, which a gateway makes with their own
-- commands (a job like an import's: held while it runs, resumed by any process).
ALTER TABLE books ADD COLUMN merged_into uuid;

CREATE TABLE book_merges (
    duplicate   uuid PRIMARY KEY,
    into_id     uuid NOT NULL,
    -- The stream position of the merge: the readers are read once the read models include it.
    position    bigint NOT NULL,
    done        boolean NOT NULL DEFAULT false,
    held_until  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX book_merges_waiting ON book_merges (created_at) WHERE NOT done;
