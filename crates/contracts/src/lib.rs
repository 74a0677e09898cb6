//! The wire contracts of readstream and the plain Rust types the services work with.
//!
//! `proto` holds the prost types generated from `proto/`; `event` the domain events and the one
//! place where they are converted from and to the wire (bad wire data becomes an error there);
//! `personal` how a reader's personal fields are sealed with their own key (crypto-shredding);
//! `rejection` the coded refusals every command service answers with; `command` binds each
//! command to its service; `decider` the one shape of every aggregate's rules; `read_model` the list of
//! the projector's read models. Each context's module
//! (`catalog`, `ratings`, `reading`, `reviews`, `social`) holds the only constructors of its
//! aggregate and live subjects; `subject` what they share.

pub mod catalog;
pub mod command;
pub mod decider;
pub mod event;
pub mod image;
pub mod input;
pub mod isbn;
pub mod lists;
pub mod personal;
pub mod ratings;
pub mod read_model;
pub mod reading;
pub mod rejection;
pub mod reviews;
pub mod social;
pub mod subject;
pub mod survey;

/// Types generated from the `.proto` files under `proto/`.
#[allow(clippy::all)]
pub mod proto {
    pub mod events {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/readstream.events.v1.rs"));
        }
    }
    pub mod commands {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/readstream.commands.v1.rs"));
        }
    }
    pub mod live {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/readstream.live.v1.rs"));
        }
    }
}

pub use catalog::{BookDetails, CatalogEvent, EditionAdded, SeriesPosition};
pub use command::{Command, Identified, Recorded, Reply, Routes, Sender, Service, SessionOpened, SessionsEnded};
pub use decider::Decider;
pub use event::{ContextEvent, Envelope, Event, Metadata, RecordedEvent, WireError};
pub use image::ImageId;
pub use isbn::Isbn;
pub use lists::ListEvent;
pub use ratings::{ClearedStars, RatingsEvent, Stars};
pub use read_model::ReadModel;
pub use reading::{GoalEvent, Progress, ReadingEvent};
pub use rejection::{Code, Rejection};
pub use reviews::{review_id, ReviewsEvent};
pub use social::SocialEvent;
pub use subject::Aggregate;
pub use survey::{ContentWarning, Mood, Pace, Survey};
