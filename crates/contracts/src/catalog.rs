//! The catalog context: authors and books.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::{
    command::{commands, Service},
    subject::Aggregate,
};

/// The command service of the catalog.
pub struct CatalogService;

impl Service for CatalogService {
    const NAME: &'static str = "catalog";
}

commands!(CatalogService { AddAuthor => "add_author", AddBook => "add_book" });

/// An author's events.
pub fn author(author_id: Uuid) -> Aggregate {
    Aggregate::new(format!("catalog.author.{author_id}"))
}

/// A book's events; other contexts read it to learn that a book exists and its page count.
pub fn book(book_id: Uuid) -> Aggregate {
    Aggregate::new(format!("catalog.book.{book_id}"))
}

/// A catalog fact: an author or a book was added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogEvent {
    AuthorAdded { author_id: Uuid, name: String, bio: String },
    BookAdded(BookAdded),
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
