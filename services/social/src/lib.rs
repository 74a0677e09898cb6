//! The social service: readers, their profiles, roles and privacy, and who follows or blocks
//! whom. Answers `<ns>.cmd.social.sign_up`, `update_profile`, `set_reading_visibility`,
//! `grant_role` and `revoke_role` (an admin's), all deciding against
//! `<ns>.events.social.reader.<id>`; `sign_in`, `refresh_session`, `sign_out` and
//! `change_password` (sessions, see [`sessions`]); `delete_account`; and `follow`, `unfollow`, `block` and
//! `unblock` (deciding against the pair's `<ns>.events.social.link.<low id>.<high id>`).
//!
//! Credentials live only in this service's own table, `social_credentials`, as argon2id
//! hashes; the event log gets `ReaderRegistered` with the public profile. The table's unique
//! handle key is what makes handles unique across concurrent sign-ups: a sign-up claims its
//! handle there first, then records the reader. A claim whose reader was never recorded (the
//! service stopped between the two, and the client never retried) is given up on after
//! `SIGN_UP_EXPIRY_SECS`: `SignUpExpired` closes the reader's subject, and the handle is free. Sessions and their
//! refresh tokens live in `social_sessions`, never in the log either.

pub mod domain;
pub mod sessions;
pub mod throttle;

use std::{sync::Arc, time::Duration};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use chrono::Utc;
use readstream_contracts::{
    catalog, input,
    proto::commands::v1 as pb,
    social::{self, Role, SocialRoutes, SocialService, TimeZone, Visibility},
    Code, Identified, ImageId, Metadata, Recorded, Rejection, Sender, Service, SessionOpened, SessionsEnded,
};
use readstream_eventstore::{EventStore, StoreError};
use readstream_runtime::{
    bus, config::StartError, db, health::HealthConfig, service::CommandService, DatabaseConfig, NatsConfig,
};
use sqlx::PgPool;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    domain::{ActorIsAdmin, AuthorFollowCommand, LinkCommand, ReaderCommand, ReaderRoles, RoleCommand},
    sessions::Sessions,
};

pub const SERVICE: &str = SocialService::NAME;

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "readstream-social", about = "The social command service")]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub health: HealthConfig,
    #[command(flatten)]
    pub password_hashing: PasswordHashing,
    /// The handle of the first admin: the reader holding it when this service first sees it (at
    /// start, or at its sign-up) may grant and revoke roles (and so make other admins and
    /// librarians) without holding the role, for good. Sign that handle up first.
    #[arg(long, env = "READSTREAM_ADMIN")]
    pub admin: Option<String>,
    /// A session whose refresh token goes unused this long ends by itself, in seconds.
    #[arg(long, env = "SESSION_IDLE_LIFETIME_SECS", default_value_t = 30 * 24 * 3600)]
    pub session_idle_lifetime_secs: u64,
    /// A sign-up that claimed its handle this long ago, in seconds, but whose reader was never
    /// recorded is given up on, and the handle is free again.
    #[arg(long, env = "SIGN_UP_EXPIRY_SECS", default_value_t = 600)]
    pub sign_up_expiry_secs: u64,
}

/// The cost of argon2id for new password hashes. A stored hash keeps the cost it was made
/// with, so changing these never locks anyone out.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct PasswordHashing {
    /// Memory per hash, in KiB (OWASP's minimum for argon2id: 19,456).
    #[arg(long, env = "PASSWORD_HASH_MEMORY_KIB", default_value_t = argon2::Params::DEFAULT_M_COST)]
    pub memory_kib: u32,
    /// Passes over that memory.
    #[arg(long, env = "PASSWORD_HASH_ITERATIONS", default_value_t = argon2::Params::DEFAULT_T_COST)]
    pub iterations: u32,
}

