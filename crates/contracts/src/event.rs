//! Domain events as plain Rust, and their one conversion from and to the wire.

use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use uuid::Uuid;

use crate::proto::events::v1 as pb;

/// Something that happened, in the words of the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    AuthorAdded {
        author_id: Uuid,
        name: String,
        bio: String,
    },
    BookAdded(BookAdded),
    ReaderRegistered {
        reader_id: Uuid,
        handle: String,
        display_name: String,
    },
    ProfileUpdated {
        reader_id: Uuid,
        display_name: String,
        bio: String,
    },
    ReaderFollowed {
        follower_id: Uuid,
        followee_id: Uuid,
    },
    ReaderUnfollowed {
        follower_id: Uuid,
        followee_id: Uuid,
    },
    ReaderBlocked {
        blocker_id: Uuid,
        blocked_id: Uuid,
    },
    ReaderUnblocked {
        blocker_id: Uuid,
        blocked_id: Uuid,
    },
    BookRated {
        reader_id: Uuid,
        book_id: Uuid,
        stars: u8,
        /// The rating this one replaces, if the reader had rated the book before.
        previous_stars: Option<u8>,
    },
    RatingCleared {
        reader_id: Uuid,
        book_id: Uuid,
        previous_stars: u8,
    },
    WantToRead {
        reader_id: Uuid,
        book_id: Uuid,
        on: NaiveDate,
    },
    ReadingStarted {
        reader_id: Uuid,
        book_id: Uuid,
        started_on: NaiveDate,
        /// 1 for the first read-through, 2 for the first reread, …
        read_through: u32,
        /// Picked up again after a pause: the same read-through goes on.
        resumed: bool,
    },
    ProgressUpdated {
        reader_id: Uuid,
        book_id: Uuid,
        on: NaiveDate,
        progress: Progress,
        note: String,
        read_through: u32,
    },
    ReadingPaused {
        reader_id: Uuid,
        book_id: Uuid,
        on: NaiveDate,
        read_through: u32,
    },
    ReadingFinished {
        reader_id: Uuid,
        book_id: Uuid,
        finished_on: NaiveDate,
        /// `None` when the reader never said when they started.
        started_on: Option<NaiveDate>,
        read_through: u32,
    },
    /// Did not finish.
    ReadingAbandoned {
        reader_id: Uuid,
        book_id: Uuid,
        on: NaiveDate,
        note: String,
        read_through: u32,
    },
    RemovedFromShelves {
        reader_id: Uuid,
        book_id: Uuid,
        on: NaiveDate,
    },
    AddedToShelf {
        reader_id: Uuid,
        book_id: Uuid,
        shelf: String,
    },
    RemovedFromShelf {
        reader_id: Uuid,
        book_id: Uuid,
        shelf: String,
    },
    ReviewPublished {
        review_id: Uuid,
        reader_id: Uuid,
        book_id: Uuid,
        body: String,
        contains_spoilers: bool,
        written_on: NaiveDate,
    },
    ReviewEdited {
        review_id: Uuid,
        reader_id: Uuid,
        book_id: Uuid,
        body: String,
        contains_spoilers: bool,
    },
    ReviewWithdrawn {
        review_id: Uuid,
        reader_id: Uuid,
        book_id: Uuid,
    },
    ReviewLiked {
        review_id: Uuid,
        liker_id: Uuid,
    },
    ReviewUnliked {
        review_id: Uuid,
        liker_id: Uuid,
    },
    ReviewCommented {
        review_id: Uuid,
        comment_id: Uuid,
        commenter_id: Uuid,
        body: String,
    },
    CommentDeleted {
        review_id: Uuid,
        comment_id: Uuid,
        commenter_id: Uuid,
    },
}

/// Ties review ids to their author and book: one review per reader per book.
const REVIEW_NAMESPACE: Uuid = Uuid::from_u128(0x2b7c_41d0_9e3a_4f6b_8c1d_5a0e_7f92_b4c3);

