//! The catalog's deciders: authors and books. Pure: no I/O, tested given/when/then.

use std::collections::HashSet;

use chrono::NaiveDate;
use readstream_contracts::{
    input::{date, text, Text, EARLIEST_PUBLICATION},
    BookDetails, CatalogEvent, Code, Decider, EditionAdded, ImageId, Isbn, Rejection,
};
use uuid::Uuid;

pub const MAX_TITLE: usize = 500;
pub const MAX_DESCRIPTION: usize = 20_000;
pub const MAX_NAME: usize = 200;
pub const MAX_FORMAT: usize = 50;
pub const MAX_PAGES: i32 = 100_000;
pub const MAX_AUTHORS: usize = 50;
pub const MAX_PUBLISHER: usize = 200;
pub const MAX_LANGUAGE: usize = 35;
pub const MAX_URL: usize = 2_000;

/// An author: the catalog only needs to know whether it exists yet.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Author {
    pub exists: bool,
}

/// A book: the catalog only needs to know whether it exists yet.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Book {
    pub exists: bool,
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

/// Whether the reader who asks holds the librarian role, as the log says (folded from their
/// own subject before deciding): only librarians add to the shared catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActorIsLibrarian(pub bool);

impl ActorIsLibrarian {
    pub(crate) fn required(self) -> Result<(), Rejection> {
        if self.0 {
            return Ok(());
        }
        Err(Rejection::new(Code::PermissionDenied, "only librarians add to the catalog"))
    }
}

impl Decider for Author {
    type Command = AddAuthor;
    type Facts = ActorIsLibrarian;
    type Event = CatalogEvent;
    type Error = Rejection;

    fn decide(&self, command: &AddAuthor, librarian: &ActorIsLibrarian) -> Result<Vec<CatalogEvent>, Rejection> {
        librarian.required()?;
        let name = text("name", &command.name, Text::Line, 1, MAX_NAME)?;
        let bio = text("bio", &command.bio, Text::Long, 0, MAX_DESCRIPTION)?;
        if self.exists {
            return Err(Rejection::new(Code::AlreadyExists, "this author already exists"));
        }
        Ok(vec![CatalogEvent::AuthorAdded { author_id: command.author_id, name, bio }])
    }

    fn evolve(self, event: &CatalogEvent) -> Self {
        Self { exists: self.exists || matches!(event, CatalogEvent::AuthorAdded { .. }) }
    }
}

/// What adding a book needs besides the book's own events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookFacts {
    pub librarian: ActorIsLibrarian,
    /// The command's author ids that exist.
    pub known_authors: HashSet<Uuid>,
    /// Bounds the publication date.
    pub today: NaiveDate,
    /// Added by a reader's library import: the page count may be unknown (0).
    pub imported: bool,
}

/// A book's fields checked and trimmed, as added or after an edit.
fn details(command: &AddBook, facts: &BookFacts) -> Result<BookDetails, Rejection> {
    facts.librarian.required()?;
    let title = text("title", &command.title, Text::Line, 1, MAX_TITLE)?;
    let subtitle = text("subtitle", &command.subtitle, Text::Line, 0, MAX_TITLE)?;
    let description = text("description", &command.description, Text::Long, 0, MAX_DESCRIPTION)?;
    let format = text("format", &command.format, Text::Line, 0, MAX_FORMAT)?;
    let least = i32::from(!facts.imported);
    if command.pages < least || command.pages > MAX_PAGES {
        return Err(Rejection::invalid("pages", format!("pages must be between 1 and {MAX_PAGES}")));
    }
    let first_published = command
        .first_published
        .map(|day| date("firstPublished", day, EARLIEST_PUBLICATION, facts.today))
        .transpose()?;
    if command.author_ids.is_empty() || command.author_ids.len() > MAX_AUTHORS {
        return Err(Rejection::invalid("authorIds", format!("a book has 1 to {MAX_AUTHORS} authors")));
    }
    let distinct: HashSet<_> = command.author_ids.iter().collect();
    if distinct.len() != command.author_ids.len() {
        return Err(Rejection::invalid("authorIds", "an author is listed twice"));
    }
    if let Some(unknown) = command.author_ids.iter().find(|id| !facts.known_authors.contains(id)) {
        return Err(Rejection::not_found("authorIds", format!("no author with id {unknown}")));
    }
    Ok(BookDetails {
        book_id: command.book_id,
        title,
        subtitle,
        description,
        pages: command.pages as u32,
        format,
        first_published,
        author_ids: command.author_ids.clone(),
    })
}

impl Decider for Book {
    type Command = AddBook;
    type Facts = BookFacts;
    type Event = CatalogEvent;
    type Error = Rejection;

