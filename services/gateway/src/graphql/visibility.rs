//! One rule for what a viewer sees of another reader, asked by every read path that shows a
//! reader's reading or words: `reader { shelf shelves }`, `review(id:)`, `node(id:)`,
//! `comment`s by id, feed items' and followed readers' reviews, and `bookReviewAdded` (its
//! replay and its pushes). Lists of reviews, comments and search results apply the same rule in
//! their SQL (`NOT EXISTS … blocks`), and counts stay the book's and the review's.
//!
//! | the viewer is the reader's | their reading, as they chose to share it | their reviews and comments |
//! |---|---|---|
//! | self | always | shown |
//! | follower | `EVERYONE`, `FOLLOWERS` | shown |
//! | stranger, or signed out | `EVERYONE` | shown |
//! | blocked by them, or blocker of them | never, as if `ONLY_ME` | hidden (`null`, left out, not pushed) |

use async_graphql::Context;
use sqlx::PgPool;
use uuid::Uuid;

use readstream_readmodel::readers::ReadingVisibility;

use super::shared::app;
use crate::{auth::Viewer, error::ApiError};

/// How the viewer stands toward another reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Own,
    /// The viewer follows them.
    Follower,
    /// Signed in, neither following nor blocked; or signed out.
    Stranger,
    /// One of the two blocked the other.
    Blocked,
}

impl Standing {
    /// Whether the viewer sees the reader's shelves, progress and reading history.
    pub fn sees_reading(self, sharing: ReadingVisibility) -> bool {
        match (self, sharing) {
            (Standing::Own, _) => true,
            (Standing::Blocked, _) | (_, ReadingVisibility::OnlyMe) => false,
            (Standing::Follower, ReadingVisibility::Everyone | ReadingVisibility::Followers) => true,
            (Standing::Stranger, ReadingVisibility::Everyone) => true,
            (Standing::Stranger, ReadingVisibility::Followers) => false,
        }
    }

    /// Whether the viewer sees the reader's reviews and comments.
    pub fn sees_words(self) -> bool {
        self != Standing::Blocked
    }
}

/// How the signed-in viewer (if any) stands toward `other`: one query.
pub async fn standing(ctx: &Context<'_>, other: Uuid) -> Result<Standing, ApiError> {
    let Some(viewer) = ctx.data_opt::<Viewer>().map(|viewer| viewer.reader_id) else {
        return Ok(Standing::Stranger);
    };
    if viewer == other {
        return Ok(Standing::Own);
    }
    let (blocked, follows) = readstream_readmodel::social::standing(&app(ctx).pool, viewer, other).await?;
    Ok(match (blocked, follows) {
        (true, _) => Standing::Blocked,
        (false, true) => Standing::Follower,
        (false, false) => Standing::Stranger,
    })
}

/// Whether the viewer may see `owner`'s shelves, progress and reading history: their own
/// always; another's as `owner` chose (`readingVisibility`), and never across a block.
pub async fn sees_reading_of(ctx: &Context<'_>, owner: Uuid) -> Result<bool, ApiError> {
    let standing = standing(ctx, owner).await?;
    if matches!(standing, Standing::Own | Standing::Blocked) {
        return Ok(standing == Standing::Own);
    }
    let sharing = readstream_readmodel::social::reading_visibility(&app(ctx).pool, owner).await?;
    Ok(standing.sees_reading(sharing))
}

/// Whether the viewer sees `author`'s reviews and comments.
pub async fn sees_words_of(ctx: &Context<'_>, author: Uuid) -> Result<bool, ApiError> {
    Ok(standing(ctx, author).await?.sees_words())
}

/// Whether `viewer` (signed out: `None`) and `other` have a block between them, either way: for
/// pushes, which run outside a request.
pub async fn blocked_between(pool: &PgPool, viewer: Option<Uuid>, other: Uuid) -> Result<bool, sqlx::Error> {
    let Some(viewer) = viewer else { return Ok(false) };
    readstream_readmodel::social::blocked_between(pool, viewer, other).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cell of the reading column, written down.
    #[test]
    fn who_sees_a_readers_reading_and_words() {
        use ReadingVisibility::*;
        use Standing::*;
        let table = [
            (Own, [true, true, true], true),
            (Follower, [true, true, false], true),
            (Stranger, [true, false, false], true),
            (Blocked, [false, false, false], false),
        ];
        for (standing, reading, words) in table {
            for (sharing, sees) in [Everyone, Followers, OnlyMe].into_iter().zip(reading) {
                assert_eq!(standing.sees_reading(sharing), sees, "{standing:?} reading {sharing:?}");
            }
            assert_eq!(standing.sees_words(), words, "{standing:?} words");
        }
    }
}
