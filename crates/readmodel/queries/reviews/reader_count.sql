-- Reader $1's live reviews, counted as they change.
SELECT reviews_count FROM reader_review_counts WHERE reader_id = $1
