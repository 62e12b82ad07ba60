//! A Redis revocation store for `sealed-session`: logout that holds across every instance of an
//! application, with no network round trip on the request path.
//!
//! A sealed cookie carries the whole session, so logging out means listing the session as
//! revoked until the cookie would have expired anyway. [`RedisRevocationStore`] keeps that list
//! in Redis for the whole fleet, and a copy of it in each instance's memory, which every check
//! reads:
//!
//! ```no_run
//! use std::sync::Arc;
//! use sealed_session::{KeyRing, SessionManager};
//! use sealed_session_redis::RedisRevocationStore;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisRevocationStore::builder("redis://127.0.0.1:6379/").build()?;
//! let sessions = SessionManager::builder(KeyRing::from_env("SESSION_KEYS")?)
//!     .revocation_store(Arc::new(store.clone()))
//!     .build()?;
//! // A logout here (`RequestSession::purge`, `purge_subject`, `purge_other_sessions`, or
//! // `sessions.revoke_subject(..)`) is refused here at once, and on every other instance a
//! // fraction of a millisecond later.
//! println!("{:?}", store.health());
//! # Ok(()) }
//! ```
//!
//! With actix-web, enable the `redis` feature of `sealed-session-actix` and give the middleware
//! the store with `.revocation_store(..)`, or put `"revocation": {"store": "redis", "url": ...}`
//! in its `SessionConfig`.
//!
//! # How it stays consistent
//! - **Writes** go to the local copy at once (its limits, which fold a subject's revocations
//!   into its cutoff or raise the store-wide cutoff, and the check that the session a
//!   revocation acts for is still in force, are decided there, in the same operation), then
//!   what it recorded goes onto a queue that a writer thread drains into one Redis Stream,
//!   `<prefix>rev:log`: one script per batch appends each entry (`XADD`: a session's
//!   `<prefix>rev:id:<id>`, a subject's cutoff `<prefix>rev:sub:<subject>` or the store-wide
//!   one `<prefix>rev:all`, with its value) and trims what no cookie needs any more (`MINID`,
//!   by the longest lifetime appended).
//! - **Reads** never leave the process. A reader thread follows the stream (`XREAD`) into
//!   the local copy, where entries merge by the larger cutoff and the union of ids, from the
//!   start of the stream at start-up and from where it stopped after a reconnect: a reconnect
//!   is a resume, and nothing appended meanwhile is missed.
//! - **Bound**: while the link is up, a logout on one instance is refused on the others after one
//!   append and one read (sub-millisecond on a local network: p50/p99 in
//!   [`sealed_session::guide::revocation`]). While it is down, the instance that
//!   logged out refuses the cookie at once; the others do within
//!   [`max_backoff`](RedisStoreBuilder::max_backoff) of Redis being reachable again from both
//!   sides.
//! - **Durable acknowledgement**: a logout is answered as done only once Redis has it
//!   ([`Durability::Acknowledged`], the default: within 250 ms, else
//!   `RevokeError::NotDurable`, which the application answers with "try again"), so killing
//!   the instance that answered loses nothing. [`Durability::Queued`] is fire and forget.
//!   Behind Sentinel, [`replicas(1)`](RedisStoreBuilder::replicas) makes "Redis has it" mean
//!   "a replica has it too" (`WAIT`), so that a failover promoting that replica loses no
//!   confirmed logout either.
//! - **Outages**: checks go on from the local copy; logouts hold on the instance that made them
//!   at once, are answered "not durable", and stay queued (bounded by
//!   [`max_pending`](RedisStoreBuilder::max_pending)) until Redis takes them. What is still
//!   unwritten at shutdown is saved to the [pending file](RedisStoreBuilder::pending_file) and
//!   written by the next start, or logged one per line. Entries Redis itself lost (a restart
//!   without persistence, a failover to a lagging replica, a `FLUSHDB`, an eviction) are written
//!   back from the instances' copies: each checks, after a reconnect and every
//!   [`reconcile_every`](RedisStoreBuilder::reconcile_every), that the stream still holds the
//!   last entry it read or appended (or that a trim took it). An instance that holds nothing
//!   can't write back what Redis lost while no instance held it: run Redis with persistence
//!   (AOF) and `maxmemory-policy noeviction`, which the store checks ([`EvictingPolicy`]).
//! - **Startup**: [`build`](RedisStoreBuilder::build) waits up to 2 s for the first full read;
//!   until it is done, signed-in sessions are refused without their cookies being removed
//!   ([`UntilLoaded::RefuseSignedIn`], fail closed) or served from an empty copy
//!   ([`UntilLoaded::Serve`], fail open).
//! - **Log out everywhere** raises one cutoff per subject, above every authentication stamp an
//!   instance within the clock skew allowance could have issued; concurrent raises from
//!   several instances resolve to the larger cutoff by the max rule every copy merges with,
//!   whatever order the stream holds them in.
//! - **Sign out my other devices** raises the subject's cutoff to the caller's own
//!   authentication stamp, checked against the local copy (that the caller is still in force)
//!   in the same operation: atomic on the instance that makes it, and in need of no lock across
//!   instances, since cutoffs only rise and merge by the larger whatever the order. A
//!   sign-out-others and a log-out-everywhere of one subject made on two instances within the
//!   propagation window both take effect, and the log-out-everywhere's cutoff ends the session
//!   the sign-out-others kept everywhere; of two sign-out-others, the fresher session stays.
//!   Once a revocation that ended the caller has reached an instance, a sign-out-others there
//!   fails with `RevokeError::Superseded`.
//!
//! Why a stream (and the keys and pub/sub it replaced), the entries' layout, and the measured
//! numbers are in [`sealed_session::guide::revocation`].
//!
//! # Trust, TLS and Sentinel
//! What is read from Redis is bounded: generations and deadlines beyond what any instance's
//! clock allows, and subjects over 1024 bytes, are ignored and counted
//! ([`LinkHealth::refused`]), and other instances' revocations are held apart from the room
//! this instance's logouts need ([`RevocationLimits::remote_total`]). A store the session
//! builder starts from a [`RedisConfig`] tags every entry's value with an HMAC-SHA256 key
//! derived from the session key ring (a store built by hand: with
//! [`RedisStoreBuilder::authenticate_with`]), bound to its name, so that someone who can write
//! to Redis can neither forge nor alter a revocation (deleting one stays possible); an entry
//! appended again is the same revocation, so playing one back changes nothing. `rediss://` URLs connect
//! with TLS (rustls, ring); [`RedisStoreBuilder::tls_root_certificates`] trusts a private CA.
//! `redis+sentinel://host:26379,host:26379/service` finds the primary through Sentinel; Redis
//! Cluster is refused ([`BuildError::ClusterUnsupported`]). What each allows is in
//! [`sealed_session::guide::security`].
//!
//! [`RevocationLimits::remote_total`]: sealed_session::revocation::RevocationLimits::remote_total
//!
//! # Observability
//! [`RedisRevocationStore::health`] returns a [`LinkHealth`], whose [`LinkStatus`] is the one
//! word to alert on (`Up`, `Starting`, `Down`, `EvictingPolicy`, `CommandErrors`); a stalled
//! Redis shows as `Down` within about a second. Link changes, full reads, losses and
//! write-backs, refused commands
//! (naming the command), write failures and drained backlogs are logged under the `tracing`
//! target [`LOG_TARGET`], with an `event` field. The local copy's limits say so under the core's
//! target, `sealed_session`: `revocation_fold` (a subject's revocations folded into its cutoff)
//! and `revocation_overflow` (the copy at its total: a store-wide cutoff raised, or an anonymous
//! session's logout refused), counted by [`RedisRevocationStore::folds`] and
//! [`RedisRevocationStore::overflows`].
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

