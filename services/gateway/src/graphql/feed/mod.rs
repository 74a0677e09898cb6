//! The viewer's feed: what the readers they follow did, newest first, fanned out on write for
//! ordinary accounts and merged on read for accounts with very many followers; and what the
//! readers the viewer follows did with one book.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{
    connection::{Connection, Edge},
    dataloader::DataLoader,
    ComplexObject, Context, Enum, Result, SimpleObject, Subscription,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{FutureExt as _, Stream, StreamExt as _};
use prost::Message as _;
use readstream_contracts::{proto::live::v1 as live, social};
use readstream_readmodel::feed;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    database::{load_error, loader, loader_handle, Database},
    shared::{
        app, decode_cursor, encode_cursor, exact_stars, page_size,
        review::{load_review, visible_review, Review},
        viewer, whole_stars, Author, Book, ListInfo, Reader, ShelfStatus,
    },
};
use crate::{
    error::ApiError,
    subscriptions::{self, Replay, SharedReads},
    AppState,
};
use readstream_readmodel::catalog::BookKey;
use readstream_readmodel::social::ReaderKey;
use readstream_runtime::live::{Following, Lagged};

// The read model's kinds, each one: a kind the read model adds and this leaves out does not
// compile.
/// What a feed item is.
#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "feed::ActivityKind")]
pub enum ActivityKind {
    StartedReading,
    FinishedReading,
    DidNotFinish,
    WantToRead,
    Rated,
    Reviewed,
    LikedReview,
    Followed,
    /// A followed author's new book.
    NewBook,
    /// A library brought from Goodreads or StoryGraph (`books` says how many).
    Imported,
}

/// Something a followed reader did, or a followed author's new book.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct FeedItem {
    pub kind: ActivityKind,
    pub at: DateTime<Utc>,
    /// The stream position that recorded it.
    pub position: i64,
    /// The stars, for a rating: whole stars, quarters rounded half up.
    pub stars: Option<i32>,
    /// The stars as given, in steps of 0.25, for a rating.
    pub exact_stars: Option<f64>,
    /// How many books, for an import.
    pub books: Option<i32>,
    #[graphql(skip)]
    pub actor_id: Uuid,
    #[graphql(skip)]
    pub book_id: Option<Uuid>,
    #[graphql(skip)]
    pub review_id: Option<Uuid>,
    #[graphql(skip)]
    pub followee_id: Option<Uuid>,
    #[graphql(skip)]
    pub event_index: i32,
    /// Who did it, read with the page.
    #[graphql(skip)]
    pub reader: ReadWithPage<Reader>,
    /// The book, read with the page.
    #[graphql(skip)]
    pub book: ReadWithPage<Book>,
    /// The reader followed, read with the page.
    #[graphql(skip)]
    pub followed: ReadWithPage<Reader>,
}

/// What an item links to, read with the page it is on (one `load_many` for the page's readers,
/// one for its books, which the loader still batches with other requests') or left to its
/// field, which reads it on its own: an item pushed live, or a field the page did not ask for.
/// Twenty items' readers and books asked one `load_one` each cost the gateway a third of a
/// feed page's CPU.
#[derive(Debug, Clone, Default)]
pub enum ReadWithPage<T> {
    #[default]
    Unread,
    /// Read; `None` if there is none (a reader or book since removed).
    Read(Option<T>),
}

#[ComplexObject]
impl FeedItem {
    /// Who did it (null for a new book: `author` wrote it).
    async fn reader(&self, ctx: &Context<'_>) -> Result<Option<Reader>> {
        if self.kind == ActivityKind::NewBook {
            return Ok(None);
        }
        if let ReadWithPage::Read(reader) = &self.reader {
            return Ok(reader.clone());
        }
        Ok(Reader::load(ctx, self.actor_id).await?)
    }

    /// The author, for a new book (its first author).
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<Author>> {
        if self.kind != ActivityKind::NewBook {
            return Ok(None);
        }
        Ok(Author::load(ctx, self.actor_id).await?)
    }