    fn decide(&self, command: &AddBook, facts: &BookFacts) -> Result<Vec<CatalogEvent>, Rejection> {
        let details = details(command, facts)?;
        if self.exists {
            return Err(Rejection::new(Code::AlreadyExists, "this book already exists"));
        }
        Ok(vec![CatalogEvent::BookAdded(details)])
    }

    fn evolve(self, event: &CatalogEvent) -> Self {
        Self { exists: self.exists || matches!(event, CatalogEvent::BookAdded(_)) }
    }
}

/// An edition, keyed by its ISBN: the book it is an edition of, once added.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Edition {
    pub book_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddEdition {
    pub isbn: Isbn,
    pub book_id: Uuid,
    pub format: String,
    /// 0 when unknown.
    pub pages: i32,
    pub publisher: String,
    pub published_on: Option<NaiveDate>,
    pub language: String,
    pub cover_url: String,
}

/// What adding an edition needs besides the edition's own events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditionFacts {
    pub librarian: ActorIsLibrarian,
    pub book_exists: bool,
    /// Bounds the publication date.
    pub today: NaiveDate,
}

/// A BCP 47 language tag as catalogs write them: a primary language of 2 or 3 letters, then
/// subtags of 1 to 8 letters or digits (`en`, `pt-BR`, `zh-Hant-TW`); empty when unknown.
fn language(tag: &str) -> Result<String, Rejection> {
    let tag = tag.trim();
    let mut subtags = tag.split('-');
    let primary = subtags.next().unwrap_or_default();
    let well_formed = (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && subtags.all(|sub| (1..=8).contains(&sub.len()) && sub.chars().all(|c| c.is_ascii_alphanumeric()));
    if tag.is_empty() || (well_formed && tag.len() <= MAX_LANGUAGE) {
        return Ok(tag.to_owned());
    }
    Err(Rejection::invalid("language", "language is a BCP 47 tag such as en or pt-BR"))
}

/// A cover's address: `https://` or `http://`, one line without spaces; empty when none.
fn cover_url(url: &str) -> Result<String, Rejection> {
    let url = text("coverUrl", url, Text::Line, 0, MAX_URL)?;
    let web = ["https://", "http://"].iter().any(|scheme| {
        url.get(..scheme.len()).is_some_and(|start| start.eq_ignore_ascii_case(scheme)) && url.len() > scheme.len()
    });
    if url.is_empty() || (web && !url.contains(char::is_whitespace)) {
        return Ok(url);
    }
    Err(Rejection::invalid("coverUrl", "coverUrl is an https:// or http:// address"))
}

impl Decider for Edition {
    type Command = AddEdition;
    type Facts = EditionFacts;
    type Event = CatalogEvent;
    type Error = Rejection;

    fn decide(&self, command: &AddEdition, facts: &EditionFacts) -> Result<Vec<CatalogEvent>, Rejection> {
        facts.librarian.required()?;
        let format = text("format", &command.format, Text::Line, 0, MAX_FORMAT)?;
        let publisher = text("publisher", &command.publisher, Text::Line, 0, MAX_PUBLISHER)?;
        if !(0..=MAX_PAGES).contains(&command.pages) {
            return Err(Rejection::invalid("pages", format!("pages must be between 0 (unknown) and {MAX_PAGES}")));
        }
        let published_on =
            command.published_on.map(|day| date("publishedOn", day, EARLIEST_PUBLICATION, facts.today)).transpose()?;
        let language = language(&command.language)?;
        let cover_url = cover_url(&command.cover_url)?;
        if !facts.book_exists {
            return Err(Rejection::not_found("bookId", "no book with this id"));
        }
        if let Some(book_id) = self.book_id {
            let whose = if book_id == command.book_id { "this book" } else { "another book" };
            return Err(Rejection {
                code: Code::AlreadyExists,
                message: format!("ISBN {} is already an edition of {whose}", command.isbn),
                field: Some("isbn"),
                retry_after_secs: None,
            });
        }
        Ok(vec![CatalogEvent::EditionAdded(EditionAdded {
            isbn: command.isbn,
            book_id: command.book_id,
            format,
            pages: command.pages as u32,
            publisher,
            published_on,
            language,
            cover_url,
        })])
    }

    fn evolve(self, event: &CatalogEvent) -> Self {
        match event {
            CatalogEvent::EditionAdded(added) => Self { book_id: Some(added.book_id) },
            CatalogEvent::AuthorAdded { .. }
            | CatalogEvent::BookAdded(_)
            | CatalogEvent::AuthorEdited { .. }
            | CatalogEvent::BookEdited(_)
            | CatalogEvent::AuthorProfileLinked { .. }
            | CatalogEvent::AuthorProfileUnlinked { .. }
            | CatalogEvent::BookMerged { .. }
            | CatalogEvent::AuthorMerged { .. }
            | CatalogEvent::BookCoverChanged { .. }
            | CatalogEvent::AuthorPhotoChanged { .. }
            | CatalogEvent::SeriesAdded { .. }
            | CatalogEvent::SeriesEdited { .. }
            | CatalogEvent::BookPlacedInSeries { .. }
            | CatalogEvent::BookRemovedFromSeries { .. } => self,
        }
    }
}

/// An author as librarians keep it: its name and bio, and the reader account that is this
/// author, if a librarian linked one.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AuthorProfile {
    pub exists: bool,
    pub name: String,
    pub bio: String,
    pub photo: Option<ImageId>,
    pub reader_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeAuthor {
    pub author_id: Uuid,
    pub change: AuthorChange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorChange {
    /// A field left out keeps its value; `photo: Some(None)` removes the photo.
    Edit {
        name: Option<String>,
        bio: Option<String>,
        photo: Option<Option<ImageId>>,
    },
    LinkReader {
        reader_id: Uuid,
    },
    UnlinkReader,
}

/// What changing an author needs besides its own events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorChangeFacts {
    pub librarian: ActorIsLibrarian,
    /// For a link: whether the reader's account exists (registered, not deleted).
    pub reader_exists: bool,
}

impl Decider for AuthorProfile {
    type Command = ChangeAuthor;
    type Facts = AuthorChangeFacts;
    type Event = CatalogEvent;
    type Error = Rejection;

    fn decide(&self, command: &ChangeAuthor, facts: &AuthorChangeFacts) -> Result<Vec<CatalogEvent>, Rejection> {
        facts.librarian.required()?;
        if !self.exists {
            return Err(Rejection::not_found("authorId", "no author with this id"));
        }
        let author_id = command.author_id;
        match &command.change {
            AuthorChange::Edit { name: None, bio: None, photo: None } => {
                Err(Rejection::invalid("input", "nothing to edit"))
            }
            AuthorChange::Edit { name, bio, photo } => {
                let name = match name {
                    Some(name) => text("name", name, Text::Line, 1, MAX_NAME)?,
                    None => self.name.clone(),
                };
                let bio = match bio {
                    Some(bio) => text("bio", bio, Text::Long, 0, MAX_DESCRIPTION)?,
                    None => self.bio.clone(),
                };
                let mut events = Vec::new();
                if (&name, &bio) != (&self.name, &self.bio) {
                    events.push(CatalogEvent::AuthorEdited { author_id, name, bio });
                }
                if let Some(photo) = photo.as_ref().filter(|photo| **photo != self.photo) {
                    events.push(CatalogEvent::AuthorPhotoChanged { author_id, photo: photo.clone() });
                }
                Ok(events)
            }
            &AuthorChange::LinkReader { reader_id } => {
                if !facts.reader_exists {
                    return Err(Rejection::not_found("readerId", "no reader with this id"));
                }
                match self.reader_id {
                    Some(linked) if linked == reader_id => Ok(Vec::new()),
                    Some(_) => Err(Rejection::new(
                        Code::AlreadyExists,
                        "this author is linked to another reader; unlink them first",
                    )),
                    None => Ok(vec![CatalogEvent::AuthorProfileLinked { author_id, reader_id }]),
                }
            }
            AuthorChange::UnlinkReader => match self.reader_id {
                Some(reader_id) => Ok(vec![CatalogEvent::AuthorProfileUnlinked { author_id, reader_id }]),
                None => Err(Rejection::not_found("authorId", "no reader is linked to this author")),
            },
        }
    }

    fn evolve(self, event: &CatalogEvent) -> Self {
        match event {
            CatalogEvent::AuthorAdded { name, bio, .. } | CatalogEvent::AuthorEdited { name, bio, .. } => {
                Self { exists: true, name: name.clone(), bio: bio.clone(), ..self }
            }
            CatalogEvent::AuthorPhotoChanged { photo, .. } => Self { photo: photo.clone(), ..self },
            &CatalogEvent::AuthorProfileLinked { reader_id, .. } => Self { reader_id: Some(reader_id), ..self },
            CatalogEvent::AuthorProfileUnlinked { .. } => Self { reader_id: None, ..self },
            // Merged away: its id is another author's now, edited there.
            CatalogEvent::AuthorMerged { .. } => Self { exists: false, ..self },
            CatalogEvent::BookAdded(_)
            | CatalogEvent::BookEdited(_)
            | CatalogEvent::BookMerged { .. }
            | CatalogEvent::EditionAdded(_)
            | CatalogEvent::BookCoverChanged { .. }
            | CatalogEvent::SeriesAdded { .. }
            | CatalogEvent::SeriesEdited { .. }
            | CatalogEvent::BookPlacedInSeries { .. }
            | CatalogEvent::BookRemovedFromSeries { .. } => self,
        }
    }
}

/// A book as added and edited since, and its cover.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BookRecord {
    pub book: Option<BookDetails>,
    pub cover: Option<ImageId>,
}

