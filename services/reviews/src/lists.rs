//! The lists' deciders: a list (its text, its books, whether it is hidden) and one reader's
//! vote for one of its books. Pure, tested given/when/then.

use std::collections::HashSet;

use readstream_contracts::{
    input::{text, Text},
    Code, Decider, ListEvent, Rejection,
};
use uuid::Uuid;

pub const MAX_TITLE: usize = 200;
pub const MAX_DESCRIPTION: usize = 5_000;
/// The most books one list holds.
pub const MAX_BOOKS: usize = 10_000;

/// A list as its subject says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct List {
    pub owner_id: Option<Uuid>,
    pub deleted: bool,
    pub hidden: bool,
    pub title: String,
    pub description: String,
    pub books: HashSet<Uuid>,
}

impl List {
    /// Whether `reader` may see it: it exists, is not deleted, and is shown or theirs.
    pub fn visible_to(&self, reader: Uuid) -> bool {
        self.owner_id.is_some() && !self.deleted && (!self.hidden || self.owner_id == Some(reader))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListCommand {
    Create {
        title: String,
        description: String,
    },
    /// A field left out keeps its value.
    Edit {
        title: Option<String>,
        description: Option<String>,
    },
    Delete,
    Hide {
        hidden: bool,
    },
    AddBook {
        book_id: Uuid,
    },
    RemoveBook {
        book_id: Uuid,
    },
}

/// Who asks about which list, and what the command needs to know besides the list's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListFacts {
    pub list_id: Uuid,
    pub reader_id: Uuid,
    pub librarian: bool,
    /// For `AddBook`: whether the book exists.
    pub book_exists: bool,
    /// Whether the reader and the list's owner blocked one another.
    pub blocked: bool,
}

fn not_found() -> Rejection {
    Rejection::not_found("listId", "no list with this id")
}

impl Decider for List {
    type Command = ListCommand;
    type Facts = ListFacts;
    type Event = ListEvent;
    type Error = Rejection;

    fn decide(&self, command: &ListCommand, facts: &ListFacts) -> Result<Vec<ListEvent>, Rejection> {
        let ListFacts { list_id, reader_id, librarian, .. } = *facts;
        if let ListCommand::Create { title: new_title, description } = command {
            let title = text("title", new_title, Text::Name, 1, MAX_TITLE)?;
            let description = text("description", description, Text::Long, 0, MAX_DESCRIPTION)?;
            if self.owner_id.is_some() {
                return Err(Rejection::new(Code::AlreadyExists, "this list already exists"));
            }
            return Ok(vec![ListEvent::ListCreated { list_id, owner_id: reader_id, title, description }]);
        }
        let owner = self.owner_id == Some(reader_id);
        if !(self.visible_to(reader_id) || librarian && self.owner_id.is_some() && !self.deleted) {
            return Err(not_found());
        }
        let owner_or_librarian = || {
            if owner || librarian {
                return Ok(());
            }
            Err(Rejection::new(Code::PermissionDenied, "only the list's owner or a librarian may"))
        };
        match command {
            ListCommand::Create { .. } => Ok(Vec::new()),
            ListCommand::Edit { .. } if !owner => {
                Err(Rejection::new(Code::PermissionDenied, "only the list's owner edits it"))
            }
            ListCommand::Edit { title: None, description: None } => Err(Rejection::invalid("input", "nothing to edit")),
            ListCommand::Edit { title, description } => {
                let title = match title {
                    Some(title) => text("title", title, Text::Name, 1, MAX_TITLE)?,
                    None => self.title.clone(),
                };
                let description = match description {
                    Some(description) => text("description", description, Text::Long, 0, MAX_DESCRIPTION)?,
                    None => self.description.clone(),
                };
                if (&title, &description) == (&self.title, &self.description) {
                    return Ok(Vec::new());
                }
                Ok(vec![ListEvent::ListEdited { list_id, owner_id: reader_id, title, description }])
            }
            ListCommand::Delete => {
                owner_or_librarian()?;
                Ok(vec![ListEvent::ListDeleted { list_id }])
            }
            &ListCommand::Hide { hidden } => {
                if !librarian {
                    return Err(Rejection::new(Code::PermissionDenied, "only librarians hide lists"));
                }
                if hidden == self.hidden {
                    return Ok(Vec::new());
                }
                Ok(vec![ListEvent::ListHidden { list_id, hidden }])
            }
            &ListCommand::AddBook { book_id } => {
                if facts.blocked {
                    return Err(Rejection::new(
                        Code::PermissionDenied,
                        "you and this list's owner blocked one another",
                    ));
                }
                if !facts.book_exists {
                    return Err(Rejection::not_found("bookId", "no book with this id"));
                }
                if self.books.contains(&book_id) {
                    return Ok(Vec::new());
                }
                if self.books.len() >= MAX_BOOKS {
                    return Err(Rejection::new(Code::LimitExceeded, format!("a list holds at most {MAX_BOOKS} books")));
                }
                Ok(vec![ListEvent::BookListed { list_id, book_id, reader_id }])
            }
            &ListCommand::RemoveBook { book_id } => {
                owner_or_librarian()?;
                if !self.books.contains(&book_id) {
                    return Err(Rejection::not_found("bookId", "this book is not on this list"));
                }
                Ok(vec![ListEvent::BookUnlisted { list_id, book_id }])
            }
        }
    }

