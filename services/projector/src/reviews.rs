//! Reviews with their likes, comments and reviewer's stars, and how many live reviews each
//! book and each reader has. A batch is folded in memory from the rows it touches (one read),
//! then each table is written with one set-based statement.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use readstream_contracts::{
    proto::live::v1 as live, review_id, reviews, Event, ListEvent, RatingsEvent, ReadModel, ReviewsEvent,
};
use readstream_contracts::{CatalogEvent, ReadingEvent, SocialEvent};
use readstream_eventstore::Stored;
use readstream_projection::{LiveUpdate, Projection};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct Reviews {
    pub namespace: String,
}

#[derive(Debug, Clone)]
struct Row {
    review_id: Uuid,
    reader_id: Uuid,
    book_id: Uuid,
    body: String,
    contains_spoilers: bool,
    written_on: NaiveDate,
    published_at: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
    withdrawn: bool,
    quarter_stars: Option<i16>,
    likes_count: i64,
    comments_count: i64,
    position: i64,
}

impl Row {
    fn visible(&self) -> bool {
        !self.withdrawn
    }
}

struct NewComment {
    comment_id: Uuid,
    review_id: Uuid,
    commenter_id: Uuid,
    body: String,
    at: DateTime<Utc>,
    position: i64,
}

impl Projection for Reviews {
    fn read_model(&self) -> ReadModel {
        ReadModel::Reviews
    }

