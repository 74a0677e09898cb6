//! The discovery slice: what readers say books are. Genres come from readers' shelf names
//! (three readers naming one make it the book's); moods, pace and content warnings from a
//! short survey each reader answers per book. Books are browsed by any of these.

use async_graphql::{
    connection::{Connection, ConnectionNameType, DefaultEdgeName, Edge, EmptyFields},
    Context, Enum, Object, OutputType, Result, SimpleObject, ID,
};
use readstream_contracts::{proto::commands::v1 as pb, survey, ReadModel};
use readstream_readmodel::discovery::{self as reads, BookTag, SurveyOf, TaggedAfter, TagsOf, MIN_READERS};
use uuid::Uuid;

use super::{
    database::{load_error, loader},
    shared::{app, decode_cursor, encode_cursor, page_size, viewer, Book, BookPayload},
};
use crate::{
    commands::{self, parse_id},
    error::ApiError,
};

/// How a book feels to read, as StoryGraph asks it.
#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "readstream_contracts::Mood")]
pub enum Mood {
    Adventurous,
    Challenging,
    Dark,
    Emotional,
    Funny,
    Hopeful,
    Informative,
    Inspiring,
    Lighthearted,
    Mysterious,
    Reflective,
    Relaxing,
    Sad,
    Tense,
}

/// How fast a book reads.
#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "readstream_contracts::Pace")]
pub enum Pace {
    Slow,
    Medium,
    Fast,
}

/// What a reader may want to know before starting a book.
#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "readstream_contracts::ContentWarning")]
pub enum ContentWarning {
    Ableism,
    Abortion,
    Addiction,
    AnimalDeath,
    Antisemitism,
    Blood,
    BodyHorror,
    Bullying,
    Cancer,
    CarAccident,
    ChildAbuse,
    ChildDeath,
    Colonisation,
    Confinement,
    Death,
    DeathOfParent,
    Dementia,
    DomesticAbuse,
    DrugUse,
    EatingDisorder,
    EmotionalAbuse,
    Genocide,
    Gore,
    Grief,
    GunViolence,
    Homophobia,
    Incest,
    Infidelity,
    Kidnapping,
    MentalIllness,
    Miscarriage,
    Misogyny,
    Murder,
    Pandemic,
    PhysicalAbuse,
    PoliceBrutality,
    Racism,
    Rape,
    SelfHarm,
    SexualAssault,
    SexualContent,
    Slavery,
    Suicide,
    TerminalIllness,
    Torture,
    Transphobia,
    Violence,
    War,
}

/// What a word says of a book.
#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "readstream_readmodel::discovery::TagKind")]
pub enum TagKind {
    /// From readers' shelf names: `science-fiction`.
    Genre,
    /// A `Mood`, as `dark`.
    Mood,
    /// A `Pace`, as `slow`.
    Pace,
    /// A `ContentWarning`, as `death-of-parent`.
    ContentWarning,
}

/// The order of a word's books.
#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq, Default)]
#[graphql(remote = "readstream_readmodel::discovery::TaggedOrder")]
pub enum TaggedOrder {
    /// The most readers saying the word first.
    #[default]
    Popular,
    /// The best rated first.
    Rated,
    /// The latest first published first.
    Newest,
}

/// A word readers say of a book, with how many say it.
pub struct Tag(BookTag);

#[Object]
impl Tag {
    /// The word: `science-fiction`, `dark`, `slow`, `death-of-parent`.
    async fn name(&self) -> &str {
        &self.0.tag
    }

    /// The word to show: `Science Fiction`, `Dark`.
    async fn label(&self) -> String {
        label(&self.0.tag)
    }

    /// How many readers say it.
    async fn readers(&self) -> i32 {
        self.0.readers
    }

    /// Their share of the readers who said any word of its kind about the book, 0 to 100.
    async fn percent(&self) -> i32 {
        (f64::from(self.0.readers) * 100.0 / f64::from(self.0.respondents.max(1))).round() as i32
    }
}

