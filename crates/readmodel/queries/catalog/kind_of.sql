-- What id $1 names: a book, an author or a reader.
SELECT 'book' AS "kind!: NodeKind" FROM books WHERE book_id = $1
UNION ALL SELECT 'author' FROM authors WHERE author_id = $1
UNION ALL SELECT 'reader' FROM readers WHERE reader_id = $1
LIMIT 1
