-- What id $1 names: a book ($2), an author ($3) or a reader ($4).
SELECT $2::text AS "kind!: NodeKind" FROM books WHERE book_id = $1
UNION ALL SELECT $3 FROM authors WHERE author_id = $1
UNION ALL SELECT $4 FROM readers WHERE reader_id = $1
LIMIT 1
