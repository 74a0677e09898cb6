//! The social slice: signing up and in, sessions, profiles, follows and blocks, and who follows whom.

use async_graphql::{
    connection::{Connection, Edge},
    ComplexObject, Context, InputObject, Object, Result, SimpleObject, Upload, ID,
};
use chrono::{DateTime, Utc};
use readstream_contracts::{
    proto::commands::v1 as pb,
    social::{self, SocialService},
    Command, Identified, ReadModel, Reply, SessionOpened,
};
use readstream_pictures::Purpose;
use readstream_readmodel::social as reads;
use uuid::Uuid;

use super::{
    database::{load_error, loader},
    shared::{
        app, author_for_command, decode_cursor, encode_cursor, image::store_upload, page_size, reached, viewer, Author,
        ListInfo, Reader,
    },
    visibility,
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
        // A text that is no handle names no reader.
        if readstream_contracts::input::handle(&handle).is_err() {
            return Ok(None);
        }
        Ok(reads::reader_by_handle(&app(ctx).pool, &handle).await.map_err(ApiError::from)?.map(Reader::from_row))
    }

    /// The signed-in reader; null without a token. Asked for any of their profile (`handle`,
    /// `displayName`, `bio`, `joinedAt`, `url`), null too while the reader is not recorded:
    /// just after `signUp`, unless read with its `position` as `minPosition`.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Option<Reader>> {
        let Some(viewer) = ctx.data_opt::<Viewer>() else {
            return Ok(None);
        };
        Ok(Reader::signed_in(ctx, viewer.reader_id).await?)
    }
}

pub async fn follow_counts(ctx: &Context<'_>, reader_id: Uuid) -> Result<(i64, i64), ApiError> {
    Ok(loader(ctx).load_one(FollowCounts(reader_id)).await.map_err(load_error)?.unwrap_or((0, 0)))
}

pub async fn viewer_follows(ctx: &Context<'_>, reader_id: Uuid) -> Result<bool, ApiError> {
    let Some(viewer) = ctx.data_opt::<crate::auth::Viewer>() else { return Ok(false) };
    Ok(reads::follows(&app(ctx).pool, viewer.reader_id, reader_id).await?)
}

/// Whether the signed-in viewer blocked `reader_id` (false without a token).
pub async fn viewer_blocks(ctx: &Context<'_>, reader_id: Uuid) -> Result<bool, ApiError> {
    let Some(viewer) = ctx.data_opt::<crate::auth::Viewer>() else { return Ok(false) };
    Ok(reads::blocks(&app(ctx).pool, viewer.reader_id, reader_id).await?)
}

/// What a reader may do beyond their own account.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Adds to and edits the shared catalog.
    Librarian,
    /// Grants and revokes roles.
    Admin,
}

impl Role {
    fn contract(self) -> social::Role {
        match self {
            Role::Librarian => social::Role::Librarian,
            Role::Admin => social::Role::Admin,
        }
    }
}

/// Who sees a reader's shelves, progress and reading history.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "readstream_readmodel::readers::ReadingVisibility")]
pub enum Visibility {
    Everyone,
    /// The readers who follow them.
    Followers,
    OnlyMe,
}

impl Visibility {
    fn contract(self) -> social::Visibility {
        match self {
            Visibility::Everyone => social::Visibility::Everyone,
            Visibility::Followers => social::Visibility::Followers,
            Visibility::OnlyMe => social::Visibility::OnlyMe,
        }
    }
}

/// Who sees `reader_id`'s reading.
pub async fn reading_visibility(ctx: &Context<'_>, reader_id: Uuid) -> Result<Visibility, ApiError> {
    Ok(reads::reading_visibility(&app(ctx).pool, reader_id).await?.into())
}

/// Refuses the viewer a look at `owner`'s reading unless `owner` shares it with them.
pub async fn reading_shared(ctx: &Context<'_>, owner: Uuid) -> Result<(), ApiError> {
    if visibility::sees_reading_of(ctx, owner).await? {
        return Ok(());
    }
    Err(ApiError::new(
        readstream_contracts::Code::PermissionDenied,
        "this reader does not share their reading with you",
    ))
}

pub async fn roles(ctx: &Context<'_>, reader_id: Uuid) -> Result<Vec<Role>, ApiError> {
    let names = reads::roles(&app(ctx).pool, reader_id).await?;
    Ok([Role::Librarian, Role::Admin]
        .into_iter()
        .filter(|role| names.iter().any(|name| name == role.contract().name()))
        .collect())
}