/// A librarian's edit of a book: a field left out keeps its value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EditBook {
    pub book_id: Uuid,
    pub title: Option<String>,
    pub subtitle: Option<String>,
    pub description: Option<String>,
    pub pages: Option<i32>,
    pub format: Option<String>,
    /// `Some(None)` clears the date.
    pub first_published: Option<Option<NaiveDate>>,
    pub author_ids: Option<Vec<Uuid>>,
    /// `Some(None)` removes the cover.
    pub cover: Option<Option<ImageId>>,
}

impl Decider for BookRecord {
    type Command = EditBook;
    type Facts = BookFacts;
    type Event = CatalogEvent;
    type Error = Rejection;

    fn decide(&self, edit: &EditBook, facts: &BookFacts) -> Result<Vec<CatalogEvent>, Rejection> {
        facts.librarian.required()?;
        let Some(book) = &self.book else {
            return Err(Rejection::not_found("bookId", "no book with this id"));
        };
        let untouched = EditBook { book_id: edit.book_id, ..EditBook::default() };
        if *edit == untouched {
            return Err(Rejection::invalid("input", "nothing to edit"));
        }
        let edited = AddBook {
            book_id: book.book_id,
            title: edit.title.clone().unwrap_or_else(|| book.title.clone()),
            subtitle: edit.subtitle.clone().unwrap_or_else(|| book.subtitle.clone()),
            description: edit.description.clone().unwrap_or_else(|| book.description.clone()),
            pages: edit.pages.unwrap_or(book.pages as i32),
            format: edit.format.clone().unwrap_or_else(|| book.format.clone()),
            first_published: edit.first_published.unwrap_or(book.first_published),
            author_ids: edit.author_ids.clone().unwrap_or_else(|| book.author_ids.clone()),
        };
        // Authors the edit keeps were checked when the book was added.
        let mut facts = match edit.author_ids {
            Some(_) => facts.clone(),
            None => BookFacts { known_authors: book.author_ids.iter().copied().collect(), ..facts.clone() },
        };
        // An unknown page count (an import's 0) stays unknown unless the edit gives one.
        facts.imported |= edit.pages.is_none() && book.pages == 0;
        let details = details(&edited, &facts)?;
        let mut events = Vec::new();
        if details != *book {
            events.push(CatalogEvent::BookEdited(details));
        }
        if let Some(cover) = edit.cover.as_ref().filter(|cover| **cover != self.cover) {
            events.push(CatalogEvent::BookCoverChanged { book_id: book.book_id, cover: cover.clone() });
        }
        Ok(events)
    }