/// The id of `reader_id`'s review of `book_id`.
pub fn review_id(reader_id: Uuid, book_id: Uuid) -> Uuid {
    Uuid::new_v5(&REVIEW_NAMESPACE, format!("{reader_id}:{book_id}").as_bytes())
}

/// How far into a book a reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Page(u32),
    Percent(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookAdded {
    pub book_id: Uuid,
    pub title: String,
    pub subtitle: String,
    pub description: String,
    pub pages: u32,
    pub format: String,
    pub first_published: Option<NaiveDate>,
    pub author_ids: Vec<Uuid>,
}

/// Who did it, when, and on behalf of which command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub occurred_at: DateTime<Utc>,
    pub actor: Option<Uuid>,
    pub command_id: Uuid,
    pub correlation_id: Uuid,
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
            Event::AuthorAdded { .. } => "AuthorAdded",
            Event::BookAdded(_) => "BookAdded",
            Event::ReaderRegistered { .. } => "ReaderRegistered",
            Event::ProfileUpdated { .. } => "ProfileUpdated",
            Event::ReaderFollowed { .. } => "ReaderFollowed",
            Event::ReaderUnfollowed { .. } => "ReaderUnfollowed",
            Event::ReaderBlocked { .. } => "ReaderBlocked",
            Event::ReaderUnblocked { .. } => "ReaderUnblocked",
            Event::BookRated { .. } => "BookRated",
            Event::RatingCleared { .. } => "RatingCleared",
            Event::WantToRead { .. } => "WantToRead",
            Event::ReadingStarted { .. } => "ReadingStarted",
            Event::ProgressUpdated { .. } => "ProgressUpdated",
            Event::ReadingPaused { .. } => "ReadingPaused",
            Event::ReadingFinished { .. } => "ReadingFinished",
            Event::ReadingAbandoned { .. } => "ReadingAbandoned",
            Event::RemovedFromShelves { .. } => "RemovedFromShelves",
            Event::AddedToShelf { .. } => "AddedToShelf",
            Event::RemovedFromShelf { .. } => "RemovedFromShelf",
            Event::ReviewPublished { .. } => "ReviewPublished",
            Event::ReviewEdited { .. } => "ReviewEdited",
            Event::ReviewWithdrawn { .. } => "ReviewWithdrawn",
            Event::ReviewLiked { .. } => "ReviewLiked",
            Event::ReviewUnliked { .. } => "ReviewUnliked",
            Event::ReviewCommented { .. } => "ReviewCommented",
            Event::CommentDeleted { .. } => "CommentDeleted",
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

fn stars(field: &'static str, value: u32) -> Result<u8, WireError> {
    match value {
        1..=5 => Ok(value as u8),
        _ => Err(WireError::Invalid { field, expected: "star count 1..5", value: value.to_string() }),
    }
}

fn optional_stars(field: &'static str, value: u32) -> Result<Option<u8>, WireError> {
    if value == 0 {
        Ok(None)
    } else {
        stars(field, value).map(Some)
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
        };
        let events = wire.events.into_iter().map(RecordedEvent::try_from).collect::<Result<_, _>>()?;
        Ok(Envelope { meta, events })
    }
}

impl TryFrom<pb::Event> for RecordedEvent {
    type Error = WireError;

