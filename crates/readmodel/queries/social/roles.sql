-- The roles reader $1 holds.
SELECT role FROM reader_roles WHERE reader_id = $1 ORDER BY role
