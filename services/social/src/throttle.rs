//! Failed sign-ins, counted per handle in this service's own tables so every gateway and every
//! instance of the service shares the count (the gateway's per-address limit is the other half).
//!
//! - After [`FREE_FAILURES`] wrong passwords for a handle (known or not, so the count says
//!   nothing of which handles exist), each further attempt waits: 1 s, doubling with each
//!   failure, up to [`MAX_DELAY`]. An attempt inside the wait is refused `RATE_LIMITED` with
//!   `retryAfter`, without its password being checked. A success, or a day without failures,
//!   starts the count over.
//! - **Never delayed:** an attempt that presents a device token the account's own sign-ins
//!   were given (`signIn(device:)`). A guesser elsewhere then cannot lock the owner out; a
//!   device has [`DEVICE_FREE_FAILURES`] wrong passwords of its own before it counts as any
//!   other attempt. Device tokens are 256 random bits, stored as their SHA-256, forgotten with
//!   the account.

use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine as _;
use chrono::Utc;
use readstream_contracts::Rejection;
use readstream_runtime::db;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// Wrong passwords for one handle before attempts wait.
pub const FREE_FAILURES: i32 = 5;
/// The longest wait between two attempts for one handle.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Wrong passwords a known device may send before its attempts count as anyone's.
pub const DEVICE_FREE_FAILURES: i32 = 10;

/// An attempt to sign in, as the count sees it.
pub enum Attempt {
    /// From a device the account signed in on before: never delayed.
    KnownDevice { device_hash: Vec<u8> },
    /// From anywhere else.
    Other,
}

#[derive(Clone)]
pub struct Throttle {
    pool: PgPool,
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// How long attempts wait after `failures` wrong passwords in a row.
pub fn delay(failures: i32) -> Duration {
    match failures.saturating_sub(FREE_FAILURES) {
        ..=0 => Duration::ZERO,
        over => Duration::from_secs(1).saturating_mul(1 << (over - 1).min(20)).min(MAX_DELAY),
    }
}

impl Throttle {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Whether this attempt may check its password now: a known device of `reader_id` always
    /// may; any other attempt not while the handle's wait lasts.
    pub async fn admit(
        &self,
        handle_key: &str,
        reader_id: Option<Uuid>,
        device_token: &str,
    ) -> Result<Attempt, Rejection> {
        if let (Some(reader_id), false) = (reader_id, device_token.is_empty()) {
            let device_hash = hash(device_token);
            let known = sqlx::query_scalar!(
                r#"SELECT EXISTS (SELECT 1 FROM social_devices
                                  WHERE device_hash = $1 AND reader_id = $2 AND failures < $3) AS "known!""#,
                device_hash,
                reader_id,
                DEVICE_FREE_FAILURES
            )
            .fetch_one(&self.pool)
            .await
            .map_err(|err| db::failure(&err))?;
            if known {
                return Ok(Attempt::KnownDevice { device_hash });
            }
        }
        let delayed_until = sqlx::query_scalar!(
            "SELECT delayed_until FROM social_sign_in_failures WHERE handle_key = $1 AND delayed_until > now()",
            handle_key
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(|err| db::failure(&err))?;
        match delayed_until {
            Some(until) => Err(Rejection::rate_limited(
                "too many wrong passwords for this handle: try again later, or sign in on a device that signed in \
                 to it before (its deviceToken)",
                (until - Utc::now()).to_std().unwrap_or_default(),
            )),
            None => Ok(Attempt::Other),
        }
    }

    /// Counts a wrong password: against the device, or against the handle (its wait grows).
    pub async fn failed(&self, handle_key: &str, attempt: &Attempt) -> Result<(), Rejection> {
        let counted = match attempt {
            Attempt::KnownDevice { device_hash } => {
                sqlx::query!("UPDATE social_devices SET failures = failures + 1 WHERE device_hash = $1", device_hash)
                    .execute(&self.pool)
                    .await
            }
            Attempt::Other => {
                // A day without failures starts the count over.
                let failures = sqlx::query_scalar!(
                    "INSERT INTO social_sign_in_failures AS f (handle_key, failures) VALUES ($1, 1)
                     ON CONFLICT (handle_key) DO UPDATE
                     SET failures = CASE WHEN f.last_failed_at < now() - interval '1 day' THEN 1 ELSE f.failures + 1 END,
                         last_failed_at = now()
                     RETURNING failures",
                    handle_key
                )
                .fetch_one(&self.pool)
                .await
                .map_err(|err| db::failure(&err))?;
                sqlx::query!(
                    "UPDATE social_sign_in_failures SET delayed_until = now() + make_interval(secs => $2)
                     WHERE handle_key = $1",
                    handle_key,
                    delay(failures).as_secs_f64()
                )
                .execute(&self.pool)
                .await
            }
        };
        counted.map(|_| ()).map_err(|err| db::failure(&err))
    }

    /// The right password: the handle's count starts over, and the device is known from now on.
    /// Answers the device's token (a new one when it presented none of this account's).
    pub async fn succeeded(
        &self,
        handle_key: &str,
        reader_id: Uuid,
        attempt: &Attempt,
        device_token: &str,
    ) -> Result<String, Rejection> {
        sqlx::query!("DELETE FROM social_sign_in_failures WHERE handle_key = $1", handle_key)
            .execute(&self.pool)
            .await
            .map_err(|err| db::failure(&err))?;
        if let Attempt::KnownDevice { device_hash } = attempt {
            sqlx::query!(
                "UPDATE social_devices SET failures = 0, last_used = now() WHERE device_hash = $1",
                device_hash
            )
            .execute(&self.pool)
            .await
            .map_err(|err| db::failure(&err))?;
            return Ok(device_token.to_owned());
        }
        self.new_device(reader_id).await
    }

    /// Forgets a deleted reader's devices and their handle's failures, within `tx`.
    pub async fn forget(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        reader_id: Uuid,
        handle_key: Option<&str>,
    ) -> Result<(), Rejection> {
        sqlx::query!("DELETE FROM social_devices WHERE reader_id = $1", reader_id)
            .execute(&mut **tx)
            .await
            .map_err(|err| db::failure(&err))?;
        sqlx::query!("DELETE FROM social_sign_in_failures WHERE handle_key = $1", handle_key)
            .execute(&mut **tx)
            .await
            .map_err(|err| db::failure(&err))?;
        Ok(())
    }

    /// A device token for a reader who just signed up or in.
    pub async fn new_device(&self, reader_id: Uuid) -> Result<String, Rejection> {
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        sqlx::query!("INSERT INTO social_devices (device_hash, reader_id) VALUES ($1, $2)", hash(&token), reader_id)
            .execute(&self.pool)
            .await
            .map_err(|err| db::failure(&err))?;
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_wait_from_the_sixth_failure_doubling_up_to_fifteen_minutes() {
        let waits: Vec<u64> = (0..=20).map(|failures| delay(failures).as_secs()).collect();
        assert_eq!(&waits[..=5], [0, 0, 0, 0, 0, 0]);
        assert_eq!(&waits[6..=10], [1, 2, 4, 8, 16]);
        assert_eq!(waits[20], MAX_DELAY.as_secs());
        assert_eq!(delay(i32::MAX), MAX_DELAY);
    }
}
