-- Librarians' edits and author accounts, kept by the `catalog` projection.

-- The reader account a librarian linked to this author: their reviews carry the author's badge.
ALTER TABLE authors ADD COLUMN reader_id uuid;
CREATE INDEX authors_by_reader ON authors (reader_id, position) WHERE reader_id IS NOT NULL;
