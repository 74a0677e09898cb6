-- Ratings keep their quarters: `rateBook` takes 1 to 5 in steps of 0.25, and a StoryGraph
-- import's 3.75 is no longer rounded to 4 on its way into the read models. Every copy of a
-- rating is now in quarter stars (4 to 20) and a book's sum too, so averages and sums are
-- exact; the histogram keeps its five whole-star buckets (quarters rounded half up).
--
-- Whole stars convert exactly (times four). Ratings that were imported with quarters were
-- stored rounded, so the projections that copy stars are marked `rebuild_due`: the projector
-- rebuilds them from the stream into fresh tables at its next start, beside the ones this
-- migration converts, and swaps them in when caught up.

-- A projection a migration asks to be rebuilt (see above); set back once the rebuild is in.
ALTER TABLE projection_checkpoints ADD COLUMN rebuild_due boolean NOT NULL DEFAULT false;

-- The checks name the old columns: they go, and come back in quarters.
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'ratings'::regclass AND contype = 'c' LOOP
        EXECUTE format('ALTER TABLE ratings DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;
ALTER TABLE ratings RENAME COLUMN stars TO quarter_stars;
UPDATE ratings SET quarter_stars = quarter_stars * 4;
ALTER TABLE ratings ADD CONSTRAINT ratings_quarter_stars_check CHECK (quarter_stars BETWEEN 4 AND 20);

ALTER TABLE book_ratings RENAME COLUMN ratings_sum TO quarter_stars_sum;
UPDATE book_ratings SET quarter_stars_sum = quarter_stars_sum * 4;

ALTER TABLE review_ratings RENAME COLUMN stars TO quarter_stars;
UPDATE review_ratings SET quarter_stars = quarter_stars * 4;

-- Lowest rated first still puts a review without stars last: past 20 quarters now, not 5 stars.
ALTER TABLE reviews RENAME COLUMN stars TO quarter_stars;
UPDATE reviews SET quarter_stars = quarter_stars * 4 WHERE quarter_stars IS NOT NULL;
DROP INDEX reviews_lowest_rated;
CREATE INDEX reviews_lowest_rated ON reviews (book_id, (coalesce(quarter_stars, 21)), written_on, review_id) WHERE NOT withdrawn;

ALTER TABLE activities RENAME COLUMN stars TO quarter_stars;
UPDATE activities SET quarter_stars = quarter_stars * 4 WHERE quarter_stars IS NOT NULL;

-- A fresh database has nothing to rebuild.
UPDATE projection_checkpoints SET rebuild_due = true
WHERE name IN ('ratings', 'reviews', 'feed') AND position > 0;
