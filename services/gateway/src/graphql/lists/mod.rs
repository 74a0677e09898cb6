//! The lists slice: any reader makes a list of books; anyone adds books and votes (one vote per
//! reader per book per list), ranked by votes; a book's page shows the lists it is on.
//! Librarians may hide a list; blocks apply both ways; a deleted owner's list keeps its books
//! and votes without its title and description.

use async_graphql::{
    connection::{Connection, Edge},
    ComplexObject, Context, InputObject, Object, Result, SimpleObject, ID,
};
use chrono::{DateTime, Utc};
use readstream_contracts::{proto::commands::v1 as pb, Identified, ReadModel, Reply};
use readstream_readmodel::lists::{self as reads, ListRow, ListedBook};
use uuid::Uuid;

use super::shared::{app, decode_cursor, encode_cursor, page_size, reached, viewer, Book, ListInfo, Reader};
use crate::{
    commands::{self, parse_id},
    error::ApiError,
};

const BOOKS_CURSOR: &str = "list-books";
const LISTS_CURSOR: &str = "lists";

fn viewer_id(ctx: &Context<'_>) -> Option<Uuid> {
    ctx.data_opt::<crate::auth::Viewer>().map(|viewer| viewer.reader_id)
}

/// A reader's list of books.
pub struct List(ListRow);

impl List {
    async fn load(ctx: &Context<'_>, list_id: Uuid) -> Result<Option<List>, ApiError> {
        Ok(reads::list(&app(ctx).pool, list_id, viewer_id(ctx)).await?.map(List))
    }
}

#[Object]
impl List {
    async fn id(&self) -> ID {
        ID(self.0.list_id.to_string())
    }

    /// Empty once its owner deleted their account (their own words go with them).
    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Who made it; null once they deleted their account.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<Reader>> {
        match self.0.owner_id {
            Some(owner) => Ok(Reader::load(ctx, owner).await?),
            None => Ok(None),
        }
    }

    /// Hidden by a librarian: only its owner sees it.
    async fn hidden(&self) -> bool {
        self.0.hidden
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn books_count(&self) -> i32 {
        self.0.books
    }

    async fn votes_count(&self) -> i32 {
        self.0.votes
    }

    /// Its books, the most voted first (then the first added).
    async fn books(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, ListedBookOnList, ListInfo>> {
        let limit = page_size(first)?;
        let start = after.as_deref().map(parse_books_cursor).transpose()?;
        let from = start.unwrap_or((i32::MAX, i64::MIN, Uuid::nil()));
        let pool = &app(ctx).pool;
        let mut rows = reads::books(pool, self.0.list_id, from, limit + 1).await.map_err(ApiError::from)?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let ids: Vec<Uuid> = rows.iter().map(|row| row.book_id).collect();
        let books = Book::load_many(ctx, &ids).await?;
        let voted = match viewer_id(ctx) {
            Some(viewer) => reads::voted(pool, self.0.list_id, viewer, &ids).await.map_err(ApiError::from)?,
            None => Default::default(),
        };
        let info = ListInfo { total_count: i64::from(self.0.books) };
        let mut connection = Connection::with_additional_fields(start.is_some(), has_next, info);
        for row in rows {
            let Some(book) = books.get(&row.book_id) else { continue };
            let cursor = encode_cursor(BOOKS_CURSOR, &format!("{}:{}:{}", row.votes, row.position, row.book_id));
            let viewer_voted = voted.contains(&row.book_id);
            connection.edges.push(Edge::new(cursor, ListedBookOnList { row, book: book.clone(), viewer_voted }));
        }
        Ok(connection)
    }
}

fn parse_books_cursor(cursor: &str) -> Result<(i32, i64, Uuid), ApiError> {
    let wrong = || ApiError::invalid("after", "after is not a cursor of this list");
    let key = decode_cursor(BOOKS_CURSOR, "after", cursor)?;
    let mut parts = key.splitn(3, ':');
    let votes = parts.next().and_then(|v| v.parse().ok()).ok_or_else(wrong)?;
    let position = parts.next().and_then(|p| p.parse().ok()).ok_or_else(wrong)?;
    let book = parts.next().and_then(|b| Uuid::parse_str(b).ok()).ok_or_else(wrong)?;
    Ok((votes, position, book))
}

/// A book on a list, with its votes.
pub struct ListedBookOnList {
    row: ListedBook,
    book: Book,
    viewer_voted: bool,
}

#[Object]
impl ListedBookOnList {
    async fn book(&self) -> &Book {
        &self.book
    }

    async fn votes(&self) -> i32 {
        self.row.votes
    }

    /// Whether the viewer voted for it here; false when not signed in.
    async fn viewer_voted(&self) -> bool {
        self.viewer_voted
    }
}

/// The lists `book_id` is on that the viewer may see (`Book.lists`).
pub async fn of_book(ctx: &Context<'_>, book_id: Uuid, first: i32) -> Result<Vec<List>, ApiError> {
    if !(1..=50).contains(&first) {
        return Err(ApiError::invalid("first", "first must be between 1 and 50"));
    }
    let rows = reads::of_book(&app(ctx).pool, book_id, viewer_id(ctx), i64::from(first)).await?;
    Ok(rows.into_iter().map(List).collect())
}

#[derive(Default)]
pub struct ListsQuery;

#[Object]
impl ListsQuery {
    /// A list by id; null when there is none the viewer may see.
    async fn list(&self, ctx: &Context<'_>, id: ID) -> Result<Option<List>> {
        Ok(List::load(ctx, parse_id("id", &id)?).await?)
    }

    /// Readers' lists, the newest first.
    async fn lists(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, List>> {
        let limit = page_size(first)?;
        let start = match after.as_deref() {
            Some(cursor) => Some(
                decode_cursor(LISTS_CURSOR, "after", cursor)?
                    .parse::<i64>()
                    .map_err(|_| ApiError::invalid("after", "after is not a cursor of this list"))?,
            ),
            None => None,
        };
        let pool = &app(ctx).pool;
        let mut rows =
            reads::newest(pool, viewer_id(ctx), start.unwrap_or(i64::MAX), limit + 1).await.map_err(ApiError::from)?;
        let has_next = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let mut connection = Connection::new(start.is_some(), has_next);
        connection.edges.extend(
            rows.into_iter().map(|row| Edge::new(encode_cursor(LISTS_CURSOR, &row.position.to_string()), List(row))),
        );
        Ok(connection)
    }
}

#[derive(InputObject)]
pub struct CreateListInput {
    title: String,
    #[graphql(default)]
    description: String,
}

/// The owner's edit of a list: a field left out keeps its value.
#[derive(InputObject)]
pub struct EditListInput {
    title: Option<String>,
    description: Option<String>,
}

/// What a list command did: the stream position to read it at, and the list as it now is.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ListPayload {
    position: u64,
    list_id: ID,
}

#[ComplexObject]
impl ListPayload {
    /// The list, read once the lists read model includes the change; null once deleted.
    async fn list(&self, ctx: &Context<'_>) -> Result<Option<List>> {
        reached(ctx, self.position, &[ReadModel::Lists]).await?;
        Ok(List::load(ctx, parse_id("listId", &self.list_id)?).await?)
    }
}

impl ListPayload {
    fn new(reply: Identified) -> Self {
        ListPayload { position: reply.position(), list_id: ID(reply.id.to_string()) }
    }
}

/// A list's and a book's ids as a command carries them, each refused naming its argument.
fn list_and_book(list_id: &ID, book_id: &ID) -> Result<(String, String), ApiError> {
    Ok((parse_id("listId", list_id)?.to_string(), parse_id("bookId", book_id)?.to_string()))
}

#[derive(Default)]
pub struct ListsMutation;

#[Object]
impl ListsMutation {
    /// A new list of the viewer's.
    async fn create_list(
        &self,
        ctx: &Context<'_>,
        input: CreateListInput,
        idempotency_key: Option<String>,
    ) -> Result<ListPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let request = pb::CreateList { meta, title: input.title, description: input.description };
        Ok(ListPayload::new(commands::send(app(ctx), &request).await?))
    }

    /// The owner's edit of their list.
    async fn edit_list(
        &self,
        ctx: &Context<'_>,
        list_id: ID,
        input: EditListInput,
        idempotency_key: Option<String>,
    ) -> Result<ListPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let list_id = parse_id("listId", &list_id)?.to_string();
        let request = pb::EditList { meta, list_id, title: input.title, description: input.description };
        Ok(ListPayload::new(commands::send(app(ctx), &request).await?))
    }

