-- A library import matches a row to the catalog by title and first author, folded as search
-- folds them (case and accents aside), when its ISBNs match no edition.
CREATE INDEX books_by_title ON books (search_text(title));
CREATE INDEX authors_by_name ON authors (search_text(name));
