//! The fields of the objects every slice shows (`Book`, `Author`, `Reader`, declared in
//! `shared`): each field asks the slice that owns its data. This module sits above the slices;
//! the slices only see the objects' types, so no slice imports another through them.

use std::borrow::Cow;

use async_graphql::{connection::Connection, Context, Object, Result, ID};
use chrono::{DateTime, NaiveDate, Utc};

use super::{
    catalog::{self, series::SeriesOfTheBook},
    database::{load_error, loader},
    discovery::{self, BookSurvey, Tag},
    feed::{self, ActivityKind, FeedItem, FollowedReaderOnBook},
    lists::{self, List},
    notifications::{self, Notification, NotificationKind},
    ratings::{self, BookRatings},
    reading::{self, year::ReadingGoal, CustomShelf, ReadingStats, ShelfCounts, ShelfEntry, ShelfOrder, TimelineEntry},
    recommendations::{self, AlsoEnjoyed},
    reviews::{self, ReviewOrder, ReviewsOf},
    shared::{
        app, exact_stars,
        image::Image,
        review::{self, Review},
        whole_stars, Author, Book, Edition, ListInfo, Reader, ShelfStatus,
    },
    social,
};
use readstream_readmodel::{
    catalog::{AuthorOfReader, AuthorsOf, BooksCountOf},
    discovery::TagKind,
    images::{AvatarOf, CoverOf, PhotoOf},
    ratings::RatingBy,
};

impl Book {
    /// The viewer's rating of the book in quarter stars; none without a token.
    async fn viewer_quarter_stars(&self, ctx: &Context<'_>) -> Result<Option<i16>> {
        let Some(viewer) = ctx.data_opt::<crate::auth::Viewer>() else { return Ok(None) };
        Ok(loader(ctx).load_one(RatingBy(viewer.reader_id, self.0.book_id)).await.map_err(load_error)?)
    }
}

/// A book: the work readers rate, shelve and review.
#[Object]
impl Book {
    pub async fn id(&self) -> ID {
        ID(self.0.book_id.to_string())
    }

    /// The book's page in the web app.
    async fn url(&self, ctx: &Context<'_>) -> String {
        format!("{}/books/{}", app(ctx).public_url, self.0.book_id)
    }

    /// The cover a librarian uploaded; null when it has none (an edition may still have a
    /// `coverUrl`).
    async fn cover(&self, ctx: &Context<'_>) -> Result<Option<Image>> {
        Ok(loader(ctx).load_one(CoverOf(self.0.book_id)).await.map_err(load_error)?.map(Image))
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// Empty when the book has none.
    async fn subtitle(&self) -> &str {
        &self.0.subtitle
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    async fn pages(&self) -> i32 {
        self.0.pages
    }

    /// Hardcover, Paperback, Ebook, …; empty when unknown.
    async fn format(&self) -> &str {
        &self.0.format
    }

    async fn first_published(&self) -> Option<NaiveDate> {
        self.0.first_published
    }

    /// In the order the book lists them.
    async fn authors(&self, ctx: &Context<'_>) -> Result<Vec<Author>> {
        if let Some(figures) = &self.1 {
            return Ok(figures.authors.iter().cloned().map(Author).collect());
        }
        let rows = loader(ctx).load_one(AuthorsOf(self.0.book_id)).await.map_err(load_error)?;
        Ok(rows.unwrap_or_default().into_iter().map(Author).collect())
    }

    /// What readers' shelves say it is: each genre three readers or more name (shelf names
    /// folded: `Sci Fi` and `sci-fi` are one; to-read, owned, years and the like are no
    /// genres), the most named first, with its share of the readers naming any.
    async fn genres(&self, ctx: &Context<'_>, #[graphql(default = 10)] first: i32) -> Result<Vec<Tag>> {
        Ok(discovery::tags(ctx, self.0.book_id, TagKind::Genre, first).await?)
    }

    /// How it feels to read, as readers answered: each mood with its share of those answering.
    async fn moods(&self, ctx: &Context<'_>, #[graphql(default = 14)] first: i32) -> Result<Vec<Tag>> {
        Ok(discovery::tags(ctx, self.0.book_id, TagKind::Mood, first).await?)
    }

    /// How fast it reads, as readers answered: each pace with its share.
    async fn paces(&self, ctx: &Context<'_>) -> Result<Vec<Tag>> {
        Ok(discovery::tags(ctx, self.0.book_id, TagKind::Pace, 3).await?)
    }

    /// What readers warn of, each with its share of those answering.
    async fn content_warnings(&self, ctx: &Context<'_>, #[graphql(default = 20)] first: i32) -> Result<Vec<Tag>> {
        Ok(discovery::tags(ctx, self.0.book_id, TagKind::ContentWarning, first).await?)
    }

    /// The viewer's own answers about it (`describeBook`); null when not signed in.
    async fn viewer_survey(&self, ctx: &Context<'_>) -> Result<Option<BookSurvey>> {
        Ok(discovery::viewer_survey(ctx, self.0.book_id).await?)
    }

    /// Books readers who enjoyed this one also enjoyed, the most alike first (for a signed-in
    /// viewer, none they rated or shelved).
    async fn readers_also_enjoyed(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, desc = "1 to 50.")] first: i32,
    ) -> Result<Vec<AlsoEnjoyed>> {
        Ok(recommendations::also_enjoyed(ctx, self.0.book_id, first).await?)
    }

