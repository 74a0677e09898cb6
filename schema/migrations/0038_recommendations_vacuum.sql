-- The recommendations' reads scan book_pairs and rec_known by covering indexes, which skip the
-- table only on pages the visibility map marks all-visible, and every upsert of the
-- projection clears its page's mark. At Postgres's default (vacuum once a fifth of a table
-- changed) a large, constantly updated book_pairs stays mostly unmarked, and each pair a query
-- reads costs a heap fetch: at the bench's full size, the "for you" query's p99 in Postgres was
-- 30 ms before a vacuum and 12 ms after. Vacuum them once a hundredth changed instead.
ALTER TABLE book_pairs SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);
ALTER TABLE rec_known SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01);
