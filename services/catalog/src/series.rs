//! A series: its name, and which books it holds at which position. Pure, tested
//! given/when/then.

use std::collections::HashMap;

use readstream_contracts::{
    input::{text, Text},
    CatalogEvent, Code, Decider, Rejection, SeriesPosition,
};
use uuid::Uuid;

use crate::domain::{ActorIsLibrarian, MAX_DESCRIPTION, MAX_NAME};

/// The most books one series may hold (the longest real ones, shared worlds such as Star Wars
/// Legends, hold a few hundred).
pub const MAX_BOOKS: usize = 2_000;

/// A series as its subject says: whether it exists, its name and description, and its books.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Series {
    pub exists: bool,
    pub name: String,
    pub description: String,
    pub books: HashMap<Uuid, Option<SeriesPosition>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesCommand {
    Add {
        series_id: Uuid,
        name: String,
        description: String,
    },
    /// A field left out keeps its value.
    Edit {
        series_id: Uuid,
        name: Option<String>,
        description: Option<String>,
    },
    /// Puts the book in the series at `position`, or moves it there.
    Place {
        series_id: Uuid,
        book_id: Uuid,
        position: Option<SeriesPosition>,
    },
    Remove {
        series_id: Uuid,
        book_id: Uuid,
    },
}

/// What a command on a series needs besides the series' events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesFacts {
    pub librarian: ActorIsLibrarian,
    /// For a placement: whether the book exists.
    pub book_exists: bool,
    /// A reader's library import, not a librarian: it adds a series it does not find and
    /// places a book the series lacks, but never moves one a librarian placed.
    pub imported: bool,
}

impl Decider for Series {
    type Command = SeriesCommand;
    type Facts = SeriesFacts;
    type Event = CatalogEvent;
    type Error = Rejection;

    fn decide(&self, command: &SeriesCommand, facts: &SeriesFacts) -> Result<Vec<CatalogEvent>, Rejection> {
        facts.librarian.required()?;
        if let SeriesCommand::Add { series_id, name, description } = command {
            let name = text("name", name, Text::Line, 1, MAX_NAME)?;
            let description = text("description", description, Text::Long, 0, MAX_DESCRIPTION)?;
            if self.exists {
                return Err(Rejection::new(Code::AlreadyExists, "this series already exists"));
            }
            return Ok(vec![CatalogEvent::SeriesAdded { series_id: *series_id, name, description }]);
        }
        if !self.exists {
            return Err(Rejection::not_found("seriesId", "no series with this id"));
        }
        match command {
            SeriesCommand::Add { .. } => Ok(Vec::new()),
            SeriesCommand::Edit { name: None, description: None, .. } => {
                Err(Rejection::invalid("input", "nothing to edit"))
            }
            SeriesCommand::Edit { series_id, name, description } => {
                let name = match name {
                    Some(name) => text("name", name, Text::Line, 1, MAX_NAME)?,
                    None => self.name.clone(),
                };
                let description = match description {
                    Some(description) => text("description", description, Text::Long, 0, MAX_DESCRIPTION)?,
                    None => self.description.clone(),
                };
                if (&name, &description) == (&self.name, &self.description) {
                    return Ok(Vec::new());
                }
                Ok(vec![CatalogEvent::SeriesEdited { series_id: *series_id, name, description }])
            }
            &SeriesCommand::Place { series_id, book_id, position } => {
                if !facts.book_exists {
                    return Err(Rejection::not_found("bookId", "no book with this id"));
                }
                match self.books.get(&book_id) {
                    Some(_) if facts.imported => return Ok(Vec::new()),
                    Some(placed) if *placed == position => return Ok(Vec::new()),
                    Some(_) => {}
                    None if self.books.len() >= MAX_BOOKS => {
                        return Err(Rejection::new(
                            Code::LimitExceeded,
                            format!("a series holds at most {MAX_BOOKS} books"),
                        ))
                    }
                    None => {}
                }
                Ok(vec![CatalogEvent::BookPlacedInSeries { series_id, book_id, position }])
            }
            &SeriesCommand::Remove { series_id, book_id } => {
                if !self.books.contains_key(&book_id) {
                    return Err(Rejection::not_found("bookId", "this book is not in this series"));
                }
                Ok(vec![CatalogEvent::BookRemovedFromSeries { series_id, book_id }])
            }
        }
    }