    /// The lists it is on that the viewer may see, where it has the most votes first.
    async fn lists(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 5, desc = "1 to 50.")] first: i32,
    ) -> Result<Vec<List>> {
        Ok(lists::of_book(ctx, self.0.book_id, first).await?)
    }

    /// The series it is in, with its number in each.
    async fn series(&self, ctx: &Context<'_>) -> Result<Vec<SeriesOfTheBook>> {
        Ok(catalog::series::of_book(ctx, self.0.book_id).await?)
    }

    /// Its editions, the most recently published first.
    async fn editions(&self, ctx: &Context<'_>) -> Result<Vec<Edition>> {
        Ok(Edition::of_book(ctx, self.0.book_id).await?)
    }

    /// How many editions it has.
    async fn editions_count(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(Edition::of_book(ctx, self.0.book_id).await?.len() as i32)
    }

    async fn ratings(&self, ctx: &Context<'_>) -> Result<BookRatings> {
        match &self.1 {
            Some(figures) => Ok(BookRatings::new(self.0.book_id, figures.ratings)),
            None => Ok(ratings::book_ratings(ctx, self.0.book_id).await?),
        }
    }

    /// Its community reviews, keyset-paged; `stars` keeps those whose reviewer gave that many.
    async fn reviews(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] order_by: ReviewOrder,
        stars: Option<i32>,
    ) -> Result<Connection<String, Review, ListInfo>> {
        let of = ReviewsOf::Book {
            book_id: self.0.book_id,
            stars,
            reviews_count: self.1.as_ref().map(|figures| figures.reviews_count),
        };
        Ok(reviews::reviews(ctx, of, first, after, order_by).await?)
    }

    /// What the readers the viewer follows did with it: shelf, stars, review.
    async fn followed_readers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, FollowedReaderOnBook, ListInfo>> {
        Ok(feed::followed_readers(ctx, self.0.book_id, first, after).await?)
    }

    /// How many readers have it on each built-in shelf.
    async fn shelf_counts(&self, ctx: &Context<'_>) -> Result<ShelfCounts> {
        match &self.1 {
            Some(figures) => Ok(figures.shelf_counts.into()),
            None => reading::shelf_counts(ctx, self.0.book_id).await,
        }
    }

    /// The viewer's copy: status, dates, progress, read count, custom shelves (null when the
    /// viewer has not shelved it, or is not signed in).
    async fn viewer_shelf(&self, ctx: &Context<'_>) -> Result<Option<ShelfEntry>> {
        let Some(viewer) = ctx.data_opt::<crate::auth::Viewer>() else { return Ok(None) };
        Ok(reading::shelf_entry(ctx, viewer.reader_id, self.0.book_id).await?)
    }

    /// The viewer's stars for it in whole stars (quarters rounded half up): null when they have
    /// not rated it, or are not signed in.
    async fn viewer_rating(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        Ok(self.viewer_quarter_stars(ctx).await?.map(whole_stars))
    }

    /// The viewer's stars for it as they gave them, in steps of 0.25: null when they have not
    /// rated it, or are not signed in.
    async fn viewer_exact_rating(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        Ok(self.viewer_quarter_stars(ctx).await?.map(exact_stars))
    }

    /// The viewer's own review of it: null when they have not written one, or are not signed in.
    async fn viewer_review(&self, ctx: &Context<'_>) -> Result<Option<Review>> {
        let Some(viewer) = ctx.data_opt::<crate::auth::Viewer>() else { return Ok(None) };
        let review_id = readstream_contracts::reviews::review_id(viewer.reader_id, self.0.book_id);
        Ok(review::load_review(&app(ctx).pool, review_id).await?)
    }
}

/// Someone who wrote books in the catalog.
#[Object]
impl Author {
    pub async fn id(&self) -> ID {
        ID(self.0.author_id.to_string())
    }

    /// The author's page in the web app.
    async fn url(&self, ctx: &Context<'_>) -> String {
        format!("{}/authors/{}", app(ctx).public_url, self.0.author_id)
    }