impl PasswordHashing {
    fn hasher(self) -> Result<Argon2<'static>, StartError> {
        let params = argon2::Params::new(self.memory_kib, self.iterations, 1, None)
            .map_err(|err| StartError::Config(format!("password hashing: {err}")))?;
        Ok(Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params))
    }
}

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    let (service, pool) =
        CommandService::start_with_database(&config.nats, &config.database, &config.health, &shutdown).await?;
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let hasher = config.password_hashing.hasher()?;
    let absent_hash = hasher
        .hash_password(Uuid::new_v4().as_bytes(), &SaltString::generate(&mut OsRng))
        .map_err(|err| StartError::Config(format!("cannot hash passwords: {err}")))?
        .to_string();
    let ended_sessions = readstream_runtime::sessions::ended_sessions(
        service.client.clone(),
        &config.nats.namespace,
        config.nats.stream_replicas,
        &shutdown,
    )
    .await?;
    let idle_lifetime = std::time::Duration::from_secs(config.session_idle_lifetime_secs);
    let sessions = Sessions::new(pool.clone(), ended_sessions, idle_lifetime);
    let hashing = Arc::new(Semaphore::new(cores));
    let admin_handle = config.admin.as_deref().map(handle_key);
    let throttle = throttle::Throttle::new(pool.clone());
    let social =
        Social { store: service.store.clone(), pool, hasher, hashing, absent_hash, sessions, throttle, admin_handle };
    social.bind_first_admin().await.map_err(|rejection| StartError::Config(rejection.message))?;
    let expiry = Duration::from_secs(config.sign_up_expiry_secs);
    tokio::spawn(social.clone().expire_sign_ups(expiry, shutdown.clone()));
    service.answer::<SocialService, _>(social).await
}

#[derive(Clone)]
struct Social {
    store: EventStore,
    pool: PgPool,
    hasher: Argon2<'static>,
    /// Argon2 costs ~19 MiB and a core for a moment per hash: at most one per core at a time,
    /// so a burst of sign-ins queues instead of exhausting memory.
    hashing: Arc<Semaphore>,
    /// A hash of a random password, checked when a sign-in names no account, so that answer
    /// takes as long as a wrong password.
    absent_hash: String,
    sessions: Sessions,
    /// Failed sign-ins per handle, and the devices that are never delayed by them.
    throttle: throttle::Throttle,
    /// The handle key of the configured first admin.
    admin_handle: Option<String>,
}

fn parse_role(role: &str) -> Result<Role, Rejection> {
    Role::from_name(role).ok_or_else(|| Rejection::invalid("role", "a role is LIBRARIAN or ADMIN"))
}

/// What a command that appends no event answers: nothing to wait for.
fn nothing_recorded() -> Recorded {
    Recorded { position: 0, event_ids: Vec::new() }
}

/// Runs an argon2 job on the blocking pool once a core is free for it.
async fn hash_job<T: Send + 'static>(
    hashing: &Semaphore,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Rejection> {
    let _permit = hashing.acquire().await.map_err(internal)?;
    tokio::task::spawn_blocking(job).await.map_err(internal)
}

/// A fault inside (a hashing task that failed): logged, never detailed to the client.
fn internal(err: impl std::fmt::Display) -> Rejection {
    tracing::error!(error = %err, "social service failure");
    Rejection::new(Code::Internal, "internal error")
}

fn wrong_credentials() -> Rejection {
    Rejection::new(Code::Unauthenticated, "wrong handle or password")
}

/// Handles are unique regardless of case.
fn handle_key(handle: &str) -> String {
    handle.to_lowercase()
}

