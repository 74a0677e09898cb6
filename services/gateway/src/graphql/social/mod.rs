//! The social slice: signing up and in, profiles, follows and blocks, and who follows whom.

pub mod reads;

use async_graphql::{
    connection::{Connection, Edge},
    ComplexObject, Context, InputObject, Object, Result, SimpleObject, ID,
};
use readstream_contracts::{proto::commands::v1 as pb, social::SocialService, Command, ReadModel};
use uuid::Uuid;

use super::{
    database::{load_error, loader},
    shared::{app, decode_cursor, encode_cursor, page_size, reached, viewer, ListInfo, Reader},
};
use crate::{
    auth::Viewer,
    commands::{self, parse_id},
    error::ApiError,
    limits::ClientAddress,
};
use reads::FollowCounts;

#[derive(Default)]
pub struct SocialQuery;

#[Object]
impl SocialQuery {
    /// A reader by handle (any case).
    async fn reader(&self, ctx: &Context<'_>, handle: String) -> Result<Option<Reader>> {
        Ok(reads::reader_by_handle(&app(ctx).pool, &handle).await.map_err(ApiError::from)?.map(Reader))
    }

    /// The signed-in reader; null without a token.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Option<Reader>> {
        let Some(viewer) = ctx.data_opt::<Viewer>() else {
            return Ok(None);
        };
        Ok(Reader::load(ctx, viewer.reader_id).await?)
    }
}

pub async fn follow_counts(ctx: &Context<'_>, reader_id: Uuid) -> Result<(i64, i64), ApiError> {
    Ok(loader(ctx).load_one(FollowCounts(reader_id)).await.map_err(load_error)?.unwrap_or((0, 0)))
}

pub async fn viewer_follows(ctx: &Context<'_>, reader_id: Uuid) -> Result<bool, ApiError> {
    let Some(viewer) = ctx.data_opt::<crate::auth::Viewer>() else { return Ok(false) };
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2) AS "follows!""#,
        viewer.reader_id,
        reader_id
    )
    .fetch_one(&app(ctx).pool)
    .await?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Followers,
    Following,
}

const FOLLOWS_CURSOR: &str = "follows";

/// A reader's followers (or followees), most recent first, keyset-paged by the follow's position.
pub async fn follow_list(
    ctx: &Context<'_>,
    reader_id: Uuid,
    direction: Direction,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Connection<String, Reader, ListInfo>, ApiError> {
    let limit = page_size(first)?;
    let after = after
        .as_deref()
        .map(|c| {
            decode_cursor(FOLLOWS_CURSOR, "after", c)?
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("after", "after is not a cursor of this list"))
        })
        .transpose()?;
    let pool = &app(ctx).pool;
    let followers = direction == Direction::Followers;
    let mut rows = sqlx::query!(
        r#"SELECT CASE WHEN $2 THEN follower_id ELSE followee_id END AS "reader_id!", position
           FROM follows
           WHERE (($2 AND followee_id = $1) OR (NOT $2 AND follower_id = $1))
             AND ($3::bigint IS NULL OR position < $3)
           ORDER BY position DESC LIMIT $4"#,
        reader_id,
        followers,
        after,
        limit + 1
    )
    .fetch_all(pool)
    .await?;
    let (followers_count, following_count) = follow_counts(ctx, reader_id).await?;
    let total_count = if followers { followers_count } else { following_count };
    let has_next = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let ids: Vec<Uuid> = rows.iter().map(|r| r.reader_id).collect();
    let mut readers = Reader::load_many(ctx, &ids).await?;
    let mut connection = Connection::with_additional_fields(after.is_some(), has_next, ListInfo { total_count });
    for row in rows {
        if let Some(reader) = readers.remove(&row.reader_id) {
            connection.edges.push(Edge::new(encode_cursor(FOLLOWS_CURSOR, &row.position.to_string()), reader));
        }
    }
    Ok(connection)
}

/// What a follow command did, and the other reader once projected.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct FollowPayload {
    position: u64,
    reader_id: ID,
}

#[ComplexObject]
impl FollowPayload {
    async fn reader(&self, ctx: &Context<'_>) -> Result<Option<Reader>> {
        reached(ctx, self.position, &[ReadModel::Readers]).await?;
        Ok(Reader::load(ctx, parse_id("readerId", &self.reader_id)?).await?)
    }
}

/// The viewer's metadata and the other reader's id, as the follow and block commands carry them.
fn toward(
    ctx: &Context<'_>,
    reader_id: &ID,
    idempotency_key: Option<String>,
) -> Result<(Option<pb::CommandMeta>, String), ApiError> {
    let viewer = viewer(ctx)?;
    Ok((Some(commands::meta(Some(&viewer), idempotency_key)?), parse_id("readerId", reader_id)?.to_string()))
}

