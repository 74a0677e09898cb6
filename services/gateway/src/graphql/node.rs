//! Relay's object identification: every object with an `id` is a `Node`, and `node(id:)`
//! refetches any of them by that id alone.
//!
//! Books, authors and readers are identified by their UUIDs, which no two objects share; a
//! review's and a comment's ids already name what they are (see `reviews`).

use async_graphql::{Context, Interface, Object, Result, ID};
use uuid::Uuid;

use super::shared::{
    app,
    review::{self, Comment, Review},
    Author, Book, Reader,
};
use crate::error::ApiError;

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id (Relay's object identification): a book, author, reader,
    /// review or comment; null when there is none.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        Ok(node(ctx, &id).await?)
    }
}

/// An object that can be refetched with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Its global id: what `node(id:)` takes."))]
pub enum Node {
    Book(Book),
    Author(Author),
    Reader(Reader),
    Review(Review),
    Comment(Comment),
}

/// The object `id` names: null when there is none (any more); `INVALID_ARGUMENT` when `id` is
/// not an id of this API.
pub async fn node(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>, ApiError> {
    if review::parse_review_id(id).is_ok() {
        return Ok(review::review(ctx, id).await?.map(Node::Review));
    }
    if review::parse_comment_id(id).is_ok() {
        return Ok(review::comment(ctx, id).await?.map(Node::Comment));
    }
    let uuid = Uuid::parse_str(id).map_err(|_| ApiError::invalid("id", "id is not an id of this API"))?;
    use readstream_readmodel::catalog::{kind_of, NodeKind};
    Ok(match kind_of(&app(ctx).pool, uuid).await? {
        Some(NodeKind::Book) => Book::load(ctx, uuid).await?.map(Node::Book),
        Some(NodeKind::Author) => Author::load(ctx, uuid).await?.map(Node::Author),
        Some(NodeKind::Reader) => Reader::load(ctx, uuid).await?.map(Node::Reader),
        None => None,
    })
}