    async fn book(&self, ctx: &Context<'_>) -> Result<Option<Book>> {
        if let ReadWithPage::Read(book) = &self.book {
            return Ok(book.clone());
        }
        let book_id = match (self.book_id, self.review_id) {
            (Some(book_id), _) => book_id,
            (None, Some(review_id)) => match load_review(&app(ctx).pool, review_id).await? {
                Some(review) => review.book_id,
                None => return Ok(None),
            },
            (None, None) => return Ok(None),
        };
        Ok(Book::load(ctx, book_id).await?)
    }

    /// The review written or liked (null once withdrawn).
    async fn review(&self, ctx: &Context<'_>) -> Result<Option<Review>> {
        match self.review_id {
            Some(review_id) => Ok(visible_review(ctx, review_id).await?),
            None => Ok(None),
        }
    }

    /// The reader followed, for a follow.
    async fn followed(&self, ctx: &Context<'_>) -> Result<Option<Reader>> {
        match (self.followee_id, &self.followed) {
            (None, _) => Ok(None),
            (Some(_), ReadWithPage::Read(reader)) => Ok(reader.clone()),
            (Some(id), ReadWithPage::Unread) => Ok(Reader::load(ctx, id).await?),
        }
    }
}

/// A feed item of the read model's activity.
fn item(activity: feed::Activity) -> FeedItem {
    FeedItem {
        kind: activity.kind.into(),
        at: activity.occurred_at,
        position: activity.position,
        stars: activity.quarter_stars.map(whole_stars),
        exact_stars: activity.quarter_stars.map(exact_stars),
        books: activity.books,
        actor_id: activity.actor_id,
        book_id: activity.book_id,
        review_id: activity.review_id,
        followee_id: activity.followee_id,
        event_index: activity.event_index,
        reader: ReadWithPage::Unread,
        book: ReadWithPage::Unread,
        followed: ReadWithPage::Unread,
    }
}

const FEED_CURSOR: &str = "feed";

/// One page of a reader's feed: their fanned-out items merged with the activities of the
/// accounts they follow that were too followed to fan out, newest first. The reading
/// activities of a reader who keeps their reading to themselves (`ONLY_ME`) are left out, even
/// those fanned out before they chose so.
pub async fn feed(
    ctx: &Context<'_>,
    reader_id: Uuid,
    first: Option<i32>,
    after: Option<String>,
    kinds: Option<Vec<ActivityKind>>,
) -> Result<Connection<String, FeedItem>, ApiError> {
    if viewer(ctx)?.reader_id != reader_id {
        return Err(ApiError::new(readstream_contracts::Code::PermissionDenied, "a feed is its reader's alone"));
    }
    let limit = page_size(first)?;
    let bad_cursor = || ApiError::invalid("after", "after is not a cursor of this list");
    let after = match after {
        None => None,
        Some(cursor) => {
            let text = decode_cursor(FEED_CURSOR, "after", &cursor)?;
            let (position, index) = text.split_once(':').ok_or_else(bad_cursor)?;
            Some((position.parse::<i64>().map_err(|_| bad_cursor())?, index.parse::<i32>().map_err(|_| bad_cursor())?))
        }
    };
    let kinds: Option<Vec<feed::ActivityKind>> = kinds.map(|kinds| kinds.into_iter().map(Into::into).collect());
    // The gateway plans each statement once, for any parameters (`plan_cache_mode`), so the
    // cursor always bounds the scan, the first page's bound past every position: as an optional
    // condition (`$3 IS NULL OR …`) the plan could only filter by it, and a reader paging deep
    // into their feed would have every newer item read again for each page.
    let before = after.unwrap_or((i64::MAX, 0));
    let mut rows = feed::page(&app(ctx).pool, reader_id, kinds.as_deref(), before, limit + 1).await?;
    let has_next = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let mut items: Vec<FeedItem> = rows.into_iter().map(item).collect();
    read_with_page(ctx, &mut items).await?;
    // No totalCount: counting a feed that merges on read would cost a scan.
    let mut connection = Connection::new(after.is_some(), has_next);
    connection.edges.extend(
        items.into_iter().map(|item| {
            Edge::new(encode_cursor(FEED_CURSOR, &format!("{}:{}", item.position, item.event_index)), item)
        }),
    );
    Ok(connection)
}