    /// The photo a librarian uploaded; null when none.
    async fn photo(&self, ctx: &Context<'_>) -> Result<Option<Image>> {
        Ok(loader(ctx).load_one(PhotoOf(self.0.author_id)).await.map_err(load_error)?.map(Image))
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn bio(&self) -> &str {
        &self.0.bio
    }

    /// The books that list this author, in the order they were added, keyset-paged.
    async fn books(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Book, ListInfo>> {
        let total_count = self.books_count(ctx).await?;
        super::catalog::author_books(ctx, self.0.author_id, total_count, first, after).await
    }

    /// How many books list this author.
    async fn books_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(loader(ctx).load_one(BooksCountOf(self.0.author_id)).await.map_err(load_error)?.unwrap_or(0))
    }

    /// The reader account that is this author, if a librarian linked one.
    async fn reader(&self, ctx: &Context<'_>) -> Result<Option<Reader>> {
        match self.0.reader_id {
            Some(reader_id) => Ok(Reader::load(ctx, reader_id).await?),
            None => Ok(None),
        }
    }

    /// How many readers follow this author.
    async fn followers_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let followers = loader(ctx).load_one(readstream_readmodel::social::AuthorFollowersOf(self.0.author_id)).await;
        Ok(followers.map_err(load_error)?.unwrap_or(0))
    }

    /// Whether the viewer follows this author; false for anyone not signed in.
    async fn viewer_follows(&self, ctx: &Context<'_>) -> Result<bool> {
        let Some(viewer) = ctx.data_opt::<crate::auth::Viewer>() else { return Ok(false) };
        let follows =
            loader(ctx).load_one(readstream_readmodel::social::FollowsAuthor(viewer.reader_id, self.0.author_id)).await;
        Ok(follows.map_err(load_error)?.unwrap_or(false))
    }
}

/// A reader's public profile, shelves, reviews and follows.
#[Object]
impl Reader {
    pub async fn id(&self) -> ID {
        ID(self.reader_id.to_string())
    }

    /// The reader's profile page in the web app.
    async fn url(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(format!("{}/readers/{}", app(ctx).public_url, self.profile(ctx).await?.handle))
    }

    /// The picture the reader chose (`setAvatar`); null when none.
    async fn avatar(&self, ctx: &Context<'_>) -> Result<Option<Image>> {
        Ok(loader(ctx).load_one(AvatarOf(self.reader_id)).await.map_err(load_error)?.map(Image))
    }

