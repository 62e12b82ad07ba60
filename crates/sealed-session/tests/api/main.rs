//! Tests of sealed-session's public API, in one test binary: round trips, tampering, expiry,
//! key rotation, garbage input and error messages. Shared fixtures live here.

mod errors; // Display and Debug of every error and of key-holding types: wording and no leaks.
mod expiry; // Absolute, idle, clock-skew and not-before boundaries, and the order of the checks.
mod fuzz_seeds; // Fuzz seed corpus: checks each seed's outcome; writes it on demand (ignored).
mod garbage; // Input that is no cookie at all: always an `OpenError`, never a panic.
mod rotation; // Key rotation: fallback keys, re-sealing, staged `open-only:` keys.
mod round_trip; // Property tests: seal then open gives the same state, size limits are exact.
mod tamper; // Tampered, truncated, renamed, re-keyed, mode-swapped and revoked cookies.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sealed_session::{
    Codec, CodecBuilder, KeyRing, ManualClock, MemoryRevocationStore, Mode, SecretKey, SessionId,
    SessionState,
};
use time::OffsetDateTime;

/// Both modes, for tests that must hold in each.
pub(crate) const MODES: [Mode; 2] = [Mode::Encrypted, Mode::Signed];

/// 2030-01-01 00:00:00 UTC: the tests' "now".
pub(crate) const T0: i64 = 1_893_456_000;

/// Unix seconds to a time.
pub(crate) fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).expect("in range")
}

/// A fixed, valid 32-byte secret: `seed, seed + 7, seed + 14, ...` (32 distinct bytes).
pub(crate) fn secret(seed: u8) -> SecretKey {
    SecretKey::from_bytes(&secret_bytes(seed)).expect("32 distinct bytes make a valid secret")
}

/// The bytes of [`secret`].
pub(crate) fn secret_bytes(seed: u8) -> Vec<u8> {
    (0u8..32)
        .map(|i| seed.wrapping_add(i.wrapping_mul(7)))
        .collect()
}

/// The configuration (base64) form of [`secret`].
pub(crate) fn b64(seed: u8) -> String {
    secret(seed).to_base64().to_string()
}

/// A builder with a ring of the one key `seed`, `mode`, and a manual clock stopped at `T0`.
pub(crate) fn builder(seed: u8, mode: Mode) -> CodecBuilder {
    Codec::builder(KeyRing::new(secret(seed)))
        .mode(mode)
        .clock(Arc::new(ManualClock::new(at(T0))))
}

/// [`builder`] with a revocation store, built.
pub(crate) fn codec(seed: u8, mode: Mode) -> Codec {
    builder(seed, mode)
        .revocation_store(Arc::new(MemoryRevocationStore::new()))
        .build()
        .expect("valid settings")
}

/// A session with a fixed id, created and last active at `created`, with a subject and data.
pub(crate) fn session(id: u8, created: i64) -> SessionState {
    let mut state = SessionState::with_id(SessionId::from_bytes([id; 16]), at(created));
    state.set_subject(Some("alice".to_owned()));
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