    fn evolve(self, event: &CatalogEvent) -> Self {
        match event {
            CatalogEvent::BookAdded(book) | CatalogEvent::BookEdited(book) => Self { book: Some(book.clone()), ..self },
            CatalogEvent::BookCoverChanged { cover, .. } => Self { cover: cover.clone(), ..self },
            // Merged away: its id is another book's now, edited there.
            CatalogEvent::BookMerged { .. } => Self::default(),
            CatalogEvent::AuthorMerged { .. } | CatalogEvent::AuthorPhotoChanged { .. } => self,
            CatalogEvent::AuthorAdded { .. }
            | CatalogEvent::AuthorEdited { .. }
            | CatalogEvent::AuthorProfileLinked { .. }
            | CatalogEvent::AuthorProfileUnlinked { .. }
            | CatalogEvent::EditionAdded(_)
            | CatalogEvent::SeriesAdded { .. }
            | CatalogEvent::SeriesEdited { .. }
            | CatalogEvent::BookPlacedInSeries { .. }
            | CatalogEvent::BookRemovedFromSeries { .. } => self,
        }
    }
}

/// A book or an author as a merge sees it (each subject holds only its own kind's events):
/// whether it exists, and what it was merged into.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Mergeable {
    pub exists: bool,
    pub merged_into: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeKind {
    Book,
    Author,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge {
    pub kind: MergeKind,
    pub duplicate: Uuid,
    pub into: Uuid,
}

/// What merging needs besides the duplicate's events: who asks, and the target as its own
/// subject says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeFacts {
    pub librarian: ActorIsLibrarian,
    pub into: Mergeable,
}

impl Decider for Mergeable {
    type Command = Merge;
    type Facts = MergeFacts;
    type Event = CatalogEvent;
    type Error = Rejection;