pub use reads::Direction;

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
    let followers = direction == Direction::Followers;
    let before = after.unwrap_or(i64::MAX);
    let mut rows = reads::follows_page(&app(ctx).pool, reader_id, direction, before, limit + 1).await?;
    let (followers_count, following_count) = follow_counts(ctx, reader_id).await?;
    let total_count = if followers { followers_count } else { following_count };
    let has_next = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let ids: Vec<Uuid> = rows.iter().map(|&(reader_id, _)| reader_id).collect();
    let mut readers = Reader::load_many(ctx, &ids).await?;
    let mut connection = Connection::with_additional_fields(after.is_some(), has_next, ListInfo { total_count });
    for (reader_id, position) in rows {
        if let Some(reader) = readers.remove(&reader_id) {
            connection.edges.push(Edge::new(encode_cursor(FOLLOWS_CURSOR, &position.to_string()), reader));
        }
    }
    Ok(connection)
}

/// What a command toward another reader (follow, block, a role) did, and that reader once
/// projected.
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

/// What following or unfollowing an author did: the position to read it at, and the author.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AuthorFollowPayload {
    position: u64,
    author_id: ID,
}

#[ComplexObject]
impl AuthorFollowPayload {
    /// The author, with their follower count, read once the read models include this change.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<Author>> {
        reached(ctx, self.position, &[ReadModel::Readers]).await?;
        Ok(Author::load(ctx, parse_id("authorId", &self.author_id)?).await?)
    }
}

/// The viewer's metadata and the author's id, as the author follow commands carry them.
async fn toward_author(
    ctx: &Context<'_>,
    author_id: &ID,
    idempotency_key: Option<String>,
) -> Result<(Option<pb::CommandMeta>, String), ApiError> {
    let viewer = viewer(ctx)?;
    let author_id = author_for_command(ctx, "authorId", author_id).await?;
    Ok((Some(commands::meta(Some(&viewer), idempotency_key)?), author_id.to_string()))
}

async fn send_about_author<C: Command<Service = SocialService, Reply = Identified>>(
    ctx: &Context<'_>,
    command: &C,
) -> Result<AuthorFollowPayload> {
    let reply = commands::send(app(ctx), command).await?;
    Ok(AuthorFollowPayload { position: reply.position(), author_id: ID(reply.id.to_string()) })
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

async fn send<C: Command<Service = SocialService, Reply = Identified>>(
    ctx: &Context<'_>,
    command: &C,
) -> Result<FollowPayload> {
    let reply = commands::send(app(ctx), command).await?;
    Ok(FollowPayload { position: reply.position(), reader_id: ID(reply.id.to_string()) })
}

#[derive(InputObject)]
pub struct SignUpInput {
    /// 3 to 30 letters, digits or `_`; unique regardless of case.
    handle: String,
    display_name: String,
    /// 8 to 1024 characters; stored only as an argon2id hash.
    password: String,
}

/// A signed-in session: a short access token to send, and the refresh token that gets the next.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <token>`; it ends at `tokenExpiresAt`.
    token: String,
    token_expires_at: DateTime<Utc>,
    /// Keep it secret. Good once: trade it with `refreshSession` for a new token and refresh
    /// token. Presenting a spent one again ends the session (someone copied it).
    refresh_token: String,
    /// The session ends if it is not refreshed before this.
    refresh_token_expires_at: DateTime<Utc>,
    /// The session, as `signOut` and `changePassword` name the sessions they end.
    session_id: ID,
    reader_id: ID,
    /// The stream position of the sign-up (0 for a sign-in, unless it finished the sign-up).
    position: u64,
    /// This device's token, from a sign-up or sign-in (null from `refreshSession`): keep it and
    /// send it as `signIn(device:)`, whose attempts are then never delayed by wrong passwords
    /// sent for the handle from elsewhere.
    device_token: Option<String>,
}

impl AuthPayload {
    /// The payload of a command that opened or refreshed a session, with a new access token.
    fn signed_in(ctx: &Context<'_>, opened: SessionOpened) -> Result<Self, ApiError> {
        let (reader_id, session) = (opened.reader_id, opened.session);
        let session_id = Uuid::parse_str(&session.id).map_err(ApiError::internal)?;
        let (token, expires_at) = app(ctx).tokens.issue(reader_id, session_id)?;
        let time = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap_or_default();
        Ok(AuthPayload {
            token,
            token_expires_at: time(i64::try_from(expires_at).unwrap_or(i64::MAX)),
            refresh_token: session.refresh_token,
            refresh_token_expires_at: time(session.expires_at),
            session_id: ID(session.id),
            reader_id: ID(reader_id.to_string()),
            position: opened.recorded.position,
            device_token: opened.device_token,
        })
    }
}

