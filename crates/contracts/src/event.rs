//! Domain events as plain Rust, and their one conversion from and to the wire.

use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use uuid::Uuid;

use crate::{
    catalog::{BookDetails, CatalogEvent, EditionAdded, SeriesPosition},
    image::ImageId,
    lists::ListEvent,
    proto::events::v1 as pb,
    ratings::{ClearedStars, RatingsEvent, Stars},
    reading::{GoalEvent, Progress, ReadingEvent},
    reviews::ReviewsEvent,
    social::{Role, SocialEvent, TimeZone, Visibility},
    survey::{ContentWarning, Mood, Pace, Survey},
};

/// Something that happened, in the words of the domain: one context's event. Each context's
/// enum lists its own events, so a decider matches only those and the compiler points at every
/// place a new one must be handled.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Event {
    Catalog(CatalogEvent),
    Social(SocialEvent),
    Ratings(RatingsEvent),
    Reading(ReadingEvent),
    /// A reader's yearly reading goal: the reading context's second aggregate.
    Goals(GoalEvent),
    Reviews(ReviewsEvent),
    /// Readers' lists and their votes, decided by the reviews service.
    Lists(ListEvent),
}

/// One context's own events: what its deciders decide and fold, each a part of [`Event`].
pub trait ContextEvent: Into<Event> + Sized + 'static {
    /// This context's event, when `event` is one.
    fn of(event: &Event) -> Option<&Self>;
}

macro_rules! context_events {
    ($($context:ident($event:ty)),* $(,)?) => {$(
        impl From<$event> for Event {
            fn from(event: $event) -> Self {
                Event::$context(event)
            }
        }

        impl ContextEvent for $event {
            fn of(event: &Event) -> Option<&Self> {
                match event {
                    Event::$context(event) => Some(event),
                    _ => None,
                }
            }
        }
    )*};
}

context_events!(
    Catalog(CatalogEvent),
    Social(SocialEvent),
    Ratings(RatingsEvent),
    Reading(ReadingEvent),
    Goals(GoalEvent),
    Reviews(ReviewsEvent),
    Lists(ListEvent),
);

/// Who did it, when, and on behalf of which command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub occurred_at: DateTime<Utc>,
    pub actor: Option<Uuid>,
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    /// The batch job that sent the command for the reader (a library import, a merge's move):
    /// its events reach no feed one by one.
    pub import_job: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub id: Uuid,
    pub event: Event,
}

/// One command's events, stored as one stream message so they land atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub meta: Metadata,
    pub events: Vec<RecordedEvent>,
}

/// Wire data that is not a valid event.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("not a protobuf envelope: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("field {field} is not a valid {expected}: {value:?}")]
    Invalid { field: &'static str, expected: &'static str, value: String },
    #[error("event {0} has no body (written by a newer version?)")]
    MissingBody(String),
}

impl Envelope {
    /// Gives each event a fresh time-ordered id.
    pub fn new(meta: Metadata, events: Vec<Event>) -> Self {
        let events = events.into_iter().map(|event| RecordedEvent { id: Uuid::now_v7(), event }).collect();
        Self { meta, events }
    }

    pub fn encode(&self) -> Vec<u8> {
        pb::Envelope::from(self).encode_to_vec()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        Self::try_from(pb::Envelope::decode(bytes)?)
    }
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::Catalog(CatalogEvent::AuthorAdded { .. }) => "AuthorAdded",
            Event::Catalog(CatalogEvent::BookAdded(_)) => "BookAdded",
            Event::Catalog(CatalogEvent::EditionAdded(_)) => "EditionAdded",
            Event::Catalog(CatalogEvent::AuthorEdited { .. }) => "AuthorEdited",
            Event::Catalog(CatalogEvent::BookEdited(_)) => "BookEdited",
            Event::Catalog(CatalogEvent::BookMerged { .. }) => "BookMerged",
            Event::Catalog(CatalogEvent::AuthorMerged { .. }) => "AuthorMerged",
            Event::Catalog(CatalogEvent::AuthorProfileLinked { .. }) => "AuthorProfileLinked",
            Event::Catalog(CatalogEvent::AuthorProfileUnlinked { .. }) => "AuthorProfileUnlinked",
            Event::Catalog(CatalogEvent::BookCoverChanged { .. }) => "BookCoverChanged",
            Event::Catalog(CatalogEvent::AuthorPhotoChanged { .. }) => "AuthorPhotoChanged",
            Event::Catalog(CatalogEvent::SeriesAdded { .. }) => "SeriesAdded",
            Event::Catalog(CatalogEvent::SeriesEdited { .. }) => "SeriesEdited",
            Event::Catalog(CatalogEvent::BookPlacedInSeries { .. }) => "BookPlacedInSeries",
            Event::Catalog(CatalogEvent::BookRemovedFromSeries { .. }) => "BookRemovedFromSeries",
            Event::Social(SocialEvent::AvatarChanged { .. }) => "AvatarChanged",
            Event::Social(SocialEvent::ReaderRegistered { .. }) => "ReaderRegistered",
            Event::Social(SocialEvent::ProfileUpdated { .. }) => "ProfileUpdated",
            Event::Social(SocialEvent::ReaderFollowed { .. }) => "ReaderFollowed",
            Event::Social(SocialEvent::ReaderUnfollowed { .. }) => "ReaderUnfollowed",
            Event::Social(SocialEvent::ReaderBlocked { .. }) => "ReaderBlocked",
            Event::Social(SocialEvent::ReaderUnblocked { .. }) => "ReaderUnblocked",
            Event::Social(SocialEvent::RoleGranted { .. }) => "RoleGranted",
            Event::Social(SocialEvent::RoleRevoked { .. }) => "RoleRevoked",
            Event::Social(SocialEvent::ReadingVisibilityChanged { .. }) => "ReadingVisibilityChanged",
            Event::Social(SocialEvent::TimeZoneChanged { .. }) => "TimeZoneChanged",
            Event::Social(SocialEvent::ReaderDeleted { .. }) => "ReaderDeleted",
            Event::Social(SocialEvent::SignUpExpired { .. }) => "SignUpExpired",
            Event::Social(SocialEvent::AuthorFollowed { .. }) => "AuthorFollowed",
            Event::Social(SocialEvent::AuthorUnfollowed { .. }) => "AuthorUnfollowed",
            Event::Social(SocialEvent::LibraryImported { .. }) => "LibraryImported",
            Event::Social(SocialEvent::LibraryImportFailed { .. }) => "LibraryImportFailed",
            Event::Ratings(RatingsEvent::BookRated { .. }) => "BookRated",
            Event::Ratings(RatingsEvent::RatingCleared { .. }) => "RatingCleared",
            Event::Ratings(RatingsEvent::BookDescribed { .. }) => "BookDescribed",
            Event::Reading(ReadingEvent::WantToRead { .. }) => "WantToRead",
            Event::Reading(ReadingEvent::ReadingStarted { .. }) => "ReadingStarted",
            Event::Reading(ReadingEvent::ProgressUpdated { .. }) => "ProgressUpdated",
            Event::Reading(ReadingEvent::ReadingPaused { .. }) => "ReadingPaused",
            Event::Reading(ReadingEvent::ReadingFinished { .. }) => "ReadingFinished",
            Event::Reading(ReadingEvent::ReadingAbandoned { .. }) => "ReadingAbandoned",
            Event::Reading(ReadingEvent::RemovedFromShelves { .. }) => "RemovedFromShelves",
            Event::Reading(ReadingEvent::AddedToShelf { .. }) => "AddedToShelf",
            Event::Reading(ReadingEvent::RemovedFromShelf { .. }) => "RemovedFromShelf",
            Event::Reading(ReadingEvent::EditionChosen { .. }) => "EditionChosen",
            Event::Lists(ListEvent::ListCreated { .. }) => "ListCreated",
            Event::Lists(ListEvent::ListEdited { .. }) => "ListEdited",
            Event::Lists(ListEvent::ListDeleted { .. }) => "ListDeleted",
            Event::Lists(ListEvent::ListHidden { .. }) => "ListHidden",
            Event::Lists(ListEvent::BookListed { .. }) => "BookListed",
            Event::Lists(ListEvent::BookUnlisted { .. }) => "BookUnlisted",
            Event::Lists(ListEvent::ListVoteCast { .. }) => "ListVoteCast",
            Event::Lists(ListEvent::ListVoteWithdrawn { .. }) => "ListVoteWithdrawn",
            Event::Goals(GoalEvent::ReadingGoalSet { .. }) => "ReadingGoalSet",
            Event::Goals(GoalEvent::ReadingGoalRemoved { .. }) => "ReadingGoalRemoved",
            Event::Reviews(ReviewsEvent::ReviewPublished { .. }) => "ReviewPublished",
            Event::Reviews(ReviewsEvent::ReviewEdited { .. }) => "ReviewEdited",
            Event::Reviews(ReviewsEvent::ReviewWithdrawn { .. }) => "ReviewWithdrawn",
            Event::Reviews(ReviewsEvent::ReviewLiked { .. }) => "ReviewLiked",
            Event::Reviews(ReviewsEvent::ReviewUnliked { .. }) => "ReviewUnliked",
            Event::Reviews(ReviewsEvent::ReviewCommented { .. }) => "ReviewCommented",
            Event::Reviews(ReviewsEvent::CommentDeleted { .. }) => "CommentDeleted",
        }
    }
}