    fn tables(&self) -> &'static [&'static str] {
        &["reviews", "review_likes", "review_comments", "review_ratings", "book_review_counts", "reader_review_counts"]
    }

    /// Their reviews (with the likes and comments on them), their likes and their comments go,
    /// and the counts that counted those drop; the stars they gave stay in the books' ratings.
    async fn forget_reader(&self, tx: &mut PgConnection, reader_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "WITH own AS (DELETE FROM reviews WHERE reader_id = $1 RETURNING review_id, book_id, withdrawn),
                  book_counts AS (
                      UPDATE book_review_counts AS c SET reviews_count = c.reviews_count - o.live
                      FROM (SELECT book_id, count(*) AS live FROM own WHERE NOT withdrawn GROUP BY book_id) AS o
                      WHERE c.book_id = o.book_id),
                  likes AS (DELETE FROM review_likes
                            WHERE liker_id = $1 OR review_id IN (SELECT review_id FROM own)
                            RETURNING review_id, liker_id),
                  comments AS (DELETE FROM review_comments
                               WHERE commenter_id = $1 OR review_id IN (SELECT review_id FROM own)
                               RETURNING review_id, commenter_id, deleted),
                  counted AS (
                      UPDATE reviews AS r
                      SET likes_count = r.likes_count
                              - (SELECT count(*) FROM likes WHERE likes.review_id = r.review_id AND likes.liker_id = $1),
                          comments_count = r.comments_count
                              - (SELECT count(*) FROM comments
                                 WHERE comments.review_id = r.review_id AND comments.commenter_id = $1
                                   AND NOT comments.deleted)
                      WHERE r.reader_id <> $1
                        AND r.review_id IN (SELECT review_id FROM likes WHERE liker_id = $1
                                            UNION SELECT review_id FROM comments WHERE commenter_id = $1)),
                  ratings AS (DELETE FROM review_ratings WHERE reader_id = $1)
             DELETE FROM reader_review_counts WHERE reader_id = $1",
            reader_id
        )
        .execute(tx)
        .await?;
        Ok(())
    }

    async fn apply(&self, tx: &mut PgConnection, batch: &[Stored]) -> Result<Vec<LiveUpdate>, sqlx::Error> {
        let events = || batch.iter().flat_map(|s| s.envelope.events.iter().map(move |e| (s, &e.event)));
        let mut touched = HashSet::new();
        let mut rated_keys = (Vec::new(), Vec::new());
        for (_, event) in events() {
            match event {
                Event::Reviews(event) => {
                    touched.insert(event.review_id());
                    if let ReviewsEvent::ReviewPublished { reader_id, book_id, .. } = event {
                        rated_keys.0.push(*reader_id);
                        rated_keys.1.push(*book_id);
                    }
                }
                Event::Ratings(RatingsEvent::BookRated { reader_id, book_id, .. })
                | Event::Ratings(RatingsEvent::RatingCleared { reader_id, book_id, .. }) => {
                    touched.insert(review_id(*reader_id, *book_id));
                }
                Event::Catalog(
                    CatalogEvent::AuthorAdded { .. }
                    | CatalogEvent::BookAdded(_)
                    | CatalogEvent::EditionAdded(_)
                    | CatalogEvent::AuthorEdited { .. }
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
                    | CatalogEvent::BookRemovedFromSeries { .. },
                )
                | Event::Ratings(RatingsEvent::BookDescribed { .. })
                | Event::Social(
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
        if touched.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = touched.into_iter().collect();
        let mut rows: HashMap<Uuid, Row> = sqlx::query_as!(
            Row,
            "SELECT review_id, reader_id, book_id, body, contains_spoilers, written_on, published_at, edited_at,
                    withdrawn, quarter_stars, likes_count, comments_count, position
             FROM reviews WHERE review_id = ANY($1)",
            &ids
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|row| (row.review_id, row))
        .collect();
        let visible_before: HashMap<Uuid, bool> = rows.values().map(|r| (r.review_id, r.visible())).collect();
        let mut ratings: HashMap<(Uuid, Uuid), Option<i16>> = sqlx::query!(
            "SELECT r.reader_id, r.book_id, r.quarter_stars
             FROM review_ratings r JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, book_id)
                  ON r.reader_id = k.reader_id AND r.book_id = k.book_id",
            &rated_keys.0,
            &rated_keys.1
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| ((r.reader_id, r.book_id), Some(r.quarter_stars)))
        .collect();

        let mut rating_changes: HashMap<(Uuid, Uuid), Option<i16>> = HashMap::new();
        let mut like_changes: HashMap<(Uuid, Uuid), Option<DateTime<Utc>>> = HashMap::new();
        let (mut new_comments, mut deleted_comments) = (Vec::new(), Vec::new());
        let mut published = Vec::new();
        for (stored, event) in events() {
            let at = stored.envelope.meta.occurred_at;
            let position = stored.position as i64;
            match event {
                Event::Reviews(ReviewsEvent::ReviewPublished {
                    review_id,
                    reader_id,
                    book_id,
                    body,
                    contains_spoilers,
                    written_on,
                }) => {
                    let earlier = rows.get(review_id);
                    let row = Row {
                        review_id: *review_id,
                        reader_id: *reader_id,
                        book_id: *book_id,
                        body: body.clone(),
                        contains_spoilers: *contains_spoilers,
                        written_on: *written_on,
                        published_at: at,
                        edited_at: None,
                        withdrawn: false,
                        quarter_stars: ratings.get(&(*reader_id, *book_id)).copied().flatten(),
                        // Written again after a withdrawal: its likes and comments come back.
                        likes_count: earlier.map_or(0, |r| r.likes_count),
                        comments_count: earlier.map_or(0, |r| r.comments_count),
                        position,
                    };
                    rows.insert(*review_id, row);
                    published.push(*review_id);
                }
                Event::Reviews(ReviewsEvent::ReviewEdited { review_id, body, contains_spoilers, .. }) => {
                    if let Some(row) = rows.get_mut(review_id) {
                        row.body = body.clone();
                        row.contains_spoilers = *contains_spoilers;
                        row.edited_at = Some(at);
                        row.position = position;
                    }
                }
                Event::Reviews(ReviewsEvent::ReviewWithdrawn { review_id, .. }) => {
                    if let Some(row) = rows.get_mut(review_id) {
                        row.withdrawn = true;
                        row.position = position;
                    }
                }
                Event::Reviews(ReviewsEvent::ReviewLiked { review_id, liker_id })
                | Event::Reviews(ReviewsEvent::ReviewUnliked { review_id, liker_id }) => {
                    let liked = matches!(event, Event::Reviews(ReviewsEvent::ReviewLiked { .. }));
                    like_changes.insert((*review_id, *liker_id), liked.then_some(at));
                    if let Some(row) = rows.get_mut(review_id) {
                        row.likes_count += if liked { 1 } else { -1 };
                    }
                }
                Event::Reviews(ReviewsEvent::ReviewCommented { review_id, comment_id, commenter_id, body }) => {
                    new_comments.push(NewComment {
                        comment_id: *comment_id,
                        review_id: *review_id,
                        commenter_id: *commenter_id,
                        body: body.clone(),
                        at,
                        position,
                    });
                    if let Some(row) = rows.get_mut(review_id) {
                        row.comments_count += 1;
                    }
                }
                Event::Reviews(ReviewsEvent::CommentDeleted { review_id, comment_id, .. }) => {
                    deleted_comments.push(*comment_id);
                    if let Some(row) = rows.get_mut(review_id) {
                        row.comments_count -= 1;
                    }
                }
                Event::Ratings(RatingsEvent::BookRated { reader_id, book_id, stars, .. }) => {
                    let stars = Some(i16::from(stars.quarters()));
                    ratings.insert((*reader_id, *book_id), stars);
                    rating_changes.insert((*reader_id, *book_id), stars);
                    if let Some(row) = rows.get_mut(&review_id(*reader_id, *book_id)) {
                        row.quarter_stars = stars;
                    }
                }
                Event::Ratings(RatingsEvent::RatingCleared { reader_id, book_id, .. }) => {
                    ratings.insert((*reader_id, *book_id), None);
                    rating_changes.insert((*reader_id, *book_id), None);
                    if let Some(row) = rows.get_mut(&review_id(*reader_id, *book_id)) {
                        row.quarter_stars = None;
                    }
                }
                Event::Catalog(
                    CatalogEvent::AuthorAdded { .. }
                    | CatalogEvent::BookAdded(_)
                    | CatalogEvent::EditionAdded(_)
                    | CatalogEvent::AuthorEdited { .. }
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
                    | CatalogEvent::BookRemovedFromSeries { .. },
                )
                | Event::Ratings(RatingsEvent::BookDescribed { .. })
                | Event::Social(
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

        write_rows(tx, &rows).await?;
        write_ratings(tx, rating_changes).await?;
        write_likes(tx, like_changes).await?;
        write_comments(tx, &new_comments, &deleted_comments).await?;
        write_counts(tx, &rows, &visible_before).await?;
        Ok(published
            .into_iter()
            .filter_map(|id| rows.get(&id).filter(|row| row.visible()))
            .map(|row| {
                let added = live::ReviewAdded {
                    book_id: row.book_id.to_string(),
                    review_id: row.review_id.to_string(),
                    position: row.position as u64,
                };
                LiveUpdate {
                    subject: reviews::live_book_reviews(&self.namespace, row.book_id),
                    payload: Bytes::from(added.encode_to_vec()),
                }
            })
            .collect())
    }
}

async fn write_rows(tx: &mut PgConnection, rows: &HashMap<Uuid, Row>) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<&Row> = rows.values().collect();
    sqlx::query!(
        "INSERT INTO reviews (review_id, reader_id, book_id, body, contains_spoilers, written_on, published_at, edited_at,
                              withdrawn, quarter_stars, likes_count, comments_count, position)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bool[], $6::date[], $7::timestamptz[],
                              $8::timestamptz[], $9::bool[], $10::smallint[], $11::bigint[], $12::bigint[], $13::bigint[])
         ON CONFLICT (review_id) DO UPDATE SET
             body = EXCLUDED.body, contains_spoilers = EXCLUDED.contains_spoilers, written_on = EXCLUDED.written_on,
             published_at = EXCLUDED.published_at, edited_at = EXCLUDED.edited_at, withdrawn = EXCLUDED.withdrawn,
             quarter_stars = EXCLUDED.quarter_stars, likes_count = EXCLUDED.likes_count, comments_count = EXCLUDED.comments_count,
             position = EXCLUDED.position",
        &rows.iter().map(|r| r.review_id).collect::<Vec<_>>(),
        &rows.iter().map(|r| r.reader_id).collect::<Vec<_>>(),
        &rows.iter().map(|r| r.book_id).collect::<Vec<_>>(),
        &rows.iter().map(|r| r.body.clone()).collect::<Vec<_>>(),
        &rows.iter().map(|r| r.contains_spoilers).collect::<Vec<_>>(),
        &rows.iter().map(|r| r.written_on).collect::<Vec<_>>(),
        &rows.iter().map(|r| r.published_at).collect::<Vec<_>>(),
        &rows.iter().map(|r| r.edited_at).collect::<Vec<_>>() as &[Option<DateTime<Utc>>],
        &rows.iter().map(|r| r.withdrawn).collect::<Vec<_>>(),
        &rows.iter().map(|r| r.quarter_stars).collect::<Vec<_>>() as &[Option<i16>],
        &rows.iter().map(|r| r.likes_count).collect::<Vec<_>>(),
        &rows.iter().map(|r| r.comments_count).collect::<Vec<_>>(),
        &rows.iter().map(|r| r.position).collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn write_ratings(tx: &mut PgConnection, changes: HashMap<(Uuid, Uuid), Option<i16>>) -> Result<(), sqlx::Error> {
    let (set, cleared): (Vec<_>, Vec<_>) = changes.into_iter().partition(|(_, stars)| stars.is_some());
    if !set.is_empty() {
        sqlx::query!(
            "INSERT INTO review_ratings (reader_id, book_id, quarter_stars)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::smallint[])
             ON CONFLICT (reader_id, book_id) DO UPDATE SET quarter_stars = EXCLUDED.quarter_stars",
            &set.iter().map(|((r, _), _)| *r).collect::<Vec<_>>(),
            &set.iter().map(|((_, b), _)| *b).collect::<Vec<_>>(),
            &set.iter().map(|(_, s)| s.unwrap_or_default()).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    if !cleared.is_empty() {
        sqlx::query!(
            "DELETE FROM review_ratings r USING UNNEST($1::uuid[], $2::uuid[]) AS k(reader_id, book_id)
             WHERE r.reader_id = k.reader_id AND r.book_id = k.book_id",
            &cleared.iter().map(|((r, _), _)| *r).collect::<Vec<_>>(),
            &cleared.iter().map(|((_, b), _)| *b).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn write_likes(
    tx: &mut PgConnection,
    changes: HashMap<(Uuid, Uuid), Option<DateTime<Utc>>>,
) -> Result<(), sqlx::Error> {
    let (liked, unliked): (Vec<_>, Vec<_>) = changes.into_iter().partition(|(_, at)| at.is_some());
    if !liked.is_empty() {
        sqlx::query!(
            "INSERT INTO review_likes (review_id, liker_id, liked_at)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[])
             ON CONFLICT (review_id, liker_id) DO UPDATE SET liked_at = EXCLUDED.liked_at",
            &liked.iter().map(|((r, _), _)| *r).collect::<Vec<_>>(),
            &liked.iter().map(|((_, l), _)| *l).collect::<Vec<_>>(),
            &liked.iter().map(|(_, at)| at.unwrap_or_default()).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    if !unliked.is_empty() {
        sqlx::query!(
            "DELETE FROM review_likes l USING UNNEST($1::uuid[], $2::uuid[]) AS k(review_id, liker_id)
             WHERE l.review_id = k.review_id AND l.liker_id = k.liker_id",
            &unliked.iter().map(|((r, _), _)| *r).collect::<Vec<_>>(),
            &unliked.iter().map(|((_, l), _)| *l).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn write_comments(tx: &mut PgConnection, added: &[NewComment], deleted: &[Uuid]) -> Result<(), sqlx::Error> {
    if !added.is_empty() {
        sqlx::query!(
            "INSERT INTO review_comments (comment_id, review_id, commenter_id, body, commented_at, position)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::bigint[])
             ON CONFLICT (comment_id) DO NOTHING",
            &added.iter().map(|c| c.comment_id).collect::<Vec<_>>(),
            &added.iter().map(|c| c.review_id).collect::<Vec<_>>(),
            &added.iter().map(|c| c.commenter_id).collect::<Vec<_>>(),
            &added.iter().map(|c| c.body.clone()).collect::<Vec<_>>(),
            &added.iter().map(|c| c.at).collect::<Vec<_>>(),
            &added.iter().map(|c| c.position).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    if !deleted.is_empty() {
        sqlx::query!("UPDATE review_comments SET deleted = true WHERE comment_id = ANY($1)", deleted)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Moves each book's and reader's count of live reviews by what the batch changed.
async fn write_counts(
    tx: &mut PgConnection,
    rows: &HashMap<Uuid, Row>,
    before: &HashMap<Uuid, bool>,
) -> Result<(), sqlx::Error> {
    let (mut books, mut readers): (HashMap<Uuid, i64>, HashMap<Uuid, i64>) = Default::default();
    for row in rows.values() {
        let change = i64::from(row.visible()) - i64::from(before.get(&row.review_id).copied().unwrap_or(false));
        if change != 0 {
            *books.entry(row.book_id).or_default() += change;
            *readers.entry(row.reader_id).or_default() += change;
        }
    }
    // Rows first, then the deltas: a negative delta is refused by the checks as a new row.
    if !books.is_empty() {
        let ids: Vec<Uuid> = books.keys().copied().collect();
        sqlx::query!(
            "INSERT INTO book_review_counts (book_id) SELECT * FROM UNNEST($1::uuid[]) ON CONFLICT DO NOTHING",
            &ids
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE book_review_counts AS c SET reviews_count = c.reviews_count + d.change
             FROM UNNEST($1::uuid[], $2::bigint[]) AS d(book_id, change) WHERE c.book_id = d.book_id",
            &ids,
            &ids.iter().map(|id| books[id]).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    if !readers.is_empty() {
        let ids: Vec<Uuid> = readers.keys().copied().collect();
        sqlx::query!(
            "INSERT INTO reader_review_counts (reader_id) SELECT * FROM UNNEST($1::uuid[]) ON CONFLICT DO NOTHING",
            &ids
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE reader_review_counts AS c SET reviews_count = c.reviews_count + d.change
             FROM UNNEST($1::uuid[], $2::bigint[]) AS d(reader_id, change) WHERE c.reader_id = d.reader_id",
            &ids,
            &ids.iter().map(|id| readers[id]).collect::<Vec<_>>()
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
