//! The catalog's deciders: authors and books. Pure: no I/O, tested given/when/then.

use std::collections::HashSet;

use chrono::NaiveDate;
use readstream_contracts::{event::BookAdded, Event, Rejection};
use readstream_eventstore::Stored;
use uuid::Uuid;

pub const MAX_TITLE: usize = 500;
pub const MAX_DESCRIPTION: usize = 20_000;
pub const MAX_NAME: usize = 200;
pub const MAX_FORMAT: usize = 50;
pub const MAX_PAGES: i32 = 100_000;
pub const MAX_AUTHORS: usize = 50;

/// An author or a book: the catalog only needs to know whether it exists yet.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Entry {
    pub exists: bool,
}

impl Entry {
    pub fn evolve(mut self, event: &Event) -> Self {
        if matches!(event, Event::AuthorAdded { .. } | Event::BookAdded(_)) {
            self.exists = true;
        }
        self
    }

    pub fn fold(history: &[Stored]) -> Self {
        history.iter().flat_map(|s| &s.envelope.events).fold(Self::default(), |state, e| state.evolve(&e.event))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddAuthor {
    pub author_id: Uuid,
    pub name: String,
    pub bio: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddBook {
    pub book_id: Uuid,
    pub title: String,
    pub subtitle: String,
    pub description: String,
    pub pages: i32,
    pub format: String,
    pub first_published: Option<NaiveDate>,
    pub author_ids: Vec<Uuid>,
}

fn text(field: &'static str, value: &str, min: usize, max: usize) -> Result<String, Rejection> {
    let value = value.trim();
    let length = value.chars().count();
    if length < min {
        return Err(Rejection::invalid(field, format!("{field} must not be empty")));
    }
    if length > max {
        return Err(Rejection::invalid(field, format!("{field} must be at most {max} characters")));
    }
    Ok(value.to_owned())
}

pub fn add_author(state: &Entry, command: AddAuthor) -> Result<Vec<Event>, Rejection> {
    let name = text("name", &command.name, 1, MAX_NAME)?;
    let bio = text("bio", &command.bio, 0, MAX_DESCRIPTION)?;
    if state.exists {
        return Err(Rejection::new(readstream_contracts::Code::AlreadyExists, "this author already exists"));
    }
    Ok(vec![Event::AuthorAdded { author_id: command.author_id, name, bio }])
}

/// `known_authors` are the command's author ids that exist; `today` bounds the publication date.
pub fn add_book(
    state: &Entry,
    command: AddBook,
    known_authors: &HashSet<Uuid>,
    today: NaiveDate,
) -> Result<Vec<Event>, Rejection> {
    let title = text("title", &command.title, 1, MAX_TITLE)?;
    let subtitle = text("subtitle", &command.subtitle, 0, MAX_TITLE)?;
    let description = text("description", &command.description, 0, MAX_DESCRIPTION)?;
    let format = text("format", &command.format, 0, MAX_FORMAT)?;
    if command.pages <= 0 || command.pages > MAX_PAGES {
        return Err(Rejection::invalid("pages", format!("pages must be between 1 and {MAX_PAGES}")));
    }
    if command.first_published.is_some_and(|date| date > today) {
        return Err(Rejection::invalid("firstPublished", "firstPublished must not be in the future"));
    }
    if command.author_ids.is_empty() || command.author_ids.len() > MAX_AUTHORS {
        return Err(Rejection::invalid("authorIds", format!("a book has 1 to {MAX_AUTHORS} authors")));
    }
    let distinct: HashSet<_> = command.author_ids.iter().collect();
    if distinct.len() != command.author_ids.len() {
        return Err(Rejection::invalid("authorIds", "an author is listed twice"));
    }
    if let Some(unknown) = command.author_ids.iter().find(|id| !known_authors.contains(id)) {
        return Err(Rejection::not_found("authorIds", format!("no author with id {unknown}")));
    }
    if state.exists {
        return Err(Rejection::new(readstream_contracts::Code::AlreadyExists, "this book already exists"));
    }
    Ok(vec![Event::BookAdded(BookAdded {
        book_id: command.book_id,
        title,
        subtitle,
        description,
        pages: command.pages as u32,
        format,
        first_published: command.first_published,
        author_ids: command.author_ids,
    })])
}

#[cfg(test)]
mod tests {
    use readstream_contracts::Code;

    use super::*;

    /// Makes one field of a valid command invalid.
    type Spoil = fn(&mut AddBook);

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default()
    }

    fn moscow_1956(author: Uuid) -> AddBook {
        AddBook {
            book_id: Uuid::now_v7(),
            title: " Moscow 1956 ".into(),
            subtitle: "The Silenced Spring".into(),
            description: String::new(),
            pages: 400,
            format: "Hardcover".into(),
            first_published: NaiveDate::from_ymd_opt(2017, 4, 17),
            author_ids: vec![author],
        }
    }

    fn refusal(result: Result<Vec<Event>, Rejection>) -> (Code, Option<&'static str>) {
        match result {
            Err(rejection) => (rejection.code, rejection.field),
            Ok(events) => panic!("expected a refusal, got {events:?}"),
        }
    }

    #[test]
    fn given_no_book_when_added_then_book_added_with_trimmed_title() {
        let author = Uuid::now_v7();
        let command = moscow_1956(author);
        let events = add_book(&Entry::default(), command.clone(), &HashSet::from([author]), today());
        match events.as_deref() {
            Ok([Event::BookAdded(added)]) => {
                assert_eq!(added.title, "Moscow 1956");
                assert_eq!(added.pages, 400);
                assert_eq!(added.book_id, command.book_id);
                assert_eq!(added.author_ids, vec![author]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn when_added_with_an_unknown_author_then_not_found() {
        let command = moscow_1956(Uuid::now_v7());
        let result = add_book(&Entry::default(), command, &HashSet::new(), today());
        assert_eq!(refusal(result), (Code::NotFound, Some("authorIds")));
    }

    #[test]
    fn when_added_with_bad_fields_then_invalid_argument_naming_the_field() {
        let author = Uuid::now_v7();
        let known = HashSet::from([author]);
        let cases: [(Spoil, &str); 6] = [
            (|c| c.title = "   ".into(), "title"),
            (|c| c.pages = 0, "pages"),
            (|c| c.pages = -3, "pages"),
            (|c| c.first_published = NaiveDate::from_ymd_opt(2027, 1, 1), "firstPublished"),
            (|c| c.author_ids.clear(), "authorIds"),
            (|c| c.author_ids.push(c.author_ids[0]), "authorIds"),
        ];
        for (spoil, field) in cases {
            let mut command = moscow_1956(author);
            spoil(&mut command);
            let result = add_book(&Entry::default(), command, &known, today());
            assert_eq!(refusal(result), (Code::InvalidArgument, Some(field)));
        }
    }

    #[test]
    fn given_an_added_book_when_added_again_then_already_exists() {
        let author = Uuid::now_v7();
        let command = moscow_1956(author);
        let known = HashSet::from([author]);
        let events = add_book(&Entry::default(), command.clone(), &known, today()).unwrap_or_default();
        let state = events.iter().fold(Entry::default(), Entry::evolve);
        let result = add_book(&state, command, &known, today());
        assert_eq!(refusal(result).0, Code::AlreadyExists);
    }

    #[test]
    fn author_needs_a_name() {
        let command = AddAuthor { author_id: Uuid::now_v7(), name: " ".into(), bio: String::new() };
        assert_eq!(refusal(add_author(&Entry::default(), command)), (Code::InvalidArgument, Some("name")));
        let command = AddAuthor { author_id: Uuid::now_v7(), name: "Kathleen E. Smith".into(), bio: String::new() };
        assert!(matches!(add_author(&Entry::default(), command).as_deref(), Ok([Event::AuthorAdded { .. }])));
    }
}