/// Sessions a mutation ended: their tokens are refused from now on, on every gateway, and their
/// subscriptions closed.
#[derive(SimpleObject)]
pub struct SessionsEnded {
    session_ids: Vec<ID>,
}

impl SessionsEnded {
    /// Refuses the ended sessions here at once (the other gateways hear of them within moments).
    fn from_reply(ctx: &Context<'_>, reply: &readstream_contracts::SessionsEnded) -> Self {
        let now = jsonwebtoken::get_current_timestamp();
        for session_id in &reply.ended {
            app(ctx).tokens.ended_sessions().end(*session_id, now);
        }
        SessionsEnded { session_ids: reply.ended.iter().map(|id| ID(id.to_string())).collect() }
    }
}

/// A deleted account: every session of it ended, its personal data erased.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AccountDeleted {
    reader_id: ID,
    /// The stream position of the deletion.
    position: u64,
    /// The sessions it ended (every one the account had).
    session_ids: Vec<ID>,
}

#[ComplexObject]
impl AccountDeleted {
    /// True once every read model has forgotten the reader (waits for that, up to the
    /// read-your-writes timeout).
    async fn forgotten(&self, ctx: &Context<'_>) -> Result<bool> {
        reached(ctx, self.position, &ReadModel::ALL).await?;
        Ok(true)
    }
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
        Ok(AuthPayload::signed_in(ctx, accepted)?)
    }

    /// Opens a session. Its `position` is 0 unless signing in finished a sign-up cut off before
    /// its reader was recorded. After 5 wrong passwords for a handle, its attempts wait (1 s,
    /// doubling to 15 minutes: `RATE_LIMITED` with `retryAfter`), except those that send as
    /// `device` the `deviceToken` an earlier sign-up or sign-in of the account answered.
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        handle: String,
        password: String,
        device: Option<String>,
    ) -> Result<AuthPayload> {
        count_sign_in(ctx)?;
        let meta = Some(commands::meta(None, None)?);
        let request = pb::SignIn { handle, password, meta, device_token: device.unwrap_or_default() };
        let accepted = commands::send(app(ctx), &request).await?;
        Ok(AuthPayload::signed_in(ctx, accepted)?)
    }

    /// Trades a session's refresh token for a new access token and the next refresh token.
    async fn refresh_session(&self, ctx: &Context<'_>, refresh_token: String) -> Result<AuthPayload> {
        let request = pb::RefreshSession { meta: Some(commands::meta(None, None)?), refresh_token };
        let accepted = commands::send(app(ctx), &request).await?;
        Ok(AuthPayload::signed_in(ctx, accepted)?)
    }

    /// Ends the session of the token sent: it and its refresh token stop working.
    async fn sign_out(&self, ctx: &Context<'_>) -> Result<SessionsEnded> {
        let viewer = viewer(ctx)?;
        let request =
            pb::SignOut { meta: Some(commands::meta(Some(&viewer), None)?), session_id: viewer.session_id.to_string() };
        let accepted = commands::send(app(ctx), &request).await?;
        Ok(SessionsEnded::from_reply(ctx, &accepted))
    }

    /// Sets a new password (8 to 1024 characters) given the current one, and ends every other
    /// session of the reader. Counted against the sign-in rate, like a sign-in.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> Result<SessionsEnded> {
        count_sign_in(ctx)?;
        let viewer = viewer(ctx)?;
        let request = pb::ChangePassword {
            meta: Some(commands::meta(Some(&viewer), None)?),
            session_id: viewer.session_id.to_string(),
            current_password,
            new_password,
        };
        let accepted = commands::send(app(ctx), &request).await?;
        Ok(SessionsEnded::from_reply(ctx, &accepted))
    }

    /// Deletes the viewer's account, given its password: erases their profile, shelves, reading
    /// history, ratings list, reviews, comments, likes and follows from every read model and
    /// destroys the key their personal fields are sealed with in the log, so those are
    /// unreadable there too. Books' ratings and shelf counts keep counting them, anonymously.
    /// Every session ends and the handle is free again. Counted against the sign-in rate.
    async fn delete_account(
        &self,
        ctx: &Context<'_>,
        password: String,
        idempotency_key: Option<String>,
    ) -> Result<AccountDeleted> {
        count_sign_in(ctx)?;
        let viewer = viewer(ctx)?;
        let request = pb::DeleteAccount { meta: Some(commands::meta(Some(&viewer), idempotency_key)?), password };
        let accepted = commands::send(app(ctx), &request).await?;
        // Their uploads hold their reviews and notes: gone with them (an import worker that
        // finds the account deleted first forgets them just the same).
        readstream_readmodel::imports::forget_reader(&app(ctx).pool, viewer.reader_id).await?;
        let (reader_id, position) = (ID(accepted.reader_id.to_string()), accepted.position());
        let ended = SessionsEnded::from_reply(ctx, &accepted);
        Ok(AccountDeleted { reader_id, position, session_ids: ended.session_ids })
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

    /// Follows an author of the catalog; following twice is `ALREADY_EXISTS`.
    async fn follow_author(
        &self,
        ctx: &Context<'_>,
        author_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<AuthorFollowPayload> {
        let (meta, author_id) = toward_author(ctx, &author_id, idempotency_key).await?;
        send_about_author(ctx, &pb::FollowAuthor { meta, author_id }).await
    }

    /// Unfollows an author; one not followed is `NOT_FOUND`.
    async fn unfollow_author(
        &self,
        ctx: &Context<'_>,
        author_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<AuthorFollowPayload> {
        let (meta, author_id) = toward_author(ctx, &author_id, idempotency_key).await?;
        send_about_author(ctx, &pb::UnfollowAuthor { meta, author_id }).await
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

    /// Chooses who sees the viewer's shelves, progress and reading history: `EVERYONE` (the
    /// default), `FOLLOWERS` or `ONLY_ME`. It applies at once everywhere, to what feeds already
    /// hold too; a book's counts still count every reader.
    async fn set_reading_visibility(
        &self,
        ctx: &Context<'_>,
        visibility: Visibility,
        idempotency_key: Option<String>,
    ) -> Result<FollowPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let visibility = visibility.contract().name().to_owned();
        send(ctx, &pb::SetReadingVisibility { meta, visibility }).await
    }

    /// The time zone the viewer's days are in, an IANA name (`Europe/Lisbon`): where "today" is
    /// for their reading goal. UTC until they set one; a name no zone has is
    /// `INVALID_ARGUMENT`.
    async fn set_time_zone(
        &self,
        ctx: &Context<'_>,
        time_zone: String,
        idempotency_key: Option<String>,
    ) -> Result<FollowPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        send(ctx, &pb::SetTimeZone { meta, time_zone }).await
    }

    /// Gives a reader a role; only an admin may (`PERMISSION_DENIED` otherwise). Granting a
    /// role held changes nothing.
    async fn grant_role(
        &self,
        ctx: &Context<'_>,
        reader_id: ID,
        role: Role,
        idempotency_key: Option<String>,
    ) -> Result<FollowPayload> {
        let (meta, reader_id) = toward(ctx, &reader_id, idempotency_key)?;
        send(ctx, &pb::GrantRole { meta, reader_id, role: role.contract().name().to_owned() }).await
    }

    /// Takes a role back; only an admin may.
    async fn revoke_role(
        &self,
        ctx: &Context<'_>,
        reader_id: ID,
        role: Role,
        idempotency_key: Option<String>,
    ) -> Result<FollowPayload> {
        let (meta, reader_id) = toward(ctx, &reader_id, idempotency_key)?;
        send(ctx, &pb::RevokeRole { meta, reader_id, role: role.contract().name().to_owned() }).await
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
        send(ctx, &pb::UpdateProfile { meta, display_name, bio, avatar: None }).await
    }

    /// Sets the viewer's avatar from an uploaded PNG or JPEG (a multipart upload, the GraphQL
    /// multipart request spec; at most 10 MiB and 50 megapixels). It is cropped square,
    /// re-encoded without its metadata and shown as `Reader.avatar`.
    async fn set_avatar(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        idempotency_key: Option<String>,
    ) -> Result<FollowPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        let avatar = store_upload(ctx, file, Purpose::Avatar).await?;
        send(ctx, &pb::UpdateProfile { meta, display_name: None, bio: None, avatar: Some(avatar.to_string()) }).await
    }

    /// Removes the viewer's avatar.
    async fn remove_avatar(&self, ctx: &Context<'_>, idempotency_key: Option<String>) -> Result<FollowPayload> {
        let meta = Some(commands::meta(Some(&viewer(ctx)?), idempotency_key)?);
        send(ctx, &pb::UpdateProfile { meta, display_name: None, bio: None, avatar: Some(String::new()) }).await
    }
}