    fn evolve(mut self, event: &ListEvent) -> Self {
        match event {
            ListEvent::ListCreated { owner_id, title, description, .. } => {
                Self { owner_id: Some(*owner_id), title: title.clone(), description: description.clone(), ..self }
            }
            ListEvent::ListEdited { title, description, .. } => {
                Self { title: title.clone(), description: description.clone(), ..self }
            }
            ListEvent::ListDeleted { .. } => Self { deleted: true, ..self },
            ListEvent::ListHidden { hidden, .. } => Self { hidden: *hidden, ..self },
            ListEvent::BookListed { book_id, .. } => {
                self.books.insert(*book_id);
                self
            }
            ListEvent::BookUnlisted { book_id, .. } => {
                self.books.remove(book_id);
                self
            }
            // On each vote's own subject, never the list's.
            ListEvent::ListVoteCast { .. } | ListEvent::ListVoteWithdrawn { .. } => self,
        }
    }
}

/// One reader's vote for one book of one list.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    pub cast: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteCommand {
    Cast,
    Withdraw,
}

/// What a vote needs besides its own events: the list as the voter may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteFacts {
    pub list_id: Uuid,
    pub book_id: Uuid,
    pub reader_id: Uuid,
    pub list_visible: bool,
    pub book_listed: bool,
    pub blocked: bool,
}

impl Decider for Vote {
    type Command = VoteCommand;
    type Facts = VoteFacts;
    type Event = ListEvent;
    type Error = Rejection;

    fn decide(&self, command: &VoteCommand, facts: &VoteFacts) -> Result<Vec<ListEvent>, Rejection> {
        let VoteFacts { list_id, book_id, reader_id, .. } = *facts;
        match command {
            VoteCommand::Cast => {
                if !facts.list_visible {
                    return Err(not_found());
                }
                if facts.blocked {
                    return Err(Rejection::new(
                        Code::PermissionDenied,
                        "you and this list's owner blocked one another",
                    ));
                }
                if !facts.book_listed {
                    return Err(Rejection::not_found("bookId", "this book is not on this list: add it"));
                }
                if self.cast {
                    return Ok(Vec::new());
                }
                Ok(vec![ListEvent::ListVoteCast { list_id, book_id, reader_id }])
            }
            VoteCommand::Withdraw => {
                if !self.cast {
                    return Err(Rejection::not_found("bookId", "you have not voted for this book on this list"));
                }
                Ok(vec![ListEvent::ListVoteWithdrawn { list_id, book_id, reader_id }])
            }
        }
    }

