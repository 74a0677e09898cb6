//! Reads that join across the slices' read models so that a page costs few round trips to
//! Postgres: the book a page is about comes with its authors, rating figures, shelf counts and
//! review count (the whole first level of a book page in one query), a review's reviewer with
//! their review and follow counts (a page of reviews' reviewers in one). Every query costs the gateway and Postgres
//! far more than the rows it joins (the statement, a task, the connection's ping when it goes
//! back to the pool), so a book page is three queries where one per field was nine.
//!
//! A field whose data came with its object uses it; an object read another way (a book in a
//! list or a feed item, a feed item's reader) carries none, and its fields ask their slices'
//! loaders. A feed page reads its items' readers and books with the page, one batched load
//! each (`feed::ReadWithPage`). Joins are not free: a feed page joining its items' readers and books cost Postgres
//! more than the two batched loads it saved the gateway, and a feed page's 20 books read with
//! their figures would join ratings, counts and authors the page does not show, so those stay
//! plain.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::{
    catalog::{AuthorRow, BookRow},
    ratings::BookRatingsRow,
    reading::ShelfCountsRow,
    social::ReaderRow,
    Database, Failure,
};

/// A book by id with its figures: the subject of a book page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BookWithFigures(pub Uuid);

/// What a book page shows beside the book's own row.
#[derive(Debug, Default)]
pub struct BookFigures {
    /// In the order the book lists them.
    pub authors: Vec<AuthorRow>,
    pub ratings: BookRatingsRow,
    pub shelf_counts: ShelfCountsRow,
    /// Live reviews.
    pub reviews_count: i64,
}

/// A reader by id with their counts: a review's reviewer, whose byline shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReaderWithCounts(pub Uuid);

/// A reader's counts, as a reviewer's byline shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderCounts {
    /// Live reviews written.
    pub reviews: i64,
    pub followers: i64,
    pub following: i64,
}

impl Loader<BookWithFigures> for Database {
    type Value = (BookRow, Arc<BookFigures>);
    type Error = Failure;

    async fn load(&self, keys: &[BookWithFigures]) -> Result<HashMap<BookWithFigures, Self::Value>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        // A merged duplicate's id resolves to the book it was merged into. A book without
        // ratings, shelvings or reviews has no row in those tables: zeros.
        let rows = sqlx::query!(
            r#"SELECT d.book_id AS "key!", b.book_id, b.title, b.subtitle, b.description, b.pages, b.format,
                      b.first_published, b.position,
                      coalesce(r.ratings_count, 0) AS "ratings_count!", coalesce(r.quarter_stars_sum, 0) AS "quarter_stars_sum!",
                      coalesce(r.stars_1, 0) AS "stars_1!", coalesce(r.stars_2, 0) AS "stars_2!",
                      coalesce(r.stars_3, 0) AS "stars_3!", coalesce(r.stars_4, 0) AS "stars_4!",
                      coalesce(r.stars_5, 0) AS "stars_5!",
                      coalesce(s.want_to_read, 0) AS "want_to_read!",
                      coalesce(s.currently_reading, 0) AS "currently_reading!", coalesce(s.read, 0) AS "read!",
                      coalesce(s.did_not_finish, 0) AS "did_not_finish!", coalesce(s.paused, 0) AS "paused!",
                      coalesce(c.reviews_count, 0) AS "reviews_count!",
                      au.author_ids, au.names, au.bios, au.reader_ids AS "reader_ids: Vec<Option<Uuid>>"
               FROM books d JOIN books b ON b.book_id = coalesce(d.merged_into, d.book_id)
               LEFT JOIN book_ratings r ON r.book_id = b.book_id
               LEFT JOIN book_shelf_counts s ON s.book_id = b.book_id
               LEFT JOIN book_review_counts c ON c.book_id = b.book_id
               CROSS JOIN LATERAL (
                   SELECT array_agg(a.author_id ORDER BY ba.ordinal) AS author_ids,
                          array_agg(a.name ORDER BY ba.ordinal) AS names,
                          array_agg(a.bio ORDER BY ba.ordinal) AS bios,
                          array_agg(a.reader_id ORDER BY ba.ordinal) AS reader_ids
                   FROM book_authors ba JOIN authors a USING (author_id)
                   WHERE ba.book_id = b.book_id) au
               WHERE d.book_id = ANY($1)"#,
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|b| {
                let authors = authors_from_arrays(b.author_ids, b.names, b.bios, b.reader_ids);
                let figures = BookFigures {
                    authors,
                    ratings: BookRatingsRow::from_columns(
                        b.ratings_count,
                        b.quarter_stars_sum,
                        [b.stars_1, b.stars_2, b.stars_3, b.stars_4, b.stars_5],
                    ),
                    shelf_counts: ShelfCountsRow {
                        want_to_read: b.want_to_read,
                        currently_reading: b.currently_reading,
                        read: b.read,
                        did_not_finish: b.did_not_finish,
                        paused: b.paused,
                    },
                    reviews_count: b.reviews_count,
                };
                let row = BookRow {
                    book_id: b.book_id,
                    title: b.title,
                    subtitle: b.subtitle,
                    description: b.description,
                    pages: b.pages,
                    format: b.format,
                    first_published: b.first_published,
                    position: b.position,
                };
                (BookWithFigures(b.key), (row, Arc::new(figures)))
            })
            .collect())
    }
}

/// A book's authors from the query's parallel arrays (null when the book lists none).
fn authors_from_arrays(
    ids: Option<Vec<Uuid>>,
    names: Option<Vec<String>>,
    bios: Option<Vec<String>>,
    reader_ids: Option<Vec<Option<Uuid>>>,
) -> Vec<AuthorRow> {
    let (ids, names, bios, reader_ids) =
        (ids.unwrap_or_default(), names.unwrap_or_default(), bios.unwrap_or_default(), reader_ids.unwrap_or_default());
    ids.into_iter()
        .zip(names)
        .zip(bios)
        .zip(reader_ids)
        .map(|(((author_id, name), bio), reader_id)| AuthorRow { author_id, name, bio, reader_id })
        .collect()
}

impl Loader<ReaderWithCounts> for Database {
    type Value = (ReaderRow, ReaderCounts);
    type Error = Failure;

    async fn load(&self, keys: &[ReaderWithCounts]) -> Result<HashMap<ReaderWithCounts, Self::Value>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = sqlx::query!(
            r#"SELECT r.reader_id, r.handle, r.display_name, r.bio, r.joined_at,
                      coalesce(rc.reviews_count, 0) AS "reviews_count!",
                      coalesce(fc.followers, 0) AS "followers!", coalesce(fc.following, 0) AS "following!"
               FROM readers r
               LEFT JOIN reader_review_counts rc ON rc.reader_id = r.reader_id
               LEFT JOIN reader_follow_counts fc ON fc.reader_id = r.reader_id
               WHERE r.reader_id = ANY($1)"#,
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let counts = ReaderCounts { reviews: r.reviews_count, followers: r.followers, following: r.following };
                let row = ReaderRow {
                    reader_id: r.reader_id,
                    handle: r.handle,
                    display_name: r.display_name,
                    bio: r.bio,
                    joined_at: r.joined_at,
                };
                (ReaderWithCounts(r.reader_id), (row, counts))
            })
            .collect())
    }
}