    /// Deletes a list (its owner, or a librarian).
    async fn delete_list(
        &self,
        ctx: &Context<'_>,
        list_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<ListPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let request = pb::DeleteList { meta, list_id: parse_id("listId", &list_id)?.to_string() };
        Ok(ListPayload::new(commands::send(app(ctx), &request).await?))
    }

    /// Hides a list from everyone but its owner, or shows it again (librarians only).
    async fn hide_list(
        &self,
        ctx: &Context<'_>,
        list_id: ID,
        hidden: bool,
        idempotency_key: Option<String>,
    ) -> Result<ListPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let request = pb::HideList { meta, list_id: parse_id("listId", &list_id)?.to_string(), hidden };
        Ok(ListPayload::new(commands::send(app(ctx), &request).await?))
    }

    /// Adds a book to a list (if it lacks it) with the viewer's vote for it.
    async fn add_book_to_list(
        &self,
        ctx: &Context<'_>,
        list_id: ID,
        book_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<ListPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let (list_id, book_id) = list_and_book(&list_id, &book_id)?;
        Ok(ListPayload::new(commands::send(app(ctx), &pb::AddBookToList { meta, list_id, book_id }).await?))
    }

    /// Takes a book off a list, with its votes (the list's owner, or a librarian).
    async fn remove_book_from_list(
        &self,
        ctx: &Context<'_>,
        list_id: ID,
        book_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<ListPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let (list_id, book_id) = list_and_book(&list_id, &book_id)?;
        Ok(ListPayload::new(commands::send(app(ctx), &pb::RemoveBookFromList { meta, list_id, book_id }).await?))
    }

    /// The viewer's vote for a book on a list; voting again changes nothing.
    async fn vote_on_list(
        &self,
        ctx: &Context<'_>,
        list_id: ID,
        book_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<ListPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let (list_id, book_id) = list_and_book(&list_id, &book_id)?;
        Ok(ListPayload::new(commands::send(app(ctx), &pb::VoteOnList { meta, list_id, book_id }).await?))
    }

    async fn withdraw_list_vote(
        &self,
        ctx: &Context<'_>,
        list_id: ID,
        book_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<ListPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let (list_id, book_id) = list_and_book(&list_id, &book_id)?;
        Ok(ListPayload::new(commands::send(app(ctx), &pb::WithdrawListVote { meta, list_id, book_id }).await?))
    }
}
