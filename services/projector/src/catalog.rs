//! Authors, books and who wrote them, and the books' editions; librarians' edits, and the
//! reader accounts linked to authors.

use readstream_contracts::{BookDetails, CatalogEvent, Event, ImageId, ListEvent, Metadata, ReadModel};
use readstream_contracts::{RatingsEvent, ReadingEvent, ReviewsEvent, SocialEvent};
use readstream_eventstore::Stored;
use readstream_projection::{LiveUpdate, Projection};
use readstream_readmodel::merges::MergeKind;
use sqlx::PgConnection;
use uuid::Uuid;

pub struct Catalog;

#[derive(Default)]
struct Authors {
    ids: Vec<Uuid>,
    names: Vec<String>,
    bios: Vec<String>,
    added_at: Vec<chrono::DateTime<chrono::Utc>>,
    positions: Vec<i64>,
    /// Added by a librarian, not by a reader's import.
    verified: Vec<bool>,
}

#[derive(Default)]
struct Books {
    ids: Vec<Uuid>,
    titles: Vec<String>,
    subtitles: Vec<String>,
    descriptions: Vec<String>,
    pages: Vec<i32>,
    formats: Vec<String>,
    first_published: Vec<Option<chrono::NaiveDate>>,
    added_by: Vec<Option<Uuid>>,
    added_at: Vec<chrono::DateTime<chrono::Utc>>,
    positions: Vec<i64>,
    /// Added by a librarian, not by a reader's import.
    verified: Vec<bool>,
    author_book_ids: Vec<Uuid>,
    author_ids: Vec<Uuid>,
    author_ordinals: Vec<i32>,
}

#[derive(Default)]
struct Editions {
    isbns: Vec<String>,
    book_ids: Vec<Uuid>,
    formats: Vec<String>,
    pages: Vec<i32>,
    publishers: Vec<String>,
    published_on: Vec<Option<chrono::NaiveDate>>,
    languages: Vec<String>,
    cover_urls: Vec<String>,
    added_at: Vec<chrono::DateTime<chrono::Utc>>,
    positions: Vec<i64>,
}

impl Projection for Catalog {
    fn read_model(&self) -> ReadModel {
        ReadModel::Catalog
    }