    fn evolve(self, event: &ListEvent) -> Self {
        match event {
            ListEvent::ListVoteCast { .. } => Vote { cast: true },
            ListEvent::ListVoteWithdrawn { .. } => Vote { cast: false },
            ListEvent::ListCreated { .. }
            | ListEvent::ListEdited { .. }
            | ListEvent::ListDeleted { .. }
            | ListEvent::ListHidden { .. }
            | ListEvent::BookListed { .. }
            | ListEvent::BookUnlisted { .. } => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use readstream_testkit::decider::given;

    use super::*;

    const LIST: Uuid = Uuid::from_u128(1);
    const ANA: Uuid = Uuid::from_u128(2);
    const BEN: Uuid = Uuid::from_u128(3);
    const BOOK: Uuid = Uuid::from_u128(4);

    fn facts(reader_id: Uuid) -> ListFacts {
        ListFacts { list_id: LIST, reader_id, librarian: false, book_exists: true, blocked: false }
    }

    fn created() -> ListEvent {
        ListEvent::ListCreated { list_id: LIST, owner_id: ANA, title: "Thaw".into(), description: String::new() }
    }

    #[test]
    fn given_no_list_when_created_then_its_owner_is_the_sender_and_a_blank_title_is_refused() {
        let create = ListCommand::Create { title: " Thaw ".into(), description: String::new() };
        given::<List>([]).when(create, facts(ANA)).then([created()]);
        let blank = ListCommand::Create { title: " ".into(), description: String::new() };
        given::<List>([]).when(blank, facts(ANA)).then_refused(Code::InvalidArgument, Some("title"));
    }

    #[test]
    fn given_a_list_when_anyone_adds_a_book_then_listed_once_unless_blocked() {
        let add = ListCommand::AddBook { book_id: BOOK };
        let listed = ListEvent::BookListed { list_id: LIST, book_id: BOOK, reader_id: BEN };
        given::<List>([created()]).when(add.clone(), facts(BEN)).then([listed.clone()]);
        given::<List>([created(), listed]).when(add.clone(), facts(BEN)).then([]);
        let blocked = ListFacts { blocked: true, ..facts(BEN) };
        given::<List>([created()]).when(add.clone(), blocked).then_refused(Code::PermissionDenied, None);
        let no_book = ListFacts { book_exists: false, ..facts(BEN) };
        given::<List>([created()]).when(add, no_book).then_refused(Code::NotFound, Some("bookId"));
    }

    #[test]
    fn given_a_list_when_others_edit_delete_or_hide_it_then_only_its_owner_and_librarians_may() {
        let edit = ListCommand::Edit { title: Some("Mine now".into()), description: None };
        given::<List>([created()]).when(edit, facts(BEN)).then_refused(Code::PermissionDenied, None);
        given::<List>([created()]).when(ListCommand::Delete, facts(BEN)).then_refused(Code::PermissionDenied, None);
        given::<List>([created()])
            .when(ListCommand::Hide { hidden: true }, facts(ANA))
            .then_refused(Code::PermissionDenied, None);
        let librarian = ListFacts { librarian: true, ..facts(BEN) };
        let hidden = ListEvent::ListHidden { list_id: LIST, hidden: true };
        given::<List>([created()]).when(ListCommand::Hide { hidden: true }, librarian).then([hidden.clone()]);
        // Hidden, it is no one's to see but its owner's (and a librarian's, to show it again).
        let add = ListCommand::AddBook { book_id: BOOK };
        given::<List>([created(), hidden.clone()]).when(add, facts(BEN)).then_refused(Code::NotFound, Some("listId"));
        given::<List>([created(), hidden])
            .when(ListCommand::Hide { hidden: false }, librarian)
            .then([ListEvent::ListHidden { list_id: LIST, hidden: false }]);
        given::<List>([created()])
            .when(ListCommand::Delete, librarian)
            .then([ListEvent::ListDeleted { list_id: LIST }]);
    }

    #[test]
    fn given_a_vote_when_cast_again_then_nothing_and_on_a_book_not_listed_then_not_found() {
        let facts = VoteFacts {
            list_id: LIST,
            book_id: BOOK,
            reader_id: BEN,
            list_visible: true,
            book_listed: true,
            blocked: false,
        };
        let cast = ListEvent::ListVoteCast { list_id: LIST, book_id: BOOK, reader_id: BEN };
        given::<Vote>([]).when(VoteCommand::Cast, facts).then([cast.clone()]);
        given::<Vote>([cast.clone()]).when(VoteCommand::Cast, facts).then([]);
        given::<Vote>([cast]).when(VoteCommand::Withdraw, facts).then([ListEvent::ListVoteWithdrawn {
            list_id: LIST,
            book_id: BOOK,
            reader_id: BEN,
        }]);
        given::<Vote>([]).when(VoteCommand::Withdraw, facts).then_refused(Code::NotFound, Some("bookId"));
        let unlisted = VoteFacts { book_listed: false, ..facts };
        given::<Vote>([]).when(VoteCommand::Cast, unlisted).then_refused(Code::NotFound, Some("bookId"));
        let hidden = VoteFacts { list_visible: false, ..facts };
        given::<Vote>([]).when(VoteCommand::Cast, hidden).then_refused(Code::NotFound, Some("listId"));
    }
}