impl Social {
    /// Claims the handle (committed before anything is appended, with what the event needs),
    /// then records the reader. A retry of the same sign-up finds its claim and finishes it;
    /// a claim by anyone else, or a retry with another password, is `ALREADY_EXISTS`.
    async fn sign_up_reader(&self, request: pb::SignUp, meta: Metadata) -> Result<SessionOpened, Rejection> {
        let reader_id = Uuid::new_v5(&meta.command_id, b"reader");
        let command = domain::SignUp {
            reader_id,
            handle: request.handle,
            display_name: request.display_name,
            password: request.password,
        };
        domain::validate_sign_up(&command)?;
        let display_name = domain::display_name(&command.display_name)?;
        let password = command.password.clone();
        let hasher = self.hasher.clone();
        let password_hash = hash_job(&self.hashing, move || {
            let salt = SaltString::generate(&mut OsRng);
            hasher.hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
        })
        .await?
        .map_err(internal)?;
        let claimed = sqlx::query_scalar!(
            "INSERT INTO social_credentials
                 (reader_id, handle_key, password_hash, handle, display_name, command_id, registered)
             VALUES ($1, $2, $3, $4, $5, $6, false)
             ON CONFLICT DO NOTHING
             RETURNING reader_id",
            reader_id,
            handle_key(&command.handle),
            password_hash,
            command.handle,
            display_name,
            meta.command_id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(|err| db::failure(&err))?;
        if claimed.is_none() {
            let taken = || Rejection {
                code: Code::AlreadyExists,
                message: format!("the handle {} is taken", command.handle),
                field: Some("handle"),
                retry_after_secs: None,
            };
            let holder = sqlx::query!(
                "SELECT reader_id, password_hash FROM social_credentials WHERE handle_key = $1",
                handle_key(&command.handle)
            )
            .fetch_optional(&self.pool)
            .await
            .map_err(|err| db::failure(&err))?
            .ok_or_else(taken)?;
            // The same sign-up retried finds its own claim, but only its password finishes it:
            // anyone replaying the idempotency key with another password gets no account.
            if holder.reader_id != reader_id || !self.verify(&command.password, holder.password_hash).await? {
                return Err(taken());
            }
        }
        if self.admin_handle.as_deref() == Some(handle_key(&command.handle).as_str()) {
            self.bind_first_admin().await?;
        }
        let outcome = self.register(reader_id, meta, command).await;
        let recorded = bus::recorded(outcome)?;
        let session = self.sessions.open(reader_id).await?;
        let device_token = Some(self.throttle.new_device(reader_id).await?);
        Ok(SessionOpened { reader_id, session, device_token, recorded })
    }

    /// Every so often (a tenth of `expiry`, from a second to a minute), settles the claims made
    /// more than `expiry` ago whose reader was not marked recorded.
    async fn expire_sign_ups(self, expiry: Duration, shutdown: CancellationToken) {
        let period = (expiry / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            if let Err(err) = self.settle_stale_claims(expiry).await {
                tracing::warn!(error = %err, "could not settle stale sign-up claims; trying again later");
            }
        }
    }

    /// A stale claim's reader is either in the log (its service stopped before marking it: mark
    /// it now) or not: then `SignUpExpired` goes on the reader's subject, unless a late
    /// registration wins the race to it, and the claim is deleted.
    async fn settle_stale_claims(&self, expiry: Duration) -> anyhow::Result<()> {
        let stale: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT reader_id FROM social_credentials
             WHERE NOT registered AND created_at < now() - make_interval(secs => $1)
             ORDER BY created_at LIMIT 100",
        )
        .bind(expiry.as_secs_f64())
        .fetch_all(&self.pool)
        .await?;
        for (reader_id,) in stale {
            let command_id = Uuid::new_v5(&reader_id, b"sign-up expired");
            let meta = Metadata {
                occurred_at: Utc::now(),
                actor: None,
                command_id,
                correlation_id: command_id,
                import_job: None,
            };
            let expire = ReaderCommand::ExpireSignUp { reader_id };
            let aggregate = social::reader(reader_id);
            if let Err(rejection) = self.store.decide::<domain::Reader>(&aggregate, meta, &expire, &()).await? {
                anyhow::bail!("expiring the sign-up of {reader_id} was refused: {}", rejection.message);
            }
            let reader = self.store.state::<domain::Reader>(&aggregate).await?;
            if reader.registered {
                sqlx::query("UPDATE social_credentials SET registered = true WHERE reader_id = $1")
                    .bind(reader_id)
                    .execute(&self.pool)
                    .await?;
            } else {
                sqlx::query("DELETE FROM social_credentials WHERE reader_id = $1 AND NOT registered")
                    .bind(reader_id)
                    .execute(&self.pool)
                    .await?;
                // A first admin who was never recorded was never anyone.
                sqlx::query("DELETE FROM social_first_admin WHERE reader_id = $1")
                    .bind(reader_id)
                    .execute(&self.pool)
                    .await?;
                tracing::info!(%reader_id, "a sign-up never recorded expired; its handle is free again");
            }
        }
        Ok(())
    }

    /// Records the reader whose claim `command` made, then marks the claim registered.
    async fn register(
        &self,
        reader_id: Uuid,
        meta: Metadata,
        command: domain::SignUp,
    ) -> Result<Result<Recorded, Rejection>, StoreError> {
        let command = ReaderCommand::SignUp(command);
        let outcome = self.store.decide::<domain::Reader>(&social::reader(reader_id), meta, &command, &()).await;
        if let Ok(Ok(_)) = &outcome {
            // Left unmarked, the next sign-in records the reader again: idempotent.
            let marked =
                sqlx::query!("UPDATE social_credentials SET registered = true WHERE reader_id = $1", reader_id)
                    .execute(&self.pool)
                    .await;
            if let Err(err) = marked {
                tracing::warn!(error = %err, %reader_id, "could not mark a sign-up registered");
            }
        }
        outcome
    }