    fn evolve(mut self, event: &CatalogEvent) -> Self {
        match event {
            CatalogEvent::SeriesAdded { name, description, .. }
            | CatalogEvent::SeriesEdited { name, description, .. } => {
                Self { exists: true, name: name.clone(), description: description.clone(), ..self }
            }
            &CatalogEvent::BookPlacedInSeries { book_id, position, .. } => {
                self.books.insert(book_id, position);
                self
            }
            CatalogEvent::BookRemovedFromSeries { book_id, .. } => {
                self.books.remove(book_id);
                self
            }
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
            | CatalogEvent::AuthorPhotoChanged { .. } => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use readstream_testkit::decider::given;

    use super::*;

    const STORMLIGHT: Uuid = Uuid::from_u128(0x5707);
    const KINGS: Uuid = Uuid::from_u128(1);
    const EDGEDANCER: Uuid = Uuid::from_u128(25);

    fn librarian() -> SeriesFacts {
        SeriesFacts { librarian: ActorIsLibrarian(true), book_exists: true, imported: false }
    }

    fn at(text: &str) -> Option<SeriesPosition> {
        SeriesPosition::parse(text)
    }

    fn added() -> CatalogEvent {
        CatalogEvent::SeriesAdded {
            series_id: STORMLIGHT,
            name: "The Stormlight Archive".into(),
            description: String::new(),
        }
    }

    fn placed(book_id: Uuid, position: Option<SeriesPosition>) -> CatalogEvent {
        CatalogEvent::BookPlacedInSeries { series_id: STORMLIGHT, book_id, position }
    }

    fn place(book_id: Uuid, position: Option<SeriesPosition>) -> SeriesCommand {
        SeriesCommand::Place { series_id: STORMLIGHT, book_id, position }
    }

    #[test]
    fn given_no_series_when_a_librarian_adds_it_then_it_is_added_with_its_name_trimmed() {
        let add = SeriesCommand::Add {
            series_id: STORMLIGHT,
            name: " The Stormlight Archive ".into(),
            description: String::new(),
        };
        given::<Series>([]).when(add.clone(), librarian()).then([added()]);
        let reader = SeriesFacts { librarian: ActorIsLibrarian(false), ..librarian() };
        given::<Series>([]).when(add.clone(), reader).then_refused(Code::PermissionDenied, None);
        given::<Series>([added()]).when(add, librarian()).then_refused(Code::AlreadyExists, None);
        let unnamed = SeriesCommand::Add { series_id: STORMLIGHT, name: "  ".into(), description: String::new() };
        given::<Series>([]).when(unnamed, librarian()).then_refused(Code::InvalidArgument, Some("name"));
    }

    #[test]
    fn given_a_series_when_books_are_placed_then_each_has_its_place_and_moves_when_placed_again() {
        given::<Series>([added()]).when(place(KINGS, at("1")), librarian()).then([placed(KINGS, at("1"))]);
        given::<Series>([added(), placed(EDGEDANCER, at("2"))])
            .when(place(EDGEDANCER, at("2.5")), librarian())
            .then([placed(EDGEDANCER, at("2.5"))]);
        given::<Series>([added(), placed(KINGS, at("1"))]).when(place(KINGS, at("1")), librarian()).then([]);
        given::<Series>([added()]).when(place(KINGS, None), librarian()).then([placed(KINGS, None)]);
    }

    #[test]
    fn given_a_librarians_placement_when_an_import_names_another_number_then_it_stays() {
        let import = SeriesFacts { imported: true, ..librarian() };
        given::<Series>([added(), placed(KINGS, at("1"))]).when(place(KINGS, at("7")), import).then([]);
        given::<Series>([added()]).when(place(KINGS, at("7")), import).then([placed(KINGS, at("7"))]);
    }

    #[test]
    fn given_no_series_or_no_book_when_placing_then_not_found_names_which() {
        given::<Series>([]).when(place(KINGS, at("1")), librarian()).then_refused(Code::NotFound, Some("seriesId"));
        let no_book = SeriesFacts { book_exists: false, ..librarian() };
        given::<Series>([added()]).when(place(KINGS, at("1")), no_book).then_refused(Code::NotFound, Some("bookId"));
    }

    #[test]
    fn given_a_full_series_when_another_book_is_placed_then_limit_exceeded() {
        let full: Vec<CatalogEvent> = std::iter::once(added())
            .chain((0..MAX_BOOKS as u128).map(|book| placed(Uuid::from_u128(1_000 + book), None)))
            .collect();
        given::<Series>(full.clone()).when(place(KINGS, at("1")), librarian()).then_refused(Code::LimitExceeded, None);
        // One already in it still moves.
        given::<Series>(full)
            .when(place(Uuid::from_u128(1_000), at("3")), librarian())
            .then([placed(Uuid::from_u128(1_000), at("3"))]);
    }

    #[test]
    fn given_a_book_in_the_series_when_removed_then_removed_and_a_second_removal_is_not_found() {
        let remove = SeriesCommand::Remove { series_id: STORMLIGHT, book_id: KINGS };
        given::<Series>([added(), placed(KINGS, at("1"))])
            .when(remove.clone(), librarian())
            .then([CatalogEvent::BookRemovedFromSeries { series_id: STORMLIGHT, book_id: KINGS }]);
        given::<Series>([
            added(),
            placed(KINGS, at("1")),
            CatalogEvent::BookRemovedFromSeries { series_id: STORMLIGHT, book_id: KINGS },
        ])
        .when(remove, librarian())
        .then_refused(Code::NotFound, Some("bookId"));
    }

    #[test]
    fn given_a_series_when_edited_then_the_fields_left_out_stay_and_an_empty_edit_is_refused() {
        let rename = SeriesCommand::Edit { series_id: STORMLIGHT, name: Some("Stormlight".into()), description: None };
        given::<Series>([added()]).when(rename, librarian()).then([CatalogEvent::SeriesEdited {
            series_id: STORMLIGHT,
            name: "Stormlight".into(),
            description: String::new(),
        }]);
        let nothing = SeriesCommand::Edit { series_id: STORMLIGHT, name: None, description: None };
        given::<Series>([added()]).when(nothing, librarian()).then_refused(Code::InvalidArgument, Some("input"));
    }
}