fn uuid(field: &'static str, value: &str) -> Result<Uuid, WireError> {
    Uuid::parse_str(value).map_err(|_| WireError::Invalid { field, expected: "UUID", value: value.to_owned() })
}

fn date(field: &'static str, value: &str) -> Result<NaiveDate, WireError> {
    value.parse().map_err(|_| WireError::Invalid { field, expected: "date", value: value.to_owned() })
}

fn optional_date(field: &'static str, value: &str) -> Result<Option<NaiveDate>, WireError> {
    match value {
        "" => Ok(None),
        value => date(field, value).map(Some),
    }
}

fn whole_stars(field: &'static str, value: u32) -> Result<Stars, WireError> {
    u8::try_from(value).ok().and_then(Stars::whole).ok_or_else(|| WireError::Invalid {
        field,
        expected: "star count 1..5",
        value: value.to_string(),
    })
}

/// A word of the survey's vocabulary; one this version does not know is a newer version's.
fn word<T>(field: &'static str, text: &str, read: fn(&str) -> Option<T>) -> Result<T, WireError> {
    read(text).ok_or_else(|| WireError::Invalid { field, expected: "a word of the survey", value: text.to_owned() })
}

fn words<T>(field: &'static str, texts: &[String], read: fn(&str) -> Option<T>) -> Result<Vec<T>, WireError> {
    texts.iter().map(|text| word(field, text, read)).collect()
}

fn quarter_stars(field: &'static str, value: u32) -> Result<Stars, WireError> {
    u8::try_from(value).ok().and_then(Stars::from_quarters).ok_or_else(|| WireError::Invalid {
        field,
        expected: "quarter stars 4..20",
        value: value.to_string(),
    })
}

/// `None` for the wire's 0 ("none"), else `read(value)`.
fn optional<T>(value: u32, read: impl FnOnce(u32) -> Result<T, WireError>) -> Result<Option<T>, WireError> {
    match value {
        0 => Ok(None),
        value => read(value).map(Some),
    }
}

fn role(value: i32) -> Result<Role, WireError> {
    match pb::Role::try_from(value) {
        Ok(pb::Role::Librarian) => Ok(Role::Librarian),
        Ok(pb::Role::Admin) => Ok(Role::Admin),
        _ => Err(WireError::Invalid { field: "role", expected: "role", value: value.to_string() }),
    }
}

fn wire_role(role: Role) -> pb::Role {
    match role {
        Role::Librarian => pb::Role::Librarian,
        Role::Admin => pb::Role::Admin,
    }
}

fn visibility(value: i32) -> Result<Visibility, WireError> {
    match pb::Visibility::try_from(value) {
        Ok(pb::Visibility::Everyone) => Ok(Visibility::Everyone),
        Ok(pb::Visibility::Followers) => Ok(Visibility::Followers),
        Ok(pb::Visibility::OnlyMe) => Ok(Visibility::OnlyMe),
        _ => Err(WireError::Invalid { field: "visibility", expected: "visibility", value: value.to_string() }),
    }
}

fn wire_visibility(visibility: Visibility) -> pb::Visibility {
    match visibility {
        Visibility::Everyone => pb::Visibility::Everyone,
        Visibility::Followers => pb::Visibility::Followers,
        Visibility::OnlyMe => pb::Visibility::OnlyMe,
    }
}

impl TryFrom<pb::Envelope> for Envelope {
    type Error = WireError;

    fn try_from(wire: pb::Envelope) -> Result<Self, Self::Error> {
        let occurred_at =
            DateTime::from_timestamp_micros(wire.occurred_at_micros).ok_or_else(|| WireError::Invalid {
                field: "occurred_at_micros",
                expected: "timestamp",
                value: wire.occurred_at_micros.to_string(),
            })?;
        let actor = match wire.actor.as_str() {
            "" => None,
            actor => Some(uuid("actor", actor)?),
        };
        let meta = Metadata {
            occurred_at,
            actor,
            command_id: uuid("command_id", &wire.command_id)?,
            correlation_id: uuid("correlation_id", &wire.correlation_id)?,
            import_job: match wire.import_job_id.as_str() {
                "" => None,
                job => Some(uuid("import_job_id", job)?),
            },
        };
        let events = wire.events.into_iter().map(RecordedEvent::try_from).collect::<Result<_, _>>()?;
        Ok(Envelope { meta, events })
    }
}

/// A book's fields from the wire, as added or edited.
fn book_details(e: pb::BookAdded) -> Result<BookDetails, WireError> {
    Ok(BookDetails {
        book_id: uuid("book_id", &e.book_id)?,
        title: e.title,
        subtitle: e.subtitle,
        description: e.description,
        pages: e.pages,
        format: e.format,
        first_published: match e.first_published.as_str() {
            "" => None,
            date => Some(date.parse().map_err(|_| WireError::Invalid {
                field: "first_published",
                expected: "date",
                value: date.to_owned(),
            })?),
        },
        author_ids: e.author_ids.iter().map(|id| uuid("author_ids", id)).collect::<Result<_, _>>()?,
    })
}

fn wire_book(e: &BookDetails) -> pb::BookAdded {
    pb::BookAdded {
        book_id: e.book_id.to_string(),
        title: e.title.clone(),
        subtitle: e.subtitle.clone(),
        description: e.description.clone(),
        pages: e.pages,
        format: e.format.clone(),
        first_published: e.first_published.map(|d| d.to_string()).unwrap_or_default(),
        author_ids: e.author_ids.iter().map(Uuid::to_string).collect(),
    }
}

impl TryFrom<pb::Event> for RecordedEvent {
    type Error = WireError;

