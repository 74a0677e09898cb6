-- Book $1's live reviews, counted as they change.
SELECT reviews_count FROM book_review_counts WHERE book_id = $1
