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
    Invalid {
        field: &'static str,
        expected: &'static str,
        value: String,
    },
    #[error("event {0} has no body (written by a newer version?)")]
    MissingBody(String),
}

impl Envelope {
    /// Gives each event a fresh time-ordered id.
    pub fn new(meta: Metadata, events: Vec<Event>) -> Self {
        let events = events
            .into_iter()
            .map(|event| RecordedEvent {
                id: Uuid::now_v7(),
                event,
            })
            .collect();
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
            Event::BookRated { .. } => "BookRated",
            Event::RatingCleared { .. } => "RatingCleared",
        }
    }
}

fn uuid(field: &'static str, value: &str) -> Result<Uuid, WireError> {
    Uuid::parse_str(value).map_err(|_| WireError::Invalid {
        field,
        expected: "UUID",
        value: value.to_owned(),
    })
}

fn stars(field: &'static str, value: u32) -> Result<u8, WireError> {
    match value {
        1..=5 => Ok(value as u8),
        _ => Err(WireError::Invalid {
            field,
            expected: "star count 1..5",
            value: value.to_string(),
        }),
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
            DateTime::from_timestamp_micros(wire.occurred_at_micros).ok_or_else(|| {
                WireError::Invalid {
                    field: "occurred_at_micros",
                    expected: "timestamp",
                    value: wire.occurred_at_micros.to_string(),
                }
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
        let events = wire
            .events
            .into_iter()
            .map(RecordedEvent::try_from)
            .collect::<Result<_, _>>()?;
        Ok(Envelope { meta, events })
    }
}

impl TryFrom<pb::Event> for RecordedEvent {
    type Error = WireError;

    fn try_from(wire: pb::Event) -> Result<Self, Self::Error> {
        use pb::event::Body;
        let id = uuid("event_id", &wire.event_id)?;
        let event = match wire.body.ok_or(WireError::MissingBody(wire.event_id))? {
            Body::AuthorAdded(e) => Event::AuthorAdded {
                author_id: uuid("author_id", &e.author_id)?,
                name: e.name,
                bio: e.bio,
            },
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
                author_ids: e
                    .author_ids
                    .iter()
                    .map(|id| uuid("author_ids", id))
                    .collect::<Result<_, _>>()?,
            }),
            Body::ReaderRegistered(e) => Event::ReaderRegistered {
                reader_id: uuid("reader_id", &e.reader_id)?,
                handle: e.handle,
                display_name: e.display_name,
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
        };
        Ok(RecordedEvent { id, event })
    }
}

impl From<&Envelope> for pb::Envelope {
    fn from(envelope: &Envelope) -> Self {
        pb::Envelope {
            occurred_at_micros: envelope.meta.occurred_at.timestamp_micros(),
            actor: envelope
                .meta
                .actor
                .map(|a| a.to_string())
                .unwrap_or_default(),
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
            Event::AuthorAdded {
                author_id,
                name,
                bio,
            } => Body::AuthorAdded(pb::AuthorAdded {
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
            Event::ReaderRegistered {
                reader_id,
                handle,
                display_name,
            } => Body::ReaderRegistered(pb::ReaderRegistered {
                reader_id: reader_id.to_string(),
                handle: handle.clone(),
                display_name: display_name.clone(),
            }),
            Event::BookRated {
                reader_id,
                book_id,
                stars,
                previous_stars,
            } => Body::BookRated(pb::BookRated {
                reader_id: reader_id.to_string(),
                book_id: book_id.to_string(),
                stars: u32::from(*stars),
                previous_stars: previous_stars.map(u32::from).unwrap_or(0),
            }),
            Event::RatingCleared {
                reader_id,
                book_id,
                previous_stars,
            } => Body::RatingCleared(pb::RatingCleared {
                reader_id: reader_id.to_string(),
                book_id: book_id.to_string(),
                previous_stars: u32::from(*previous_stars),
            }),
        };
        pb::Event {
            event_id: recorded.id.to_string(),
            body: Some(body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                Event::AuthorAdded {
                    author_id: Uuid::now_v7(),
                    name: "K".into(),
                    bio: String::new(),
                },
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
                Event::ReaderRegistered {
                    reader_id,
                    handle: "ana".into(),
                    display_name: "Ana".into(),
                },
                Event::BookRated {
                    reader_id,
                    book_id,
                    stars: 4,
                    previous_stars: None,
                },
                Event::BookRated {
                    reader_id,
                    book_id,
                    stars: 5,
                    previous_stars: Some(4),
                },
                Event::RatingCleared {
                    reader_id,
                    book_id,
                    previous_stars: 5,
                },
            ],
        );
        let decoded = Envelope::decode(&envelope.encode());
        assert_eq!(decoded.ok(), Some(envelope));
    }

    #[test]
    fn bad_wire_data_is_an_error_not_a_panic() {
        assert!(matches!(
            Envelope::decode(b"\xff\xff\xff"),
            Err(WireError::Decode(_))
        ));
        let mut wire = pb::Envelope::from(&Envelope::new(meta(), vec![]));
        wire.command_id = "not-a-uuid".into();
        assert!(matches!(
            Envelope::try_from(wire),
            Err(WireError::Invalid {
                field: "command_id",
                ..
            })
        ));
        let wire = pb::Event {
            event_id: Uuid::now_v7().to_string(),
            body: Some(pb::event::Body::BookRated(pb::BookRated {
                reader_id: Uuid::now_v7().to_string(),
                book_id: Uuid::now_v7().to_string(),
                stars: 6,
                previous_stars: 0,
            })),
        };
        assert!(matches!(
            RecordedEvent::try_from(wire),
            Err(WireError::Invalid { field: "stars", .. })
        ));
    }
}