/// README.md, shown on crates.io: its example compiles and runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

// The parts, each importing only those listed before it (no cycles):
// - wire format and trust: `trust` (bounds, refusals), `keys` (entries, the pending file's
//   lines, tags), `stream` (the append and check scripts, ids, reads); `queue` (this
//   instance's writes waiting for Redis);
// - settings and link health: `error`, `target` (the URL, Sentinel), `config`, `health`;
// - state: `acknowledgement` (the logouts waiting for Redis), `shared` (what the handle and the
//   threads share), `pending` (the file of unwritten revocations that outlives a stop);
// - transport and threads: `link` (connections, backoff, link failures), `writer`, `reader`;
// - the store itself: `store` (the public handle, its `RevocationStore` impl, start and stop).
mod acknowledgement;
mod config;
mod error;
mod health;
mod keys;
mod link;
mod pending;
mod queue;
mod reader;
mod shared;
mod store;
mod stream;
mod target;
mod trust;
mod writer;

pub use config::{
    DEFAULT_PREFIX, Durability, EvictingPolicy, RedisConfig, RedisStoreBuilder, RevocationConfig,
    UntilLoaded,
};
pub use error::BuildError;
pub use health::{LinkHealth, LinkStatus};
pub use store::RedisRevocationStore;

/// The `tracing` target of every event of this crate.
pub const LOG_TARGET: &str = "sealed_session_redis";

