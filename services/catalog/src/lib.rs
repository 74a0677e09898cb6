//! The catalog service: authors, books and editions. Answers `<ns>.cmd.catalog.add_author`,
//! `add_book`, `add_edition`, `edit_author`, `edit_book`, `link_author_profile` and
//! `unlink_author_profile`, deciding against `<ns>.events.catalog.{author,book}.<id>` and
//! `<ns>.events.catalog.edition.<isbn-13>` (one edition per ISBN, so the stream itself keeps
//! ISBNs unique); only librarians may, which the sender's own
//! `<ns>.events.social.reader.<id>` says (their role events).

pub mod domain;
pub mod series;

use std::collections::HashSet;

use chrono::Utc;
use readstream_contracts::{
    catalog::{self, CatalogRoutes, CatalogService},
    input,
    proto::commands::v1 as pb,
    social::{self, Role},
    Code, Identified, ImageId, Isbn, Recorded, Rejection, Sender, SeriesPosition, Service, SocialEvent,
};
use readstream_eventstore::{EventStore, StoreError};
use readstream_runtime::{bus, config::StartError, health::HealthConfig, service::CommandService, NatsConfig};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::{ActorIsLibrarian, AuthorChange},
    series::{Series, SeriesCommand, SeriesFacts},
};

pub const SERVICE: &str = CatalogService::NAME;

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "readstream-catalog", about = "The catalog command service")]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub health: HealthConfig,
}

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    let service = CommandService::start(&config.nats, &config.health, &shutdown).await?;
    let catalog = Catalog { store: service.store.clone() };
    service.answer::<CatalogService, _>(catalog).await
}

/// Where the ids of imported authors and books come from (UUIDv5 of their names).
const IMPORTED: Uuid = Uuid::from_u128(0x6f1e_2c4a_93b7_4d85_a0c2_17e9_5b3d_8a41);

/// The id of an author a library import adds: the same for every reader's import of that name.
pub fn imported_author_id(name: &str) -> Uuid {
    Uuid::new_v5(&IMPORTED, format!("author:{}", input::name_key(name)).as_bytes())
}

/// The id of a book a library import adds: from its title and first author.
pub fn imported_book_id(title: &str, first_author: Uuid) -> Uuid {
    Uuid::new_v5(&IMPORTED, format!("book:{}:{first_author}", input::name_key(title)).as_bytes())
}

/// The id of a series a library import adds: the same for every reader's import of that name.
pub fn imported_series_id(name: &str) -> Uuid {
    Uuid::new_v5(&IMPORTED, format!("series:{}", input::name_key(name)).as_bytes())
}

/// The id of what a command creates, derived from the command id so a retry targets it again.
pub fn created_id(command_id: Uuid, kind: &str) -> Uuid {
    Uuid::new_v5(&command_id, kind.as_bytes())
}

#[derive(Clone)]
struct Catalog {
    store: EventStore,
}

impl Catalog {
    /// Whether `reader_id` holds the librarian role.
    async fn is_librarian(&self, reader_id: Uuid) -> Result<ActorIsLibrarian, Rejection> {
        bus::holds_role(&self.store, reader_id, Role::Librarian).await.map(ActorIsLibrarian)
    }

    /// Whether a reader's account exists: registered, and neither deleted nor expired.
    async fn reader_exists(&self, reader_id: Uuid) -> Result<bool, Rejection> {
        let history = self.store.load(&social::reader(reader_id)).await.map_err(|err| bus::unavailable(&err))?;
        let events = readstream_eventstore::context_events::<SocialEvent>(&history);
        Ok(events.fold(false, |exists, event| match event {
            SocialEvent::ReaderRegistered { .. } => true,
            SocialEvent::ReaderDeleted { .. } | SocialEvent::SignUpExpired { .. } => false,
            _ => exists,
        }))
    }

    /// Which of these authors exist (the first `MAX_AUTHORS`; a longer list is refused anyway).
    async fn known_authors(&self, author_ids: &[Uuid]) -> Result<HashSet<Uuid>, Rejection> {
        let mut known = HashSet::new();
        for &author_id in author_ids.iter().take(domain::MAX_AUTHORS) {
            let exists = self.store.exists(&catalog::author(author_id)).await.map_err(|err| bus::unavailable(&err))?;
            if exists {
                known.insert(author_id);
            }
        }
        Ok(known)
    }