/// Reads the readers and books a page of items links to, those the query asks for, one query
/// each, at once.
async fn read_with_page(ctx: &Context<'_>, items: &mut [FeedItem]) -> Result<(), ApiError> {
    let node = ctx.look_ahead().field("edges").field("node");
    let (want_readers, want_books, want_followed) =
        (node.field("reader").exists(), node.field("book").exists(), node.field("followed").exists());
    let mut reader_ids = Vec::new();
    let mut book_ids = Vec::new();
    for item in items.iter() {
        if want_readers && item.kind != ActivityKind::NewBook {
            reader_ids.push(ReaderKey(item.actor_id));
        }
        if want_followed {
            reader_ids.extend(item.followee_id.map(ReaderKey));
        }
        if want_books {
            book_ids.extend(item.book_id.map(BookKey));
        }
    }
    let loader = loader(ctx);
    // An empty list of keys is answered at once, without a query.
    let (readers, books) =
        futures::try_join!(loader.load_many(reader_ids), loader.load_many(book_ids)).map_err(load_error)?;
    let reader = |id: Uuid| ReadWithPage::Read(readers.get(&ReaderKey(id)).map(|row| Reader::from_row(row.clone())));
    for item in items {
        if want_readers && item.kind != ActivityKind::NewBook {
            item.reader = reader(item.actor_id);
        }
        if want_followed {
            if let Some(id) = item.followee_id {
                item.followed = reader(id);
            }
        }
        if want_books {
            if let Some(id) = item.book_id {
                item.book = ReadWithPage::Read(books.get(&BookKey(id)).map(|row| Book(row.clone(), None)));
            }
        }
    }
    Ok(())
}

/// The items pushed live, read once per gateway and shared by every subscriber. An item is the
/// same for every viewer (what hides it is the actor's setting, not the viewer's).
pub type PushedItems = SharedReads<(i64, i32), Option<FeedItem>>;

async fn load_item(pool: &PgPool, position: i64, event_index: i32) -> Result<Option<FeedItem>, sqlx::Error> {
    Ok(feed::item(pool, position, event_index).await?.map(item))
}

/// Whether `follower` follows `followee` now, as the feed's own graph has it, asked with every
/// other live feed's question about the same push in one batch; a failed read withholds the
/// push (the client's `since` replays it if it was due).
async fn still_follows(loader: &DataLoader<Database>, follower: Uuid, followee: Uuid) -> bool {
    loader.load_one(feed::StillFollows(follower, followee)).await.is_ok_and(|follows| follows.unwrap_or(false))
}

/// The activities of the accounts merged on read that `reader_id` comes to follow while their
/// feed is live (they follow one, or one they follow goes over the fan-out limit): on each of
/// `changes`, the accounts are read again and each new one's subject followed, after what they
/// did since the change's batch began (announced before this listened), each once.
/// How much of what newly merged accounts did a live feed catches up on.
const CATCH_UP_ITEMS: i64 = 100;

