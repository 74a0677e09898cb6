//! What one client may ask of the gateway: how often (per address and per reader, stricter for
//! signing in), how large and how wide a query may be, how long a request may run, and what a
//! WebSocket may hold. Every refusal carries a code: `RATE_LIMITED` (with `retryAfter`, and HTTP
//! `Retry-After`), `LIMIT_EXCEEDED` or `INVALID_ARGUMENT`.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::http::HeaderMap;
use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::ApiError;

/// The limits, each set by its own variable; the defaults are sized for production, and a
/// rate of 0 turns that rate limit off (tests and benchmarks set their own).
#[derive(Debug, Clone, clap::Args)]
pub struct LimitsConfig {
    /// Requests per second one client address may make, sustained (0: no limit).
    #[arg(long, env = "RATE_LIMIT_CLIENT_PER_SECOND", default_value_t = LimitsConfig::PRODUCTION.client_per_second)]
    pub client_per_second: u32,
    /// Requests one client address may make at once.
    #[arg(long, env = "RATE_LIMIT_CLIENT_BURST", default_value_t = LimitsConfig::PRODUCTION.client_burst)]
    pub client_burst: u32,
    /// Requests per second one signed-in reader may make, from any address (0: no limit).
    #[arg(long, env = "RATE_LIMIT_READER_PER_SECOND", default_value_t = LimitsConfig::PRODUCTION.reader_per_second)]
    pub reader_per_second: u32,
    /// Requests one signed-in reader may make at once.
    #[arg(long, env = "RATE_LIMIT_READER_BURST", default_value_t = LimitsConfig::PRODUCTION.reader_burst)]
    pub reader_burst: u32,
    /// `signIn` and `signUp` fields per minute from one client address, each aliased field
    /// counted (0: no limit).
    #[arg(long, env = "RATE_LIMIT_SIGN_IN_PER_MINUTE", default_value_t = LimitsConfig::PRODUCTION.sign_in_per_minute)]
    pub sign_in_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` names the client (comma-separated addresses). From any
    /// other peer the header is ignored and the socket's address is the client's.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,
    /// Largest request body accepted, in bytes; a larger one is refused with 413 before it is read.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = LimitsConfig::PRODUCTION.max_body_bytes)]
    pub max_body_bytes: usize,
    /// Largest multipart request (a library import's upload) accepted, in bytes.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = LimitsConfig::PRODUCTION.max_upload_bytes)]
    pub max_upload_bytes: usize,
    /// Most fields one operation may ask for at its root (fragments counted where spread).
    #[arg(long, env = "MAX_ROOT_FIELDS", default_value_t = LimitsConfig::PRODUCTION.max_root_fields)]
    pub max_root_fields: usize,
    /// Most aliased fields one document may hold (fragments counted where spread).
    #[arg(long, env = "MAX_ALIASES", default_value_t = LimitsConfig::PRODUCTION.max_aliases)]
    pub max_aliases: usize,
    /// Most fields one operation may nest in one another.
    #[arg(long, env = "MAX_QUERY_DEPTH", default_value_t = LimitsConfig::PRODUCTION.max_query_depth)]
    pub max_query_depth: usize,
    /// Most a document may cost: each field one, a page its size times what each item asks for.
    #[arg(long, env = "MAX_QUERY_COST", default_value_t = LimitsConfig::PRODUCTION.max_query_cost)]
    pub max_query_cost: usize,
    /// Longest a query or mutation may run, in milliseconds (`DEADLINE_EXCEEDED` past it).
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = LimitsConfig::PRODUCTION.request_timeout_ms)]
    pub request_timeout_ms: u64,
    /// How long a new WebSocket may take to send `connection_init`, in milliseconds.
    #[arg(long, env = "WS_INIT_TIMEOUT_MS", default_value_t = LimitsConfig::PRODUCTION.ws_init_timeout_ms)]
    pub ws_init_timeout_ms: u64,
    /// Most subscriptions running at once on one WebSocket.
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS", default_value_t = LimitsConfig::PRODUCTION.ws_max_subscriptions)]
    pub ws_max_subscriptions: usize,
    /// Most queries and mutations in flight at once on one WebSocket (one over an HTTP
    /// connection); past it one is answered `LIMIT_EXCEEDED`.
    #[arg(long, env = "WS_MAX_IN_FLIGHT", default_value_t = LimitsConfig::PRODUCTION.ws_max_in_flight)]
    pub ws_max_in_flight: usize,
    /// Largest WebSocket message a client may send, in bytes.
    #[arg(long, env = "WS_MAX_MESSAGE_BYTES", default_value_t = LimitsConfig::PRODUCTION.ws_max_message_bytes)]
    pub ws_max_message_bytes: usize,
    /// Most WebSockets open at once from one client address.
    #[arg(long, env = "WS_MAX_CONNECTIONS_PER_CLIENT", default_value_t = LimitsConfig::PRODUCTION.ws_max_connections_per_client)]
    pub ws_max_connections_per_client: usize,
    /// Most items a subscription's `since` replays; past it the subscription sends what it
    /// replayed and ends with `LIMIT_EXCEEDED`, to be resumed from the last item's position.
    #[arg(long, env = "MAX_REPLAY_ITEMS", default_value_t = LimitsConfig::PRODUCTION.max_replay_items)]
    pub max_replay_items: usize,
}

impl LimitsConfig {
    /// The defaults: generous for an app, tight for a script guessing passwords.
    pub const PRODUCTION: LimitsConfig = LimitsConfig {
        client_per_second: 50,
        client_burst: 100,
        reader_per_second: 20,
        reader_burst: 60,
        sign_in_per_minute: 10,
        trusted_proxies: Vec::new(),
        max_body_bytes: 1 << 20,
        max_upload_bytes: 64 << 20,
        max_root_fields: 20,
        max_aliases: 30,
        max_query_depth: 16,
        max_query_cost: 5_000,
        request_timeout_ms: 30_000,
        ws_init_timeout_ms: 10_000,
        ws_max_subscriptions: 100,
        ws_max_in_flight: 16,
        ws_max_message_bytes: 64 << 10,
        ws_max_connections_per_client: 20,
        max_replay_items: 1_000,
    };

    /// The production limits with every rate limit off: for tests and benchmarks whose many
    /// clients all come from one address.
    pub fn without_rate_limits() -> Self {
        Self { client_per_second: 0, reader_per_second: 0, sign_in_per_minute: 0, ..Self::PRODUCTION }
    }
}

/// The client a request comes from, as the rate limits count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    /// An address as a client: IPv4 as it is, IPv6 by its /64 (one subscriber's whole
    /// network, which they may spread requests over at will).
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => ClientAddress(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientAddress(IpAddr::V4(v4)),
                None => ClientAddress(IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into())),
            },
        }
    }
}

/// The limits as the gateway applies them.
pub struct Limits {
    pub config: LimitsConfig,
    per_client: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_reader: Option<DefaultKeyedRateLimiter<Uuid>>,
    sign_in: Option<DefaultKeyedRateLimiter<IpAddr>>,
    websockets: Mutex<HashMap<IpAddr, usize>>,
}

fn quota(per: fn(NonZeroU32) -> Quota, rate: u32, burst: u32) -> Option<Quota> {
    let rate = NonZeroU32::new(rate)?;
    Some(per(rate).allow_burst(NonZeroU32::new(burst).unwrap_or(rate)))
}

impl Limits {
    pub fn new(config: LimitsConfig) -> Self {
        let per_client = quota(Quota::per_second, config.client_per_second, config.client_burst);
        let per_reader = quota(Quota::per_second, config.reader_per_second, config.reader_burst);
        let sign_in = quota(Quota::per_minute, config.sign_in_per_minute, config.sign_in_per_minute);
        Self {
            per_client: per_client.map(RateLimiter::keyed),
            per_reader: per_reader.map(RateLimiter::keyed),
            sign_in: sign_in.map(RateLimiter::keyed),
            websockets: Mutex::default(),
            config,
        }
    }

    /// Whether `peer` is one of `TRUSTED_PROXIES`, whose `X-Forwarded-*` headers are believed.
    pub fn is_trusted_proxy(&self, peer: std::net::IpAddr) -> bool {
        self.config.trusted_proxies.contains(&peer)
    }

    /// The client's address: the socket's, or the nearest untrusted hop of `X-Forwarded-For`
    /// when the socket is a trusted proxy; an IPv6 address by its /64, what one subscriber
    /// is given (an IPv4 address mapped into IPv6 as itself).
    pub fn client_address(&self, peer: SocketAddr, headers: &HeaderMap) -> ClientAddress {
        let peer = peer.ip();
        if !self.config.trusted_proxies.contains(&peer) {
            return ClientAddress::of(peer);
        }
        let hops = headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok());
        let hops: Vec<IpAddr> =
            hops.flat_map(|value| value.split(',')).filter_map(|hop| hop.trim().parse().ok()).collect();
        let client = hops.into_iter().rev().find(|hop| !self.config.trusted_proxies.contains(hop));
        ClientAddress::of(client.unwrap_or(peer))
    }

    /// Counts one request from `client`, before its token is even looked at.
    pub fn request(&self, client: ClientAddress) -> Result<(), ApiError> {
        check(self.per_client.as_ref(), &client.0, "requests from this address")
    }

    /// Counts one request of a signed-in reader, from whichever address.
    pub fn reader_request(&self, reader: Uuid) -> Result<(), ApiError> {
        check(self.per_reader.as_ref(), &reader, "requests from this reader")
    }

    /// Counts one `signIn` or `signUp` from `client`.
    pub fn sign_in(&self, client: ClientAddress) -> Result<(), ApiError> {
        check(self.sign_in.as_ref(), &client.0, "sign-ins and sign-ups from this address")
    }

    /// Holds one of `client`'s WebSocket places until the returned guard is dropped.
    pub fn open_websocket(self: &Arc<Self>, client: ClientAddress) -> Result<WebSocketPlace, ApiError> {
        let mut open = self.websockets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(client.0).or_default();
        if *count >= self.config.ws_max_connections_per_client {
            return Err(ApiError::limit_exceeded(format!(
                "at most {} WebSockets may be open from one address (WS_MAX_CONNECTIONS_PER_CLIENT)",
                self.config.ws_max_connections_per_client
            )));
        }
        *count += 1;
        Ok(WebSocketPlace { limits: self.clone(), client })
    }

    /// Forgets the clients whose buckets are full again, so the tables stay as small as the
    /// set of recent clients.
    pub fn forget_idle_clients(&self) {
        for limiter in [&self.per_client, &self.sign_in].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.per_reader {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Forgets idle clients every minute, until `shutdown`.
    pub async fn forget_idle_clients_every_minute(self: Arc<Self>, shutdown: CancellationToken) {
        let mut every_minute = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every_minute.tick() => self.forget_idle_clients(),
            }
        }
    }
}

fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: Option<&DefaultKeyedRateLimiter<K>>,
    key: &K,
    what: &str,
) -> Result<(), ApiError> {
    let Some(limiter) = limiter else { return Ok(()) };
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(limiter.clock().now());
        ApiError::rate_limited(what, wait)
    })
}

/// One open WebSocket of a client; dropping it frees the place.
pub struct WebSocketPlace {
    limits: Arc<Limits>,
    client: ClientAddress,
}

impl Drop for WebSocketPlace {
    fn drop(&mut self) {
        let mut open = self.limits.websockets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.client.0) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.client.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(config: LimitsConfig) -> Arc<Limits> {
        Arc::new(Limits::new(config))
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40_000)
    }

    #[test]
    fn a_client_is_refused_past_its_burst_and_told_when_to_come_back() {
        let limits = limits(LimitsConfig { client_per_second: 1, client_burst: 3, ..LimitsConfig::PRODUCTION });
        let client = ClientAddress("10.0.0.1".parse().unwrap());
        for _ in 0..3 {
            limits.request(client).unwrap();
        }
        let refused = limits.request(client).unwrap_err();
        assert_eq!(refused.code, readstream_contracts::Code::RateLimited);
        assert_eq!(refused.retry_after_secs, Some(1));
        limits.request(ClientAddress("10.0.0.2".parse().unwrap())).unwrap();
    }

    #[test]
    fn a_reader_is_counted_apart_from_addresses() {
        let limits =
            limits(LimitsConfig { reader_per_second: 1, reader_burst: 2, ..LimitsConfig::without_rate_limits() });
        let reader = Uuid::now_v7();
        limits.reader_request(reader).unwrap();
        limits.reader_request(reader).unwrap();
        assert!(limits.reader_request(reader).is_err());
        assert!(limits.reader_request(Uuid::now_v7()).is_ok());
    }

    #[test]
    fn signing_in_has_its_own_stricter_count() {
        let limits = limits(LimitsConfig { sign_in_per_minute: 2, ..LimitsConfig::PRODUCTION });
        let client = ClientAddress("10.0.0.1".parse().unwrap());
        limits.sign_in(client).unwrap();
        limits.sign_in(client).unwrap();
        let refused = limits.sign_in(client).unwrap_err();
        assert!(refused.retry_after_secs.is_some_and(|secs| (1..=30).contains(&secs)), "{refused:?}");
        limits.request(client).unwrap();
    }

    #[test]
    fn a_forwarded_address_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        let limits = limits(LimitsConfig { trusted_proxies: vec![proxy], ..LimitsConfig::PRODUCTION });
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "1.2.3.4, 5.6.7.8, 10.0.0.9".parse().unwrap());
        let forwarded = limits.client_address(SocketAddr::new(proxy, 1), &headers);
        assert_eq!(forwarded, ClientAddress("5.6.7.8".parse().unwrap()), "the nearest hop the proxy did not add");
        let direct = limits.client_address(peer("192.0.2.1"), &headers);
        assert_eq!(direct, ClientAddress("192.0.2.1".parse().unwrap()), "anyone can write the header");
    }

    #[test]
    fn an_ipv6_client_is_its_64_and_a_mapped_ipv4_one_its_ipv4_address() {
        let limits = limits(LimitsConfig { client_per_second: 1, client_burst: 1, ..LimitsConfig::PRODUCTION });
        let first = limits.client_address(peer("2001:db8:1:2::1"), &HeaderMap::new());
        let same_network = limits.client_address(peer("2001:db8:1:2:ffff:ffff:ffff:ffff"), &HeaderMap::new());
        assert_eq!(first, same_network);
        assert_eq!(first, ClientAddress("2001:db8:1:2::".parse().unwrap()));
        limits.request(first).unwrap();
        assert!(limits.request(same_network).is_err(), "another address of the same /64 shares its rate");
        assert!(limits.request(limits.client_address(peer("2001:db8:1:3::1"), &HeaderMap::new())).is_ok());
        let mapped = limits.client_address(peer("::ffff:192.0.2.7"), &HeaderMap::new());
        assert_eq!(mapped, ClientAddress("192.0.2.7".parse().unwrap()));
    }

    #[test]
    fn a_client_holds_at_most_its_websockets_and_gets_them_back_when_they_close() {
        let limits = limits(LimitsConfig { ws_max_connections_per_client: 2, ..LimitsConfig::PRODUCTION });
        let client = ClientAddress("10.0.0.1".parse().unwrap());
        let first = limits.open_websocket(client).unwrap();
        let _second = limits.open_websocket(client).unwrap();
        assert!(limits.open_websocket(client).is_err());
        drop(first);
        limits.open_websocket(client).unwrap();
    }
}
