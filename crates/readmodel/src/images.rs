//! Uploaded images (`images`): the gateway stores each in two sizes under its id ([`store`]) and
//! serves them ([`rendition`]); the readers, books and authors that show one name it (the
//! projections keep `readers.avatar`, `books.cover`, `authors.photo`), and the worker deletes
//! those nothing names any more ([`sweep`]).

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Database, Failure};

/// One image's two renditions, re-encoded, and its id: the SHA-256 of `large`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewImage {
    pub image_id: String,
    pub width: u32,
    pub height: u32,
    pub large: Vec<u8>,
    pub small: Vec<u8>,
}

/// Which rendition of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Small,
    Large,
}

/// An image as a reader, a book or an author shows it: its id and the larger rendition's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub image_id: String,
    pub width: i32,
    pub height: i32,
}

/// Stores `image` (once for any number of uploads of it), marking it uploaded now. It is on disk
/// when this returns, whatever the connection's commit setting: a command naming it follows.
pub async fn store(pool: &PgPool, image: &NewImage) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL synchronous_commit = on").execute(&mut *tx).await?;
    sqlx::query!(
        "INSERT INTO images (image_id, width, height, large, small) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (image_id) DO UPDATE SET stored_at = now()",
        image.image_id,
        image.width as i32,
        image.height as i32,
        image.large,
        image.small
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// One rendition's bytes; `None` when there is no such image (any more).
pub async fn rendition(pool: &PgPool, image_id: &str, size: Size) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT CASE WHEN $2 THEN large ELSE small END AS \"bytes!\" FROM images WHERE image_id = $1",
        image_id,
        size == Size::Large
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| row.bytes))
}

/// Deletes the images no reader, book or author shows that were last uploaded before
/// `uploaded_before`; how many.
pub async fn sweep(pool: &PgPool, uploaded_before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let swept = sqlx::query!(
        "DELETE FROM images i WHERE i.stored_at < $1
           AND NOT EXISTS (SELECT 1 FROM public.readers r WHERE r.avatar = i.image_id)
           AND NOT EXISTS (SELECT 1 FROM public.books b WHERE b.cover = i.image_id)
           AND NOT EXISTS (SELECT 1 FROM public.authors a WHERE a.photo = i.image_id)",
        uploaded_before
    )
    .execute(pool)
    .await?;
    Ok(swept.rows_affected())
}

/// A reader's avatar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AvatarOf(pub Uuid);

/// A book's cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoverOf(pub Uuid);

/// An author's photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PhotoOf(pub Uuid);

/// An image and whom it belongs to, as the loads below read it.
struct Owned {
    owner_id: Uuid,
    image_id: String,
    width: i32,
    height: i32,
}

/// The images of `rows`, each under its owner's key.
fn by_owner<K: std::hash::Hash + Eq>(rows: Vec<Owned>, key: impl Fn(Uuid) -> K) -> HashMap<K, Image> {
    rows.into_iter()
        .map(|r| (key(r.owner_id), Image { image_id: r.image_id, width: r.width, height: r.height }))
        .collect()
}

impl Loader<AvatarOf> for Database {
    type Value = Image;
    type Error = Failure;

    async fn load(&self, keys: &[AvatarOf]) -> Result<HashMap<AvatarOf, Image>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let rows = sqlx::query_as!(
            Owned,
            "SELECT r.reader_id AS owner_id, i.image_id, i.width, i.height
             FROM readers r JOIN images i ON i.image_id = r.avatar
             WHERE r.reader_id = ANY($1)",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(by_owner(rows, AvatarOf))
    }
}

impl Loader<CoverOf> for Database {
    type Value = Image;
    type Error = Failure;

    async fn load(&self, keys: &[CoverOf]) -> Result<HashMap<CoverOf, Image>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let rows = sqlx::query_as!(
            Owned,
            "SELECT b.book_id AS owner_id, i.image_id, i.width, i.height
             FROM books b JOIN images i ON i.image_id = b.cover
             WHERE b.book_id = ANY($1)",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(by_owner(rows, CoverOf))
    }
}

impl Loader<PhotoOf> for Database {
    type Value = Image;
    type Error = Failure;

    async fn load(&self, keys: &[PhotoOf]) -> Result<HashMap<PhotoOf, Image>, Failure> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let rows = sqlx::query_as!(
            Owned,
            "SELECT a.author_id AS owner_id, i.image_id, i.width, i.height
             FROM authors a JOIN images i ON i.image_id = a.photo
             WHERE a.author_id = ANY($1)",
            &ids
        )
        .fetch_all(&self.0)
        .await?;
        Ok(by_owner(rows, PhotoOf))
    }
}
