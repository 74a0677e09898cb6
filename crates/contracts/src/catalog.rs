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
    AddSeries => add_series(Sender) -> Identified,
    EditSeries => edit_series(Sender) -> Identified,
    PlaceBookInSeries => place_book_in_series(Sender) -> Identified,
    RemoveBookFromSeries => remove_book_from_series(Sender) -> Identified,
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

/// A series' events: its name and which books it holds, in what order.
pub fn series(series_id: Uuid) -> Aggregate {
    Aggregate::new(format!("catalog.series.{series_id}"))
}

/// A book's place in a series, in hundredths: `#2.5` is 250. Goodreads numbers novellas
/// between novels (2.5) and prequels before the first (0.5), so whole numbers are not enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct SeriesPosition(u32);

impl SeriesPosition {
    /// The highest position: #9999.99.
    pub const MAX: u32 = 999_999;

    pub fn from_hundredths(hundredths: u32) -> Option<Self> {
        (hundredths <= Self::MAX).then_some(Self(hundredths))
    }

    pub fn hundredths(self) -> u32 {
        self.0
    }

    /// As written: `2`, `2.5`, `0.25`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (whole, fraction) = match text.split_once('.') {
            Some((_, "")) => return None,
            Some(parts) => parts,
            None => (text, ""),
        };
        let digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || whole.len() > 4 || fraction.len() > 2 || !digits(whole) || !digits(fraction) {
            return None;
        }
        let hundredths = format!("{fraction:0<2}").parse::<u32>().ok()?;
        Self::from_hundredths(whole.parse::<u32>().ok()? * 100 + hundredths)
    }
}

impl std::fmt::Display for SeriesPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (whole, hundredths) = (self.0 / 100, self.0 % 100);
        match hundredths {
            0 => write!(f, "{whole}"),
            h if h % 10 == 0 => write!(f, "{whole}.{}", h / 10),
            h => write!(f, "{whole}.{h:02}"),
        }
    }
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
    SeriesAdded {
        series_id: Uuid,
        name: String,
        description: String,
    },
    /// The name and description after a librarian's edit.
    SeriesEdited {
        series_id: Uuid,
        name: String,
        description: String,
    },
    /// The book is in the series at `position` (`None`: unnumbered); placed again, it moves.
    BookPlacedInSeries {
        series_id: Uuid,
        book_id: Uuid,
        position: Option<SeriesPosition>,
    },
    BookRemovedFromSeries {
        series_id: Uuid,
        book_id: Uuid,
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

#[cfg(test)]
mod tests {
    use super::SeriesPosition;

    #[test]
    fn a_series_position_reads_and_writes_as_readers_number_books() {
        for (text, hundredths) in [("1", 100), ("2.5", 250), ("0.5", 50), ("10.25", 1025), ("9999.99", 999_999)] {
            let position = SeriesPosition::parse(text);
            assert_eq!(position.map(SeriesPosition::hundredths), Some(hundredths), "{text}");
            assert_eq!(position.map(|p| p.to_string()).as_deref(), Some(text));
        }
        assert_eq!(SeriesPosition::parse("2.50").map(|p| p.to_string()).as_deref(), Some("2.5"));
        for refused in ["", "-1", "1.", ".5", "1.234", "10000", "1e3", "one", "1-3", " 1 2"] {
            assert_eq!(SeriesPosition::parse(refused), None, "{refused:?}");
        }
    }
}
