-- The edition a reader holds of a book on their shelves (ISBN-13), if they named one; kept by
-- the `shelves` projection.
ALTER TABLE shelf_entries ADD COLUMN edition_isbn text;
