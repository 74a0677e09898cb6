//! Merges: a duplicate book or author merged into another (`merges`), whose readers' copies,
//! ratings, reviews and follows a background job moves.

use crate::text_kind;

/// What was merged (`merges.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MergeKind {
    Book,
    Author,
}

text_kind!(MergeKind { Book => "book", Author => "author" });