    /// Whether `password` is the one `stored_hash` was made from (an unparsable hash never is).
    async fn verify(&self, password: &str, stored_hash: String) -> Result<bool, Rejection> {
        let (password, hasher) = (password.to_owned(), self.hasher.clone());
        hash_job(&self.hashing, move || {
            PasswordHash::new(&stored_hash).is_ok_and(|hash| hasher.verify_password(password.as_bytes(), &hash).is_ok())
        })
        .await
    }

    /// Grants or revokes a role, if the sender is an admin: by the log, or by being the
    /// configured first admin.
    async fn decide_role(&self, command: RoleCommand, sender: Sender) -> Result<Identified, Rejection> {
        let Sender { meta, reader_id: actor } = sender;
        let (RoleCommand::Grant { reader_id, .. } | RoleCommand::Revoke { reader_id, .. }) = command;
        let holds_admin = bus::holds_role(&self.store, actor, Role::Admin).await?;
        let is_admin = holds_admin || self.is_configured_admin(actor).await?;
        let outcome =
            self.store.decide::<ReaderRoles>(&social::reader(reader_id), meta, &command, &ActorIsAdmin(is_admin)).await;
        Ok(Identified { id: reader_id, recorded: bus::recorded(outcome)? })
    }

    /// Whether `reader_id` is the reader `READSTREAM_ADMIN`'s handle was bound to.
    async fn is_configured_admin(&self, reader_id: Uuid) -> Result<bool, Rejection> {
        let Some(admin_handle) = &self.admin_handle else { return Ok(false) };
        let bound = sqlx::query_scalar!("SELECT reader_id FROM social_first_admin WHERE handle_key = $1", admin_handle)
            .fetch_optional(&self.pool)
            .await
            .map_err(|err| db::failure(&err))?;
        Ok(bound.flatten() == Some(reader_id))
    }

    /// Binds `READSTREAM_ADMIN`'s handle to the reader holding it now, unless it was bound
    /// before: the first admin is that reader for good, not whoever holds the handle later.
    async fn bind_first_admin(&self) -> Result<(), Rejection> {
        let Some(admin_handle) = &self.admin_handle else { return Ok(()) };
        sqlx::query!(
            "INSERT INTO social_first_admin (handle_key, reader_id)
             SELECT handle_key, reader_id FROM social_credentials WHERE handle_key = $1
             ON CONFLICT (handle_key) DO NOTHING",
            admin_handle
        )
        .execute(&self.pool)
        .await
        .map_err(|err| db::failure(&err))?;
        Ok(())
    }

    /// Follow, unfollow, block or unblock another reader, on the pair's own subject.
    async fn link(&self, command: LinkCommand, sender: Sender, other: &str) -> Result<Identified, Rejection> {
        let Sender { meta, reader_id: actor } = sender;
        let other = input::id("readerId", other)?;
        let other_reader =
            self.store.state::<domain::Reader>(&social::reader(other)).await.map_err(|e| bus::unavailable(&e))?;
        let other_exists = other_reader.active().is_ok();
        let facts = domain::LinkFacts { actor, other, other_exists };
        let outcome = self.store.decide::<domain::Link>(&social::link(actor, other), meta, &command, &facts).await;
        Ok(Identified { id: other, recorded: bus::recorded(outcome)? })
    }

    /// Follow or unfollow an author of the catalog, on the pair's own subject.
    async fn decide_author_follow(
        &self,
        command: AuthorFollowCommand,
        sender: Sender,
        author_id: &str,
    ) -> Result<Identified, Rejection> {
        let Sender { meta, reader_id } = sender;
        let author_id = input::id("authorId", author_id)?;
        let author_exists =
            self.store.exists(&catalog::author(author_id)).await.map_err(|err| bus::unavailable(&err))?;
        let facts = domain::AuthorFollowFacts { reader_id, author_id, author_exists };
        let aggregate = social::author_follow(reader_id, author_id);
        let outcome = self.store.decide::<domain::AuthorFollow>(&aggregate, meta, &command, &facts).await;
        Ok(Identified { id: author_id, recorded: bus::recorded(outcome)? })
    }

