//! The catalog context: authors and books.

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