    /// A librarian's edit of an author, or a link of a reader's account to it.
    async fn change_author(
        &self,
        author_id: &str,
        change: AuthorChange,
        sender: Sender,
    ) -> Result<Identified, Rejection> {
        let author_id = input::id("authorId", author_id)?;
        let librarian = self.is_librarian(sender.reader_id).await?;
        let reader_exists = match change {
            AuthorChange::LinkReader { reader_id } => self.reader_exists(reader_id).await?,
            AuthorChange::Edit { .. } | AuthorChange::UnlinkReader => false,
        };
        let command = domain::ChangeAuthor { author_id, change };
        let facts = domain::AuthorChangeFacts { librarian, reader_exists };
        let outcome = self
            .store
            .decide::<domain::AuthorProfile>(&catalog::author(author_id), sender.meta, &command, &facts)
            .await;
        Ok(Identified { id: author_id, recorded: bus::recorded(outcome)? })
    }

    /// A librarian's command on a series; `placed`: the book a placement names, which must exist.
    async fn change_series(
        &self,
        series_id: Uuid,
        command: SeriesCommand,
        placed: Option<Uuid>,
        sender: Sender,
    ) -> Result<Identified, Rejection> {
        let librarian = self.is_librarian(sender.reader_id).await?;
        let book_exists = match placed {
            Some(book_id) => self.book_exists(book_id).await?,
            None => false,
        };
        let facts = SeriesFacts { librarian, book_exists, imported: false };
        let outcome = self.store.decide::<Series>(&catalog::series(series_id), sender.meta, &command, &facts).await;
        Ok(Identified { id: series_id, recorded: bus::recorded(outcome)? })
    }

    /// Whether a book exists and was not merged into another (place the one it was merged into).
    async fn book_exists(&self, book_id: Uuid) -> Result<bool, Rejection> {
        let book = self.store.state::<domain::Mergeable>(&catalog::book(book_id)).await;
        let book = book.map_err(|err| bus::unavailable(&err))?;
        Ok(book.exists && book.merged_into.is_none())
    }

    /// A librarian merges a duplicate book or author into another, on the duplicate's subject.
    async fn merge(
        &self,
        kind: domain::MergeKind,
        duplicate: &str,
        into: &str,
        sender: Sender,
    ) -> Result<Identified, Rejection> {
        let field = match kind {
            domain::MergeKind::Book => "bookId",
            domain::MergeKind::Author => "authorId",
        };
        let (duplicate, into) = (input::id(field, duplicate)?, input::id("intoId", into)?);
        let subject = |id| match kind {
            domain::MergeKind::Book => catalog::book(id),
            domain::MergeKind::Author => catalog::author(id),
        };
        let librarian = self.is_librarian(sender.reader_id).await?;
        let target = self.store.state::<domain::Mergeable>(&subject(into)).await;
        let facts = domain::MergeFacts { librarian, into: target.map_err(|err| bus::unavailable(&err))? };
        let command = domain::Merge { kind, duplicate, into };
        let outcome = self.store.decide::<domain::Mergeable>(&subject(duplicate), sender.meta, &command, &facts).await;
        Ok(Identified { id: into, recorded: bus::recorded(outcome)? })
    }
}

impl CatalogRoutes for Catalog {
    async fn add_author(&self, request: pb::AddAuthor, sender: Sender) -> Result<Identified, Rejection> {
        let librarian = self.is_librarian(sender.reader_id).await?;
        let meta = sender.meta;
        let author_id = created_id(meta.command_id, "author");
        let command = domain::AddAuthor { author_id, name: request.name, bio: request.bio };
        let outcome =
            self.store.decide::<domain::Author>(&catalog::author(author_id), meta, &command, &librarian).await;
        Ok(Identified { id: author_id, recorded: bus::recorded(outcome)? })
    }

    async fn add_book(&self, request: pb::AddBook, sender: Sender) -> Result<Identified, Rejection> {
        let librarian = self.is_librarian(sender.reader_id).await?;
        let meta = sender.meta;
        let book_id = created_id(meta.command_id, "book");
        let first_published = input::parse_date("firstPublished", &request.first_published)?;
        let author_ids =
            request.author_ids.iter().map(|id| input::id("authorIds", id)).collect::<Result<Vec<_>, _>>()?;
        let known_authors = self.known_authors(&author_ids).await?;
        let command = domain::AddBook {
            book_id,
            title: request.title,
            subtitle: request.subtitle,
            description: request.description,
            pages: request.pages,
            format: request.format,
            first_published,
            author_ids,
        };
        let facts = domain::BookFacts { librarian, known_authors, today: Utc::now().date_naive(), imported: false };
        let outcome = self.store.decide::<domain::Book>(&catalog::book(book_id), meta, &command, &facts).await;
        Ok(Identified { id: book_id, recorded: bus::recorded(outcome)? })
    }

