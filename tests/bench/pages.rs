//! The two pages a reader opens most, as the benches that compare them fill them: a book page
//! (a book with two authors, ratings, shelf counts and 50 reviews by as many readers, each with
//! counts) and a viewer's feed (`followees` readers with 50 ratings each, fanned out to the
//! viewer). The read models are filled with SQL: these benches measure serving the pages, not
//! projecting them. Used by `peers.rs` and `scale.rs`.

use sqlx::PgConnection;

pub const BOOK: &str = "00000000-0000-0000-0000-0000000b0015";
pub const VIEWER: &str = "00000000-0000-0000-0000-00000000f00d";
pub const REVIEWS: i64 = 50;

pub const READSTREAM_BOOK_PAGE: &str = "query($id: ID!) { book(id: $id) {
    title subtitle description pages format firstPublished
    authors { name }
    ratings { count average histogram { stars count percent } }
    shelfCounts { wantToRead currentlyReading read didNotFinish paused }
    reviews(first: 10) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { id writtenOn stars likesCount commentsCount containsSpoilers body
            reviewer { handle reviewsCount followersCount } } }
    }
} }";

pub const READSTREAM_FEED_PAGE: &str = "{ viewer { feed(first: 20) {
    edges { cursor node { kind at stars reader { handle } book { title } } }
    pageInfo { hasNextPage endCursor }
} } }";

/// A reader id from a number, in SQL (`i`), the same as the feed bench's.
pub const READER_SQL: &str = "('feed0000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid";

/// The book page's book (two authors, 50 reviews by as many readers, each with counts) and
/// the viewer's feed: `followees` readers with 50 ratings each, fanned out to the viewer.
pub async fn fill(db: &mut PgConnection, followees: i64) -> anyhow::Result<()> {
    for statement in [
        "INSERT INTO books (book_id, title, subtitle, description, pages, format, first_published, added_at, position)
         VALUES ($1::uuid, 'The Left Hand of Darkness', 'A novel', repeat('A winter world. ', 60), 304, 'Paperback',
                 date '1969-03-01', now(), 1)",
        "INSERT INTO authors (author_id, name, bio, added_at, position)
         VALUES ('00000000-0000-0000-0000-00000000a001', 'Ursula K. Le Guin', '', now(), 1),
                ('00000000-0000-0000-0000-00000000a002', 'An Illustrator', '', now(), 2)",
        "INSERT INTO book_authors (book_id, author_id, ordinal)
         VALUES ($1::uuid, '00000000-0000-0000-0000-00000000a001', 0), ($1::uuid, '00000000-0000-0000-0000-00000000a002', 1)",
        "INSERT INTO book_ratings (book_id, ratings_count, quarter_stars_sum, stars_1, stars_2, stars_3, stars_4, stars_5, position)
         VALUES ($1::uuid, 1000, 16480, 10, 30, 160, 350, 450, 1)",
        "INSERT INTO book_shelf_counts (book_id, want_to_read, currently_reading, paused, read, did_not_finish, position)
         VALUES ($1::uuid, 5000, 300, 20, 2400, 40, 1)",
    ] {
        sqlx::query(statement).bind(BOOK).execute(&mut *db).await?;
    }
    let reviewer = "('00000000-0000-0000-0000-' || lpad(to_hex(1000000 + i), 12, '0'))::uuid";
    for statement in [
        format!(
            "INSERT INTO readers (reader_id, handle, display_name, joined_at, position)
             SELECT {reviewer}, 'reviewer' || i, 'Reviewer ' || i, now(), 1000000 + i FROM generate_series(1, $2::bigint) AS i"
        ),
        format!(
            "INSERT INTO reviews (review_id, reader_id, book_id, body, contains_spoilers, written_on, published_at,
                                  quarter_stars, likes_count, comments_count, position)
             SELECT gen_random_uuid(), {reviewer}, $1::uuid, repeat('A considered review. ', 40), i % 17 = 0,
                    date '2026-01-01' - i::int, now(), (4 + 4 * (i % 5))::smallint, i % 97, i % 7, i
             FROM generate_series(1, $2::bigint) AS i"
        ),
        format!(
            "INSERT INTO reader_review_counts (reader_id, reviews_count)
             SELECT {reviewer}, 1 + i % 30 FROM generate_series(1, $2::bigint) AS i"
        ),
        format!(
            "INSERT INTO reader_follow_counts (reader_id, followers, following)
             SELECT {reviewer}, i * 3, i FROM generate_series(1, $2::bigint) AS i"
        ),
        "INSERT INTO book_review_counts (book_id, reviews_count) VALUES ($1::uuid, $2)".to_owned(),
    ] {
        sqlx::query(&statement).bind(BOOK).bind(REVIEWS).execute(&mut *db).await?;
    }
    sqlx::query(&format!(
        "INSERT INTO readers (reader_id, handle, display_name, joined_at, position)
         SELECT {READER_SQL}, 'reader' || i, 'Reader ' || i, now(), i FROM generate_series(1, $1::bigint) AS i
         UNION ALL SELECT $2::uuid, 'viewer', 'Viewer', now(), 0"
    ))
    .bind(followees)
    .bind(VIEWER)
    .execute(&mut *db)
    .await?;
    // Rating k of followee i sits at position 10,000 + i * 100 + k.
    for statement in [
        format!(
            "INSERT INTO activities (position, event_index, actor_id, kind, book_id, quarter_stars, occurred_at, backdated, fanned_out)
             SELECT 10000 + i * 100 + k, 0, {READER_SQL}, 'rated', $3::uuid, (4 + 4 * (k % 5))::smallint, now(), false, true
             FROM generate_series(1, $1::bigint) AS i, generate_series(1, 50) AS k"
        ),
        format!(
            "INSERT INTO feed_follows (follower_id, followee_id)
             SELECT $2::uuid, {READER_SQL} FROM generate_series(1, $1::bigint) AS i"
        ),
        format!(
            "INSERT INTO feed_items (reader_id, position, event_index, actor_id, kind)
             SELECT $2::uuid, 10000 + i * 100 + k, 0, {READER_SQL}, 'rated'
             FROM generate_series(1, $1::bigint) AS i, generate_series(1, 50) AS k"
        ),
    ] {
        sqlx::query(&statement).bind(followees).bind(VIEWER).bind(BOOK).execute(&mut *db).await?;
    }
    sqlx::query("ANALYZE").execute(&mut *db).await?;
    Ok(())
}