fn newly_merged(
    app: &AppState,
    reader_id: Uuid,
    changes: Following,
    known: Arc<Mutex<HashSet<Uuid>>>,
) -> impl Stream<Item = Result<Bytes, Lagged>> + Send + 'static {
    let (pool, hub, namespace) = (app.pool.clone(), app.live.clone(), app.namespace.clone());
    changes
        .then(move |change| {
            let (pool, hub, namespace, known) = (pool.clone(), hub.clone(), namespace.clone(), known.clone());
            async move {
                let Ok(change) = change else {
                    return futures::stream::iter([Err(Lagged)]).boxed();
                };
                let since = live::MergedFolloweesChanged::decode(change).map_or(0, |change| change.since);
                let now = feed::merged_followees(&pool, reader_id).await.unwrap_or_default();
                let new: Vec<Uuid> = {
                    let mut known = known.lock().unwrap_or_else(PoisonError::into_inner);
                    now.into_iter().filter(|id| known.insert(*id)).collect()
                };
                if new.is_empty() {
                    return futures::stream::empty().boxed();
                }
                match hub.follow(new.iter().map(|id| social::live_activity(&namespace, *id))).await {
                    Ok(following) => {
                        let missed =
                            feed::since(&pool, reader_id, since as i64, CATCH_UP_ITEMS).await.unwrap_or_default();
                        let missed: Vec<(i64, i32)> = missed
                            .into_iter()
                            .filter(|activity| new.contains(&activity.actor_id))
                            .map(|activity| (activity.position, activity.event_index))
                            .collect();
                        let notice = |(position, index): (i64, i32)| live::FeedActivity {
                            position: position as u64,
                            event_index: index as u32,
                        };
                        let replay: Vec<Result<Bytes, Lagged>> =
                            missed.iter().map(|key| Ok(Bytes::from(notice(*key).encode_to_vec()))).collect();
                        let missed: HashSet<(i64, i32)> = missed.into_iter().collect();
                        let again = move |payload: &Result<Bytes, Lagged>| {
                            let activity =
                                payload.as_ref().ok().and_then(|bytes| live::FeedActivity::decode(bytes.clone()).ok());
                            activity.is_some_and(|a| missed.contains(&(a.position as i64, a.event_index as i32)))
                        };
                        futures::stream::iter(replay)
                            .chain(following.filter(move |payload| std::future::ready(!again(payload))))
                            .boxed()
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "could not follow a newly merged account's activities");
                        futures::stream::empty().boxed()
                    }
                }
            }
            // On the heap, so an idle feed does not hold room for this read inline.
            .boxed()
        })
        .flatten_unordered(None)
}

#[derive(Default)]
pub struct FeedSubscription;

#[Subscription]
impl FeedSubscription {
    /// Each new item of the viewer's feed as it is projected, whichever gateway replica the
    /// viewer is connected to (pushes travel through NATS). With `since` (a stream position)
    /// it first sends the items after it, oldest first, so a client that reconnects misses
    /// nothing.
    async fn feed(&self, ctx: &Context<'_>, since: Option<u64>) -> Result<impl Stream<Item = Result<FeedItem>>> {
        subscriptions::opened(open_feed(ctx, since)).await
    }
}

/// The live feed of the viewer, after `since` if given.
async fn open_feed(ctx: &Context<'_>, since: Option<u64>) -> Result<impl Stream<Item = Result<FeedItem>>> {
    let viewer = viewer(ctx)?;
    let app = app(ctx);
    let mut subjects = vec![social::live_feed(&app.namespace, viewer.reader_id)];
    // Told before the accounts are read, so no change falls between.
    let changes = app
        .live
        .follow([social::live_merged_followees(&app.namespace, viewer.reader_id)])
        .await
        .map_err(ApiError::unavailable)?;
    let merged = feed::merged_followees(&app.pool, viewer.reader_id).await.map_err(ApiError::from)?;
    subjects.extend(merged.iter().map(|id| social::live_activity(&app.namespace, *id)));
    let merged: Arc<Mutex<HashSet<Uuid>>> = Arc::new(Mutex::new(merged.into_iter().collect()));
    let live = subscriptions::subscribe(ctx, subjects).await?.with(newly_merged(
        app,
        viewer.reader_id,
        changes,
        merged.clone(),
    ));
    let mut missed = Replay::of(Vec::new(), 0);
    if let Some(since) = since {
        let max = app.limits.config.max_replay_items;
        let rows =
            feed::since(&app.pool, viewer.reader_id, since as i64, max as i64 + 1).await.map_err(ApiError::from)?;
        missed = Replay::of(rows.into_iter().map(item).collect(), max);
    }
    let seen = missed.items.last().map(|item: &FeedItem| (item.position, item.event_index));
    let (pool, pushed, loader) = (app.pool.clone(), ctx.data_unchecked::<PushedItems>().clone(), loader_handle(ctx));
    let key = |notice: &live::FeedActivity| (notice.position as i64, notice.event_index as i32);
    let viewer_id = viewer.reader_id;
    Ok(live.after(missed, seen, key, move |notice| {
        let (pool, pushed, merged, loader) = (pool.clone(), pushed.clone(), merged.clone(), loader.clone());
        async move {
            let (position, event_index) = (notice.position as i64, notice.event_index as i32);
            let item = pushed
                .get_or_read((position, event_index), || load_item(&pool, position, event_index))
                .await
                .ok()??;
            // An account merged on read is followed by subject for as long as the socket
            // is open: what it does reaches this feed only while the viewer still follows it
            // (an unfollow or a block ends that), as its page of the feed says.
            let is_merged = merged.lock().unwrap_or_else(PoisonError::into_inner).contains(&item.actor_id);
            if is_merged && !still_follows(&loader, viewer_id, item.actor_id).await {
                return None;
            }
            Some(item)
        }
    }))
}