    fn tables(&self) -> &'static [&'static str] {
        &["editions", "book_authors", "books", "book_counts", "authors", "series", "series_books"]
    }

    /// The books stay; only who added them is forgotten, and an author linked to the account
    /// is no longer anyone's.
    async fn forget_reader(&self, tx: &mut PgConnection, reader_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query!("UPDATE books SET added_by = NULL WHERE added_by = $1", reader_id).execute(&mut *tx).await?;
        sqlx::query!("UPDATE authors SET reader_id = NULL WHERE reader_id = $1", reader_id).execute(&mut *tx).await?;
        Ok(())
    }

    async fn apply(&self, tx: &mut PgConnection, batch: &[Stored]) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        let (mut authors, mut books, mut editions) = (Authors::default(), Books::default(), Editions::default());
        // Edits and links, rare, applied one by one in the stream's order after the additions.
        let mut changes: Vec<(&CatalogEvent, &Metadata, i64)> = Vec::new();
        for stored in batch {
            let meta = &stored.envelope.meta;
            for recorded in &stored.envelope.events {
                match &recorded.event {
                    Event::Catalog(CatalogEvent::AuthorAdded { author_id, name, bio }) => {
                        authors.ids.push(*author_id);
                        authors.names.push(name.clone());
                        authors.bios.push(bio.clone());
                        authors.added_at.push(meta.occurred_at);
                        authors.positions.push(stored.position as i64);
                        authors.verified.push(meta.import_job.is_none());
                    }
                    Event::Catalog(CatalogEvent::BookAdded(book)) => {
                        books.ids.push(book.book_id);
                        books.titles.push(book.title.clone());
                        books.subtitles.push(book.subtitle.clone());
                        books.descriptions.push(book.description.clone());
                        books.pages.push(book.pages as i32);
                        books.formats.push(book.format.clone());
                        books.first_published.push(book.first_published);
                        books.added_by.push(meta.actor);
                        books.added_at.push(meta.occurred_at);
                        books.positions.push(stored.position as i64);
                        books.verified.push(meta.import_job.is_none());
                        for (ordinal, author_id) in book.author_ids.iter().enumerate() {
                            books.author_book_ids.push(book.book_id);
                            books.author_ids.push(*author_id);
                            books.author_ordinals.push(ordinal as i32);
                        }
                    }
                    Event::Catalog(CatalogEvent::EditionAdded(edition)) => {
                        editions.isbns.push(edition.isbn.to_string());
                        editions.book_ids.push(edition.book_id);
                        editions.formats.push(edition.format.clone());
                        editions.pages.push(edition.pages as i32);
                        editions.publishers.push(edition.publisher.clone());
                        editions.published_on.push(edition.published_on);
                        editions.languages.push(edition.language.clone());
                        editions.cover_urls.push(edition.cover_url.clone());
                        editions.added_at.push(meta.occurred_at);
                        editions.positions.push(stored.position as i64);
                    }
                    Event::Catalog(
                        change @ (CatalogEvent::AuthorEdited { .. }
                        | CatalogEvent::BookEdited(_)
                        | CatalogEvent::AuthorProfileLinked { .. }
                        | CatalogEvent::AuthorProfileUnlinked { .. }
                        | CatalogEvent::BookMerged { .. }
                        | CatalogEvent::AuthorMerged { .. }
                        | CatalogEvent::BookCoverChanged { .. }
                        | CatalogEvent::AuthorPhotoChanged { .. }
                        | CatalogEvent::SeriesAdded { .. }
                        | CatalogEvent::SeriesEdited { .. }
                        | CatalogEvent::BookPlacedInSeries { .. }
                        | CatalogEvent::BookRemovedFromSeries { .. }),
                    ) => changes.push((change, meta, stored.position as i64)),
                    Event::Social(
                        SocialEvent::ReaderRegistered { .. }
                        | SocialEvent::ProfileUpdated { .. }
                        | SocialEvent::AvatarChanged { .. }
                        | SocialEvent::ReaderFollowed { .. }
                        | SocialEvent::ReaderUnfollowed { .. }
                        | SocialEvent::ReaderBlocked { .. }
                        | SocialEvent::ReaderUnblocked { .. }
                        | SocialEvent::RoleGranted { .. }
                        | SocialEvent::RoleRevoked { .. }
                        | SocialEvent::ReadingVisibilityChanged { .. }
                        | SocialEvent::TimeZoneChanged { .. }
                        | SocialEvent::ReaderDeleted { .. }
                        | SocialEvent::SignUpExpired { .. }
                        | SocialEvent::AuthorFollowed { .. }
                        | SocialEvent::AuthorUnfollowed { .. }
                        | SocialEvent::LibraryImported { .. }
                        | SocialEvent::LibraryImportFailed { .. },
                    )
                    | Event::Ratings(
                        RatingsEvent::BookRated { .. }
                        | RatingsEvent::RatingCleared { .. }
                        | RatingsEvent::BookDescribed { .. },
                    )
                    | Event::Reading(
                        ReadingEvent::WantToRead { .. }
                        | ReadingEvent::ReadingStarted { .. }
                        | ReadingEvent::ProgressUpdated { .. }
                        | ReadingEvent::ReadingPaused { .. }
                        | ReadingEvent::ReadingFinished { .. }
                        | ReadingEvent::ReadingAbandoned { .. }
                        | ReadingEvent::RemovedFromShelves { .. }
                        | ReadingEvent::AddedToShelf { .. }
                        | ReadingEvent::RemovedFromShelf { .. }
                        | ReadingEvent::EditionChosen { .. },
                    )
                    | Event::Reviews(
                        ReviewsEvent::ReviewPublished { .. }
                        | ReviewsEvent::ReviewEdited { .. }
                        | ReviewsEvent::ReviewWithdrawn { .. }
                        | ReviewsEvent::ReviewLiked { .. }
                        | ReviewsEvent::ReviewUnliked { .. }
                        | ReviewsEvent::ReviewCommented { .. }
                        | ReviewsEvent::CommentDeleted { .. },
                    )
                    | Event::Goals(_)
                    | Event::Lists(
                        ListEvent::ListCreated { .. }
                        | ListEvent::ListEdited { .. }
                        | ListEvent::ListDeleted { .. }
                        | ListEvent::ListHidden { .. }
                        | ListEvent::BookListed { .. }
                        | ListEvent::BookUnlisted { .. }
                        | ListEvent::ListVoteCast { .. }
                        | ListEvent::ListVoteWithdrawn { .. },
                    ) => {}
                }
            }
        }
        if !authors.ids.is_empty() {
            sqlx::query!(
                "INSERT INTO authors (author_id, name, bio, added_at, position, verified)
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[], $6::bool[])
                 ON CONFLICT (author_id) DO NOTHING",
                &authors.ids,
                &authors.names,
                &authors.bios,
                &authors.added_at,
                &authors.positions,
                &authors.verified
            )
            .execute(&mut *tx)
            .await?;
        }
        if !books.ids.is_empty() {
            // Each book added for the first time counts once, verified or not.
            sqlx::query!(
                "WITH added AS (
                     INSERT INTO books (book_id, title, subtitle, description, pages, format,
                                        first_published, added_by, added_at, position, verified)
                     SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[],
                                          $6::text[], $7::date[], $8::uuid[], $9::timestamptz[], $10::bigint[],
                                          $11::bool[])
                     ON CONFLICT (book_id) DO NOTHING
                     RETURNING verified
                 )
                 INSERT INTO book_counts (verified, books) SELECT verified, count(*) FROM added GROUP BY verified
                 ON CONFLICT (verified) DO UPDATE SET books = book_counts.books + EXCLUDED.books",
                &books.ids,
                &books.titles,
                &books.subtitles,
                &books.descriptions,
                &books.pages,
                &books.formats,
                &books.first_published as &[Option<chrono::NaiveDate>],
                &books.added_by as &[Option<Uuid>],
                &books.added_at,
                &books.positions,
                &books.verified
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!(
                "INSERT INTO book_authors (book_id, author_id, ordinal)
                 SELECT k.book_id, coalesce(a.merged_into, k.author_id), k.ordinal
                 FROM UNNEST($1::uuid[], $2::uuid[], $3::int[]) AS k(book_id, author_id, ordinal)
                 LEFT JOIN authors a ON a.author_id = k.author_id
                 ON CONFLICT DO NOTHING",
                &books.author_book_ids,
                &books.author_ids,
                &books.author_ordinals
            )
            .execute(&mut *tx)
            .await?;
        }
        // After the books: an edition's book is in the stream before it.
        if !editions.isbns.is_empty() {
            sqlx::query!(
                "INSERT INTO editions (isbn, book_id, format, pages, publisher, published_on, language,
                                       cover_url, added_at, position)
                 SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::int[], $5::text[], $6::date[],
                                      $7::text[], $8::text[], $9::timestamptz[], $10::bigint[])
                 ON CONFLICT (isbn) DO NOTHING",
                &editions.isbns,
                &editions.book_ids,
                &editions.formats,
                &editions.pages,
                &editions.publishers,
                &editions.published_on as &[Option<chrono::NaiveDate>],
                &editions.languages,
                &editions.cover_urls,
                &editions.added_at,
                &editions.positions
            )
            .execute(&mut *tx)
            .await?;
        }
        for (change, meta, position) in changes {
            apply_change(tx, change, meta, position).await?;
        }
        Ok(Vec::new())
    }
}

