//! The social service: readers, their profiles and who follows or blocks whom. Answers
//! `<ns>.cmd.social.sign_up` and `update_profile` (deciding against
//! `<ns>.events.social.reader.<id>`), `sign_in`, and `follow`, `unfollow`, `block` and
//! `unblock` (deciding against the pair's `<ns>.events.social.link.<low id>.<high id>`).
//!
//! Credentials live only in this service's own table, `social_credentials`, as argon2id
//! hashes; the event log gets `ReaderRegistered` with the public profile. The table's unique
//! handle key is what makes handles unique across concurrent sign-ups.

pub mod domain;

use std::sync::Arc;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use readstream_contracts::{
    proto::commands::v1 as pb, social, social::SocialService, Code, Metadata, Rejection, Service,
};
use readstream_eventstore::{Accepted, EventStore};
use readstream_runtime::{
    bus::{self, Sender},
    config::StartError,
    db, DatabaseConfig, NatsConfig,
};
use sqlx::PgPool;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::{LinkCommand, ReaderCommand};

pub const SERVICE: &str = SocialService::NAME;

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "readstream-social", about = "The social command service")]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub password_hashing: PasswordHashing,
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
    let pool = readstream_runtime::db::connect_and_migrate(&config.database).await?;
    let (client, store) = config.nats.event_store().await?;
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let hasher = config.password_hashing.hasher()?;
    let social = Social { store, pool, hasher, hashing: Arc::new(Semaphore::new(cores)) };
    bus::Commands::<SocialService, _>::new(social)
        .on_anonymous(|social, request, meta| async move { social.sign_up(request, meta).await })
        .on_anonymous(|social, request, _| async move { social.sign_in(request).await })
        .on(|social, request, sender| async move { social.update_profile(request, sender).await })
        .on(|social, request: pb::Follow, sender| async move {
            social.link(LinkCommand::Follow, sender, &request.reader_id).await
        })
        .on(|social, request: pb::Unfollow, sender| async move {
            social.link(LinkCommand::Unfollow, sender, &request.reader_id).await
        })
        .on(|social, request: pb::Block, sender| async move {
            social.link(LinkCommand::Block, sender, &request.reader_id).await
        })
        .on(|social, request: pb::Unblock, sender| async move {
            social.link(LinkCommand::Unblock, sender, &request.reader_id).await
        })
        .serve(client, &config.nats.namespace, shutdown)
        .await
}

#[derive(Clone)]
struct Social {
    store: EventStore,
    pool: PgPool,
    hasher: Argon2<'static>,
    /// Argon2 costs ~19 MiB and a core for a moment per hash: at most one per core at a time,
    /// so a burst of sign-ins queues instead of exhausting memory.
    hashing: Arc<Semaphore>,
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
    async fn sign_up(&self, request: pb::SignUp, meta: Metadata) -> Result<pb::Reply, Rejection> {
        let reader_id = Uuid::new_v5(&meta.command_id, b"reader");
        let command = domain::SignUp {
            reader_id,
            handle: request.handle,
            display_name: request.display_name,
            password: request.password,
        };
        domain::validate_sign_up(&command)?;
        let password = command.password.clone();
        let hasher = self.hasher.clone();
        let password_hash = hash_job(&self.hashing, move || {
            let salt = SaltString::generate(&mut OsRng);
            hasher.hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
        })
        .await?
        .map_err(internal)?;

        // The credentials row claims the handle; it commits only once the event is stored.
        let mut tx = self.pool.begin().await.map_err(|err| db::failure(&err))?;
        let claimed = sqlx::query_scalar!(
            "INSERT INTO social_credentials (reader_id, handle_key, password_hash)
             VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING
             RETURNING reader_id",
            reader_id,
            handle_key(&command.handle),
            password_hash
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(|err| db::failure(&err))?;
        if claimed.is_none() {
            let holder = sqlx::query_scalar!(
                "SELECT reader_id FROM social_credentials WHERE handle_key = $1",
                handle_key(&command.handle)
            )
            .fetch_optional(&mut *tx)
            .await
            .map_err(|err| db::failure(&err))?;
            // The same command retried finds its own row: answer it as the first time.
            if holder != Some(reader_id) {
                return Err(Rejection {
                    code: Code::AlreadyExists,
                    message: format!("the handle {} is taken", command.handle),
                    field: Some("handle"),
                });
            }
        }
        let command = ReaderCommand::SignUp(command);
        let outcome = self.store.decide::<domain::Reader>(&social::reader(reader_id), meta, &command, &()).await;
        if let Ok(Ok(Accepted { .. })) = &outcome {
            tx.commit().await.map_err(|err| db::failure(&err))?;
        }
        Ok(bus::reply(outcome, reader_id))
    }

    /// Follow, unfollow, block or unblock another reader, on the pair's own subject.
    async fn link(&self, command: LinkCommand, sender: Sender, other: &str) -> Result<pb::Reply, Rejection> {
        let Sender { meta, reader_id: actor } = sender;
        let other = Uuid::parse_str(other).map_err(|_| Rejection::invalid("readerId", "readerId is not a valid id"))?;
        let other_exists = self.store.exists(&social::reader(other)).await.map_err(|e| bus::unavailable(&e))?;
        let facts = domain::LinkFacts { actor, other, other_exists };
        let outcome = self.store.decide::<domain::Link>(&social::link(actor, other), meta, &command, &facts).await;
        Ok(bus::reply(outcome, other))
    }

    async fn update_profile(&self, request: pb::UpdateProfile, sender: Sender) -> Result<pb::Reply, Rejection> {
        let Sender { meta, reader_id } = sender;
        let command = ReaderCommand::UpdateProfile { reader_id, display_name: request.display_name, bio: request.bio };
        let outcome = self.store.decide::<domain::Reader>(&social::reader(reader_id), meta, &command, &()).await;
        Ok(bus::reply(outcome, reader_id))
    }

    async fn sign_in(&self, request: pb::SignIn) -> Result<pb::Reply, Rejection> {
        let credentials = sqlx::query!(
            "SELECT reader_id, password_hash FROM social_credentials WHERE handle_key = $1",
            handle_key(&request.handle)
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(|err| db::failure(&err))?
        .ok_or_else(wrong_credentials)?;
        let password = request.password;
        let stored_hash = credentials.password_hash;
        let hasher = self.hasher.clone();
        let verified = hash_job(&self.hashing, move || {
            PasswordHash::new(&stored_hash).map(|hash| hasher.verify_password(password.as_bytes(), &hash).is_ok())
        })
        .await?
        .map_err(internal)?;
        if !verified {
            return Err(wrong_credentials());
        }
        Ok(bus::accepted(Accepted { position: 0, event_ids: vec![] }, credentials.reader_id))
    }
}