    fn try_from(wire: pb::Event) -> Result<Self, Self::Error> {
        use pb::event::Body;
        let id = uuid("event_id", &wire.event_id)?;
        let event = match wire.body.ok_or(WireError::MissingBody(wire.event_id))? {
            Body::AuthorAdded(e) => {
                Event::AuthorAdded { author_id: uuid("author_id", &e.author_id)?, name: e.name, bio: e.bio }
            }
            Body::BookAdded(e) => Event::BookAdded(BookAdded {
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
            }),
            Body::ReaderRegistered(e) => Event::ReaderRegistered {
                reader_id: uuid("reader_id", &e.reader_id)?,
                handle: e.handle,
                display_name: e.display_name,
            },
            Body::ProfileUpdated(e) => Event::ProfileUpdated {
                reader_id: uuid("reader_id", &e.reader_id)?,
                display_name: e.display_name,
                bio: e.bio,
            },
            Body::ReaderFollowed(e) => Event::ReaderFollowed {
                follower_id: uuid("follower_id", &e.follower_id)?,
                followee_id: uuid("followee_id", &e.followee_id)?,
            },
            Body::ReaderUnfollowed(e) => Event::ReaderUnfollowed {
                follower_id: uuid("follower_id", &e.follower_id)?,
                followee_id: uuid("followee_id", &e.followee_id)?,
            },
            Body::ReaderBlocked(e) => Event::ReaderBlocked {
                blocker_id: uuid("blocker_id", &e.blocker_id)?,
                blocked_id: uuid("blocked_id", &e.blocked_id)?,
            },
            Body::ReaderUnblocked(e) => Event::ReaderUnblocked {
                blocker_id: uuid("blocker_id", &e.blocker_id)?,
                blocked_id: uuid("blocked_id", &e.blocked_id)?,
            },
            Body::BookRated(e) => Event::BookRated {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                stars: stars("stars", e.stars)?,
                previous_stars: optional_stars("previous_stars", e.previous_stars)?,
            },
            Body::RatingCleared(e) => Event::RatingCleared {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                previous_stars: stars("previous_stars", e.previous_stars)?,
            },
            Body::WantToRead(e) => Event::WantToRead {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                on: date("on", &e.on)?,
            },
            Body::ReadingStarted(e) => Event::ReadingStarted {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                started_on: date("started_on", &e.started_on)?,
                read_through: e.read_through,
                resumed: e.resumed,
            },
            Body::ProgressUpdated(e) => Event::ProgressUpdated {
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
            },
            Body::ReadingPaused(e) => Event::ReadingPaused {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                on: date("on", &e.on)?,
                read_through: e.read_through,
            },
            Body::ReadingFinished(e) => Event::ReadingFinished {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                finished_on: date("finished_on", &e.finished_on)?,
                started_on: optional_date("started_on", &e.started_on)?,
                read_through: e.read_through,
            },
            Body::ReadingAbandoned(e) => Event::ReadingAbandoned {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                on: date("on", &e.on)?,
                note: e.note,
                read_through: e.read_through,
            },
            Body::RemovedFromShelves(e) => Event::RemovedFromShelves {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                on: date("on", &e.on)?,
            },
            Body::AddedToShelf(e) => Event::AddedToShelf {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                shelf: e.shelf,
            },
            Body::RemovedFromShelf(e) => Event::RemovedFromShelf {
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                shelf: e.shelf,
            },
            Body::ReviewPublished(e) => Event::ReviewPublished {
                review_id: uuid("review_id", &e.review_id)?,
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                body: e.body,
                contains_spoilers: e.contains_spoilers,
                written_on: date("written_on", &e.written_on)?,
            },
            Body::ReviewEdited(e) => Event::ReviewEdited {
                review_id: uuid("review_id", &e.review_id)?,
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
                body: e.body,
                contains_spoilers: e.contains_spoilers,
            },
            Body::ReviewWithdrawn(e) => Event::ReviewWithdrawn {
                review_id: uuid("review_id", &e.review_id)?,
                reader_id: uuid("reader_id", &e.reader_id)?,
                book_id: uuid("book_id", &e.book_id)?,
            },
            Body::ReviewLiked(e) => Event::ReviewLiked {
                review_id: uuid("review_id", &e.review_id)?,
                liker_id: uuid("liker_id", &e.liker_id)?,
            },
            Body::ReviewUnliked(e) => Event::ReviewUnliked {
                review_id: uuid("review_id", &e.review_id)?,
                liker_id: uuid("liker_id", &e.liker_id)?,
            },
            Body::ReviewCommented(e) => Event::ReviewCommented {
                review_id: uuid("review_id", &e.review_id)?,
                comment_id: uuid("comment_id", &e.comment_id)?,
                commenter_id: uuid("commenter_id", &e.commenter_id)?,
                body: e.body,
            },
            Body::CommentDeleted(e) => Event::CommentDeleted {
                review_id: uuid("review_id", &e.review_id)?,
                comment_id: uuid("comment_id", &e.comment_id)?,
                commenter_id: uuid("commenter_id", &e.commenter_id)?,
            },
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
        }
    }
}

