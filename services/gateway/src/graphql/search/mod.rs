//! The search slice: books, authors and readers by what a person types, ranked, tolerant of
//! typos and accents, exact on ISBN. Built on the read models (pg_trgm over `search_text`),
//! with no search server beside them.

use async_graphql::{
    connection::{Connection, Edge},
    Context, Enum, Object, Result, Union,
};
use readstream_contracts::Isbn;
use readstream_readmodel::search as reads;

use super::shared::{app, decode_cursor, encode_cursor, Author, Book, Reader};
use crate::error::ApiError;

const SEARCH_CURSOR: &str = "search";
/// The longest query, in characters.
pub const MAX_QUERY: usize = 200;
/// The most hits on one page.
const MAX_PAGE: i32 = 50;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SearchKind {
    Book,
    Author,
    Reader,
}

/// One thing a search found.
#[derive(Union)]
pub enum SearchHit {
    Book(Book),
    Author(Author),
    Reader(Reader),
}

#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// Books (by title, subtitle or author), authors and readers (by handle or name) matching
    /// `query`, best first: tolerant of typos ("moskow 1956" finds Moscow 1956) and accents,
    /// and exact on ISBN (either form) for books. `kinds` keeps only those kinds (all by
    /// default). Readers who blocked the viewer, or whom the viewer blocked, are left out.
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        kinds: Option<Vec<SearchKind>>,
        #[graphql(desc = "Page size, 1 to 50 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, SearchHit>> {
        let query = query.trim();
        if query.is_empty() || query.chars().count() > MAX_QUERY || query.contains(char::is_control) {
            return Err(ApiError::invalid("query", format!("query has 1 to {MAX_QUERY} characters on one line")).into());
        }
        let limit = match first.unwrap_or(20) {
            first @ 1..=MAX_PAGE => i64::from(first),
            _ => return Err(ApiError::invalid("first", format!("first is 1 to {MAX_PAGE}")).into()),
        };
        let after = after.as_deref().map(parse_cursor).transpose()?;
        let kinds = kinds.unwrap_or_else(|| vec![SearchKind::Book, SearchKind::Author, SearchKind::Reader]);
        let isbn = Isbn::parse("query", query).ok().map(|isbn| isbn.to_string());
        let viewer = ctx.data_opt::<crate::auth::Viewer>().map(|viewer| viewer.reader_id);
        let wanted = reads::Wanted {
            books: kinds.contains(&SearchKind::Book),
            authors: kinds.contains(&SearchKind::Author),
            readers: kinds.contains(&SearchKind::Reader),
        };
        let mut hits = reads::search(&app(ctx).pool, query, isbn.as_deref(), wanted, viewer, after, limit + 1)
            .await
            .map_err(ApiError::from)?;
        let has_next = hits.len() as i64 > limit;
        hits.truncate(limit as usize);
        let mut connection = Connection::new(after.is_some(), has_next);
        for hit in hits {
            let found = match hit.kind {
                reads::Kind::Book => Book::load(ctx, hit.id).await?.map(SearchHit::Book),
                reads::Kind::Author => Author::load(ctx, hit.id).await?.map(SearchHit::Author),
                reads::Kind::Reader => Reader::load(ctx, hit.id).await?.map(SearchHit::Reader),
            };
            // Gone between the two reads (an account deleted): left out of this page.
            if let Some(found) = found {
                connection.edges.push(Edge::new(cursor(hit.key), found));
            }
        }
        Ok(connection)
    }
}

/// A keyset cursor: the hit's score (its bits, so it comes back exact), kind and position.
fn cursor(key: reads::Key) -> String {
    encode_cursor(SEARCH_CURSOR, &format!("{:x}.{}.{}", key.score.to_bits(), key.kind, key.position))
}

fn parse_cursor(cursor: &str) -> Result<reads::Key, ApiError> {
    let key = decode_cursor(SEARCH_CURSOR, "after", cursor)?;
    let mut parts = key.split('.');
    let parsed = (|| {
        let score = f32::from_bits(u32::from_str_radix(parts.next()?, 16).ok()?);
        let kind = parts.next()?.parse().ok()?;
        let position = parts.next()?.parse().ok()?;
        (score.is_finite() && parts.next().is_none()).then_some(reads::Key { score, kind, position })
    })();
    parsed.ok_or_else(|| ApiError::invalid("after", "after is not a cursor of this list"))
}