    /// An edition of a book, on its ISBN's own subject: the first to add an ISBN has it.
    async fn add_edition(&self, request: pb::AddEdition, sender: Sender) -> Result<Identified, Rejection> {
        let isbn = Isbn::parse("isbn", &request.isbn)?;
        let book_id = input::id("bookId", &request.book_id)?;
        let published_on = input::parse_date("publishedOn", &request.published_on)?;
        let librarian = self.is_librarian(sender.reader_id).await?;
        let book_exists = self.store.exists(&catalog::book(book_id)).await.map_err(|err| bus::unavailable(&err))?;
        let command = domain::AddEdition {
            isbn,
            book_id,
            format: request.format,
            pages: request.pages,
            publisher: request.publisher,
            published_on,
            language: request.language,
            cover_url: request.cover_url,
        };
        let facts = domain::EditionFacts { librarian, book_exists, today: Utc::now().date_naive() };
        let outcome =
            self.store.decide::<domain::Edition>(&catalog::edition(isbn), sender.meta, &command, &facts).await;
        Ok(Identified { id: book_id, recorded: bus::recorded(outcome)? })
    }

    /// A librarian's edit of a book, with the fields left out kept.
    async fn edit_book(&self, request: pb::EditBook, sender: Sender) -> Result<Identified, Rejection> {
        let book_id = input::id("bookId", &request.book_id)?;
        let first_published =
            request.first_published.as_deref().map(|day| input::parse_date("firstPublished", day)).transpose()?;
        let author_ids = request
            .authors
            .map(|list| list.author_ids.iter().map(|id| input::id("authorIds", id)).collect::<Result<Vec<_>, _>>())
            .transpose()?;
        let librarian = self.is_librarian(sender.reader_id).await?;
        let known_authors = self.known_authors(author_ids.as_deref().unwrap_or_default()).await?;
        let command = domain::EditBook {
            book_id,
            title: request.title,
            subtitle: request.subtitle,
            description: request.description,
            pages: request.pages,
            format: request.format,
            first_published,
            author_ids,
            cover: request.cover.as_deref().map(|cover| ImageId::from_input("cover", cover)).transpose()?,
        };
        let facts = domain::BookFacts { librarian, known_authors, today: Utc::now().date_naive(), imported: false };
        let outcome =
            self.store.decide::<domain::BookRecord>(&catalog::book(book_id), sender.meta, &command, &facts).await;
        Ok(Identified { id: book_id, recorded: bus::recorded(outcome)? })
    }

    /// A book of a reader's library import that matched none in the catalog: its new authors and
    /// the book, each appended to its own subject unless there already (ids from names, so every
    /// import of the same book meets the same one). No edition: the ISBN the reader had stays
    /// with their copy (`reading.note_isbn`), so an import never claims one for the catalog.
    async fn import_book(&self, request: pb::ImportBook, sender: Sender) -> Result<Identified, Rejection> {
        if request.authors.is_empty() || request.authors.len() > domain::MAX_AUTHORS {
            return Err(Rejection::invalid("authors", format!("a book has 1 to {} authors", domain::MAX_AUTHORS)));
        }
        let first_published = input::parse_date("firstPublished", &request.first_published)?;
        let importer = ActorIsLibrarian(true);
        let step = |what: &str| {
            let command_id = Uuid::new_v5(&sender.meta.command_id, what.as_bytes());
            readstream_contracts::Metadata {
                command_id,
                correlation_id: sender.meta.correlation_id,
                ..sender.meta.clone()
            }
        };
        // What each step appended; one already there (the same import, another reader's) is fine.
        let mut appended = Recorded { position: 0, event_ids: Vec::new() };
        let mut settled = |outcome: Result<Result<Recorded, Rejection>, StoreError>| match outcome {
            Ok(Ok(accepted)) => {
                appended.position = appended.position.max(accepted.position);
                appended.event_ids.extend(accepted.event_ids);
                Ok(())
            }
            Ok(Err(rejection)) if rejection.code == Code::AlreadyExists => Ok(()),
            Ok(Err(rejection)) => Err(rejection),
            Err(err) => Err(bus::unavailable(&err)),
        };
        let mut author_ids = Vec::with_capacity(request.authors.len());
        for (i, author) in request.authors.iter().enumerate() {
            if !author.author_id.is_empty() {
                author_ids.push(input::id("authors", &author.author_id)?);
                continue;
            }
            let author_id = imported_author_id(&author.name);
            let command = domain::AddAuthor { author_id, name: author.name.clone(), bio: String::new() };
            let aggregate = catalog::author(author_id);
            settled(
                self.store
                    .decide::<domain::Author>(&aggregate, step(&format!("author:{i}")), &command, &importer)
                    .await,
            )?;
            author_ids.push(author_id);
        }
        let book_id = imported_book_id(&request.title, author_ids[0]);
        let known_authors = self.known_authors(&author_ids).await?;
        let command = domain::AddBook {
            book_id,
            title: request.title,
            subtitle: request.subtitle,
            description: String::new(),
            pages: request.pages,
            format: request.format,
            first_published,
            author_ids,
        };
        let facts =
            domain::BookFacts { librarian: importer, known_authors, today: Utc::now().date_naive(), imported: true };
        settled(self.store.decide::<domain::Book>(&catalog::book(book_id), step("book"), &command, &facts).await)?;
        if !request.series_id.is_empty() || !request.series_name.trim().is_empty() {
            let series_id = match request.series_id.as_str() {
                "" => {
                    let series_id = imported_series_id(&request.series_name);
                    let add = SeriesCommand::Add { series_id, name: request.series_name, description: String::new() };
                    let facts = SeriesFacts { librarian: importer, book_exists: true, imported: true };
                    let aggregate = catalog::series(series_id);
                    settled(self.store.decide::<Series>(&aggregate, step("series"), &add, &facts).await)?;
                    series_id
                }
                known => input::id("seriesId", known)?,
            };
            let position = series_position(request.series_position)?;
            let place = SeriesCommand::Place { series_id, book_id, position };
            let facts = SeriesFacts { librarian: importer, book_exists: true, imported: true };
            let aggregate = catalog::series(series_id);
            settled(self.store.decide::<Series>(&aggregate, step("series:place"), &place, &facts).await)?;
        }
        Ok(Identified { id: book_id, recorded: appended })
    }