async fn send<C: Command<Service = SocialService>>(ctx: &Context<'_>, command: &C) -> Result<FollowPayload> {
    let accepted = commands::send(app(ctx), command).await?;
    Ok(FollowPayload { position: accepted.position, reader_id: ID(accepted.id) })
}

#[derive(InputObject)]
pub struct SignUpInput {
    /// 3 to 30 letters, digits or `_`; unique regardless of case.
    handle: String,
    display_name: String,
    /// 8 to 1024 characters; stored only as an argon2id hash.
    password: String,
}

/// A signed-in session.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    reader_id: ID,
    /// The stream position of the sign-up (0 for a sign-in, unless it finished the sign-up).
    position: u64,
}

#[ComplexObject]
impl AuthPayload {
    async fn reader(&self, ctx: &Context<'_>) -> Result<Option<Reader>> {
        reached(ctx, self.position, &[ReadModel::Readers]).await?;
        Ok(Reader::load(ctx, parse_id("readerId", &self.reader_id)?).await?)
    }
}

/// Counts a `signIn` or `signUp` against its client's stricter limit: each aliased field counts.
fn count_sign_in(ctx: &Context<'_>) -> Result<(), ApiError> {
    let Some(client) = ctx.data_opt::<ClientAddress>() else { return Ok(()) };
    app(ctx).limits.sign_in(*client).inspect_err(|refused| {
        if let Some(secs) = refused.retry_after_secs {
            ctx.insert_http_header(axum::http::header::RETRY_AFTER, secs.to_string());
        }
    })
}

#[derive(Default)]
pub struct SocialMutation;

#[Object]
impl SocialMutation {
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        input: SignUpInput,
        idempotency_key: Option<String>,
    ) -> Result<AuthPayload> {
        count_sign_in(ctx)?;
        let request = pb::SignUp {
            meta: Some(commands::meta(None, idempotency_key)?),
            handle: input.handle,
            display_name: input.display_name,
            password: input.password,
        };
        let accepted = commands::send(app(ctx), &request).await?;
        let reader_id = parse_id("readerId", &accepted.id)?;
        Ok(AuthPayload {
            token: app(ctx).tokens.issue(reader_id)?,
            reader_id: ID(accepted.id),
            position: accepted.position,
        })
    }

    async fn sign_in(&self, ctx: &Context<'_>, handle: String, password: String) -> Result<AuthPayload> {
        count_sign_in(ctx)?;
        let accepted =
            commands::send(app(ctx), &pb::SignIn { handle, password, meta: Some(commands::meta(None, None)?) }).await?;
        let reader_id = parse_id("readerId", &accepted.id)?;
        // Not 0 when signing in finished a sign-up cut off before its reader was recorded.
        let position = accepted.position;
        Ok(AuthPayload { token: app(ctx).tokens.issue(reader_id)?, reader_id: ID(accepted.id), position })
    }

    /// Follows another reader; following yourself, twice, or someone who blocked you is refused.
    async fn follow(&self, ctx: &Context<'_>, reader_id: ID, idempotency_key: Option<String>) -> Result<FollowPayload> {
        let (meta, reader_id) = toward(ctx, &reader_id, idempotency_key)?;
        send(ctx, &pb::Follow { meta, reader_id }).await
    }

    async fn unfollow(
        &self,
        ctx: &Context<'_>,
        reader_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<FollowPayload> {
        let (meta, reader_id) = toward(ctx, &reader_id, idempotency_key)?;
        send(ctx, &pb::Unfollow { meta, reader_id }).await
    }

    /// Blocks a reader: ends the follows both ways and stops new ones.
    async fn block(&self, ctx: &Context<'_>, reader_id: ID, idempotency_key: Option<String>) -> Result<FollowPayload> {
        let (meta, reader_id) = toward(ctx, &reader_id, idempotency_key)?;
        send(ctx, &pb::Block { meta, reader_id }).await
    }

    async fn unblock(
        &self,
        ctx: &Context<'_>,
        reader_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<FollowPayload> {
        let (meta, reader_id) = toward(ctx, &reader_id, idempotency_key)?;
        send(ctx, &pb::Unblock { meta, reader_id }).await
    }

    /// Changes the viewer's public profile; what is left out stays.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        display_name: Option<String>,
        bio: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<FollowPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        send(ctx, &pb::UpdateProfile { meta, display_name, bio }).await
    }
}