async fn apply_change(
    tx: &mut PgConnection,
    change: &CatalogEvent,
    meta: &Metadata,
    position: i64,
) -> Result<(), sqlx::Error> {
    match change {
        CatalogEvent::AuthorEdited { author_id, name, bio } => {
            // An edit is a librarian's (or the author's own) look at the record: it is verified.
            sqlx::query!(
                "UPDATE authors SET name = $2, bio = $3, verified = true WHERE author_id = $1",
                author_id,
                name,
                bio
            )
            .execute(&mut *tx)
            .await?;
        }
        CatalogEvent::BookEdited(book) => edit_book(tx, book).await?,
        CatalogEvent::BookCoverChanged { book_id, cover } => {
            let cover = cover.as_ref().map(ImageId::as_str);
            sqlx::query!("UPDATE books SET cover = $2 WHERE book_id = $1", book_id, cover).execute(&mut *tx).await?;
        }
        CatalogEvent::AuthorPhotoChanged { author_id, photo } => {
            let photo = photo.as_ref().map(ImageId::as_str);
            sqlx::query!("UPDATE authors SET photo = $2 WHERE author_id = $1", author_id, photo)
                .execute(&mut *tx)
                .await?;
        }
        CatalogEvent::AuthorProfileLinked { author_id, reader_id } => {
            sqlx::query!("UPDATE authors SET reader_id = $2 WHERE author_id = $1", author_id, reader_id)
                .execute(&mut *tx)
                .await?;
        }
        CatalogEvent::AuthorProfileUnlinked { author_id, reader_id } => {
            sqlx::query!(
                "UPDATE authors SET reader_id = NULL WHERE author_id = $1 AND reader_id = $2",
                author_id,
                reader_id
            )
            .execute(&mut *tx)
            .await?;
        }
        // Its editions are the other book's now; its id resolves there; its readers' move is queued.
        CatalogEvent::BookMerged { book_id, into } => {
            sqlx::query!(
                "INSERT INTO book_counts (verified, books)
                 SELECT verified, -1 FROM books WHERE book_id = $1 AND merged_into IS NULL
                 ON CONFLICT (verified) DO UPDATE SET books = book_counts.books + EXCLUDED.books",
                book_id
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!("UPDATE books SET merged_into = $2 WHERE book_id = $1", book_id, into)
                .execute(&mut *tx)
                .await?;
            sqlx::query!("UPDATE editions SET book_id = $2 WHERE book_id = $1", book_id, into)
                .execute(&mut *tx)
                .await?;
            // Its places in series are the other book's, unless that one has its own there.
            sqlx::query!(
                "UPDATE series_books sb SET book_id = $2 WHERE sb.book_id = $1
                   AND NOT EXISTS (SELECT 1 FROM series_books o WHERE o.series_id = sb.series_id AND o.book_id = $2)",
                book_id,
                into
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!("DELETE FROM series_books WHERE book_id = $1", book_id).execute(&mut *tx).await?;
            sqlx::query!(
                "INSERT INTO merges (duplicate, kind, into_id, position) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                book_id,
                MergeKind::Book as _,
                into,
                position
            )
            .execute(&mut *tx)
            .await?;
        }
        // Its books list the other author (once); its followers' move is queued.
        CatalogEvent::AuthorMerged { author_id, into } => {
            sqlx::query!("UPDATE authors SET merged_into = $2 WHERE author_id = $1", author_id, into)
                .execute(&mut *tx)
                .await?;
            sqlx::query!(
                "UPDATE book_authors ba SET author_id = $2 WHERE ba.author_id = $1
                   AND NOT EXISTS (SELECT 1 FROM book_authors o WHERE o.book_id = ba.book_id AND o.author_id = $2)",
                author_id,
                into
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!("DELETE FROM book_authors WHERE author_id = $1", author_id).execute(&mut *tx).await?;
            sqlx::query!(
                "INSERT INTO merges (duplicate, kind, into_id, position) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                author_id,
                MergeKind::Author as _,
                into,
                position
            )
            .execute(&mut *tx)
            .await?;
        }
        CatalogEvent::SeriesAdded { series_id, name, description } => {
            sqlx::query!(
                "INSERT INTO series (series_id, name, description, verified, added_at, position)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (series_id) DO NOTHING",
                series_id,
                name,
                description,
                meta.import_job.is_none(),
                meta.occurred_at,
                position
            )
            .execute(&mut *tx)
            .await?;
        }
        // A librarian's look at the series: it is verified.
        CatalogEvent::SeriesEdited { series_id, name, description } => {
            sqlx::query!(
                "UPDATE series SET name = $2, description = $3, verified = true WHERE series_id = $1",
                series_id,
                name,
                description
            )
            .execute(&mut *tx)
            .await?;
        }
        // A book merged away before this placement is placed as the one it became.
        CatalogEvent::BookPlacedInSeries { series_id, book_id, position: number } => {
            sqlx::query!(
                "INSERT INTO series_books (series_id, book_id, number)
                 SELECT $1, coalesce((SELECT merged_into FROM books WHERE book_id = $2), $2), $3
                 ON CONFLICT (series_id, book_id) DO UPDATE SET number = EXCLUDED.number",
                series_id,
                book_id,
                number.map(|number| number.hundredths() as i32)
            )
            .execute(&mut *tx)
            .await?;
        }
        CatalogEvent::BookRemovedFromSeries { series_id, book_id } => {
            sqlx::query!(
                "DELETE FROM series_books WHERE series_id = $1
                   AND book_id = coalesce((SELECT merged_into FROM books WHERE book_id = $2), $2)",
                series_id,
                book_id
            )
            .execute(&mut *tx)
            .await?;
        }
        CatalogEvent::AuthorAdded { .. } | CatalogEvent::BookAdded(_) | CatalogEvent::EditionAdded(_) => {}
    }
    Ok(())
}

/// A book's fields after a librarian's edit, which verifies it, and its authors in their new
/// order.
async fn edit_book(tx: &mut PgConnection, book: &BookDetails) -> Result<(), sqlx::Error> {
    // An unverified book in the catalog's lists moves to the verified count.
    sqlx::query!(
        "INSERT INTO book_counts (verified, books)
         SELECT moved.verified, moved.delta FROM books b, (VALUES (true, 1), (false, -1)) AS moved(verified, delta)
         WHERE b.book_id = $1 AND NOT b.verified AND b.merged_into IS NULL
         ON CONFLICT (verified) DO UPDATE SET books = book_counts.books + EXCLUDED.books",
        book.book_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE books SET title = $2, subtitle = $3, description = $4, pages = $5, format = $6, first_published = $7,
                          verified = true
         WHERE book_id = $1",
        book.book_id,
        book.title,
        book.subtitle,
        book.description,
        book.pages as i32,
        book.format,
        book.first_published
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("DELETE FROM book_authors WHERE book_id = $1", book.book_id).execute(&mut *tx).await?;
    let ordinals: Vec<i32> = (0..book.author_ids.len() as i32).collect();
    sqlx::query!(
        "INSERT INTO book_authors (book_id, author_id, ordinal)
         SELECT $1, coalesce(a.merged_into, k.author_id), k.ordinal
         FROM UNNEST($2::uuid[], $3::int[]) AS k(author_id, ordinal) LEFT JOIN authors a ON a.author_id = k.author_id
         ON CONFLICT DO NOTHING",
        book.book_id,
        &book.author_ids,
        &ordinals
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