    async fn edit_author(&self, request: pb::EditAuthor, sender: Sender) -> Result<Identified, Rejection> {
        let photo = request.photo.as_deref().map(|photo| ImageId::from_input("photo", photo)).transpose()?;
        let change = AuthorChange::Edit { name: request.name, bio: request.bio, photo };
        self.change_author(&request.author_id, change, sender).await
    }

    async fn link_author_profile(
        &self,
        request: pb::LinkAuthorProfile,
        sender: Sender,
    ) -> Result<Identified, Rejection> {
        let reader_id = input::id("readerId", &request.reader_id)?;
        self.change_author(&request.author_id, AuthorChange::LinkReader { reader_id }, sender).await
    }

    async fn unlink_author_profile(
        &self,
        request: pb::UnlinkAuthorProfile,
        sender: Sender,
    ) -> Result<Identified, Rejection> {
        self.change_author(&request.author_id, AuthorChange::UnlinkReader, sender).await
    }

    async fn merge_books(&self, request: pb::MergeBooks, sender: Sender) -> Result<Identified, Rejection> {
        self.merge(domain::MergeKind::Book, &request.book_id, &request.into_id, sender).await
    }

    async fn merge_authors(&self, request: pb::MergeAuthors, sender: Sender) -> Result<Identified, Rejection> {
        self.merge(domain::MergeKind::Author, &request.author_id, &request.into_id, sender).await
    }

    async fn add_series(&self, request: pb::AddSeries, sender: Sender) -> Result<Identified, Rejection> {
        let series_id = created_id(sender.meta.command_id, "series");
        let command = SeriesCommand::Add { series_id, name: request.name, description: request.description };
        self.change_series(series_id, command, None, sender).await
    }

    async fn edit_series(&self, request: pb::EditSeries, sender: Sender) -> Result<Identified, Rejection> {
        let series_id = input::id("seriesId", &request.series_id)?;
        let command = SeriesCommand::Edit { series_id, name: request.name, description: request.description };
        self.change_series(series_id, command, None, sender).await
    }

    async fn place_book_in_series(
        &self,
        request: pb::PlaceBookInSeries,
        sender: Sender,
    ) -> Result<Identified, Rejection> {
        let series_id = input::id("seriesId", &request.series_id)?;
        let book_id = input::id("bookId", &request.book_id)?;
        let position = series_position(request.position)?;
        let command = SeriesCommand::Place { series_id, book_id, position };
        self.change_series(series_id, command, Some(book_id), sender).await
    }

    async fn remove_book_from_series(
        &self,
        request: pb::RemoveBookFromSeries,
        sender: Sender,
    ) -> Result<Identified, Rejection> {
        let series_id = input::id("seriesId", &request.series_id)?;
        let book_id = input::id("bookId", &request.book_id)?;
        let command = SeriesCommand::Remove { series_id, book_id };
        self.change_series(series_id, command, None, sender).await
    }
}

/// A position from the wire: hundredths, at most #9999.99.
fn series_position(hundredths: Option<u32>) -> Result<Option<SeriesPosition>, Rejection> {
    hundredths
        .map(|hundredths| {
            SeriesPosition::from_hundredths(hundredths)
                .ok_or_else(|| Rejection::invalid("position", "a position is 0 to 9999.99, in hundredths at most"))
        })
        .transpose()
}