    /// On the duplicate's subject: merged once, into one that is itself no duplicate.
    fn decide(&self, command: &Merge, facts: &MergeFacts) -> Result<Vec<CatalogEvent>, Rejection> {
        facts.librarian.required()?;
        let (field, what) = match command.kind {
            MergeKind::Book => ("bookId", "book"),
            MergeKind::Author => ("authorId", "author"),
        };
        if !self.exists {
            return Err(Rejection::not_found(field, format!("no {what} with this id")));
        }
        if command.duplicate == command.into {
            return Err(Rejection::invalid("intoId", format!("a {what} cannot be merged into itself")));
        }
        if let Some(into) = self.merged_into {
            return Err(Rejection::new(Code::AlreadyExists, format!("this {what} was merged into {into} already")));
        }
        if !facts.into.exists {
            return Err(Rejection::not_found("intoId", format!("no {what} with this id")));
        }
        if let Some(target) = facts.into.merged_into {
            return Err(Rejection {
                code: Code::Conflict,
                message: format!("that {what} was merged into {target}: merge into {target} instead"),
                field: Some("intoId"),
                retry_after_secs: None,
            });
        }
        let (duplicate, into) = (command.duplicate, command.into);
        Ok(vec![match command.kind {
            MergeKind::Book => CatalogEvent::BookMerged { book_id: duplicate, into },
            MergeKind::Author => CatalogEvent::AuthorMerged { author_id: duplicate, into },
        }])
    }

