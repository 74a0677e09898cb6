-- Merged duplicate authors: the catalog projection marks the duplicate and makes its books
-- list the author it was merged into; the move of its followers is queued in `merges`.
ALTER TABLE authors ADD COLUMN merged_into uuid;