    async fn handle(&self, ctx: &Context<'_>) -> Result<Cow<'_, str>> {
        Ok(self.profile_text(ctx, |row| &row.handle).await?)
    }

    async fn display_name(&self, ctx: &Context<'_>) -> Result<Cow<'_, str>> {
        Ok(self.profile_text(ctx, |row| &row.display_name).await?)
    }

    async fn bio(&self, ctx: &Context<'_>) -> Result<Cow<'_, str>> {
        Ok(self.profile_text(ctx, |row| &row.bio).await?)
    }

    async fn joined_at(&self, ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        Ok(self.profile(ctx).await?.joined_at)
    }

    /// Who sees this reader's shelves, progress and reading history.
    async fn reading_visibility(&self, ctx: &Context<'_>) -> Result<social::Visibility> {
        Ok(social::reading_visibility(ctx, self.reader_id).await?)
    }

    /// What the reader may do beyond their own account: a librarian adds to the catalog, an
    /// admin grants and revokes roles.
    async fn roles(&self, ctx: &Context<'_>) -> Result<Vec<social::Role>> {
        Ok(social::roles(ctx, self.reader_id).await?)
    }

    /// The reader's books, on one built-in shelf (`status`), one custom shelf (`shelf`) or all;
    /// `asOf` shows the built-in shelves as they stood at the end of that day. Refused
    /// (`PERMISSION_DENIED`) unless the reader shares their reading with the viewer.
    #[allow(clippy::too_many_arguments)]
    async fn shelf(
        &self,
        ctx: &Context<'_>,
        status: Option<ShelfStatus>,
        shelf: Option<String>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] order_by: ShelfOrder,
        as_of: Option<NaiveDate>,
    ) -> Result<Connection<String, ShelfEntry, ListInfo>> {
        social::reading_shared(ctx, self.reader_id).await?;
        Ok(reading::shelf(ctx, self.reader_id, status, shelf, first, after, order_by, as_of).await?)
    }

    /// What the readers this reader follows did, newest first (the reader's own only; ask
    /// `viewer { feed }`). `kinds` keeps only those activities.
    async fn feed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
        kinds: Option<Vec<ActivityKind>>,
    ) -> Result<Connection<String, FeedItem>> {
        Ok(feed::feed(ctx, self.reader_id, first, after, kinds).await?)
    }

    /// What others did that concerns this reader, grouped, newest first (the reader's own only;
    /// ask `viewer { notifications }`).
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Notification>> {
        Ok(notifications::notifications(ctx, self.reader_id, first, after).await?)
    }

    /// How many things they have not marked read, muted kinds left out (the reader's own only).
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> Result<i64> {
        Ok(notifications::unread_count(ctx, self.reader_id).await?)
    }

    /// The kinds of notification they muted (the reader's own only).
    async fn muted_notification_kinds(&self, ctx: &Context<'_>) -> Result<Vec<NotificationKind>> {
        Ok(notifications::muted(ctx, self.reader_id).await?)
    }

    async fn followers_count(&self, ctx: &Context<'_>) -> Result<i64> {
        match self.counts {
            Some(counts) => Ok(counts.followers),
            None => Ok(social::follow_counts(ctx, self.reader_id).await?.0),
        }
    }

    async fn following_count(&self, ctx: &Context<'_>) -> Result<i64> {
        match self.counts {
            Some(counts) => Ok(counts.following),
            None => Ok(social::follow_counts(ctx, self.reader_id).await?.1),
        }
    }

    /// Who follows the reader, most recent first.
    async fn followers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Reader, ListInfo>> {
        Ok(social::follow_list(ctx, self.reader_id, social::Direction::Followers, first, after).await?)
    }

    /// Whom the reader follows, most recent first.
    async fn following(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Reader, ListInfo>> {
        Ok(social::follow_list(ctx, self.reader_id, social::Direction::Following, first, after).await?)
    }

    /// Whether the signed-in reader follows this reader (false without a token).
    async fn viewer_follows(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(social::viewer_follows(ctx, self.reader_id).await?)
    }

    /// Whether the signed-in reader blocked this reader (false without a token).
    async fn viewer_blocks(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(social::viewer_blocks(ctx, self.reader_id).await?)
    }

    /// The author this reader is, if a librarian linked their account to an author profile:
    /// what a review shows as the reviewer's author badge (books and followers).
    async fn author_profile(&self, ctx: &Context<'_>) -> Result<Option<Author>> {
        let author = loader(ctx).load_one(AuthorOfReader(self.reader_id)).await.map_err(load_error)?;
        Ok(author.map(Author))
    }

    /// How many live reviews the reader has written.
    async fn reviews_count(&self, ctx: &Context<'_>) -> Result<i64> {
        match self.counts {
            Some(counts) => Ok(counts.reviews),
            None => Ok(review::reviews_count(ctx, self.reader_id).await?),
        }
    }

    /// The reader's reviews, newest first.
    async fn reviews(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Review, ListInfo>> {
        let of =
            ReviewsOf::Reader { reader_id: self.reader_id, reviews_count: self.counts.map(|counts| counts.reviews) };
        Ok(reviews::reviews(ctx, of, first, after, ReviewOrder::Newest).await?)
    }

    /// The reader's own named shelves with how many books each holds (shared like `shelf`).
    async fn shelves(&self, ctx: &Context<'_>) -> Result<Vec<CustomShelf>> {
        social::reading_shared(ctx, self.reader_id).await?;
        Ok(reading::custom_shelves(ctx, self.reader_id).await?)
    }

    /// Every reading step, oldest first, straight from the events (the reader's own only).
    async fn reading_timeline(
        &self,
        ctx: &Context<'_>,
        book_id: Option<ID>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, TimelineEntry, ListInfo>> {
        Ok(reading::timeline(ctx, self.reader_id, book_id, from, to, first, after).await?)
    }

    /// Their year in review: books and pages finished in `year` by month, the shortest and
    /// longest, the highest rated, the author read most, the first and the last. Shown as their
    /// reading is (`readingVisibility`): otherwise `PERMISSION_DENIED`.
    async fn reading_stats(&self, ctx: &Context<'_>, year: i32) -> Result<ReadingStats> {
        social::reading_shared(ctx, self.reader_id).await?;
        Ok(reading::stats(ctx, self.reader_id, year).await?)
    }

    /// Their goal for `year` and how they stand against it today, in their time zone; null
    /// when they set none. Shown as their reading is (`readingVisibility`): otherwise
    /// `PERMISSION_DENIED`.
    async fn reading_goal(&self, ctx: &Context<'_>, year: i32) -> Result<Option<ReadingGoal>> {
        reading::year::year_bounds(year)?;
        social::reading_shared(ctx, self.reader_id).await?;
        Ok(reading::year::goal(&app(ctx).pool, self.reader_id, year).await?)
    }

    /// The time zone their days are in (an IANA name, UTC until they set one): the reader's
    /// own only, null for anyone else.
    async fn time_zone(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        if ctx.data_opt::<crate::auth::Viewer>().map(|viewer| viewer.reader_id) != Some(self.reader_id) {
            return Ok(None);
        }
        let zone = readstream_readmodel::goals::time_zone(&app(ctx).pool, self.reader_id).await;
        Ok(Some(zone.map_err(crate::error::ApiError::from)?))
    }
}
