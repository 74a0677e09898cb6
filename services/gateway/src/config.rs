//! The gateway's settings, from flags or the environment (`readstream-gateway --help`).

use std::{net::SocketAddr, time::Duration};

use readstream_runtime::{config::StartError, health::HealthConfig, DatabaseConfig, NatsConfig};

use crate::limits::LimitsConfig;

/// The shortest `JWT_SECRET` accepted: HS256 is only as strong as its key.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "readstream-gateway", about = "The GraphQL gateway")]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Address to listen on.
    #[arg(long, env = "GATEWAY_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Secret that signs the readers' tokens (HS256), at least 32 bytes. There is no default:
    /// without one the gateway refuses to start, unless `--development` is given.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// A development run: without `JWT_SECRET`, sign with a random secret made at start (tokens
    /// then end with the process).
    #[arg(long, env = "READSTREAM_DEVELOPMENT")]
    pub development: bool,
    /// How long an access token stays valid, in seconds (at most a day); a client keeps its
    /// session going with `refreshSession`.
    #[arg(long, env = "ACCESS_TOKEN_LIFETIME_SECS", default_value_t = 15 * 60)]
    pub access_token_lifetime_secs: u64,
    /// Longest wait, in milliseconds, for the read models to reach a requested position.
    #[arg(long, env = "READ_YOUR_WRITES_TIMEOUT_MS", default_value_t = 5_000)]
    pub read_your_writes_timeout_ms: u64,
    /// Longest wait, in milliseconds, for a command service's answer; past it the outcome is
    /// unknown and the client is told `DEADLINE_EXCEEDED`.
    #[arg(long, env = "COMMAND_TIMEOUT_MS", default_value_t = 5_000)]
    pub command_timeout_ms: u64,
    #[command(flatten)]
    pub limits: LimitsConfig,
    #[command(flatten)]
    pub health: HealthConfig,
    #[command(flatten)]
    pub web: WebConfig,
    /// Print the GraphQL SDL and exit.
    #[arg(long)]
    pub print_schema: bool,
}

/// How the web pages are reached from outside.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WebConfig {
    /// The address readers reach this gateway at, as `url` fields and the pages' links give
    /// it (`https://readstream.example`); by default `http://` and the address it listens on.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Mark the session cookies Secure (sent over HTTPS only) even when neither `PUBLIC_URL`
    /// nor a trusted proxy says the browser is on HTTPS.
    #[arg(long, env = "SECURE_COOKIES")]
    pub secure_cookies: bool,
}

impl WebConfig {
    /// `PUBLIC_URL` without a trailing slash, or `http://<listening address>`.
    pub(crate) fn public_url(&self, listening: SocketAddr) -> Result<String, StartError> {
        match &self.public_url {
            None => Ok(format!("http://{listening}")),
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Ok(url.trim_end_matches('/').to_owned())
            }
            Some(_) => Err(StartError::Config("PUBLIC_URL must start with http:// or https://".into())),
        }
    }
}

/// The secret tokens are signed with: the configured one if it is long enough, a random one
/// for a development run, otherwise none and the gateway does not start.
pub(crate) fn jwt_secret(config: &Config) -> Result<String, StartError> {
    match &config.jwt_secret {
        Some(secret) if secret.len() >= MIN_JWT_SECRET_BYTES => Ok(secret.clone()),
        Some(_) => Err(StartError::Config(format!("JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes"))),
        None if config.development => {
            tracing::warn!("no JWT_SECRET: signing with a random secret; tokens end when the gateway stops");
            Ok(format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()))
        }
        None => Err(StartError::Config(format!(
            "set JWT_SECRET (at least {MIN_JWT_SECRET_BYTES} bytes; `make run` makes one in its data folder), \
             or pass --development"
        ))),
    }
}

/// How long an access token stays valid: at least a second, and no longer than an ended session
/// is remembered (`readstream_runtime::sessions::KEPT_FOR`).
pub(crate) fn token_lifetime(config: &Config) -> Result<Duration, StartError> {
    let lifetime = Duration::from_secs(config.access_token_lifetime_secs);
    if lifetime > readstream_runtime::sessions::KEPT_FOR || lifetime.is_zero() {
        return Err(StartError::Config("ACCESS_TOKEN_LIFETIME_SECS must be 1 to 86400".into()));
    }
    Ok(lifetime)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(jwt_secret: Option<&str>, development: bool) -> Config {
        Config {
            nats: NatsConfig::new("nats://127.0.0.1:1", "rs"),
            database: DatabaseConfig::new("postgres://127.0.0.1:1/unused"),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            jwt_secret: jwt_secret.map(Into::into),
            development,
            access_token_lifetime_secs: 60,
            read_your_writes_timeout_ms: 1,
            command_timeout_ms: 1,
            limits: LimitsConfig::PRODUCTION,
            health: HealthConfig::default(),
            web: WebConfig::default(),
            print_schema: false,
        }
    }

    #[test]
    fn the_gateway_needs_a_secret_of_32_bytes_unless_told_it_is_a_development_run() {
        assert!(matches!(jwt_secret(&config(None, false)), Err(StartError::Config(_))));
        assert!(matches!(jwt_secret(&config(Some("readstream-development-secret"), true)), Err(StartError::Config(_))));
        let own = "k".repeat(MIN_JWT_SECRET_BYTES);
        assert_eq!(jwt_secret(&config(Some(&own), false)).ok(), Some(own));
        let (first, second) = (jwt_secret(&config(None, true)).ok(), jwt_secret(&config(None, true)).ok());
        assert!(first.as_ref().is_some_and(|s| s.len() >= MIN_JWT_SECRET_BYTES));
        assert_ne!(first, second, "a development secret is random, so no one else knows it");
    }
}
