//! Sessions: what a sign-in opens and a refresh token keeps alive, in this service's own table
//! (`social_sessions`), never in the log.
//!
//! A refresh token is 256 random bits, stored only as its SHA-256. Each is good for one
//! refresh, which answers the next (rotation); any token the session spent before, seen again,
//! means a copy is in someone else's hands, and ends the session for both (revocation by
//! family, not only the token spent last). Ending a session also puts it in
//! the bucket of ended sessions ([`readstream_runtime::sessions`]), from which every gateway
//! refuses its access tokens until they expire.

use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use async_nats::jetstream::kv;
use base64::Engine as _;
use chrono::Utc;
use readstream_contracts::{proto::commands::v1 as pb, Code, Rejection};
use readstream_runtime::{db, sessions};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// The spent refresh tokens a session keeps (about ten days of refreshes every 15 minutes):
/// any of them presented again ends it.
const SPENT_KEPT: i64 = 1_000;

#[derive(Clone)]
pub struct Sessions {
    pool: PgPool,
    ended: kv::Store,
    /// A session unused (unrefreshed) this long ends by itself.
    idle_lifetime: Duration,
}

/// A new refresh token and the hash that is stored of it.
fn new_refresh_token() -> (String, Vec<u8>) {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let hash = hash(&token);
    (token, hash)
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn session_ended() -> Rejection {
    Rejection::new(Code::Unauthenticated, "the refresh token is invalid, spent or expired; sign in again")
}

impl Sessions {
    pub fn new(pool: PgPool, ended: kv::Store, idle_lifetime: Duration) -> Self {
        Self { pool, ended, idle_lifetime }
    }

    fn expires_at(&self) -> chrono::DateTime<Utc> {
        Utc::now() + self.idle_lifetime
    }

    /// Opens a session for `reader_id`.
    pub async fn open(&self, reader_id: Uuid) -> Result<pb::Session, Rejection> {
        let (refresh_token, refresh_hash) = new_refresh_token();
        let (session_id, expires_at) = (Uuid::now_v7(), self.expires_at());
        sqlx::query!(
            "INSERT INTO social_sessions (session_id, reader_id, refresh_hash, expires_at) VALUES ($1, $2, $3, $4)",
            session_id,
            reader_id,
            refresh_hash,
            expires_at
        )
        .execute(&self.pool)
        .await
        .map_err(|err| db::failure(&err))?;
        Ok(pb::Session { id: session_id.to_string(), refresh_token, expires_at: expires_at.timestamp() })
    }

    /// Trades a session's current refresh token for the next; answers the session's reader.
    /// The token it replaced ends the session; any other is refused.
    pub async fn refresh(&self, refresh_token: &str) -> Result<(Uuid, pb::Session), Rejection> {
        let presented = hash(refresh_token);
        let (next_token, next_hash) = new_refresh_token();
        let expires_at = self.expires_at();
        // The token presented is spent: kept with its session (the last `SPENT_KEPT`), so any
        // of the family seen again ends it.
        let rotated = sqlx::query!(
            r#"WITH rotated AS (
                   UPDATE social_sessions SET refresh_hash = $2, refreshed_at = now(), expires_at = $3
                   WHERE refresh_hash = $1 AND ended_at IS NULL AND expires_at > now()
                   RETURNING session_id, reader_id),
               spent AS (
                   INSERT INTO social_spent_refresh_tokens (refresh_hash, session_id)
                   SELECT $1, session_id FROM rotated),
               forgotten AS (
                   DELETE FROM social_spent_refresh_tokens WHERE refresh_hash IN (
                       SELECT s.refresh_hash FROM social_spent_refresh_tokens s JOIN rotated USING (session_id)
                       ORDER BY s.spent_at DESC OFFSET $4))
               SELECT session_id AS "session_id!", reader_id AS "reader_id!" FROM rotated"#,
            presented,
            next_hash,
            expires_at,
            SPENT_KEPT
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(|err| db::failure(&err))?;
        if let Some(rotated) = rotated {
            let session = pb::Session {
                id: rotated.session_id.to_string(),
                refresh_token: next_token,
                expires_at: expires_at.timestamp(),
            };
            return Ok((rotated.reader_id, session));
        }
        let reused = sqlx::query_scalar!(
            "UPDATE social_sessions SET ended_at = now()
             WHERE ended_at IS NULL
               AND session_id = (SELECT session_id FROM social_spent_refresh_tokens WHERE refresh_hash = $1)
             RETURNING session_id",
            presented
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(|err| db::failure(&err))?;
        if let Some(session_id) = reused {
            tracing::warn!(%session_id, "a spent refresh token was used again: the session is ended");
            self.announce_ended(&[session_id]).await?;
        }
        Err(session_ended())
    }

    /// Ends `session_id` of `reader_id` (again, harmlessly, if it already ended).
    pub async fn end(&self, reader_id: Uuid, session_id: Uuid) -> Result<(), Rejection> {
        sqlx::query!(
            "UPDATE social_sessions SET ended_at = now()
             WHERE session_id = $1 AND reader_id = $2 AND ended_at IS NULL",
            session_id,
            reader_id
        )
        .execute(&self.pool)
        .await
        .map_err(|err| db::failure(&err))?;
        // Announced even when the row was already ended: a retry repairs a lost announcement.
        self.announce_ended(&[session_id]).await
    }

    /// Ends every session of `reader_id` but `kept`, within `tx`, and announces them before it
    /// commits: a failed announcement rolls the change back.
    pub async fn end_others(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        reader_id: Uuid,
        kept: Uuid,
    ) -> Result<Vec<Uuid>, Rejection> {
        let ended = sqlx::query_scalar!(
            "UPDATE social_sessions SET ended_at = now()
             WHERE reader_id = $1 AND session_id <> $2 AND ended_at IS NULL
             RETURNING session_id",
            reader_id,
            kept
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(|err| db::failure(&err))?;
        self.announce_ended(&ended).await?;
        Ok(ended)
    }

    /// Forgets every session of `reader_id` (their account is being deleted) within `tx`, and
    /// announces them ended before it commits.
    pub async fn forget_all(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        reader_id: Uuid,
    ) -> Result<Vec<Uuid>, Rejection> {
        let forgotten =
            sqlx::query_scalar!("DELETE FROM social_sessions WHERE reader_id = $1 RETURNING session_id", reader_id)
                .fetch_all(&mut **tx)
                .await
                .map_err(|err| db::failure(&err))?;
        self.announce_ended(&forgotten).await?;
        Ok(forgotten)
    }

    async fn announce_ended(&self, session_ids: &[Uuid]) -> Result<(), Rejection> {
        let now = Utc::now().timestamp();
        for &session_id in session_ids {
            sessions::end(&self.ended, session_id, now).await.map_err(|err| {
                tracing::error!(error = %err, %session_id, "cannot announce an ended session");
                Rejection::new(Code::Unavailable, "the session could not be ended; try again")
            })?;
        }
        Ok(())
    }
}