    /// The summary of the sender's own library import, on the import's own subject.
    async fn decide_import(&self, request: pb::RecordImport, sender: Sender) -> Result<Recorded, Rejection> {
        let Sender { meta, reader_id } = sender;
        let job_id = input::id("jobId", &request.job_id)?;
        let failure = Some(request.failure).filter(|failure| !failure.is_empty());
        let command = domain::RecordImport { reader_id, job_id, books: request.books, source: request.source, failure };
        let aggregate = social::library_import(reader_id, job_id);
        let outcome = self.store.decide::<domain::LibraryImport>(&aggregate, meta, &command, &()).await;
        bus::recorded(outcome)
    }

    async fn decide_profile(&self, request: pb::UpdateProfile, sender: Sender) -> Result<Identified, Rejection> {
        let reader_id = sender.reader_id;
        let avatar = request.avatar.as_deref().map(|avatar| ImageId::from_input("avatar", avatar)).transpose()?;
        let command =
            ReaderCommand::UpdateProfile { reader_id, display_name: request.display_name, bio: request.bio, avatar };
        self.decide_reader(command, sender).await
    }

    /// Decides a command of the sender's own profile.
    async fn decide_reader(&self, command: ReaderCommand, sender: Sender) -> Result<Identified, Rejection> {
        let Sender { meta, reader_id } = sender;
        let outcome = self.store.decide::<domain::Reader>(&social::reader(reader_id), meta, &command, &()).await;
        Ok(Identified { id: reader_id, recorded: bus::recorded(outcome)? })
    }

    /// Checks the password, doing the same work whether or not the handle exists (against a
    /// hash of nothing when it does not), and finishes a sign-up whose reader was never recorded.
    /// Wrong passwords for a handle make its later attempts wait (`throttle`), but for those
    /// from a device the account signed in on before.
    async fn check_sign_in(&self, request: pb::SignIn) -> Result<SessionOpened, Rejection> {
        // A text that is no handle belongs to no account: refused like a wrong password.
        if readstream_contracts::input::handle(&request.handle).is_err() {
            return Err(wrong_credentials());
        }
        let key = handle_key(&request.handle);
        let credentials = sqlx::query!(
            "SELECT reader_id, password_hash, handle, display_name, command_id, registered
             FROM social_credentials WHERE handle_key = $1",
            key
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(|err| db::failure(&err))?;
        let reader_id = credentials.as_ref().map(|credentials| credentials.reader_id);
        let attempt = self.throttle.admit(&key, reader_id, &request.device_token).await?;
        let stored_hash = credentials.as_ref().map_or_else(|| self.absent_hash.clone(), |c| c.password_hash.clone());
        let verified = self.verify(&request.password, stored_hash).await?;
        let Some(credentials) = credentials.filter(|_| verified) else {
            self.throttle.failed(&key, &attempt).await?;
            return Err(wrong_credentials());
        };
        let mut position = 0;
        if let (false, Some(command_id)) = (credentials.registered, credentials.command_id) {
            let meta = Metadata {
                occurred_at: Utc::now(),
                actor: None,
                command_id,
                correlation_id: command_id,
                import_job: None,
            };
            let command = domain::SignUp {
                reader_id: credentials.reader_id,
                handle: credentials.handle,
                display_name: credentials.display_name,
                password: request.password,
            };
            match self.register(credentials.reader_id, meta, command).await {
                Ok(Ok(registered)) => position = registered.position,
                Ok(Err(rejection)) => return Err(rejection),
                Err(err) => return Err(bus::unavailable(&err)),
            }
        }
        let device_token =
            self.throttle.succeeded(&key, credentials.reader_id, &attempt, &request.device_token).await?;
        let session = self.sessions.open(credentials.reader_id).await?;
        let recorded = Recorded { position, event_ids: Vec::new() };
        Ok(SessionOpened { reader_id: credentials.reader_id, session, device_token: Some(device_token), recorded })
    }

    /// A transaction holding the reader's credentials row, once `password` (the input `field`)
    /// proves to be theirs.
    async fn with_password(
        &self,
        reader_id: Uuid,
        password: &str,
        field: &'static str,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, Rejection> {
        let mut tx = self.pool.begin().await.map_err(|err| db::failure(&err))?;
        let stored_hash = sqlx::query_scalar!(
            "SELECT password_hash FROM social_credentials WHERE reader_id = $1 FOR UPDATE",
            reader_id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(|err| db::failure(&err))?
        .ok_or_else(|| Rejection::new(Code::NotFound, "this reader has no account"))?;
        if !self.verify(password, stored_hash).await? {
            return Err(Rejection::invalid(field, "the password is wrong"));
        }
        Ok(tx)
    }

    /// Needs the current password; sets the new one and ends every other session of the reader,
    /// in one transaction that commits only once the ended sessions are announced.
    async fn set_password(&self, request: pb::ChangePassword, sender: Sender) -> Result<SessionsEnded, Rejection> {
        let reader_id = sender.reader_id;
        let kept = input::id("sessionId", &request.session_id)?;
        domain::validate_password("newPassword", &request.new_password)?;
        let mut tx = self.with_password(reader_id, &request.current_password, "currentPassword").await?;
        let (password, hasher) = (request.new_password, self.hasher.clone());
        let new_hash = hash_job(&self.hashing, move || {
            hasher.hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng)).map(|h| h.to_string())
        })
        .await?
        .map_err(internal)?;
        sqlx::query!("UPDATE social_credentials SET password_hash = $2 WHERE reader_id = $1", reader_id, new_hash)
            .execute(&mut *tx)
            .await
            .map_err(|err| db::failure(&err))?;
        let ended_sessions = self.sessions.end_others(&mut tx, reader_id, kept).await?;
        tx.commit().await.map_err(|err| db::failure(&err))?;
        Ok(SessionsEnded { reader_id, ended: ended_sessions, recorded: nothing_recorded() })
    }

