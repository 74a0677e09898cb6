-- Search looks for a query's words as they are first (full text over the folded title and
-- subtitle, one index lookup per word), and only when no book has any of them does it fall
-- back to trigram similarity, which forgives typos but must merge the posting lists of every
-- trigram of the query: ~80 ms over a million titles, against a few for whole words.
CREATE INDEX books_words ON books USING gin (to_tsvector('simple', search_text(title || ' ' || subtitle)));
