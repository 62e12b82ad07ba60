//! The Redis revocation store against a real redis-server (`scripts/with-redis.sh` starts one
//! on loopback): one test binary for the store.
//!
//! - [`sharing`]: logouts shared between instances over HTTP, and its configuration.
//! - [`store`]: what the store writes to Redis and what it reads back.
//! - [`stream`]: the stream's retention, resumes, trims and losses.
//! - [`stream_faults`]: losses found while reading, refused write-backs, foreign writers.
//! - [`faults`]: Redis lost, restarted, flushed or slow, and instances killed.
//! - [`trust`]: authenticated entries, and what a Redis writer can't do.
//! - [`pending`]: the file of logouts a stop leaves unwritten.
//! - [`sentinel`]: `redis+sentinel://` against a real sentinel.
//! - [`replicas`]: logouts confirmed by a replica (`WAIT`), through Sentinel failovers.
//! - [`tls`]: `rediss://` with a private CA.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sealed_session::SessionId;
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{Cutoff, Generation, Revocation, RevocationStore};
use sealed_session_redis::RedisRevocationStore;
use sealed_session_test_support::redis_url;

mod faults;
mod pending;
mod replicas;
mod sentinel;
mod sharing;
mod store;
mod stream;
mod stream_faults;
mod tls;
mod trust;

/// What the stream `<prefix>rev:log` holds, in order: each entry's `k` (the name: what is
/// revoked) and `v` (its value), as the store appended them (or as a test did).
pub(crate) fn stream_entries(con: &mut redis::Connection, prefix: &str) -> Vec<(String, String)> {
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(format!("{prefix}rev:log"))
        .arg("-")
        .arg("+")
        .query(con)
        .unwrap();
    entries
        .into_iter()
        .map(|(id, fields)| {
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(f, _)| f == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("entry {id} has no `{name}`"))
            };
            (field("k"), field("v"))
        })
        .collect()
}

/// The value of the last entry named `name` in the stream, if any: what a reader merges last
/// for that name.
pub(crate) fn last_value(con: &mut redis::Connection, prefix: &str, name: &str) -> Option<String> {
    stream_entries(con, prefix)
        .into_iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Appends an entry to `<prefix>rev:log` as another writer to Redis would (a forger, or an
/// old copy played again); returns its id.
pub(crate) fn append(con: &mut redis::Connection, prefix: &str, name: &str, value: &str) -> String {
    redis::cmd("XADD")
        .arg(format!("{prefix}rev:log"))
        .arg("*")
        .arg("k")
        .arg(name)
        .arg("v")
        .arg(value)
        .query(con)
        .unwrap()
}

/// What `<prefix>rev:retention` holds: how long the stream keeps entries (seconds), and until
/// when (unix seconds, by Redis's clock) that retention is kept.
pub(crate) fn retention(con: &mut redis::Connection, prefix: &str) -> Option<(u64, u64)> {
    let value: Option<String> = redis::cmd("GET")
        .arg(format!("{prefix}rev:retention"))
        .query(con)
        .unwrap();
    let value = value?;
    let (seconds, until) = value
        .split_once(' ')
        .unwrap_or_else(|| panic!("a retention is \"<seconds> <until>\": {value:?}"));
    Some((seconds.parse().unwrap(), until.parse().unwrap()))
}

/// The real clock, as unix time (the stores of [`stream`] and [`stream_faults`] run on it).
pub(crate) fn now() -> UnixTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    UnixTime::from_secs(secs)
}

/// An anonymous session's logout on `store`, confirmed by Redis.
pub(crate) fn logout(store: &RedisRevocationStore, until: UnixTime) -> SessionId {
    let id = SessionId::random().unwrap();
    let anonymous = Revocation::Session {
        id,
        subject: None,
        until,
    };
    store.revoke(anonymous, now()).unwrap();
    assert!(store.flush(Duration::from_secs(10)), "{:?}", store.health());
    id
}

/// "Log out everywhere" of `subject` on `store`, for an hour, confirmed by Redis.
pub(crate) fn log_out_everywhere(store: &RedisRevocationStore, subject: &str) {
    let above = Generation::everywhere_at(now().to_datetime(), time::Duration::minutes(1));
    let until = now().saturating_add_secs(3_600);
    store
        .advance(subject, Cutoff::Everything { above }, until, now())
        .unwrap();
    assert!(store.flush(Duration::from_secs(10)), "{:?}", store.health());
}

/// Whether `store` holds a cutoff of `subject`.
pub(crate) fn knows(store: &RedisRevocationStore, subject: &str) -> bool {
    store.generation(subject) > Generation::ZERO
}

/// Whether the stream holds an entry named `name`.
pub(crate) fn holds(con: &mut redis::Connection, prefix: &str, name: &str) -> bool {
    stream_entries(con, prefix).iter().any(|(k, _)| k == name)
}

/// A plain connection to the run's Redis, to look at (and change) what the stores wrote.
pub(crate) fn raw() -> redis::Connection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_connection()
        .unwrap()
}

/// Polls (bounded by 10 s) until `check` holds.
pub(crate) fn eventually(what: &str, check: impl FnMut() -> bool) {
    eventually_within(what, Duration::from_secs(10), check);
}

/// Polls (bounded by `within`) until `check` holds.
pub(crate) fn eventually_within(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}