    /// Needs the password. Records `ReaderDeleted`, then, in one transaction that commits only
    /// once the ended sessions are announced, forgets the reader's sessions and credentials
    /// (their handle is free again); last, destroys their key. A retry after a failure on the
    /// way finishes the job (deciding the deletion again records nothing), and the projector
    /// destroys the key too when it reads `ReaderDeleted`.
    async fn forget_reader(&self, request: pb::DeleteAccount, sender: Sender) -> Result<SessionsEnded, Rejection> {
        let Sender { meta, reader_id } = sender;
        let mut tx = self.with_password(reader_id, &request.password, "password").await?;
        let command = ReaderCommand::DeleteAccount { reader_id };
        let accepted = match self.store.decide::<domain::Reader>(&social::reader(reader_id), meta, &command, &()).await
        {
            Ok(Ok(accepted)) => accepted,
            Ok(Err(rejection)) => return Err(rejection),
            Err(err) => return Err(bus::unavailable(&err)),
        };
        let ended_sessions = self.sessions.forget_all(&mut tx, reader_id).await?;
        let handle_key =
            sqlx::query_scalar!("DELETE FROM social_credentials WHERE reader_id = $1 RETURNING handle_key", reader_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|err| db::failure(&err))?;
        self.throttle.forget(&mut tx, reader_id, handle_key.as_deref()).await?;
        // The first admin stays bound to this reader, gone: their handle makes nobody admin.
        sqlx::query!("UPDATE social_first_admin SET reader_id = NULL WHERE reader_id = $1", reader_id)
            .execute(&mut *tx)
            .await
            .map_err(|err| db::failure(&err))?;
        tx.commit().await.map_err(|err| db::failure(&err))?;
        if let Err(err) = self.store.keys().destroy(reader_id).await {
            tracing::warn!(error = %err, %reader_id, "could not destroy a deleted reader's key; the projector will");
        }
        Ok(SessionsEnded { reader_id, ended: ended_sessions, recorded: accepted })
    }
}

impl SocialRoutes for Social {
    async fn sign_up(&self, request: pb::SignUp, meta: Metadata) -> Result<SessionOpened, Rejection> {
        self.sign_up_reader(request, meta).await
    }

    async fn sign_in(&self, request: pb::SignIn, _meta: Metadata) -> Result<SessionOpened, Rejection> {
        self.check_sign_in(request).await
    }

