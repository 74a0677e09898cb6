-- Books and authors a reader's import brought in are unverified until a librarian edits (so
-- verifies) or merges them: shelved, rated and reviewed like any other, shared by the next
-- importer of the same title and author, but out of search and the catalog's lists.
ALTER TABLE books ADD COLUMN verified boolean NOT NULL DEFAULT true;
ALTER TABLE authors ADD COLUMN verified boolean NOT NULL DEFAULT true;
CREATE INDEX books_unverified ON books (position) WHERE NOT verified AND merged_into IS NULL;
