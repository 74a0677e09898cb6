-- Who sees reader $1's reading.
SELECT reading_visibility AS "visibility: ReadingVisibility" FROM readers WHERE reader_id = $1
