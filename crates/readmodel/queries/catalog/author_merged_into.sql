-- The author author $1 was merged into, if it was merged.
SELECT merged_into FROM authors WHERE author_id = $1