/// `science-fiction` → `Science Fiction`.
fn label(word: &str) -> String {
    word.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A book's words of `kind`, the most said first: genres once three readers say them, every
/// answer of the survey.
pub async fn tags(ctx: &Context<'_>, book_id: Uuid, kind: reads::TagKind, first: i32) -> Result<Vec<Tag>, ApiError> {
    let tags = loader(ctx).load_one(TagsOf(book_id, kind)).await.map_err(load_error)?.unwrap_or_default();
    let least = if kind == reads::TagKind::Genre { MIN_READERS } else { 1 };
    let first = first.clamp(0, 100) as usize;
    Ok(tags.into_iter().filter(|tag| tag.readers >= least).take(first).map(Tag).collect())
}

/// A reader's own answers about a book.
#[derive(SimpleObject, Default)]
pub struct BookSurvey {
    moods: Vec<Mood>,
    pace: Option<Pace>,
    content_warnings: Vec<ContentWarning>,
}

/// The viewer's answers about `book_id`; empty ones when they gave none.
pub async fn viewer_survey(ctx: &Context<'_>, book_id: Uuid) -> Result<Option<BookSurvey>, ApiError> {
    let Some(viewer) = ctx.data_opt::<crate::auth::Viewer>() else { return Ok(None) };
    let words = loader(ctx).load_one(SurveyOf(viewer.reader_id, book_id)).await.map_err(load_error)?;
    let mut answers = BookSurvey::default();
    for (kind, word) in words.unwrap_or_default() {
        match kind {
            reads::TagKind::Mood => answers.moods.extend(readstream_contracts::Mood::from_text(&word).map(Mood::from)),
            reads::TagKind::Pace => answers.pace = readstream_contracts::Pace::from_text(&word).map(Pace::from),
            reads::TagKind::ContentWarning => answers
                .content_warnings
                .extend(readstream_contracts::ContentWarning::from_text(&word).map(ContentWarning::from)),
            reads::TagKind::Genre => {}
        }
    }
    Ok(Some(answers))
}

const TAGGED_CURSOR: &str = "tagged";

fn cursor(after: TaggedAfter) -> String {
    let key = match after {
        TaggedAfter::Popular(readers, book) => format!("p:{readers}:{book}"),
        TaggedAfter::Rated(average, book) => format!("r:{average}:{book}"),
        TaggedAfter::Newest(published, book) => format!("n:{published}:{book}"),
    };
    encode_cursor(TAGGED_CURSOR, &key)
}

fn parse_cursor(cursor: &str, order: reads::TaggedOrder) -> Result<TaggedAfter, ApiError> {
    let wrong = || ApiError::invalid("after", "after is not a cursor of this list in this order");
    let key = decode_cursor(TAGGED_CURSOR, "after", cursor)?;
    let mut parts = key.splitn(3, ':');
    let (which, value, book) = (parts.next(), parts.next().ok_or_else(wrong)?, parts.next().ok_or_else(wrong)?);
    let book = Uuid::parse_str(book).map_err(|_| wrong())?;
    match (order, which) {
        (reads::TaggedOrder::Popular, Some("p")) => Ok(TaggedAfter::Popular(value.parse().map_err(|_| wrong())?, book)),
        (reads::TaggedOrder::Rated, Some("r")) => {
            let average: f64 = value.parse().map_err(|_| wrong())?;
            if !average.is_finite() {
                return Err(wrong());
            }
            Ok(TaggedAfter::Rated(average, book))
        }
        (reads::TaggedOrder::Newest, Some("n")) => Ok(TaggedAfter::Newest(value.parse().map_err(|_| wrong())?, book)),
        _ => Err(wrong()),
    }
}

/// The word as the read model keeps it: a genre folded as shelf names are, a survey word in
/// its one spelling; one that is no word of `kind` is refused naming `tag`.
fn word(kind: reads::TagKind, tag: &str) -> Result<String, ApiError> {
    let found = match kind {
        reads::TagKind::Genre => survey::genre(tag),
        reads::TagKind::Mood => readstream_contracts::Mood::from_text(tag).map(|w| w.as_str().to_owned()),
        reads::TagKind::Pace => readstream_contracts::Pace::from_text(tag).map(|w| w.as_str().to_owned()),
        reads::TagKind::ContentWarning => {
            readstream_contracts::ContentWarning::from_text(tag).map(|w| w.as_str().to_owned())
        }
    };
    found.ok_or_else(|| ApiError::invalid("tag", format!("tag is no {} readstream counts", kind.as_str())))
}

/// The books a word lists: `TaggedBookConnection`, without a total (counting a genre's books
/// would read them all).
pub struct TaggedBooks;

impl ConnectionNameType for TaggedBooks {
    fn type_name<T: OutputType>() -> String {
        "TaggedBookConnection".into()
    }
}

type TaggedBookConnection = Connection<String, Book, EmptyFields, EmptyFields, TaggedBooks, DefaultEdgeName>;

#[derive(Default)]
pub struct DiscoveryQuery;

#[Object]
impl DiscoveryQuery {
    /// The books readers say a word of (a genre once three readers name it on their shelves;
    /// a mood, pace or content warning once three readers answer it), keyset-paged: the most
    /// readers saying it first, the best rated, or the latest published.
    async fn books_tagged(
        &self,
        ctx: &Context<'_>,
        kind: TagKind,
        tag: String,
        #[graphql(default)] order_by: TaggedOrder,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<TaggedBookConnection> {
        let (kind, order) = (reads::TagKind::from(kind), reads::TaggedOrder::from(order_by));
        let limit = page_size(first)?;
        let word = word(kind, &tag)?;
        let start = after.as_deref().map(|cursor| parse_cursor(cursor, order)).transpose()?;
        let from = start.unwrap_or_else(|| TaggedAfter::start(order));
        let mut rows = reads::tagged(&app(ctx).pool, kind, &word, from, limit + 1).await.map_err(ApiError::from)?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let ids: Vec<Uuid> = rows.iter().map(|(book_id, _)| *book_id).collect();
        let books = Book::load_many(ctx, &ids).await?;
        let mut connection = TaggedBookConnection::new(start.is_some(), has_next);
        for (book_id, key) in rows {
            if let Some(book) = books.get(&book_id) {
                connection.edges.push(Edge::new(cursor(key), book.clone()));
            }
        }
        Ok(connection)
    }
}

#[derive(Default)]
pub struct DiscoveryMutation;

#[Object]
impl DiscoveryMutation {
    /// The viewer's answers about a book: its moods, its pace and its content warnings,
    /// replacing any before. All left empty takes them back.
    async fn describe_book(
        &self,
        ctx: &Context<'_>,
        book_id: ID,
        #[graphql(desc = "Left out or null: none.")] moods: Option<Vec<Mood>>,
        pace: Option<Pace>,
        #[graphql(desc = "Left out or null: none.")] content_warnings: Option<Vec<ContentWarning>>,
        idempotency_key: Option<String>,
    ) -> Result<BookPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let request = pb::DescribeBook {
            meta,
            book_id: parse_id("bookId", &book_id)?.to_string(),
            moods: moods
                .unwrap_or_default()
                .into_iter()
                .map(|mood| readstream_contracts::Mood::from(mood).as_str().to_owned())
                .collect(),
            pace: pace.map(|pace| readstream_contracts::Pace::from(pace).as_str()).unwrap_or_default().to_owned(),
            content_warnings: content_warnings
                .unwrap_or_default()
                .into_iter()
                .map(|warning| readstream_contracts::ContentWarning::from(warning).as_str().to_owned())
                .collect(),
        };
        Ok(BookPayload::new(commands::send(app(ctx), &request).await?, &[ReadModel::Discovery]))
    }
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn a_word_shows_as_its_words_capitalised() {
        assert_eq!(label("science-fiction"), "Science Fiction");
        assert_eq!(label("dark"), "Dark");
        assert_eq!(label("histoire-europeenne"), "Histoire Europeenne");
    }
}
