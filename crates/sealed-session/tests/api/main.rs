//! Tests of sealed-session's public API, in one test binary: round trips, tampering, expiry,
//! key rotation, garbage input and error messages. Shared fixtures live here.

mod chunks; // Sessions over several cookies: the field's chunking bugs, one test each.
mod confirmation_interleavings; // One request's revoking calls, its store's answers in any order.
mod durability; // A store that can't confirm or can't tell yet: what each logout leaves behind.
mod errors; // Display and Debug of every error and of key-holding types: wording and no leaks.
mod expiry; // Absolute, idle, clock-skew and not-before boundaries, and the order of the checks.
mod fuzz_seeds; // Fuzz seed corpus: checks each seed's outcome; writes it on demand (ignored).
mod garbage; // Input that is no cookie at all: always an `OpenError`, never a panic.
mod invariants; // The logout invariants of docs/security.md, one scenario each.
mod lifetimes; // `session_lifecycle`: each kind's `Max-Age` and the timeouts it sets with it.
mod random_source; // `dangerous().random_source`: reproducible cookies; the default never repeats.
mod rotation; // Key rotation: fallback keys, re-sealing, staged `open-only:` keys.
mod round_trip; // Property tests: seal then open gives the same state, size limits are exact.
mod simulation; // The revocation protocol across instances: random interleavings, an oracle.
mod tamper; // Tampered, truncated, renamed, re-keyed, mode-swapped and revoked cookies.
mod typed_values; // Values keep their type through a cookie: wrong-type reads, serde shapes.
mod updates; // `update`, `update_or`, `values`: actix-session's semantics, typed errors.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sealed_session::adapter::{CookieUpdate, RequestInfo, RequestSession};
use sealed_session::clock::ManualClock;
use sealed_session::codec::{Codec, CodecBuilder, Opened, SessionState};
use sealed_session::revocation::{Generation, MemoryRevocationStore};
use sealed_session::{
    KeyRing, Mode, OpenError, SecretKey, SessionBuilder, SessionId, SessionManager,
};
pub(crate) use sealed_session_test_support::secret_bytes;
use time::OffsetDateTime;

/// Both modes, for tests that must hold in each.
pub(crate) const MODES: [Mode; 2] = [Mode::Encrypted, Mode::Signed];

/// 2030-01-01 00:00:00 UTC: the tests' "now".
pub(crate) const T0: i64 = 1_893_456_000;

/// Unix seconds to a time.
pub(crate) fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).expect("in range")
}

/// The fixture secret of `seed` ([`secret_bytes`]), as a key.
pub(crate) fn secret(seed: u8) -> SecretKey {
    SecretKey::from_bytes(&secret_bytes(seed)).expect("32 distinct bytes make a valid secret")
}

/// The configuration (base64) form of [`secret`].
pub(crate) fn b64(seed: u8) -> String {
    secret(seed).to_base64().to_string()
}

/// A builder with a ring of the one key `seed` and `mode`.
pub(crate) fn builder(seed: u8, mode: Mode) -> CodecBuilder {
    Codec::builder(KeyRing::new(secret(seed))).mode(mode)
}

/// [`builder`], built.
pub(crate) fn codec(seed: u8, mode: Mode) -> Codec {
    builder(seed, mode).build().expect("valid settings")
}

/// Opens `value` with `codec` at `T0`, keeping the state.
pub(crate) fn open(codec: &Codec, value: &str) -> Result<SessionState, OpenError> {
    codec.open_at(value, at(T0)).map(Opened::into_state)
}

/// A lifecycle builder with a ring of the one key `seed` and `mode` (cookie `__Host-id`).
pub(crate) fn lifecycle_builder(seed: u8, mode: Mode) -> SessionBuilder {
    SessionManager::builder(KeyRing::new(secret(seed))).mode(mode)
}

/// A lifecycle with a manual clock stopped at `T0` and a memory revocation store, both kept
/// at hand.
pub(crate) struct Sessions {
    pub(crate) lifecycle: SessionManager,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) store: Arc<MemoryRevocationStore>,
}

/// Builds `builder` with a manual clock at `T0` and a fresh memory revocation store.
pub(crate) fn sessions(builder: SessionBuilder) -> Sessions {
    let clock = Arc::new(ManualClock::new(at(T0)));
    let store = Arc::new(MemoryRevocationStore::new());
    let lifecycle = builder
        .clock(clock.clone())
        .revocation_store(store.clone())
        .build()
        .expect("valid settings");
    Sessions {
        lifecycle,
        clock,
        store,
    }
}

impl Sessions {
    /// Seals `state` as the lifecycle's codec does (its cookie name and timeouts).
    pub(crate) fn seal(&self, state: &SessionState) -> String {
        self.lifecycle.codec().seal(state).expect("fits")
    }

    /// A request carrying the cookie `value` (if any) under the lifecycle's name, at the
    /// clock's time.
    pub(crate) fn request(&self, value: Option<&str>) -> RequestSession {
        self.request_at(value, self.lifecycle.now())
    }

    /// [`Sessions::request`] at `now`.
    pub(crate) fn request_at(&self, value: Option<&str>, now: OffsetDateTime) -> RequestSession {
        let header = value.map(|v| format!("{}={v}", self.lifecycle.cookie_name()));
        self.lifecycle.open_at(
            header.iter().map(String::as_bytes),
            RequestInfo::new("/"),
            now,
        )
    }

    /// Why the lifecycle refuses the cookie `value` at `now`, if it does.
    pub(crate) fn refusal_at(&self, value: &str, now: OffsetDateTime) -> Option<OpenError> {
        self.request_at(Some(value), now).refusal()
    }
}

/// The cookie value a `Set-Cookie` of [`RequestSession::finish`] sets.
pub(crate) fn set_value(update: &CookieUpdate) -> String {
    let header = match update {
        CookieUpdate::Set(h) | CookieUpdate::Refresh(h) => h,
        other => panic!("no cookie set: {other:?}"),
    };
    let pair = header.split(';').next().expect("a name=value pair");
    pair.split_once('=').expect("name=value").1.to_owned()
}

/// A session with a fixed id, created and last active at `created`, with a subject and data.
pub(crate) fn session(id: u8, created: i64) -> SessionState {
    let mut state = SessionState::with_id(SessionId::from_bytes([id; 16]), at(created));
    state.set_subject("alice", Generation::ZERO);
    state.insert("user_id", &42u64).expect("encodes");
    state.insert("email", "alice@example.com").expect("encodes");
    state
}

/// The decoded envelope of a cookie value.
pub(crate) fn decode(cookie: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(cookie)
        .expect("a sealed cookie is base64url")
}

/// The cookie value of an envelope.
pub(crate) fn encode(envelope: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(envelope)
}

/// Bytes the envelope adds around the body (header, then nonce and tag, or MAC).
pub(crate) fn overhead(mode: Mode) -> usize {
    match mode {
        Mode::Signed => 6 + 32,
        _ => 6 + 24 + 16,
    }
}

/// A small, fast, seeded generator (SplitMix64): the random interleavings' (`simulation`,
/// `confirmation_interleavings`), replayable from their seed.
#[derive(Clone)]
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n, a usize")
    }

    /// One of `from`, which is not empty.
    pub(crate) fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }
}

/// The environment variable `name` as a number, if it is one (the seeds and sizes the random
/// interleavings take from it).
pub(crate) fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Locks `mutex`, whether or not a panicking thread poisoned it (a failing check panics while
/// test stores are shared).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