/// The commands the store sends (scripts' own calls included, which Redis's ACLs check too),
/// in the form `ACL SETUSER` takes after a `+`: what an ACL user of its own needs, with the
/// store's keys (`~<prefix>*`) and no channel. `config|get` and `info` are optional (without
/// them the store can't check Redis's eviction policy, and says so once, or refuse a server in
/// cluster mode); `role` is used through Sentinel only.
///
/// ```
/// // ACL SETUSER sessions on >password ~sealed-session:* resetchannels +eval +xadd ...
/// let grants: Vec<String> = sealed_session_redis::REQUIRED_COMMANDS
///     .iter()
///     .map(|command| format!("+{command}"))
///     .collect();
/// assert!(grants.contains(&"+xread".to_owned()));
/// ```
pub const REQUIRED_COMMANDS: &[&str] = &[
    "eval",         // the append and check scripts (stream.rs)
    "xadd",         // in the append script
    "get",          // in the append script: the retention held
    "set",          // in the append script: the retention raised
    "ttl",          // in the append script: the retention's expiry
    "time",         // in the append script: Redis's clock, which trims
    "exists",       // in the check script
    "xrange",       // in the check script
    "xinfo|stream", // in both scripts: entries-added, max-deleted-entry-id
    "xread",        // the reader
    "wait",         // with replicas(n)
    "info",         // refusing a server in cluster mode (optional)
    "role",         // a primary found through Sentinel is checked with it
    "config|get",   // maxmemory-policy (optional)
    "select",       // a database number in the URL
];

/// The session settings as a configuration file holds them, with `"revocation"` choosing this
/// process's memory store (`{"store": "memory"}`, the default) or a Redis store shared by every
/// instance (`{"store": "redis", "url": ..., "prefix": ...}`, checked when the file is read): the
/// core's [`SessionConfig`](sealed_session::SessionConfig) with [`RevocationConfig`]. What both
/// web adapters' `SessionConfig` is with their `redis` feature, so the format is the same on
/// either stack.
///
/// ```
/// use sealed_session::SessionManager;
/// use sealed_session_redis::SessionConfig;
///
/// # let key = sealed_session::SecretKey::generate().to_base64();
/// let json = format!(r#"{{
///     "keys": "{}",
///     "idle_timeout_secs": 1800,
///     "same_site": "strict",
///     "revocation": {{ "store": "memory" }}
/// }}"#, *key);
/// let config: SessionConfig = serde_json::from_str(&json)?;
/// // An adapter's middleware builds the same way: `let m: CookieSessionMiddleware = ...`.
/// let sessions: SessionManager = config.build()?;
///
/// // A Redis URL that isn't one is refused when the file is read.
/// let bad = r#"{ "keys_env": "SESSION_KEYS", "revocation": { "store": "redis", "url": "http://x" } }"#;
/// assert!(serde_json::from_str::<SessionConfig>(bad).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type SessionConfig = sealed_session::SessionConfig<RevocationConfig>;
