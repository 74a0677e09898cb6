//! Lists: any reader makes a list of books with a title and a description; anyone adds books
//! and votes for them, one vote per reader per book per list; librarians may hide a list. The
//! reviews service decides them, as it decides the other things readers write and like.
//!
//! A list is its own aggregate, and each vote one of its own below it, so readers voting on
//! one list at once never contend for one subject, and "one vote per reader per book" is that
//! subject's own check.

use uuid::Uuid;

use crate::subject::Aggregate;

/// A list's events: its text, its books, whether it is hidden.
pub fn list(list_id: Uuid) -> Aggregate {
    Aggregate::new(format!("lists.{list_id}"))
}

/// One reader's vote for one book of a list.
pub fn vote(list_id: Uuid, book_id: Uuid, reader_id: Uuid) -> Aggregate {
    Aggregate::new(format!("lists.{list_id}.vote.{book_id}.{reader_id}"))
}

/// What happened to a list and its votes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type")]
pub enum ListEvent {
    ListCreated {
        list_id: Uuid,
        owner_id: Uuid,
        title: String,
        description: String,
    },
    /// The title and description after the owner's edit.
    ListEdited {
        list_id: Uuid,
        owner_id: Uuid,
        title: String,
        description: String,
    },
    ListDeleted {
        list_id: Uuid,
    },
    /// A librarian hid the list from everyone but its owner, or showed it again.
    ListHidden {
        list_id: Uuid,
        hidden: bool,
    },
    BookListed {
        list_id: Uuid,
        book_id: Uuid,
        /// Who added it.
        reader_id: Uuid,
    },
    BookUnlisted {
        list_id: Uuid,
        book_id: Uuid,
    },
    ListVoteCast {
        list_id: Uuid,
        book_id: Uuid,
        reader_id: Uuid,
    },
    ListVoteWithdrawn {
        list_id: Uuid,
        book_id: Uuid,
        reader_id: Uuid,
    },
}
