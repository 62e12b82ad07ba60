//! Fixtures shared by the fuzz targets: fixed keys, a fixed "now", the codecs built from them,
//! and the lifecycles that add the revocation check on top.
//!
//! The recipe is repeated in `crates/sealed-session/tests/api/fuzz_seeds.rs`, which writes the
//! seed corpus: the seeds only open (and so only reach the code past authentication) while both
//! agree. Change them together.
#![forbid(unsafe_code)]

use std::sync::{Arc, OnceLock};

use sealed_session::{
    Codec, KeyRing, Lifecycle, ManualClock, Mode, Revocation, SecretKey, SessionId, UnixTime,
};
use time::{Duration, OffsetDateTime};

/// The fixed "now": 2030-03-17 17:46:40 UTC. The codecs open at it and the lifecycles' clock
/// is stopped there, so seeds never expire.
pub const NOW_UNIX: i64 = 1_900_000_000;
/// Every session of this subject signed in before the lifecycles were built (generation 0) is
/// logged out (`Lifecycle::revoke_subject`).
pub const REVOKED_SUBJECT: &str = "revoked-subject";
/// This session id, without a subject, is revoked in the lifecycles' store.
pub const REVOKED_ID: [u8; 16] = [0xee; 16];
/// The lifecycles' cookie name (the codec default, rather than the lifecycle's `__Host-id`, so
/// the codecs and the lifecycles open the same cookies).
pub const COOKIE_NAME: &str = "id";
/// Sessions created before `NOW_UNIX - NOT_BEFORE_AGO` are refused with `NotBefore`.
pub const NOT_BEFORE_AGO: i64 = 6 * 3600;

/// The fixture secret of `seed` (`sealed_session_test_support::secret_bytes`, as the seed writer
/// uses), as a key.
pub fn secret(seed: u8) -> SecretKey {
    SecretKey::from_bytes(&sealed_session_test_support::secret_bytes(seed))
        .expect("32 distinct bytes make a valid secret")
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

/// The codec of each mode: default name `id` and timeouts, and a "not before" time. Pure: open
/// with [`now`], and ask the [`lifecycle`] of the mode about revocation.
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

/// The lifecycle of each mode: the codec's settings under [`COOKIE_NAME`], a clock stopped at
/// [`now`], and a revocation store holding [`REVOKED_ID`] and [`REVOKED_SUBJECT`].
pub fn lifecycles() -> &'static [Lifecycle; 2] {
    static LIFECYCLES: OnceLock<[Lifecycle; 2]> = OnceLock::new();
    LIFECYCLES.get_or_init(|| {
        [
            build_lifecycle(Mode::Encrypted),
            build_lifecycle(Mode::Signed),
        ]
    })
}

/// The lifecycle of `mode` from [`lifecycles`].
pub fn lifecycle(mode: Mode) -> &'static Lifecycle {
    match mode {
        Mode::Signed => &lifecycles()[1],
        _ => &lifecycles()[0],
    }
}

fn build(mode: Mode) -> Codec {
    Codec::builder(ring())
        .mode(mode)
        .not_before(now() - Duration::seconds(NOT_BEFORE_AGO))
        .build()
        .expect("valid settings")
}

fn build_lifecycle(mode: Mode) -> Lifecycle {
    let lifecycle = Lifecycle::builder(ring())
        .mode(mode)
        .cookie_name(COOKIE_NAME)
        .not_before(now() - Duration::seconds(NOT_BEFORE_AGO))
        .clock(Arc::new(ManualClock::new(now())))
        .build()
        .expect("valid settings");
    let revoked = Revocation::Session {
        id: SessionId::from_bytes(REVOKED_ID),
        subject: None,
        until: UnixTime::MAX,
    };
    lifecycle
        .revocation_store()
        .revoke(revoked, UnixTime::from(now()))
        .expect("room in an empty store");
    lifecycle
        .revoke_subject(REVOKED_SUBJECT)
        .expect("room in the store");
    lifecycle
}
