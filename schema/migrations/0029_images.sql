-- Images readers and librarians upload: avatars, covers and author photos. The gateway decodes
-- each upload, re-encodes it (no metadata survives) in two sizes and stores both here, under the
-- SHA-256 of the larger one; events name an image by that id, never carry its bytes. This table
-- is no projection (a rebuild never touches it): the worker deletes an image once no reader,
-- book or author uses it (`readers.avatar`, `books.cover`, `authors.photo`, which the
-- projections keep) and it was last uploaded long enough ago for any command naming it to have
-- been recorded.
CREATE TABLE images (
    image_id  text PRIMARY KEY CHECK (image_id ~ '^[0-9a-f]{64}$'),
    -- The larger rendition's size in pixels; the smaller one keeps its proportions.
    width     int NOT NULL CHECK (width > 0),
    height    int NOT NULL CHECK (height > 0),
    large     bytea NOT NULL,
    small     bytea NOT NULL,
    -- When it was last uploaded (by anyone): the sweep leaves younger images alone.
    stored_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX images_stored_at ON images (stored_at);

ALTER TABLE readers ADD COLUMN avatar text;
ALTER TABLE books ADD COLUMN cover text;
ALTER TABLE authors ADD COLUMN photo text;
CREATE INDEX readers_avatar ON readers (avatar) WHERE avatar IS NOT NULL;
CREATE INDEX books_cover ON books (cover) WHERE cover IS NOT NULL;
CREATE INDEX authors_photo ON authors (photo) WHERE photo IS NOT NULL;