    fn evolve(self, event: &CatalogEvent) -> Self {
        match event {
            CatalogEvent::BookAdded(_) | CatalogEvent::AuthorAdded { .. } => Self { exists: true, ..self },
            &CatalogEvent::BookMerged { into, .. } | &CatalogEvent::AuthorMerged { into, .. } => {
                Self { merged_into: Some(into), ..self }
            }
            CatalogEvent::AuthorEdited { .. }
            | CatalogEvent::BookEdited(_)
            | CatalogEvent::AuthorProfileLinked { .. }
            | CatalogEvent::AuthorProfileUnlinked { .. }
            | CatalogEvent::EditionAdded(_)
            | CatalogEvent::BookCoverChanged { .. }
            | CatalogEvent::AuthorPhotoChanged { .. }
            | CatalogEvent::SeriesAdded { .. }
            | CatalogEvent::SeriesEdited { .. }
            | CatalogEvent::BookPlacedInSeries { .. }
            | CatalogEvent::BookRemovedFromSeries { .. } => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use readstream_testkit::decider::given;

    use super::*;

    /// Makes one field of a valid command invalid.
    type Spoil = fn(&mut AddBook);

    fn facts(known_authors: &[Uuid]) -> BookFacts {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default();
        BookFacts {
            librarian: ActorIsLibrarian(true),
            known_authors: known_authors.iter().copied().collect(),
            today,
            imported: false,
        }
    }

    fn moscow_1956(author: Uuid) -> AddBook {
        AddBook {
            book_id: Uuid::from_u128(1956),
            title: " Moscow 1956 ".into(),
            subtitle: "The Silenced Spring".into(),
            description: String::new(),
            pages: 400,
            format: "Hardcover".into(),
            first_published: NaiveDate::from_ymd_opt(2017, 4, 17),
            author_ids: vec![author],
        }
    }

    fn added(author: Uuid) -> CatalogEvent {
        CatalogEvent::BookAdded(BookDetails {
            book_id: Uuid::from_u128(1956),
            title: "Moscow 1956".into(),
            subtitle: "The Silenced Spring".into(),
            description: String::new(),
            pages: 400,
            format: "Hardcover".into(),
            first_published: NaiveDate::from_ymd_opt(2017, 4, 17),
            author_ids: vec![author],
        })
    }

    #[test]
    fn given_no_book_when_added_then_book_added_with_trimmed_title() {
        let author = Uuid::from_u128(7);
        given::<Book>([]).when(moscow_1956(author), facts(&[author])).then([added(author)]);
        let not_a_librarian = BookFacts { librarian: ActorIsLibrarian(false), ..facts(&[author]) };
        given::<Book>([]).when(moscow_1956(author), not_a_librarian).then_refused(Code::PermissionDenied, None);
    }

    #[test]
    fn when_added_with_an_unknown_author_then_not_found() {
        given::<Book>([])
            .when(moscow_1956(Uuid::from_u128(7)), facts(&[]))
            .then_refused(Code::NotFound, Some("authorIds"));
    }

    #[test]
    fn when_added_with_bad_fields_then_invalid_argument_naming_the_field() {
        let author = Uuid::from_u128(7);
        let cases: [(Spoil, &str); 10] = [
            (|c| c.title = "   ".into(), "title"),
            (|c| c.title = "a\u{0}b".into(), "title"),
            (|c| c.description = "bell\u{7}".into(), "description"),
            (|c| c.format = "Hard\ncover".into(), "format"),
            (|c| c.first_published = NaiveDate::from_ymd_opt(-5000, 1, 1), "firstPublished"),
            (|c| c.pages = 0, "pages"),
            (|c| c.pages = -3, "pages"),
            (|c| c.first_published = NaiveDate::from_ymd_opt(2027, 1, 1), "firstPublished"),
            (|c| c.author_ids.clear(), "authorIds"),
            (|c| c.author_ids.push(c.author_ids[0]), "authorIds"),
        ];
        for (spoil, field) in cases {
            let mut command = moscow_1956(author);
            spoil(&mut command);
            given::<Book>([]).when(command, facts(&[author])).then_refused(Code::InvalidArgument, Some(field));
        }
    }

    #[test]
    fn given_an_added_book_when_added_again_then_already_exists() {
        let author = Uuid::from_u128(7);
        given::<Book>([added(author)])
            .when(moscow_1956(author), facts(&[author]))
            .then_refused(Code::AlreadyExists, None);
    }

    #[test]
    fn an_author_needs_a_name_and_is_added_once() {
        let author = |name: &str| AddAuthor { author_id: Uuid::from_u128(7), name: name.into(), bio: String::new() };
        given::<Author>([]).when(author(" "), ActorIsLibrarian(true)).then_refused(Code::InvalidArgument, Some("name"));
        let added = CatalogEvent::AuthorAdded {
            author_id: Uuid::from_u128(7),
            name: "Kathleen E. Smith".into(),
            bio: String::new(),
        };
        given::<Author>([]).when(author(" Kathleen E. Smith "), ActorIsLibrarian(true)).then([added.clone()]);
        given::<Author>([added])
            .when(author("Kathleen E. Smith"), ActorIsLibrarian(true))
            .then_refused(Code::AlreadyExists, None);
        given::<Author>([])
            .when(author("Kathleen E. Smith"), ActorIsLibrarian(false))
            .then_refused(Code::PermissionDenied, None);
    }

    fn edition_facts() -> EditionFacts {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default();
        EditionFacts { librarian: ActorIsLibrarian(true), book_exists: true, today }
    }

    fn penguin_classics() -> AddEdition {
        AddEdition {
            isbn: Isbn::parse("isbn", "0140449132").unwrap_or_else(|err| panic!("{}", err.message)),
            book_id: Uuid::from_u128(1956),
            format: " Paperback ".into(),
            pages: 416,
            publisher: "Penguin".into(),
            published_on: NaiveDate::from_ymd_opt(2003, 5, 1),
            language: "en-GB".into(),
            cover_url: "https://covers.example/9780140449136.jpg".into(),
        }
    }

    fn edition_added() -> CatalogEvent {
        let command = penguin_classics();
        CatalogEvent::EditionAdded(EditionAdded {
            isbn: command.isbn,
            book_id: command.book_id,
            format: "Paperback".into(),
            pages: 416,
            publisher: "Penguin".into(),
            published_on: command.published_on,
            language: "en-GB".into(),
            cover_url: command.cover_url,
        })
    }

    #[test]
    fn given_a_new_isbn_when_a_librarian_adds_an_edition_of_a_book_then_edition_added() {
        given::<Edition>([]).when(penguin_classics(), edition_facts()).then([edition_added()]);
        let reader = EditionFacts { librarian: ActorIsLibrarian(false), ..edition_facts() };
        given::<Edition>([]).when(penguin_classics(), reader).then_refused(Code::PermissionDenied, None);
        let no_book = EditionFacts { book_exists: false, ..edition_facts() };
        given::<Edition>([]).when(penguin_classics(), no_book).then_refused(Code::NotFound, Some("bookId"));
    }

    #[test]
    fn given_an_isbn_taken_when_added_again_to_any_book_then_already_exists() {
        given::<Edition>([edition_added()])
            .when(penguin_classics(), edition_facts())
            .then_refused(Code::AlreadyExists, Some("isbn"));
        let other_book = AddEdition { book_id: Uuid::from_u128(7), ..penguin_classics() };
        given::<Edition>([edition_added()])
            .when(other_book, edition_facts())
            .then_refused(Code::AlreadyExists, Some("isbn"));
    }

    #[test]
    fn when_an_edition_has_bad_fields_then_invalid_argument_naming_the_field() {
        type SpoilEdition = fn(&mut AddEdition);
        let spoiled: [(&str, SpoilEdition); 9] = [
            ("pages", |c| c.pages = -1),
            ("pages", |c| c.pages = MAX_PAGES + 1),
            ("format", |c| c.format = "x".repeat(MAX_FORMAT + 1)),
            ("publisher", |c| c.publisher = "Pen\u{0}guin".into()),
            ("publishedOn", |c| c.published_on = NaiveDate::from_ymd_opt(2030, 1, 1)),
            ("language", |c| c.language = "english".into()),
            ("language", |c| c.language = "en_GB".into()),
            ("coverUrl", |c| c.cover_url = "javascript:alert(1)".into()),
            ("coverUrl", |c| c.cover_url = "https://covers.example/a b.jpg".into()),
        ];
        for (field, spoil) in spoiled {
            let mut command = penguin_classics();
            spoil(&mut command);
            given::<Edition>([]).when(command, edition_facts()).then_refused(Code::InvalidArgument, Some(field));
        }
    }

    #[test]
    fn unknown_pages_language_date_and_cover_are_left_empty() {
        let sparse = AddEdition {
            format: String::new(),
            pages: 0,
            publisher: String::new(),
            published_on: None,
            language: String::new(),
            cover_url: String::new(),
            ..penguin_classics()
        };
        let events = given::<Edition>([]).when(sparse, edition_facts()).then_events();
        assert!(matches!(&events[..], [CatalogEvent::EditionAdded(EditionAdded { pages: 0, .. })]), "{events:?}");
    }

    const SMITH: Uuid = Uuid::from_u128(7);
    const ANA: Uuid = Uuid::from_u128(42);

    fn smith_added() -> CatalogEvent {
        CatalogEvent::AuthorAdded { author_id: SMITH, name: "Kathleen E. Smith".into(), bio: String::new() }
    }

    fn change(change: AuthorChange) -> ChangeAuthor {
        ChangeAuthor { author_id: SMITH, change }
    }

    fn librarian() -> AuthorChangeFacts {
        AuthorChangeFacts { librarian: ActorIsLibrarian(true), reader_exists: true }
    }

    #[test]
    fn given_an_author_when_a_librarian_edits_it_then_the_fields_after_the_edit_and_nothing_for_no_change() {
        let edit = |name: Option<&str>, bio: Option<&str>| {
            change(AuthorChange::Edit { name: name.map(str::to_owned), bio: bio.map(str::to_owned), photo: None })
        };
        let edited =
            CatalogEvent::AuthorEdited { author_id: SMITH, name: "Kathleen E. Smith".into(), bio: "Historian.".into() };
        given::<AuthorProfile>([smith_added()])
            .when(edit(None, Some("Historian.")), librarian())
            .then([edited.clone()]);
        given::<AuthorProfile>([smith_added(), edited.clone()])
            .when(edit(None, Some("Historian.")), librarian())
            .then([]);
        given::<AuthorProfile>([smith_added()])
            .when(edit(None, None), librarian())
            .then_refused(Code::InvalidArgument, Some("input"));
        given::<AuthorProfile>([smith_added()])
            .when(edit(Some(" "), None), librarian())
            .then_refused(Code::InvalidArgument, Some("name"));
        given::<AuthorProfile>([])
            .when(edit(Some("K"), None), librarian())
            .then_refused(Code::NotFound, Some("authorId"));
        let reader = AuthorChangeFacts { librarian: ActorIsLibrarian(false), ..librarian() };
        given::<AuthorProfile>([smith_added()])
            .when(edit(Some("K"), None), reader)
            .then_refused(Code::PermissionDenied, None);
    }

    #[test]
    fn an_author_is_linked_to_one_reader_at_a_time_and_unlinked() {
        let link = |reader_id| change(AuthorChange::LinkReader { reader_id });
        let linked = CatalogEvent::AuthorProfileLinked { author_id: SMITH, reader_id: ANA };
        given::<AuthorProfile>([smith_added()]).when(link(ANA), librarian()).then([linked.clone()]);
        given::<AuthorProfile>([smith_added(), linked.clone()]).when(link(ANA), librarian()).then([]);
        given::<AuthorProfile>([smith_added(), linked.clone()])
            .when(link(Uuid::from_u128(43)), librarian())
            .then_refused(Code::AlreadyExists, None);
        let no_reader = AuthorChangeFacts { reader_exists: false, ..librarian() };
        given::<AuthorProfile>([smith_added()])
            .when(link(ANA), no_reader)
            .then_refused(Code::NotFound, Some("readerId"));
        let unlinked = CatalogEvent::AuthorProfileUnlinked { author_id: SMITH, reader_id: ANA };
        given::<AuthorProfile>([smith_added(), linked.clone()])
            .when(change(AuthorChange::UnlinkReader), librarian())
            .then([unlinked.clone()]);
        given::<AuthorProfile>([smith_added(), linked, unlinked])
            .when(change(AuthorChange::UnlinkReader), librarian())
            .then_refused(Code::NotFound, Some("authorId"));
    }

    #[test]
    fn given_a_book_when_a_librarian_edits_it_then_every_field_after_the_edit_checked_as_when_added() {
        let edit = EditBook {
            book_id: Uuid::from_u128(1956),
            pages: Some(412),
            first_published: Some(None),
            ..EditBook::default()
        };
        let CatalogEvent::BookAdded(before) = added(SMITH) else { unreachable!() };
        let after = BookDetails { pages: 412, first_published: None, ..before };
        given::<BookRecord>([added(SMITH)])
            .when(edit.clone(), facts(&[SMITH]))
            .then([CatalogEvent::BookEdited(after.clone())]);
        given::<BookRecord>([added(SMITH), CatalogEvent::BookEdited(after)])
            .when(edit.clone(), facts(&[SMITH]))
            .then([]);
        given::<BookRecord>([]).when(edit.clone(), facts(&[SMITH])).then_refused(Code::NotFound, Some("bookId"));
        let nothing = EditBook { book_id: Uuid::from_u128(1956), ..EditBook::default() };
        given::<BookRecord>([added(SMITH)])
            .when(nothing, facts(&[SMITH]))
            .then_refused(Code::InvalidArgument, Some("input"));
        let unknown_author = EditBook { author_ids: Some(vec![Uuid::from_u128(8)]), ..edit.clone() };
        given::<BookRecord>([added(SMITH)])
            .when(unknown_author, facts(&[SMITH]))
            .then_refused(Code::NotFound, Some("authorIds"));
        let blank = EditBook { title: Some("  ".into()), ..edit };
        given::<BookRecord>([added(SMITH)])
            .when(blank, facts(&[SMITH]))
            .then_refused(Code::InvalidArgument, Some("title"));
    }

    #[test]
    fn given_an_imported_book_of_unknown_pages_when_a_librarian_edits_its_title_then_its_pages_stay_unknown() {
        let CatalogEvent::BookAdded(before) = added(SMITH) else { unreachable!() };
        let imported = CatalogEvent::BookAdded(BookDetails { pages: 0, ..before.clone() });
        let retitled =
            EditBook { book_id: Uuid::from_u128(1956), title: Some("Moscow, 1956".into()), ..EditBook::default() };
        let after = BookDetails { pages: 0, title: "Moscow, 1956".into(), ..before };
        given::<BookRecord>([imported.clone()]).when(retitled, facts(&[SMITH])).then([CatalogEvent::BookEdited(after)]);
        let unpaged = EditBook { book_id: Uuid::from_u128(1956), pages: Some(0), ..EditBook::default() };
        given::<BookRecord>([imported])
            .when(unpaged, facts(&[SMITH]))
            .then_refused(Code::InvalidArgument, Some("pages"));
    }

    #[test]
    fn a_duplicate_is_merged_once_into_a_book_that_is_no_duplicate_itself() {
        let (duplicate, into) = (Uuid::from_u128(1956), Uuid::from_u128(2017));
        let merge = Merge { kind: MergeKind::Book, duplicate, into };
        let target = Mergeable { exists: true, merged_into: None };
        let facts = MergeFacts { librarian: ActorIsLibrarian(true), into: target };
        let merged = CatalogEvent::BookMerged { book_id: duplicate, into };
        given::<Mergeable>([added(SMITH)]).when(merge, facts).then([merged.clone()]);
        given::<Mergeable>([added(SMITH), merged]).when(merge, facts).then_refused(Code::AlreadyExists, None);
        given::<Mergeable>([]).when(merge, facts).then_refused(Code::NotFound, Some("bookId"));
        let itself = Merge { into: duplicate, ..merge };
        given::<Mergeable>([added(SMITH)]).when(itself, facts).then_refused(Code::InvalidArgument, Some("intoId"));
        let gone = MergeFacts { into: Mergeable { exists: false, merged_into: None }, ..facts };
        given::<Mergeable>([added(SMITH)]).when(merge, gone).then_refused(Code::NotFound, Some("intoId"));
        let chained = MergeFacts { into: Mergeable { exists: true, merged_into: Some(Uuid::from_u128(7)) }, ..facts };
        given::<Mergeable>([added(SMITH)]).when(merge, chained).then_refused(Code::Conflict, Some("intoId"));
        let reader = MergeFacts { librarian: ActorIsLibrarian(false), ..facts };
        given::<Mergeable>([added(SMITH)]).when(merge, reader).then_refused(Code::PermissionDenied, None);
        // The same for authors, on the duplicate author's subject.
        let authors = Merge { kind: MergeKind::Author, duplicate: SMITH, into: ANA };
        given::<Mergeable>([smith_added()])
            .when(authors, facts)
            .then([CatalogEvent::AuthorMerged { author_id: SMITH, into: ANA }]);
        given::<Mergeable>([]).when(authors, facts).then_refused(Code::NotFound, Some("authorId"));
    }
}
