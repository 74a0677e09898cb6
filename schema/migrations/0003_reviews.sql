-- Reviews, likes and comments, projected by the `reviews` projection.

INSERT INTO projection_checkpoints (name) VALUES ('reviews');

CREATE TABLE reviews (
    review_id         uuid PRIMARY KEY,
    reader_id         uuid NOT NULL,
    book_id           uuid NOT NULL,
    -- As the reader wrote it: plain text or Markdown, never rendered by the server.
    body              text NOT NULL,
    contains_spoilers boolean NOT NULL,
    -- The day it was written (earlier than published_at for an import): its place in the list.
    written_on        date NOT NULL,
    published_at      timestamptz NOT NULL,
    edited_at         timestamptz,
    withdrawn         boolean NOT NULL DEFAULT false,
    -- The reviewer's current rating of the book, if any.
    stars             smallint,
    likes_count       bigint NOT NULL DEFAULT 0 CHECK (likes_count >= 0),
    comments_count    bigint NOT NULL DEFAULT 0 CHECK (comments_count >= 0),
    position          bigint NOT NULL
);
-- One index per order of a book's reviews, so the first page is an index range scan whether
-- the book has ten reviews or a million.
CREATE INDEX reviews_newest ON reviews (book_id, written_on DESC, review_id DESC) WHERE NOT withdrawn;
CREATE INDEX reviews_most_liked ON reviews (book_id, likes_count DESC, written_on DESC, review_id DESC) WHERE NOT withdrawn;
CREATE INDEX reviews_highest_rated ON reviews (book_id, (coalesce(stars, 0)) DESC, written_on DESC, review_id DESC) WHERE NOT withdrawn;
CREATE INDEX reviews_lowest_rated ON reviews (book_id, (coalesce(stars, 6)), written_on, review_id) WHERE NOT withdrawn;
CREATE INDEX reviews_by_reader ON reviews (reader_id, written_on DESC, review_id DESC) WHERE NOT withdrawn;

CREATE TABLE review_likes (
    review_id uuid NOT NULL,
    liker_id  uuid NOT NULL,
    liked_at  timestamptz NOT NULL,
    PRIMARY KEY (review_id, liker_id)
);

CREATE TABLE review_comments (
    comment_id   uuid PRIMARY KEY,
    review_id    uuid NOT NULL,
    commenter_id uuid NOT NULL,
    body         text NOT NULL,
    commented_at timestamptz NOT NULL,
    deleted      boolean NOT NULL DEFAULT false,
    position     bigint NOT NULL
);
CREATE INDEX review_comments_by_review ON review_comments (review_id, position) WHERE NOT deleted;

-- This projection's own copy of each reader's rating, so a review shows its reviewer's stars
-- and a rebuild of this projection depends on nothing else.
CREATE TABLE review_ratings (
    reader_id uuid NOT NULL,
    book_id   uuid NOT NULL,
    stars     smallint NOT NULL,
    PRIMARY KEY (reader_id, book_id)
);

CREATE TABLE book_review_counts (
    book_id       uuid PRIMARY KEY,
    reviews_count bigint NOT NULL DEFAULT 0 CHECK (reviews_count >= 0)
);

CREATE TABLE reader_review_counts (
    reader_id     uuid PRIMARY KEY,
    reviews_count bigint NOT NULL DEFAULT 0 CHECK (reviews_count >= 0)
);
