//! The search's one read: ranked hits across books, authors and readers.

use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Book,
    Author,
    Reader,
}

/// Which kinds a search looks for.
#[derive(Debug, Clone, Copy)]
pub struct Wanted {
    pub books: bool,
    pub authors: bool,
    pub readers: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Hit {
    pub kind: Kind,
    pub id: Uuid,
    /// Where it stands in the order: the key of the next page's `after`.
    pub key: Key,
}

/// A hit's place in the order: score (highest first), kind (books, authors, readers), and
/// position (earliest added first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Key {
    pub score: f32,
    pub kind: i32,
    pub position: i64,
}

/// Up to `limit` hits after `after` (from the first when `None`), best first. A book scores by how much of `query` its title
/// and subtitle hold (pg_trgm's word similarity, which forgives a typo or two); books holding
/// a word of the query as it is are found through the full-text index, and the slower trigram
/// index over titles is searched only when none does and no author matched. Or a book scores nine tenths
/// of its best-matching author's; an edition's exact ISBN outranks everything. Ties go to books,
/// then authors, then readers, and to the earliest added.
pub async fn search(
    pool: &PgPool,
    query: &str,
    isbn: Option<&str>,
    wanted: Wanted,
    viewer: Option<Uuid>,
    after: Option<Key>,
    limit: i64,
) -> Result<Vec<Hit>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"WITH q AS MATERIALIZED (
             SELECT search_text($1) AS q,
                    -- Any of the query's words, whole: `'moskow' | '1956'`.
                    (SELECT to_tsquery('simple', string_agg(quote_literal(word), ' | '))
                     FROM regexp_split_to_table(search_text($1), '[^[:alnum:]]+') AS word
                     WHERE word <> '') AS words
         ),
         -- Once, for the authors found and for their books.
         matched_authors AS MATERIALIZED (
             SELECT a.author_id, a.position, word_similarity(q.q, search_text(a.name)) AS score
             FROM authors a, q
             WHERE ($3 OR $4) AND search_text(a.name) %> q.q AND a.merged_into IS NULL AND a.verified
         ),
         -- Books holding a word of the query as it is, scored as the trigram pass scores them;
         -- the trigram pass over titles runs only when there is none and no author matched
         -- (a typo in every word of a title).
         books_by_words AS MATERIALIZED (
             SELECT book_id, score, position FROM (
                 SELECT b.book_id, word_similarity(q.q, search_text(b.title || ' ' || b.subtitle)) AS score, b.position
                 FROM books b, q
                 WHERE $3 AND to_tsvector('simple', search_text(b.title || ' ' || b.subtitle)) @@ q.words
                   AND b.merged_into IS NULL AND b.verified
             ) scored
             -- What `%>` keeps: pg_trgm's word_similarity_threshold, left at its default.
             WHERE score >= 0.6
         ),
         hits AS (
             SELECT 0 AS kind, e.book_id AS id, 2.0::real AS score, b.position
             FROM editions e JOIN books b USING (book_id)
             WHERE $3 AND e.isbn = $2 AND b.verified
           UNION ALL
             SELECT 0, book_id, score, position FROM books_by_words
           UNION ALL
             SELECT 0, b.book_id, word_similarity(q.q, search_text(b.title || ' ' || b.subtitle)), b.position
             FROM books b, q
             WHERE $3 AND NOT EXISTS (SELECT 1 FROM books_by_words) AND NOT EXISTS (SELECT 1 FROM matched_authors)
               AND search_text(b.title || ' ' || b.subtitle) %> q.q AND b.merged_into IS NULL AND b.verified
           UNION ALL
             SELECT 0, ba.book_id, m.score * 0.9::real, b.position
             FROM matched_authors m JOIN book_authors ba USING (author_id) JOIN books b USING (book_id)
             WHERE $3 AND b.merged_into IS NULL AND b.verified
           UNION ALL
             SELECT 1, m.author_id, m.score, m.position
             FROM matched_authors m
             WHERE $4
           UNION ALL
             SELECT 2, r.reader_id, word_similarity(q.q, search_text(r.handle || ' ' || r.display_name)), r.position
             FROM readers r, q
             WHERE $5 AND search_text(r.handle || ' ' || r.display_name) %> q.q
               AND NOT EXISTS (
                   SELECT 1 FROM blocks
                   WHERE (blocker_id = r.reader_id AND blocked_id = $6) OR (blocker_id = $6 AND blocked_id = r.reader_id))
         ),
         ranked AS (SELECT kind, id, max(score) AS score, min(position) AS position FROM hits GROUP BY kind, id)
         SELECT kind AS "kind!", id AS "id!", score AS "score!", position AS "position!"
         FROM ranked
         WHERE $7::real IS NULL
            OR score < $7 OR (score = $7 AND (kind > $8 OR (kind = $8 AND position > $9)))
         ORDER BY score DESC, kind, position
         LIMIT $10"#,
        query,
        isbn,
        wanted.books,
        wanted.authors,
        wanted.readers,
        viewer,
        after.map(|key| key.score),
        after.map(|key| key.kind),
        after.map(|key| key.position),
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Hit {
            kind: match row.kind {
                0 => Kind::Book,
                1 => Kind::Author,
                _ => Kind::Reader,
            },
            id: row.id,
            key: Key { score: row.score, kind: row.kind, position: row.position },
        })
        .collect())
}
