//! Fixtures shared by the fuzz targets: fixed keys, a fixed "now", the codecs built from them,
//! and the lifecycles that add the revocation check on top.
//!
//! The constants come from `sealed_session_test_support::fuzz`, which the seed writer
//! (`crates/sealed-session/tests/api/fuzz_seeds.rs`) reads too. The ring and the codecs'
//! settings (a few builder calls) are built the same way there: change both together, or the
//! seeds stop opening here.
#![forbid(unsafe_code)]

use std::sync::{Arc, OnceLock};

use sealed_session::clock::ManualClock;
use sealed_session::codec::{Codec, MAX_COOKIES, RandomSource, UnixTime};
use sealed_session::revocation::Revocation;
use sealed_session::{KeyRing, Mode, SealError, SecretKey, SessionId, SessionManager};
use time::{Duration, OffsetDateTime};

pub use sealed_session_test_support::fuzz::{
    COOKIE_NAME, FALLBACK, NOT_BEFORE_AGO, NOW_UNIX, PRIMARY, REVOKED_ID, REVOKED_SUBJECT, STAGED,
};

/// The fixture secret of `seed` (`sealed_session_test_support::secret_bytes`, as the seed writer
/// uses), as a key.
pub fn secret(seed: u8) -> SecretKey {
    SecretKey::from_bytes(&sealed_session_test_support::secret_bytes(seed))
        .expect("32 distinct bytes make a valid secret")
}

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
pub fn lifecycles() -> &'static [SessionManager; 2] {
    static LIFECYCLES: OnceLock<[SessionManager; 2]> = OnceLock::new();
    LIFECYCLES.get_or_init(|| {
        [
            build_lifecycle(Mode::Encrypted),
            build_lifecycle(Mode::Signed),
        ]
    })
}

/// The lifecycle of `mode` from [`lifecycles`].
pub fn lifecycle(mode: Mode) -> &'static SessionManager {
    match mode {
        Mode::Signed => &lifecycles()[1],
        _ => &lifecycles()[0],
    }
}

/// The lowest `max_cookies` of [`chunked_lifecycle`].
pub const MIN_CHUNKED: usize = 3;

/// A lifecycle of `mode` that splits sessions over up to `max` cookies (3 to
/// [`MAX_COOKIES`]): the ring, cookie name and clock of [`lifecycle`], a `Cookie` header
/// budget of 64 KiB (so that every count is reachable), no revocations, and a fixed random
/// source, so that what it seals is the same on every run.
///
/// # Panics
/// For `max` outside 3 to [`MAX_COOKIES`].
pub fn chunked_lifecycle(mode: Mode, max: usize) -> &'static SessionManager {
    static LIFECYCLES: OnceLock<Vec<SessionManager>> = OnceLock::new();
    let all = LIFECYCLES.get_or_init(|| {
        [Mode::Encrypted, Mode::Signed]
            .into_iter()
            .flat_map(|mode| (MIN_CHUNKED..=MAX_COOKIES).map(move |max| (mode, max)))
            .map(|(mode, max)| {
                SessionManager::builder(ring())
                    .mode(mode)
                    .cookie_name(COOKIE_NAME)
                    .max_cookies(max)
                    .cookie_header_budget(64 * 1024)
                    .clock(Arc::new(ManualClock::new(now())))
                    .dangerous()
                    .random_source(Arc::new(Fixed))
                    .build()
                    .expect("valid settings")
            })
            .collect()
    });
    let per_mode = MAX_COOKIES - MIN_CHUNKED + 1;
    let offset = if mode == Mode::Signed { per_mode } else { 0 };
    &all[offset + max - MIN_CHUNKED]
}

/// The same "random" bytes every time: a fuzz run must be reproducible. Never in production.
#[derive(Debug)]
struct Fixed;

impl RandomSource for Fixed {
    fn fill(&self, dest: &mut [u8]) -> Result<(), SealError> {
        dest.fill(0x5a);
        Ok(())
    }
}

fn build(mode: Mode) -> Codec {
    Codec::builder(ring())
        .mode(mode)
        .not_before(now() - Duration::seconds(NOT_BEFORE_AGO))
        .build()
        .expect("valid settings")
}

fn build_lifecycle(mode: Mode) -> SessionManager {
    let lifecycle = SessionManager::builder(ring())
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
        .wait()
        .expect("room in the store");
    lifecycle
}