    fn try_from(wire: pb::Event) -> Result<Self, Self::Error> {
        use pb::event::Body;
        let id = uuid("event_id", &wire.event_id)?;
        let event = match wire.body.ok_or(WireError::MissingBody(wire.event_id))? {
            Body::AuthorAdded(e) => Event::Catalog(CatalogEvent::AuthorAdded {
                author_id: uuid("author_id", &e.author_id)?,
                name: e.name,
                bio: e.bio,
            }),
            Body::EditionAdded(e) => Event::Catalog(CatalogEvent::EditionAdded(EditionAdded {
                isbn: crate::Isbn::parse("isbn", &e.isbn).map_err(|_| WireError::Invalid {
                    field: "isbn",
                    expected: "ISBN-13",
                    value: e.isbn.clone(),
                })?,
                book_id: uuid("book_id", &e.book_id)?,
                format: e.format,
                pages: e.pages,
                publisher: e.publisher,
                published_on: optional_date("published_on", &e.published_on)?,
                language: e.language,
                cover_url: e.cover_url,
            })),
            Body::BookAdded(e) => Event::Catalog(CatalogEvent::BookAdded(book_details(e)?)),
            Body::BookEdited(e) => Event::Catalog(CatalogEvent::BookEdited(book_details(pb::BookAdded {
                book_id: e.book_id,
                title: e.title,
                subtitle: e.subtitle,
                description: e.description,
                pages: e.pages,
                format: e.format,
                first_published: e.first_published,
                author_ids: e.author_ids,
            })?)),
            Body::BookMerged(e) => Event::Catalog(CatalogEvent::BookMerged {
                book_id: uuid("book_id", &e.book_id)?,
                into: uuid("into", &e.into)?,
            }),
            Body::AuthorMerged(e) => Event::Catalog(CatalogEvent::AuthorMerged {
                author_id: uuid("author_id", &e.author_id)?,
                into: uuid("into", &e.into)?,
            }),
            Body::AuthorEdited(e) => Event::Catalog(CatalogEvent::AuthorEdited {
                author_id: uuid("author_id", &e.author_id)?,
                name: e.name,
                bio: e.bio,
            }),
            Body::AuthorProfileLinked(e) => Event::Catalog(CatalogEvent::AuthorProfileLinked {
                author_id: uuid("author_id", &e.author_id)?,
                reader_id: uuid("reader_id", &e.reader_id)?,
            }),
            Body::AuthorProfileUnlinked(e) => Event::Catalog(CatalogEvent::AuthorProfileUnlinked {
                author_id: uuid("author_id", &e.author_id)?,
                reader_id: uuid("reader_id", &e.reader_id)?,
            }),
            Body::BookCoverChanged(e) => Event::Catalog(CatalogEvent::BookCoverChanged {
                book_id: uuid("book_id", &e.book_id)?,
                cover: ImageId::from_wire("cover", &e.cover)?,
            }),
            Body::AuthorPhotoChanged(e) => Event::Catalog(CatalogEvent::AuthorPhotoChanged {
                author_id: uuid("author_id", &e.author_id)?,
                photo: ImageId::from_wire("photo", &e.photo)?,
            }),
            Body::SeriesAdded(e) => Event::Catalog(CatalogEvent::SeriesAdded {
                series_id: uuid("series_id", &e.series_id)?,
                name: e.name,
                description: e.description,
            }),
            Body::SeriesEdited(e) => Event::Catalog(CatalogEvent::SeriesEdited {
                series_id: uuid("series_id", &e.series_id)?,
                name: e.name,
                description: e.description,
            }),
            Body::BookPlacedInSeries(e) => Event::Catalog(CatalogEvent::BookPlacedInSeries {
                series_id: uuid("series_id", &e.series_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                position: e
                    .position
                    .map(|hundredths| {
                        SeriesPosition::from_hundredths(hundredths).ok_or(WireError::Invalid {
                            field: "position",
                            expected: "series position",
                            value: hundredths.to_string(),
                        })
                    })
                    .transpose()?,
            }),
            Body::BookRemovedFromSeries(e) => Event::Catalog(CatalogEvent::BookRemovedFromSeries {
                series_id: uuid("series_id", &e.series_id)?,
                book_id: uuid("book_id", &e.book_id)?,
            }),
            Body::AvatarChanged(e) => Event::Social(SocialEvent::AvatarChanged {
                reader_id: uuid("reader_id", &e.reader_id)?,
                avatar: ImageId::from_wire("avatar", &e.avatar)?,
            }),
            Body::ReaderRegistered(e) => Event::Social(SocialEvent::ReaderRegistered {
                reader_id: uuid("reader_id", &e.reader_id)?,
                handle: e.handle,
                display_name: e.display_name,
            }),
            Body::ProfileUpdated(e) => Event::Social(SocialEvent::ProfileUpdated {
                reader_id: uuid("reader_id", &e.reader_id)?,
                display_name: e.display_name,
                bio: e.bio,
            }),
            Body::ReaderFollowed(e) => Event::Social(SocialEvent::ReaderFollowed {
                follower_id: uuid("follower_id", &e.follower_id)?,
                followee_id: uuid("followee_id", &e.followee_id)?,
            }),
            Body::ReaderUnfollowed(e) => Event::Social(SocialEvent::ReaderUnfollowed {
                follower_id: uuid("follower_id", &e.follower_id)?,
                followee_id: uuid("followee_id", &e.followee_id)?,
            }),
            Body::ReaderBlocked(e) => Event::Social(SocialEvent::ReaderBlocked {
                blocker_id: uuid("blocker_id", &e.blocker_id)?,
                blocked_id: uuid("blocked_id", &e.blocked_id)?,
            }),
            Body::ReaderUnblocked(e) => Event::Social(SocialEvent::ReaderUnblocked {
                blocker_id: uuid("blocker_id", &e.blocker_id)?,
                blocked_id: uuid("blocked_id", &e.blocked_id)?,
            }),
            Body::RoleGranted(e) => Event::Social(SocialEvent::RoleGranted {
                reader_id: uuid("reader_id", &e.reader_id)?,
                role: role(e.role)?,
            }),
            Body::RoleRevoked(e) => Event::Social(SocialEvent::RoleRevoked {
                reader_id: uuid("reader_id", &e.reader_id)?,
                role: role(e.role)?,
            }),
            Body::ReadingVisibilityChanged(e) => Event::Social(SocialEvent::ReadingVisibilityChanged {
                reader_id: uuid("reader_id", &e.reader_id)?,
                visibility: visibility(e.visibility)?,
            }),
            Body::TimeZoneChanged(e) => Event::Social(SocialEvent::TimeZoneChanged {
                reader_id: uuid("reader_id", &e.reader_id)?,
                time_zone: TimeZone::parse("time_zone", &e.time_zone).map_err(|_| WireError::Invalid {
                    field: "time_zone",
                    expected: "IANA time zone name",
                    value: e.time_zone.clone(),
                })?,
            }),
            Body::ListCreated(e) => Event::Lists(ListEvent::ListCreated {
                list_id: uuid("list_id", &e.list_id)?,
                owner_id: uuid("owner_id", &e.owner_id)?,
                title: e.title,
                description: e.description,
            }),
            Body::ListEdited(e) => Event::Lists(ListEvent::ListEdited {
                list_id: uuid("list_id", &e.list_id)?,
                owner_id: uuid("owner_id", &e.owner_id)?,
                title: e.title,
                description: e.description,
            }),
            Body::ListDeleted(e) => Event::Lists(ListEvent::ListDeleted { list_id: uuid("list_id", &e.list_id)? }),
            Body::ListHidden(e) => {
                Event::Lists(ListEvent::ListHidden { list_id: uuid("list_id", &e.list_id)?, hidden: e.hidden })
            }
            Body::BookListed(e) => Event::Lists(ListEvent::BookListed {
                list_id: uuid("list_id", &e.list_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                reader_id: uuid("reader_id", &e.reader_id)?,
            }),
            Body::BookUnlisted(e) => Event::Lists(ListEvent::BookUnlisted {
                list_id: uuid("list_id", &e.list_id)?,
                book_id: uuid("book_id", &e.book_id)?,
            }),
            Body::ListVoteCast(e) => Event::Lists(ListEvent::ListVoteCast {
                list_id: uuid("list_id", &e.list_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                reader_id: uuid("reader_id", &e.reader_id)?,
            }),
            Body::ListVoteWithdrawn(e) => Event::Lists(ListEvent::ListVoteWithdrawn {
                list_id: uuid("list_id", &e.list_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                reader_id: uuid("reader_id", &e.reader_id)?,
            }),
            Body::ReadingGoalSet(e) => Event::Goals(GoalEvent::ReadingGoalSet {
                reader_id: uuid("reader_id", &e.reader_id)?,
                year: e.year,
                books: e.books,
            }),
            Body::ReadingGoalRemoved(e) => Event::Goals(GoalEvent::ReadingGoalRemoved {
                reader_id: uuid("reader_id", &e.reader_id)?,
                year: e.year,
            }),
            Body::ReaderDeleted(e) => {
                Event::Social(SocialEvent::ReaderDeleted { reader_id: uuid("reader_id", &e.reader_id)? })
            }
            Body::SignUpExpired(e) => {
                Event::Social(SocialEvent::SignUpExpired { reader_id: uuid("reader_id", &e.reader_id)? })
            }
            Body::LibraryImported(e) => Event::Social(SocialEvent::LibraryImported {
                reader_id: uuid("reader_id", &e.reader_id)?,
                job_id: uuid("job_id", &e.job_id)?,
                books: e.books,
                source: e.source,
            }),
            Body::LibraryImportFailed(e) => Event::Social(SocialEvent::LibraryImportFailed {
                reader_id: uuid("reader_id", &e.reader_id)?,
                job_id: uuid("job_id", &e.job_id)?,
                reason: e.reason,
            }),
            Body::AuthorFollowed(e) => Event::Social(SocialEvent::AuthorFollowed {
                reader_id: uuid("reader_id", &e.reader_id)?,
                author_id: uuid("author_id", &e.author_id)?,
            }),
            Body::AuthorUnfollowed(e) => Event::Social(SocialEvent::AuthorUnfollowed {
                reader_id: uuid("reader_id", &e.reader_id)?,
                author_id: uuid("author_id", &e.author_id)?,
            }),
            // Version 1: whole stars, upcast to quarters.
            Body::BookRated(e) => Event::Ratings(RatingsEvent::BookRated {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                stars: whole_stars("stars", e.stars)?,
                previous_stars: optional(e.previous_stars, |stars| whole_stars("previous_stars", stars))?,
            }),
            Body::BookRatedV2(e) => Event::Ratings(RatingsEvent::BookRated {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                stars: quarter_stars("quarter_stars", e.quarter_stars)?,
                previous_stars: optional(e.previous_quarter_stars, |q| quarter_stars("previous_quarter_stars", q))?,
            }),
            // Version 1: rounded whole stars, settled by the ratings projection.
            Body::RatingCleared(e) => Event::Ratings(RatingsEvent::RatingCleared {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                previous_stars: ClearedStars::Rounded(whole_stars("previous_stars", e.previous_stars)?.rounded()),
            }),
            Body::RatingClearedV2(e) => Event::Ratings(RatingsEvent::RatingCleared {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                previous_stars: ClearedStars::Exact(quarter_stars("previous_quarter_stars", e.previous_quarter_stars)?),
            }),
            Body::BookDescribed(e) => Event::Ratings(RatingsEvent::BookDescribed {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                survey: Survey {
                    moods: words("moods", &e.moods, Mood::from_text)?,
                    pace: match e.pace.as_str() {
                        "" => None,
                        pace => Some(word("pace", pace, Pace::from_text)?),
                    },
                    content_warnings: words("content_warnings", &e.content_warnings, ContentWarning::from_text)?,
                },
            }),
            Body::WantToRead(e) => Event::Reading(ReadingEvent::WantToRead {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                on: date("on", &e.on)?,
            }),
            Body::ReadingStarted(e) => Event::Reading(ReadingEvent::ReadingStarted {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                started_on: date("started_on", &e.started_on)?,
                read_through: e.read_through,
                resumed: e.resumed,
            }),
            Body::ProgressUpdated(e) => Event::Reading(ReadingEvent::ProgressUpdated {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                on: date("on", &e.on)?,
                progress: match (e.page, e.percent) {
                    (Some(page), None) => Progress::Page(page),
                    (None, Some(percent)) => Progress::Percent(percent),
                    _ => {
                        return Err(WireError::Invalid {
                            field: "page",
                            expected: "exactly one of page and percent",
                            value: format!("{:?}/{:?}", e.page, e.percent),
                        })
                    }
                },
                note: e.note,
                read_through: e.read_through,
            }),
            Body::ReadingPaused(e) => Event::Reading(ReadingEvent::ReadingPaused {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                on: date("on", &e.on)?,
                read_through: e.read_through,
            }),
            Body::ReadingFinished(e) => Event::Reading(ReadingEvent::ReadingFinished {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                finished_on: date("finished_on", &e.finished_on)?,
                started_on: optional_date("started_on", &e.started_on)?,
                read_through: e.read_through,
            }),
            Body::ReadingAbandoned(e) => Event::Reading(ReadingEvent::ReadingAbandoned {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                on: date("on", &e.on)?,
                note: e.note,
                read_through: e.read_through,
            }),
            Body::RemovedFromShelves(e) => Event::Reading(ReadingEvent::RemovedFromShelves {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                on: date("on", &e.on)?,
            }),
            Body::AddedToShelf(e) => Event::Reading(ReadingEvent::AddedToShelf {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                shelf: e.shelf,
            }),
            Body::RemovedFromShelf(e) => Event::Reading(ReadingEvent::RemovedFromShelf {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                shelf: e.shelf,
            }),
            Body::EditionChosen(e) => Event::Reading(ReadingEvent::EditionChosen {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                isbn: match e.isbn.as_str() {
                    "" => None,
                    isbn => Some(crate::Isbn::parse("isbn", isbn).map_err(|_| WireError::Invalid {
                        field: "isbn",
                        expected: "ISBN-13",
                        value: e.isbn.clone(),
                    })?),
                },
            }),
            Body::ReviewPublished(e) => Event::Reviews(ReviewsEvent::ReviewPublished {
                review_id: uuid("review_id", &e.review_id)?,
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                body: e.body,
                contains_spoilers: e.contains_spoilers,
                written_on: date("written_on", &e.written_on)?,
            }),
            Body::ReviewEdited(e) => Event::Reviews(ReviewsEvent::ReviewEdited {
                review_id: uuid("review_id", &e.review_id)?,
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                body: e.body,
                contains_spoilers: e.contains_spoilers,
            }),
            Body::ReviewWithdrawn(e) => Event::Reviews(ReviewsEvent::ReviewWithdrawn {
                review_id: uuid("review_id", &e.review_id)?,
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
            }),
            Body::ReviewLiked(e) => Event::Reviews(ReviewsEvent::ReviewLiked {
                review_id: uuid("review_id", &e.review_id)?,
                liker_id: uuid("liker_id", &e.liker_id)?,
            }),
            Body::ReviewUnliked(e) => Event::Reviews(ReviewsEvent::ReviewUnliked {
                review_id: uuid("review_id", &e.review_id)?,
                liker_id: uuid("liker_id", &e.liker_id)?,
            }),
            Body::ReviewCommented(e) => Event::Reviews(ReviewsEvent::ReviewCommented {
                review_id: uuid("review_id", &e.review_id)?,
                comment_id: uuid("comment_id", &e.comment_id)?,
                commenter_id: uuid("commenter_id", &e.commenter_id)?,
                body: e.body,
            }),
            Body::CommentDeleted(e) => Event::Reviews(ReviewsEvent::CommentDeleted {
                review_id: uuid("review_id", &e.review_id)?,
                comment_id: uuid("comment_id", &e.comment_id)?,
                commenter_id: uuid("commenter_id", &e.commenter_id)?,
            }),
        };
        Ok(RecordedEvent { id, event })
    }
}

impl From<&Envelope> for pb::Envelope {
    fn from(envelope: &Envelope) -> Self {
        pb::Envelope {
            occurred_at_micros: envelope.meta.occurred_at.timestamp_micros(),
            actor: envelope.meta.actor.map(|a| a.to_string()).unwrap_or_default(),
            command_id: envelope.meta.command_id.to_string(),
            correlation_id: envelope.meta.correlation_id.to_string(),
            events: envelope.events.iter().map(pb::Event::from).collect(),
            import_job_id: envelope.meta.import_job.map(|job| job.to_string()).unwrap_or_default(),
        }
    }
}

impl From<&RecordedEvent> for pb::Event {
    fn from(recorded: &RecordedEvent) -> Self {
        use pb::event::Body;
        let body = match &recorded.event {
            Event::Catalog(CatalogEvent::AuthorAdded { author_id, name, bio }) => Body::AuthorAdded(pb::AuthorAdded {
                author_id: author_id.to_string(),
                name: name.clone(),
                bio: bio.clone(),
            }),
            Event::Catalog(CatalogEvent::BookAdded(e)) => Body::BookAdded(wire_book(e)),
            Event::Catalog(CatalogEvent::BookEdited(e)) => {
                let pb::BookAdded { book_id, title, subtitle, description, pages, format, first_published, author_ids } =
                    wire_book(e);
                Body::BookEdited(pb::BookEdited {
                    book_id,
                    title,
                    subtitle,
                    description,
                    pages,
                    format,
                    first_published,
                    author_ids,
                })
            }
            Event::Catalog(CatalogEvent::BookMerged { book_id, into }) => {
                Body::BookMerged(pb::BookMerged { book_id: book_id.to_string(), into: into.to_string() })
            }
            Event::Catalog(CatalogEvent::AuthorMerged { author_id, into }) => {
                Body::AuthorMerged(pb::AuthorMerged { author_id: author_id.to_string(), into: into.to_string() })
            }
            Event::Catalog(CatalogEvent::AuthorEdited { author_id, name, bio }) => {
                Body::AuthorEdited(pb::AuthorEdited {
                    author_id: author_id.to_string(),
                    name: name.clone(),
                    bio: bio.clone(),
                })
            }
            Event::Catalog(CatalogEvent::AuthorProfileLinked { author_id, reader_id }) => {
                Body::AuthorProfileLinked(pb::AuthorProfileLinked {
                    author_id: author_id.to_string(),
                    reader_id: reader_id.to_string(),
                })
            }
            Event::Catalog(CatalogEvent::AuthorProfileUnlinked { author_id, reader_id }) => {
                Body::AuthorProfileUnlinked(pb::AuthorProfileUnlinked {
                    author_id: author_id.to_string(),
                    reader_id: reader_id.to_string(),
                })
            }
            Event::Catalog(CatalogEvent::EditionAdded(e)) => Body::EditionAdded(pb::EditionAdded {
                isbn: e.isbn.to_string(),
                book_id: e.book_id.to_string(),
                format: e.format.clone(),
                pages: e.pages,
                publisher: e.publisher.clone(),
                published_on: e.published_on.map(|d| d.to_string()).unwrap_or_default(),
                language: e.language.clone(),
                cover_url: e.cover_url.clone(),
            }),
            Event::Social(SocialEvent::ReaderRegistered { reader_id, handle, display_name }) => {
                Body::ReaderRegistered(pb::ReaderRegistered {
                    reader_id: reader_id.to_string(),
                    handle: handle.clone(),
                    display_name: display_name.clone(),
                })
            }
            Event::Ratings(RatingsEvent::BookRated { reader_id, book_id, stars, previous_stars }) => {
                Body::BookRatedV2(pb::BookRatedV2 {
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    quarter_stars: u32::from(stars.quarters()),
                    previous_quarter_stars: previous_stars.map_or(0, |stars| u32::from(stars.quarters())),
                })
            }
            Event::Ratings(RatingsEvent::BookDescribed { reader_id, book_id, survey }) => {
                Body::BookDescribed(pb::BookDescribed {
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    moods: survey.moods.iter().map(|mood| mood.as_str().to_owned()).collect(),
                    pace: survey.pace.map(Pace::as_str).unwrap_or_default().to_owned(),
                    content_warnings: survey
                        .content_warnings
                        .iter()
                        .map(|warning| warning.as_str().to_owned())
                        .collect(),
                })
            }
            Event::Ratings(RatingsEvent::RatingCleared { reader_id, book_id, previous_stars }) => {
                match previous_stars {
                    ClearedStars::Exact(stars) => Body::RatingClearedV2(pb::RatingClearedV2 {
                        reader_id: reader_id.to_string(),
                        book_id: book_id.to_string(),
                        previous_quarter_stars: u32::from(stars.quarters()),
                    }),
                    // Only ever read from version 1, and written back as it was.
                    ClearedStars::Rounded(stars) => Body::RatingCleared(pb::RatingCleared {
                        reader_id: reader_id.to_string(),
                        book_id: book_id.to_string(),
                        previous_stars: u32::from(*stars),
                    }),
                }
            }
            Event::Reading(ReadingEvent::WantToRead { reader_id, book_id, on }) => Body::WantToRead(pb::WantToRead {
                reader_id: reader_id.to_string(),
                book_id: book_id.to_string(),
                on: on.to_string(),
            }),
            Event::Reading(ReadingEvent::ReadingStarted { reader_id, book_id, started_on, read_through, resumed }) => {
                Body::ReadingStarted(pb::ReadingStarted {
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    started_on: started_on.to_string(),
                    read_through: *read_through,
                    resumed: *resumed,
                })
            }
            Event::Reading(ReadingEvent::ProgressUpdated { reader_id, book_id, on, progress, note, read_through }) => {
                let (page, percent) = match *progress {
                    Progress::Page(page) => (Some(page), None),
                    Progress::Percent(percent) => (None, Some(percent)),
                };
                Body::ProgressUpdated(pb::ProgressUpdated {
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    on: on.to_string(),
                    page,
                    percent,
                    note: note.clone(),
                    read_through: *read_through,
                })
            }
            Event::Reading(ReadingEvent::ReadingPaused { reader_id, book_id, on, read_through }) => {
                Body::ReadingPaused(pb::ReadingPaused {
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    on: on.to_string(),
                    read_through: *read_through,
                })
            }
            Event::Reading(ReadingEvent::ReadingFinished {
                reader_id,
                book_id,
                finished_on,
                started_on,
                read_through,
            }) => Body::ReadingFinished(pb::ReadingFinished {
                reader_id: reader_id.to_string(),
                book_id: book_id.to_string(),
                finished_on: finished_on.to_string(),
                started_on: started_on.map(|d| d.to_string()).unwrap_or_default(),
                read_through: *read_through,
            }),
            Event::Reading(ReadingEvent::ReadingAbandoned { reader_id, book_id, on, note, read_through }) => {
                Body::ReadingAbandoned(pb::ReadingAbandoned {
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    on: on.to_string(),
                    note: note.clone(),
                    read_through: *read_through,
                })
            }
            Event::Reading(ReadingEvent::RemovedFromShelves { reader_id, book_id, on }) => {
                Body::RemovedFromShelves(pb::RemovedFromShelves {
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    on: on.to_string(),
                })
            }
            Event::Reading(ReadingEvent::AddedToShelf { reader_id, book_id, shelf }) => {
                Body::AddedToShelf(pb::AddedToShelf {
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    shelf: shelf.clone(),
                })
            }
            Event::Catalog(CatalogEvent::BookCoverChanged { book_id, cover }) => {
                Body::BookCoverChanged(pb::BookCoverChanged {
                    book_id: book_id.to_string(),
                    cover: ImageId::to_wire(cover.as_ref()),
                })
            }
            Event::Catalog(CatalogEvent::AuthorPhotoChanged { author_id, photo }) => {
                Body::AuthorPhotoChanged(pb::AuthorPhotoChanged {
                    author_id: author_id.to_string(),
                    photo: ImageId::to_wire(photo.as_ref()),
                })
            }
            Event::Catalog(CatalogEvent::SeriesAdded { series_id, name, description }) => {
                Body::SeriesAdded(pb::SeriesAdded {
                    series_id: series_id.to_string(),
                    name: name.clone(),
                    description: description.clone(),
                })
            }
            Event::Catalog(CatalogEvent::SeriesEdited { series_id, name, description }) => {
                Body::SeriesEdited(pb::SeriesEdited {
                    series_id: series_id.to_string(),
                    name: name.clone(),
                    description: description.clone(),
                })
            }
            Event::Catalog(CatalogEvent::BookPlacedInSeries { series_id, book_id, position }) => {
                Body::BookPlacedInSeries(pb::BookPlacedInSeries {
                    series_id: series_id.to_string(),
                    book_id: book_id.to_string(),
                    position: position.map(SeriesPosition::hundredths),
                })
            }
            Event::Catalog(CatalogEvent::BookRemovedFromSeries { series_id, book_id }) => {
                Body::BookRemovedFromSeries(pb::BookRemovedFromSeries {
                    series_id: series_id.to_string(),
                    book_id: book_id.to_string(),
                })
            }
            Event::Social(SocialEvent::AvatarChanged { reader_id, avatar }) => Body::AvatarChanged(pb::AvatarChanged {
                reader_id: reader_id.to_string(),
                avatar: ImageId::to_wire(avatar.as_ref()),
            }),
            Event::Social(SocialEvent::ProfileUpdated { reader_id, display_name, bio }) => {
                Body::ProfileUpdated(pb::ProfileUpdated {
                    reader_id: reader_id.to_string(),
                    display_name: display_name.clone(),
                    bio: bio.clone(),
                })
            }
            Event::Social(SocialEvent::ReaderFollowed { follower_id, followee_id }) => {
                Body::ReaderFollowed(pb::ReaderFollowed {
                    follower_id: follower_id.to_string(),
                    followee_id: followee_id.to_string(),
                })
            }
            Event::Social(SocialEvent::ReaderUnfollowed { follower_id, followee_id }) => {
                Body::ReaderUnfollowed(pb::ReaderUnfollowed {
                    follower_id: follower_id.to_string(),
                    followee_id: followee_id.to_string(),
                })
            }
            Event::Social(SocialEvent::ReaderBlocked { blocker_id, blocked_id }) => {
                Body::ReaderBlocked(pb::ReaderBlocked {
                    blocker_id: blocker_id.to_string(),
                    blocked_id: blocked_id.to_string(),
                })
            }
            Event::Social(SocialEvent::ReaderUnblocked { blocker_id, blocked_id }) => {
                Body::ReaderUnblocked(pb::ReaderUnblocked {
                    blocker_id: blocker_id.to_string(),
                    blocked_id: blocked_id.to_string(),
                })
            }
            Event::Social(SocialEvent::RoleGranted { reader_id, role }) => {
                Body::RoleGranted(pb::RoleGranted { reader_id: reader_id.to_string(), role: wire_role(*role) as i32 })
            }
            Event::Social(SocialEvent::RoleRevoked { reader_id, role }) => {
                Body::RoleRevoked(pb::RoleRevoked { reader_id: reader_id.to_string(), role: wire_role(*role) as i32 })
            }
            Event::Social(SocialEvent::ReadingVisibilityChanged { reader_id, visibility }) => {
                Body::ReadingVisibilityChanged(pb::ReadingVisibilityChanged {
                    reader_id: reader_id.to_string(),
                    visibility: wire_visibility(*visibility) as i32,
                })
            }
            Event::Social(SocialEvent::TimeZoneChanged { reader_id, time_zone }) => {
                Body::TimeZoneChanged(pb::TimeZoneChanged {
                    reader_id: reader_id.to_string(),
                    time_zone: time_zone.as_str().to_owned(),
                })
            }
            Event::Lists(ListEvent::ListCreated { list_id, owner_id, title, description }) => {
                Body::ListCreated(pb::ListCreated {
                    list_id: list_id.to_string(),
                    owner_id: owner_id.to_string(),
                    title: title.clone(),
                    description: description.clone(),
                })
            }
            Event::Lists(ListEvent::ListEdited { list_id, owner_id, title, description }) => {
                Body::ListEdited(pb::ListEdited {
                    list_id: list_id.to_string(),
                    owner_id: owner_id.to_string(),
                    title: title.clone(),
                    description: description.clone(),
                })
            }
            Event::Lists(ListEvent::ListDeleted { list_id }) => {
                Body::ListDeleted(pb::ListDeleted { list_id: list_id.to_string() })
            }
            Event::Lists(ListEvent::ListHidden { list_id, hidden }) => {
                Body::ListHidden(pb::ListHidden { list_id: list_id.to_string(), hidden: *hidden })
            }
            Event::Lists(ListEvent::BookListed { list_id, book_id, reader_id }) => Body::BookListed(pb::BookListed {
                list_id: list_id.to_string(),
                book_id: book_id.to_string(),
                reader_id: reader_id.to_string(),
            }),
            Event::Lists(ListEvent::BookUnlisted { list_id, book_id }) => {
                Body::BookUnlisted(pb::BookUnlisted { list_id: list_id.to_string(), book_id: book_id.to_string() })
            }
            Event::Lists(ListEvent::ListVoteCast { list_id, book_id, reader_id }) => {
                Body::ListVoteCast(pb::ListVoteCast {
                    list_id: list_id.to_string(),
                    book_id: book_id.to_string(),
                    reader_id: reader_id.to_string(),
                })
            }
            Event::Lists(ListEvent::ListVoteWithdrawn { list_id, book_id, reader_id }) => {
                Body::ListVoteWithdrawn(pb::ListVoteWithdrawn {
                    list_id: list_id.to_string(),
                    book_id: book_id.to_string(),
                    reader_id: reader_id.to_string(),
                })
            }
            Event::Goals(GoalEvent::ReadingGoalSet { reader_id, year, books }) => {
                Body::ReadingGoalSet(pb::ReadingGoalSet {
                    reader_id: reader_id.to_string(),
                    year: *year,
                    books: *books,
                })
            }
            Event::Goals(GoalEvent::ReadingGoalRemoved { reader_id, year }) => {
                Body::ReadingGoalRemoved(pb::ReadingGoalRemoved { reader_id: reader_id.to_string(), year: *year })
            }
            Event::Social(SocialEvent::ReaderDeleted { reader_id }) => {
                Body::ReaderDeleted(pb::ReaderDeleted { reader_id: reader_id.to_string() })
            }
            Event::Social(SocialEvent::SignUpExpired { reader_id }) => {
                Body::SignUpExpired(pb::SignUpExpired { reader_id: reader_id.to_string() })
            }
            Event::Social(SocialEvent::LibraryImported { reader_id, job_id, books, source }) => {
                Body::LibraryImported(pb::LibraryImported {
                    reader_id: reader_id.to_string(),
                    job_id: job_id.to_string(),
                    books: *books,
                    source: source.clone(),
                })
            }
            Event::Social(SocialEvent::LibraryImportFailed { reader_id, job_id, reason }) => {
                Body::LibraryImportFailed(pb::LibraryImportFailed {
                    reader_id: reader_id.to_string(),
                    job_id: job_id.to_string(),
                    reason: reason.clone(),
                })
            }
            Event::Social(SocialEvent::AuthorFollowed { reader_id, author_id }) => {
                Body::AuthorFollowed(pb::AuthorFollowed {
                    reader_id: reader_id.to_string(),
                    author_id: author_id.to_string(),
                })
            }
            Event::Social(SocialEvent::AuthorUnfollowed { reader_id, author_id }) => {
                Body::AuthorUnfollowed(pb::AuthorUnfollowed {
                    reader_id: reader_id.to_string(),
                    author_id: author_id.to_string(),
                })
            }
            Event::Reading(ReadingEvent::RemovedFromShelf { reader_id, book_id, shelf }) => {
                Body::RemovedFromShelf(pb::RemovedFromShelf {
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    shelf: shelf.clone(),
                })
            }
            Event::Reading(ReadingEvent::EditionChosen { reader_id, book_id, isbn }) => {
                Body::EditionChosen(pb::EditionChosen {
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    isbn: isbn.map(|isbn| isbn.to_string()).unwrap_or_default(),
                })
            }
            Event::Reviews(ReviewsEvent::ReviewPublished {
                review_id,
                reader_id,
                book_id,
                body,
                contains_spoilers,
                written_on,
            }) => Body::ReviewPublished(pb::ReviewPublished {
                review_id: review_id.to_string(),
                reader_id: reader_id.to_string(),
                book_id: book_id.to_string(),
                body: body.clone(),
                contains_spoilers: *contains_spoilers,
                written_on: written_on.to_string(),
            }),
            Event::Reviews(ReviewsEvent::ReviewEdited { review_id, reader_id, book_id, body, contains_spoilers }) => {
                Body::ReviewEdited(pb::ReviewEdited {
                    review_id: review_id.to_string(),
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    body: body.clone(),
                    contains_spoilers: *contains_spoilers,
                })
            }
            Event::Reviews(ReviewsEvent::ReviewWithdrawn { review_id, reader_id, book_id }) => {
                Body::ReviewWithdrawn(pb::ReviewWithdrawn {
                    review_id: review_id.to_string(),
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                })
            }
            Event::Reviews(ReviewsEvent::ReviewLiked { review_id, liker_id }) => {
                Body::ReviewLiked(pb::ReviewLiked { review_id: review_id.to_string(), liker_id: liker_id.to_string() })
            }
            Event::Reviews(ReviewsEvent::ReviewUnliked { review_id, liker_id }) => {
                Body::ReviewUnliked(pb::ReviewUnliked {
                    review_id: review_id.to_string(),
                    liker_id: liker_id.to_string(),
                })
            }
            Event::Reviews(ReviewsEvent::ReviewCommented { review_id, comment_id, commenter_id, body }) => {
                Body::ReviewCommented(pb::ReviewCommented {
                    review_id: review_id.to_string(),
                    comment_id: comment_id.to_string(),
                    commenter_id: commenter_id.to_string(),
                    body: body.clone(),
                })
            }
            Event::Reviews(ReviewsEvent::CommentDeleted { review_id, comment_id, commenter_id }) => {
                Body::CommentDeleted(pb::CommentDeleted {
                    review_id: review_id.to_string(),
                    comment_id: comment_id.to_string(),
                    commenter_id: commenter_id.to_string(),
                })
            }
        };
        pb::Event { event_id: recorded.id.to_string(), body: Some(body), sealed: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review_id;

    fn day(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
    }

    fn meta() -> Metadata {
        Metadata {
            occurred_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default(),
            actor: Some(Uuid::now_v7()),
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            import_job: None,
        }
    }

    #[test]
    fn every_event_survives_the_wire() {
        let book_id = Uuid::now_v7();
        let reader_id = Uuid::now_v7();
        let envelope = Envelope::new(
            meta(),
            vec![
                Event::Catalog(CatalogEvent::AuthorAdded {
                    author_id: Uuid::now_v7(),
                    name: "K".into(),
                    bio: String::new(),
                }),
                Event::Catalog(CatalogEvent::BookAdded(BookDetails {
                    book_id,
                    title: "Moscow 1956".into(),
                    subtitle: "The Silenced Spring".into(),
                    description: String::new(),
                    pages: 400,
                    format: "Hardcover".into(),
                    first_published: NaiveDate::from_ymd_opt(2017, 4, 17),
                    author_ids: vec![Uuid::now_v7()],
                })),
                Event::Catalog(CatalogEvent::EditionAdded(EditionAdded {
                    isbn: crate::Isbn::parse("isbn", "0140449132").unwrap_or_else(|err| panic!("{}", err.message)),
                    book_id,
                    format: "Paperback".into(),
                    pages: 416,
                    publisher: "Penguin".into(),
                    published_on: NaiveDate::from_ymd_opt(2003, 5, 1),
                    language: "en-GB".into(),
                    cover_url: "https://covers.example/9780140449136.jpg".into(),
                })),
                Event::Catalog(CatalogEvent::BookEdited(BookDetails {
                    book_id,
                    title: "Moscow 1956".into(),
                    subtitle: String::new(),
                    description: "Edited.".into(),
                    pages: 412,
                    format: String::new(),
                    first_published: None,
                    author_ids: vec![Uuid::now_v7(), Uuid::now_v7()],
                })),
                Event::Catalog(CatalogEvent::AuthorEdited {
                    author_id: book_id,
                    name: "Kathleen Smith".into(),
                    bio: "Historian.".into(),
                }),
                Event::Catalog(CatalogEvent::AuthorProfileLinked { author_id: book_id, reader_id }),
                Event::Catalog(CatalogEvent::BookMerged { book_id, into: reader_id }),
                Event::Catalog(CatalogEvent::AuthorMerged { author_id: book_id, into: reader_id }),
                Event::Catalog(CatalogEvent::AuthorProfileUnlinked { author_id: book_id, reader_id }),
                Event::Catalog(CatalogEvent::BookCoverChanged { book_id, cover: Some(ImageId::of(b"cover")) }),
                Event::Catalog(CatalogEvent::BookCoverChanged { book_id, cover: None }),
                Event::Catalog(CatalogEvent::AuthorPhotoChanged {
                    author_id: book_id,
                    photo: Some(ImageId::of(b"photo")),
                }),
                Event::Catalog(CatalogEvent::SeriesAdded {
                    series_id: book_id,
                    name: "The Stormlight Archive".into(),
                    description: "Epic.".into(),
                }),
                Event::Catalog(CatalogEvent::SeriesEdited {
                    series_id: book_id,
                    name: "Stormlight".into(),
                    description: String::new(),
                }),
                Event::Catalog(CatalogEvent::BookPlacedInSeries {
                    series_id: reader_id,
                    book_id,
                    position: SeriesPosition::parse("2.5"),
                }),
                Event::Catalog(CatalogEvent::BookPlacedInSeries { series_id: reader_id, book_id, position: None }),
                Event::Catalog(CatalogEvent::BookRemovedFromSeries { series_id: reader_id, book_id }),
                Event::Social(SocialEvent::AvatarChanged { reader_id, avatar: Some(ImageId::of(b"avatar")) }),
                Event::Social(SocialEvent::AvatarChanged { reader_id, avatar: None }),
                Event::Social(SocialEvent::ReaderRegistered {
                    reader_id,
                    handle: "ana".into(),
                    display_name: "Ana".into(),
                }),
                Event::Ratings(RatingsEvent::BookRated {
                    reader_id,
                    book_id,
                    stars: quarters(15),
                    previous_stars: None,
                }),
                Event::Ratings(RatingsEvent::BookRated {
                    reader_id,
                    book_id,
                    stars: quarters(20),
                    previous_stars: Some(quarters(15)),
                }),
                Event::Ratings(RatingsEvent::RatingCleared {
                    reader_id,
                    book_id,
                    previous_stars: ClearedStars::Exact(quarters(13)),
                }),
                Event::Ratings(RatingsEvent::BookDescribed {
                    reader_id,
                    book_id,
                    survey: Survey {
                        moods: vec![Mood::Dark, Mood::Reflective],
                        pace: Some(Pace::Slow),
                        content_warnings: vec![ContentWarning::War],
                    },
                }),
                Event::Ratings(RatingsEvent::BookDescribed { reader_id, book_id, survey: Survey::default() }),
                Event::Reading(ReadingEvent::WantToRead { reader_id, book_id, on: day(2024, 1, 2) }),
                Event::Reading(ReadingEvent::ReadingStarted {
                    reader_id,
                    book_id,
                    started_on: day(2024, 2, 1),
                    read_through: 1,
                    resumed: false,
                }),
                Event::Reading(ReadingEvent::ProgressUpdated {
                    reader_id,
                    book_id,
                    on: day(2024, 2, 3),
                    progress: Progress::Page(120),
                    note: "slow".into(),
                    read_through: 1,
                }),
                Event::Reading(ReadingEvent::ProgressUpdated {
                    reader_id,
                    book_id,
                    on: day(2024, 2, 4),
                    progress: Progress::Percent(40),
                    note: String::new(),
                    read_through: 1,
                }),
                Event::Reading(ReadingEvent::ReadingPaused {
                    reader_id,
                    book_id,
                    on: day(2024, 2, 5),
                    read_through: 1,
                }),
                Event::Reading(ReadingEvent::ReadingFinished {
                    reader_id,
                    book_id,
                    finished_on: day(2024, 3, 1),
                    started_on: None,
                    read_through: 1,
                }),
                Event::Reading(ReadingEvent::ReadingAbandoned {
                    reader_id,
                    book_id,
                    on: day(2024, 3, 2),
                    note: "meh".into(),
                    read_through: 2,
                }),
                Event::Reading(ReadingEvent::RemovedFromShelves { reader_id, book_id, on: day(2024, 3, 3) }),
                Event::Reading(ReadingEvent::AddedToShelf { reader_id, book_id, shelf: "russia".into() }),
                Event::Social(SocialEvent::ProfileUpdated {
                    reader_id,
                    display_name: "Ana R.".into(),
                    bio: "Reads history.".into(),
                }),
                Event::Social(SocialEvent::ReaderFollowed { follower_id: reader_id, followee_id: book_id }),
                Event::Social(SocialEvent::ReaderUnfollowed { follower_id: reader_id, followee_id: book_id }),
                Event::Social(SocialEvent::ReaderBlocked { blocker_id: reader_id, blocked_id: book_id }),
                Event::Social(SocialEvent::ReaderUnblocked { blocker_id: reader_id, blocked_id: book_id }),
                Event::Social(SocialEvent::RoleGranted { reader_id, role: Role::Librarian }),
                Event::Social(SocialEvent::RoleRevoked { reader_id, role: Role::Admin }),
                Event::Social(SocialEvent::ReadingVisibilityChanged { reader_id, visibility: Visibility::OnlyMe }),
                Event::Social(SocialEvent::TimeZoneChanged {
                    reader_id,
                    time_zone: TimeZone::parse("timeZone", "America/Argentina/Buenos_Aires").expect("a zone"),
                }),
                Event::Lists(ListEvent::ListCreated {
                    list_id: book_id,
                    owner_id: reader_id,
                    title: "Thaw".into(),
                    description: "Books of 1956.".into(),
                }),
                Event::Lists(ListEvent::ListEdited {
                    list_id: book_id,
                    owner_id: reader_id,
                    title: "The Thaw".into(),
                    description: String::new(),
                }),
                Event::Lists(ListEvent::ListHidden { list_id: book_id, hidden: true }),
                Event::Lists(ListEvent::BookListed { list_id: book_id, book_id, reader_id }),
                Event::Lists(ListEvent::ListVoteCast { list_id: book_id, book_id, reader_id }),
                Event::Lists(ListEvent::ListVoteWithdrawn { list_id: book_id, book_id, reader_id }),
                Event::Lists(ListEvent::BookUnlisted { list_id: book_id, book_id }),
                Event::Lists(ListEvent::ListDeleted { list_id: book_id }),
                Event::Goals(GoalEvent::ReadingGoalSet { reader_id, year: 2026, books: 52 }),
                Event::Goals(GoalEvent::ReadingGoalRemoved { reader_id, year: 2026 }),
                Event::Social(SocialEvent::ReaderDeleted { reader_id }),
                Event::Social(SocialEvent::SignUpExpired { reader_id: book_id }),
                Event::Social(SocialEvent::AuthorFollowed { reader_id, author_id: book_id }),
                Event::Social(SocialEvent::AuthorUnfollowed { reader_id, author_id: book_id }),
                Event::Social(SocialEvent::LibraryImported {
                    reader_id,
                    job_id: book_id,
                    books: 312,
                    source: "GOODREADS".into(),
                }),
                Event::Social(SocialEvent::LibraryImportFailed {
                    reader_id,
                    job_id: book_id,
                    reason: "this is not a GOODREADS export".into(),
                }),
                Event::Reading(ReadingEvent::RemovedFromShelf { reader_id, book_id, shelf: "russia".into() }),
                Event::Reading(ReadingEvent::EditionChosen {
                    reader_id,
                    book_id,
                    isbn: Some(
                        crate::Isbn::parse("isbn", "0140449132").unwrap_or_else(|err| panic!("{}", err.message)),
                    ),
                }),
                Event::Reading(ReadingEvent::EditionChosen { reader_id, book_id, isbn: None }),
                Event::Reviews(ReviewsEvent::ReviewPublished {
                    review_id: review_id(reader_id, book_id),
                    reader_id,
                    book_id,
                    body: "**Vivid**".into(),
                    contains_spoilers: true,
                    written_on: day(2018, 7, 29),
                }),
                Event::Reviews(ReviewsEvent::ReviewEdited {
                    review_id: review_id(reader_id, book_id),
                    reader_id,
                    book_id,
                    body: "Vivid.".into(),
                    contains_spoilers: false,
                }),
                Event::Reviews(ReviewsEvent::ReviewLiked {
                    review_id: review_id(reader_id, book_id),
                    liker_id: book_id,
                }),
                Event::Reviews(ReviewsEvent::ReviewUnliked {
                    review_id: review_id(reader_id, book_id),
                    liker_id: book_id,
                }),
                Event::Reviews(ReviewsEvent::ReviewCommented {
                    review_id: review_id(reader_id, book_id),
                    comment_id: book_id,
                    commenter_id: reader_id,
                    body: "Agreed".into(),
                }),
                Event::Reviews(ReviewsEvent::CommentDeleted {
                    review_id: review_id(reader_id, book_id),
                    comment_id: book_id,
                    commenter_id: reader_id,
                }),
                Event::Reviews(ReviewsEvent::ReviewWithdrawn {
                    review_id: review_id(reader_id, book_id),
                    reader_id,
                    book_id,
                }),
            ],
        );
        let decoded = Envelope::decode(&envelope.encode());
        assert_eq!(decoded.ok(), Some(envelope));
    }

    #[test]
    fn bad_wire_data_is_an_error_not_a_panic() {
        assert!(matches!(Envelope::decode(b"\xff\xff\xff"), Err(WireError::Decode(_))));
        let mut wire = pb::Envelope::from(&Envelope::new(meta(), vec![]));
        wire.command_id = "not-a-uuid".into();
        assert!(matches!(Envelope::try_from(wire), Err(WireError::Invalid { field: "command_id", .. })));
        let wire = pb::Event {
            event_id: Uuid::now_v7().to_string(),
            body: Some(pb::event::Body::BookRated(pb::BookRated {
                reader_id: Uuid::now_v7().to_string(),
                book_id: Uuid::now_v7().to_string(),
                stars: 6,
                previous_stars: 0,
            })),
            sealed: None,
        };
        assert!(matches!(RecordedEvent::try_from(wire), Err(WireError::Invalid { field: "stars", .. })));
    }

    fn quarters(quarters: u8) -> Stars {
        Stars::from_quarters(quarters).unwrap_or_else(|| panic!("{quarters} quarters"))
    }

    fn wire_event(body: pb::event::Body) -> pb::Event {
        pb::Event { event_id: Uuid::now_v7().to_string(), body: Some(body), sealed: None }
    }

    #[test]
    fn a_version_1_rating_in_whole_stars_is_read_as_quarters_and_written_as_version_2() {
        let (reader_id, book_id) = (Uuid::now_v7(), Uuid::now_v7());
        let version_1 = wire_event(pb::event::Body::BookRated(pb::BookRated {
            reader_id: reader_id.to_string(),
            book_id: book_id.to_string(),
            stars: 4,
            previous_stars: 3,
        }));
        let read = RecordedEvent::try_from(version_1).map(|recorded| recorded.event).ok();
        let upcast = Event::Ratings(RatingsEvent::BookRated {
            reader_id,
            book_id,
            stars: quarters(16),
            previous_stars: Some(quarters(12)),
        });
        assert_eq!(read, Some(upcast.clone()));

        let written = pb::Envelope::from(&Envelope::new(meta(), vec![upcast])).events.remove(0).body;
        let expected = pb::BookRatedV2 {
            reader_id: reader_id.to_string(),
            book_id: book_id.to_string(),
            quarter_stars: 16,
            previous_quarter_stars: 12,
        };
        assert_eq!(written, Some(pb::event::Body::BookRatedV2(expected)));
    }

    #[test]
    fn a_version_1_clear_in_rounded_whole_stars_is_read_as_rounded_and_written_back_as_it_was() {
        let (reader_id, book_id) = (Uuid::now_v7(), Uuid::now_v7());
        let body = pb::event::Body::RatingCleared(pb::RatingCleared {
            reader_id: reader_id.to_string(),
            book_id: book_id.to_string(),
            previous_stars: 4,
        });
        let read = RecordedEvent::try_from(wire_event(body.clone())).map(|recorded| recorded.event).ok();
        let upcast = Event::Ratings(RatingsEvent::RatingCleared {
            reader_id,
            book_id,
            previous_stars: ClearedStars::Rounded(4),
        });
        assert_eq!(read, Some(upcast.clone()));
        let written = pb::Envelope::from(&Envelope::new(meta(), vec![upcast])).events.remove(0).body;
        assert_eq!(written, Some(body));
    }

    #[test]
    fn a_version_2_rating_outside_one_to_five_stars_is_an_error() {
        for quarter_stars in [0, 3, 21, 256] {
            let wire = wire_event(pb::event::Body::BookRatedV2(pb::BookRatedV2 {
                reader_id: Uuid::now_v7().to_string(),
                book_id: Uuid::now_v7().to_string(),
                quarter_stars,
                previous_quarter_stars: 0,
            }));
            let read = RecordedEvent::try_from(wire);
            assert!(matches!(read, Err(WireError::Invalid { field: "quarter_stars", .. })), "{read:?}");
        }
    }

    #[test]
    fn an_event_of_a_newer_version_is_an_error_naming_it() {
        let unknown = pb::Event { event_id: Uuid::now_v7().to_string(), body: None, sealed: None };
        let read = RecordedEvent::try_from(unknown);
        assert!(matches!(read, Err(WireError::MissingBody(_))), "{read:?}");
    }
}
