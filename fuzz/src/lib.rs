//! Fixtures shared by the fuzz targets: fixed keys, a stopped clock, and codecs built from them.
//!
//! The recipe is repeated in `crates/sealed-session/tests/api/fuzz_seeds.rs`, which writes the
//! seed corpus: the seeds only open (and so only reach the code past authentication) while both
//! agree. Change them together.
#![forbid(unsafe_code)]

use std::sync::{Arc, OnceLock};

use sealed_session::{
    Codec, KeyRing, ManualClock, MemoryRevocationStore, Mode, SecretKey, SessionId, SessionState,
};
use time::{Duration, OffsetDateTime};

/// The codecs' clock: 2030-03-17 17:46:40 UTC, never moving, so seeds never expire.
pub const NOW_UNIX: i64 = 1_900_000_000;
/// Sessions of this subject are revoked (`revoke_subject`) when the codecs are built.
pub const REVOKED_SUBJECT: &str = "revoked-subject";
/// This session id is revoked (`revoke`) when the codecs are built.
pub const REVOKED_ID: [u8; 16] = [0xee; 16];
/// Sessions created before `NOW_UNIX - NOT_BEFORE_AGO` are refused with `NotBefore`.
pub const NOT_BEFORE_AGO: i64 = 6 * 3600;

/// A fixed 32-byte secret: `seed, seed + 7, seed + 14, ...` (32 distinct bytes, as `7` is odd).
pub fn secret(seed: u8) -> SecretKey {
    let bytes: Vec<u8> = (0u8..32)
        .map(|i| seed.wrapping_add(i.wrapping_mul(7)))
        .collect();
    SecretKey::from_bytes(&bytes).expect("32 distinct bytes make a valid secret")
}

/// Seed of the primary key of [`ring`].
pub const PRIMARY: u8 = 1;
/// Seed of the fallback (older) key of [`ring`].
pub const FALLBACK: u8 = 2;
/// Seed of the staged (`open-only`) key of [`ring`].
pub const STAGED: u8 = 3;

/// The ring every fuzzed codec opens with: staged, primary, fallback.
pub fn ring() -> KeyRing {
    KeyRing::from_keys([secret(PRIMARY), secret(FALLBACK)])
        .and_then(|r| r.with_open_only(secret(STAGED)))
        .expect("three distinct secrets make a valid ring")
}

/// The fixed "now".
pub fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW_UNIX).expect("in range")
}

/// The codec of each mode: default name `id` and timeouts, a stopped clock, a "not before" time
/// and a revocation store holding one revoked id and one revoked subject.
pub fn codecs() -> &'static [Codec; 2] {
    static CODECS: OnceLock<[Codec; 2]> = OnceLock::new();
    CODECS.get_or_init(|| [build(Mode::Encrypted), build(Mode::Signed)])
}

/// The codec of `mode` from [`codecs`].
pub fn codec(mode: Mode) -> &'static Codec {
    match mode {
        Mode::Signed => &codecs()[1],
        _ => &codecs()[0],
    }
}

fn build(mode: Mode) -> Codec {
    let codec = Codec::builder(ring())
        .mode(mode)
        .clock(Arc::new(ManualClock::new(now())))
        .not_before(now() - Duration::seconds(NOT_BEFORE_AGO))
        .revocation_store(Arc::new(MemoryRevocationStore::new()))
        .build()
        .expect("valid settings");
    let revoked = SessionState::with_id(SessionId::from_bytes(REVOKED_ID), now());
    codec.revoke(&revoked);
    codec.revoke_subject(REVOKED_SUBJECT);
    codec
}
