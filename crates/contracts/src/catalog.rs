//! The catalog context: authors, books (the works readers rate, shelve and review) and their
//! editions.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::{
    command::{commands, Service},
    subject::Aggregate,
    ImageId, Isbn,
};

/// The command service of the catalog.
pub struct CatalogService;

impl Service for CatalogService {
    const NAME: &'static str = "catalog";
}

commands!(CatalogService, CatalogRoutes {
    AddAuthor => add_author(Sender) -> Identified,
    AddBook => add_book(Sender) -> Identified,
    AddEdition => add_edition(Sender) -> Identified,
    EditAuthor => edit_author(Sender) -> Identified,
    EditBook => edit_book(Sender) -> Identified,
    LinkAuthorProfile => link_author_profile(Sender) -> Identified,
    UnlinkAuthorProfile => unlink_author_profile(Sender) -> Identified,
    ImportBook => import_book(Sender) -> Identified,
    MergeBooks => merge_books(Sender) -> Identified,
    MergeAuthors => merge_authors(Sender) -> Identified,
});

/// An author's events.
pub fn author(author_id: Uuid) -> Aggregate {
    Aggregate::new(format!("catalog.author.{author_id}"))
}

/// A book's events; other contexts read it to learn that a book exists and its page count.
pub fn book(book_id: Uuid) -> Aggregate {
    Aggregate::new(format!("catalog.book.{book_id}"))
}

/// An edition's events, keyed by its ISBN: one edition per ISBN, whoever adds it first.
pub fn edition(isbn: Isbn) -> Aggregate {
    Aggregate::new(format!("catalog.edition.{isbn}"))
}

/// A catalog fact: an author, a book or an edition of a book was added, a librarian edited
/// one, or linked an author to a reader's account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type")]
pub enum CatalogEvent {
    AuthorAdded {
        author_id: Uuid,
        name: String,
        bio: String,
    },
    BookAdded(BookDetails),
    EditionAdded(EditionAdded),
    /// The name and bio after the edit.
    AuthorEdited {
        author_id: Uuid,
        name: String,
        bio: String,
    },
    /// Every field of the work after the edit.
    BookEdited(BookDetails),
    /// This reader's account is this author: their reviews carry the author's badge.
    AuthorProfileLinked {
        author_id: Uuid,
        reader_id: Uuid,
    },
    AuthorProfileUnlinked {
        author_id: Uuid,
        reader_id: Uuid,
    },
    /// A duplicate book merged into another: its id resolves to `into` from then on.
    BookMerged {
        book_id: Uuid,
        into: Uuid,
    },
    /// A duplicate author merged into another: its books list `into`, its followers follow it.
    AuthorMerged {
        author_id: Uuid,
        into: Uuid,
    },
    /// The book's cover from now on; `None`: removed.
    BookCoverChanged {
        book_id: Uuid,
        cover: Option<ImageId>,
    },
    /// The author's photo from now on; `None`: removed.
    AuthorPhotoChanged {
        author_id: Uuid,
        photo: Option<ImageId>,
    },
}

/// One edition of a book: what a reader holds. Ratings and reviews stay on the book.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EditionAdded {
    pub isbn: Isbn,
    pub book_id: Uuid,
    /// Hardcover, Paperback, Ebook, Audiobook, …; empty when unknown.
    pub format: String,
    /// 0 when unknown.
    pub pages: u32,
    pub publisher: String,
    pub published_on: Option<NaiveDate>,
    /// A BCP 47 language tag (`en`, `pt-BR`); empty when unknown.
    pub language: String,
    /// An `https://` (or `http://`) URL of its cover; empty when none.
    pub cover_url: String,
}

/// A work's own fields, as added and after each edit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BookDetails {
    pub book_id: Uuid,
    pub title: String,
    pub subtitle: String,
    pub description: String,
    pub pages: u32,
    pub format: String,
    pub first_published: Option<NaiveDate>,
    pub author_ids: Vec<Uuid>,
}