    async fn refresh_session(&self, request: pb::RefreshSession, _meta: Metadata) -> Result<SessionOpened, Rejection> {
        let (reader_id, session) = self.sessions.refresh(&request.refresh_token).await?;
        Ok(SessionOpened { reader_id, session, device_token: None, recorded: nothing_recorded() })
    }

    async fn sign_out(&self, request: pb::SignOut, sender: Sender) -> Result<SessionsEnded, Rejection> {
        let session_id = input::id("sessionId", &request.session_id)?;
        self.sessions.end(sender.reader_id, session_id).await?;
        Ok(SessionsEnded { reader_id: sender.reader_id, ended: vec![session_id], recorded: nothing_recorded() })
    }

    async fn change_password(&self, request: pb::ChangePassword, sender: Sender) -> Result<SessionsEnded, Rejection> {
        self.set_password(request, sender).await
    }

    async fn delete_account(&self, request: pb::DeleteAccount, sender: Sender) -> Result<SessionsEnded, Rejection> {
        self.forget_reader(request, sender).await
    }

    async fn set_reading_visibility(
        &self,
        request: pb::SetReadingVisibility,
        sender: Sender,
    ) -> Result<Identified, Rejection> {
        let visibility = Visibility::from_name(&request.visibility)
            .ok_or_else(|| Rejection::invalid("visibility", "visibility is EVERYONE, FOLLOWERS or ONLY_ME"))?;
        let command = ReaderCommand::SetReadingVisibility { reader_id: sender.reader_id, visibility };
        self.decide_reader(command, sender).await
    }

    /// A zone Postgres does not know is refused here, so every read of "today" can use it.
    async fn set_time_zone(&self, request: pb::SetTimeZone, sender: Sender) -> Result<Identified, Rejection> {
        let time_zone = TimeZone::parse("timeZone", request.time_zone.trim())?;
        let known = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) AS "known!""#,
            time_zone.as_str()
        )
        .fetch_one(&self.pool)
        .await
        .map_err(|err| db::failure(&err))?;
        if !known {
            return Err(Rejection::invalid("timeZone", format!("no time zone is named {}", time_zone.as_str())));
        }
        self.decide_reader(ReaderCommand::SetTimeZone { reader_id: sender.reader_id, time_zone }, sender).await
    }

    async fn grant_role(&self, request: pb::GrantRole, sender: Sender) -> Result<Identified, Rejection> {
        let (reader_id, role) = (input::id("readerId", &request.reader_id)?, parse_role(&request.role)?);
        self.decide_role(RoleCommand::Grant { reader_id, role }, sender).await
    }

    async fn revoke_role(&self, request: pb::RevokeRole, sender: Sender) -> Result<Identified, Rejection> {
        let (reader_id, role) = (input::id("readerId", &request.reader_id)?, parse_role(&request.role)?);
        self.decide_role(RoleCommand::Revoke { reader_id, role }, sender).await
    }

    async fn update_profile(&self, request: pb::UpdateProfile, sender: Sender) -> Result<Identified, Rejection> {
        self.decide_profile(request, sender).await
    }

    async fn follow(&self, request: pb::Follow, sender: Sender) -> Result<Identified, Rejection> {
        self.link(LinkCommand::Follow, sender, &request.reader_id).await
    }

    async fn unfollow(&self, request: pb::Unfollow, sender: Sender) -> Result<Identified, Rejection> {
        self.link(LinkCommand::Unfollow, sender, &request.reader_id).await
    }

    async fn block(&self, request: pb::Block, sender: Sender) -> Result<Identified, Rejection> {
        self.link(LinkCommand::Block, sender, &request.reader_id).await
    }

    async fn unblock(&self, request: pb::Unblock, sender: Sender) -> Result<Identified, Rejection> {
        self.link(LinkCommand::Unblock, sender, &request.reader_id).await
    }

    async fn follow_author(&self, request: pb::FollowAuthor, sender: Sender) -> Result<Identified, Rejection> {
        self.decide_author_follow(AuthorFollowCommand::Follow, sender, &request.author_id).await
    }

    async fn unfollow_author(&self, request: pb::UnfollowAuthor, sender: Sender) -> Result<Identified, Rejection> {
        self.decide_author_follow(AuthorFollowCommand::Unfollow, sender, &request.author_id).await
    }

    async fn record_import(&self, request: pb::RecordImport, sender: Sender) -> Result<Recorded, Rejection> {
        self.decide_import(request, sender).await
    }
}