impl From<&RecordedEvent> for pb::Event {
    fn from(recorded: &RecordedEvent) -> Self {
        use pb::event::Body;
        let body = match &recorded.event {
            Event::AuthorAdded { author_id, name, bio } => Body::AuthorAdded(pb::AuthorAdded {
                author_id: author_id.to_string(),
                name: name.clone(),
                bio: bio.clone(),
            }),
            Event::BookAdded(e) => Body::BookAdded(pb::BookAdded {
                book_id: e.book_id.to_string(),
                title: e.title.clone(),
                subtitle: e.subtitle.clone(),
                description: e.description.clone(),
                pages: e.pages,
                format: e.format.clone(),
                first_published: e.first_published.map(|d| d.to_string()).unwrap_or_default(),
                author_ids: e.author_ids.iter().map(Uuid::to_string).collect(),
            }),
            Event::ReaderRegistered { reader_id, handle, display_name } => {
                Body::ReaderRegistered(pb::ReaderRegistered {
                    reader_id: reader_id.to_string(),
                    handle: handle.clone(),
                    display_name: display_name.clone(),
                })
            }
            Event::BookRated { reader_id, book_id, stars, previous_stars } => Body::BookRated(pb::BookRated {
                reader_id: reader_id.to_string(),
                book_id: book_id.to_string(),
                stars: u32::from(*stars),
                previous_stars: previous_stars.map(u32::from).unwrap_or(0),
            }),
            Event::RatingCleared { reader_id, book_id, previous_stars } => Body::RatingCleared(pb::RatingCleared {
                reader_id: reader_id.to_string(),
                book_id: book_id.to_string(),
                previous_stars: u32::from(*previous_stars),
            }),
            Event::WantToRead { reader_id, book_id, on } => Body::WantToRead(pb::WantToRead {
                reader_id: reader_id.to_string(),
                book_id: book_id.to_string(),
                on: on.to_string(),
            }),
            Event::ReadingStarted { reader_id, book_id, started_on, read_through, resumed } => {
                Body::ReadingStarted(pb::ReadingStarted {
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    started_on: started_on.to_string(),
                    read_through: *read_through,
                    resumed: *resumed,
                })
            }
            Event::ProgressUpdated { reader_id, book_id, on, progress, note, read_through } => {
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
            Event::ReadingPaused { reader_id, book_id, on, read_through } => Body::ReadingPaused(pb::ReadingPaused {
                reader_id: reader_id.to_string(),
                book_id: book_id.to_string(),
                on: on.to_string(),
                read_through: *read_through,
            }),
            Event::ReadingFinished { reader_id, book_id, finished_on, started_on, read_through } => {
                Body::ReadingFinished(pb::ReadingFinished {
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    finished_on: finished_on.to_string(),
                    started_on: started_on.map(|d| d.to_string()).unwrap_or_default(),
                    read_through: *read_through,
                })
            }
            Event::ReadingAbandoned { reader_id, book_id, on, note, read_through } => {
                Body::ReadingAbandoned(pb::ReadingAbandoned {
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    on: on.to_string(),
                    note: note.clone(),
                    read_through: *read_through,
                })
            }
            Event::RemovedFromShelves { reader_id, book_id, on } => Body::RemovedFromShelves(pb::RemovedFromShelves {
                reader_id: reader_id.to_string(),
                book_id: book_id.to_string(),
                on: on.to_string(),
            }),
            Event::AddedToShelf { reader_id, book_id, shelf } => Body::AddedToShelf(pb::AddedToShelf {
                reader_id: reader_id.to_string(),
                book_id: book_id.to_string(),
                shelf: shelf.clone(),
            }),
            Event::ProfileUpdated { reader_id, display_name, bio } => Body::ProfileUpdated(pb::ProfileUpdated {
                reader_id: reader_id.to_string(),
                display_name: display_name.clone(),
                bio: bio.clone(),
            }),
            Event::ReaderFollowed { follower_id, followee_id } => Body::ReaderFollowed(pb::ReaderFollowed {
                follower_id: follower_id.to_string(),
                followee_id: followee_id.to_string(),
            }),
            Event::ReaderUnfollowed { follower_id, followee_id } => Body::ReaderUnfollowed(pb::ReaderUnfollowed {
                follower_id: follower_id.to_string(),
                followee_id: followee_id.to_string(),
            }),
            Event::ReaderBlocked { blocker_id, blocked_id } => Body::ReaderBlocked(pb::ReaderBlocked {
                blocker_id: blocker_id.to_string(),
                blocked_id: blocked_id.to_string(),
            }),
            Event::ReaderUnblocked { blocker_id, blocked_id } => Body::ReaderUnblocked(pb::ReaderUnblocked {
                blocker_id: blocker_id.to_string(),
                blocked_id: blocked_id.to_string(),
            }),
            Event::RemovedFromShelf { reader_id, book_id, shelf } => Body::RemovedFromShelf(pb::RemovedFromShelf {
                reader_id: reader_id.to_string(),
                book_id: book_id.to_string(),
                shelf: shelf.clone(),
            }),
            Event::ReviewPublished { review_id, reader_id, book_id, body, contains_spoilers, written_on } => {
                Body::ReviewPublished(pb::ReviewPublished {
                    review_id: review_id.to_string(),
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    body: body.clone(),
                    contains_spoilers: *contains_spoilers,
                    written_on: written_on.to_string(),
                })
            }
            Event::ReviewEdited { review_id, reader_id, book_id, body, contains_spoilers } => {
                Body::ReviewEdited(pb::ReviewEdited {
                    review_id: review_id.to_string(),
                    reader_id: reader_id.to_string(),
                    book_id: book_id.to_string(),
                    body: body.clone(),
                    contains_spoilers: *contains_spoilers,
                })
            }
            Event::ReviewWithdrawn { review_id, reader_id, book_id } => Body::ReviewWithdrawn(pb::ReviewWithdrawn {
                review_id: review_id.to_string(),
                reader_id: reader_id.to_string(),
                book_id: book_id.to_string(),
            }),
            Event::ReviewLiked { review_id, liker_id } => {
                Body::ReviewLiked(pb::ReviewLiked { review_id: review_id.to_string(), liker_id: liker_id.to_string() })
            }
            Event::ReviewUnliked { review_id, liker_id } => Body::ReviewUnliked(pb::ReviewUnliked {
                review_id: review_id.to_string(),
                liker_id: liker_id.to_string(),
            }),
            Event::ReviewCommented { review_id, comment_id, commenter_id, body } => {
                Body::ReviewCommented(pb::ReviewCommented {
                    review_id: review_id.to_string(),
                    comment_id: comment_id.to_string(),
                    commenter_id: commenter_id.to_string(),
                    body: body.clone(),
                })
            }
            Event::CommentDeleted { review_id, comment_id, commenter_id } => Body::CommentDeleted(pb::CommentDeleted {
                review_id: review_id.to_string(),
                comment_id: comment_id.to_string(),
                commenter_id: commenter_id.to_string(),
            }),
        };
        pb::Event { event_id: recorded.id.to_string(), body: Some(body) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
    }

    fn meta() -> Metadata {
        Metadata {
            occurred_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default(),
            actor: Some(Uuid::now_v7()),
            command_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
        }
    }

    #[test]
    fn every_event_survives_the_wire() {
        let book_id = Uuid::now_v7();
        let reader_id = Uuid::now_v7();
        let envelope = Envelope::new(
            meta(),
            vec![
                Event::AuthorAdded { author_id: Uuid::now_v7(), name: "K".into(), bio: String::new() },
                Event::BookAdded(BookAdded {
                    book_id,
                    title: "Moscow 1956".into(),
                    subtitle: "The Silenced Spring".into(),
                    description: String::new(),
                    pages: 400,
                    format: "Hardcover".into(),
                    first_published: NaiveDate::from_ymd_opt(2017, 4, 17),
                    author_ids: vec![Uuid::now_v7()],
                }),
                Event::ReaderRegistered { reader_id, handle: "ana".into(), display_name: "Ana".into() },
                Event::BookRated { reader_id, book_id, stars: 4, previous_stars: None },
                Event::BookRated { reader_id, book_id, stars: 5, previous_stars: Some(4) },
                Event::RatingCleared { reader_id, book_id, previous_stars: 5 },
                Event::WantToRead { reader_id, book_id, on: day(2024, 1, 2) },
                Event::ReadingStarted {
                    reader_id,
                    book_id,
                    started_on: day(2024, 2, 1),
                    read_through: 1,
                    resumed: false,
                },
                Event::ProgressUpdated {
                    reader_id,
                    book_id,
                    on: day(2024, 2, 3),
                    progress: Progress::Page(120),
                    note: "slow".into(),
                    read_through: 1,
                },
                Event::ProgressUpdated {
                    reader_id,
                    book_id,
                    on: day(2024, 2, 4),
                    progress: Progress::Percent(40),
                    note: String::new(),
                    read_through: 1,
                },
                Event::ReadingPaused { reader_id, book_id, on: day(2024, 2, 5), read_through: 1 },
                Event::ReadingFinished {
                    reader_id,
                    book_id,
                    finished_on: day(2024, 3, 1),
                    started_on: None,
                    read_through: 1,
                },
                Event::ReadingAbandoned {
                    reader_id,
                    book_id,
                    on: day(2024, 3, 2),
                    note: "meh".into(),
                    read_through: 2,
                },
                Event::RemovedFromShelves { reader_id, book_id, on: day(2024, 3, 3) },
                Event::AddedToShelf { reader_id, book_id, shelf: "russia".into() },
                Event::ProfileUpdated { reader_id, display_name: "Ana R.".into(), bio: "Reads history.".into() },
                Event::ReaderFollowed { follower_id: reader_id, followee_id: book_id },
                Event::ReaderUnfollowed { follower_id: reader_id, followee_id: book_id },
                Event::ReaderBlocked { blocker_id: reader_id, blocked_id: book_id },
                Event::ReaderUnblocked { blocker_id: reader_id, blocked_id: book_id },
                Event::RemovedFromShelf { reader_id, book_id, shelf: "russia".into() },
                Event::ReviewPublished {
                    review_id: review_id(reader_id, book_id),
                    reader_id,
                    book_id,
                    body: "**Vivid**".into(),
                    contains_spoilers: true,
                    written_on: day(2018, 7, 29),
                },
                Event::ReviewEdited {
                    review_id: review_id(reader_id, book_id),
                    reader_id,
                    book_id,
                    body: "Vivid.".into(),
                    contains_spoilers: false,
                },
                Event::ReviewLiked { review_id: review_id(reader_id, book_id), liker_id: book_id },
                Event::ReviewUnliked { review_id: review_id(reader_id, book_id), liker_id: book_id },
                Event::ReviewCommented {
                    review_id: review_id(reader_id, book_id),
                    comment_id: book_id,
                    commenter_id: reader_id,
                    body: "Agreed".into(),
                },
                Event::CommentDeleted {
                    review_id: review_id(reader_id, book_id),
                    comment_id: book_id,
                    commenter_id: reader_id,
                },
                Event::ReviewWithdrawn { review_id: review_id(reader_id, book_id), reader_id, book_id },
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
        };
        assert!(matches!(RecordedEvent::try_from(wire), Err(WireError::Invalid { field: "stars", .. })));
    }
}
