-- The first admin is a reader, not a handle: the reader holding READSTREAM_ADMIN's handle when
-- the social service first sees it (at its start, or at that handle's sign-up) stays the first
-- admin for good. Once they delete their account `reader_id` is NULL, and whoever signs the
-- freed handle up later is no admin. A claim that expires unrecorded unbinds it.
CREATE TABLE social_first_admin (
    handle_key text PRIMARY KEY,
    reader_id  uuid
);