/// What one of the readers the viewer follows did with a book.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(complex)]
pub struct FollowedReaderOnBook {
    #[graphql(skip)]
    pub reader_id: Uuid,
    pub status: Option<ShelfStatus>,
    /// Their rating in whole stars, quarters rounded half up.
    pub stars: Option<i32>,
    /// Their rating as given, in steps of 0.25.
    pub exact_stars: Option<f64>,
    #[graphql(skip)]
    pub review_id: Option<Uuid>,
}

#[ComplexObject]
impl FollowedReaderOnBook {
    async fn reader(&self, ctx: &Context<'_>) -> Result<Option<Reader>> {
        Ok(Reader::load(ctx, self.reader_id).await?)
    }

    async fn review(&self, ctx: &Context<'_>) -> Result<Option<Review>> {
        match self.review_id {
            Some(review_id) => Ok(visible_review(ctx, review_id).await?),
            None => Ok(None),
        }
    }
}

const FOLLOWED_CURSOR: &str = "followed";

/// The readers the viewer follows who shelved, rated or reviewed `book_id`, most recently
/// followed first (empty without a token).
pub async fn followed_readers(
    ctx: &Context<'_>,
    book_id: Uuid,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Connection<String, FollowedReaderOnBook, ListInfo>, ApiError> {
    let limit = page_size(first)?;
    let after = after
        .as_deref()
        .map(|c| {
            decode_cursor(FOLLOWED_CURSOR, "after", c)?
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("after", "after is not a cursor of this list"))
        })
        .transpose()?;
    let Some(viewer) = ctx.data_opt::<crate::auth::Viewer>() else {
        return Ok(Connection::with_additional_fields(false, false, ListInfo { total_count: 0 }));
    };
    // One page in SQL (keyset on the follow's position), and the count apart: a viewer who
    // follows thousands never has them all loaded.
    let pool = &app(ctx).pool;
    let before = after.unwrap_or(i64::MAX);
    let mut page = feed::followed_on_book(pool, viewer.reader_id, book_id, before, limit + 1).await?;
    let total_count = feed::followed_on_book_count(pool, viewer.reader_id, book_id).await?;
    let has_next = page.len() as i64 > limit;
    page.truncate(limit as usize);
    let mut connection = Connection::with_additional_fields(after.is_some(), has_next, ListInfo { total_count });
    connection.edges.extend(page.into_iter().map(|r| {
        let entry = FollowedReaderOnBook {
            reader_id: r.reader_id,
            status: r.status.map(ShelfStatus::from),
            stars: r.quarter_stars.map(whole_stars),
            exact_stars: r.quarter_stars.map(exact_stars),
            review_id: r.review_id,
        };
        Edge::new(encode_cursor(FOLLOWED_CURSOR, &r.position.to_string()), entry)
    }));
    Ok(connection)
}
