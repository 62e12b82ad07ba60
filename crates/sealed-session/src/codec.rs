//! The codec: turns a [`SessionState`] into a cookie value and back, enforcing size, expiry
//! and revocation.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore as _;
use time::{Duration, OffsetDateTime};

use crate::clock::{Clock, SystemClock};
use crate::envelope::{self, CookieName, Header, Mode};
use crate::error::{ConfigError, OpenError, SealError};
use crate::key::KeyId;
use crate::key_ring::{KeyRing, KeyRole};
use crate::revocation::RevocationStore;
use crate::state::{Body, SessionId, SessionState, unix_seconds};
use crate::xchacha::NONCE_LEN;

/// Default cookie name: short, and says nothing about the framework behind it.
pub const DEFAULT_COOKIE_NAME: &str = "id";
/// Default idle timeout: 1 hour.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::hours(1);
/// Default absolute timeout: 24 hours (actix-session's default session TTL).
pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::hours(24);
/// Default allowance for clocks of a fleet that disagree: 60 seconds.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::seconds(60);

/// Browsers keep cookies whose name and value together take at most this many bytes
/// (RFC 6265 section 6.1 asks for at least 4096; Chrome, Firefox and Safari stop there).
pub const BROWSER_COOKIE_LIMIT: usize = 4096;

/// Longest cookie value `open` decodes. Anything longer is no cookie of ours and is refused
/// before any work is done on it.
const MAX_VALUE_LEN: usize = 2 * BROWSER_COOKIE_LIMIT;

/// Seals sessions into cookie values and opens them again.
///
/// Cheap to clone (shared). Build one with [`Codec::new`] (safe defaults) or [`Codec::builder`].
///
/// # Defaults
/// - cookie name `id`, [`Mode::Encrypted`]
/// - idle timeout 1 hour, absolute timeout 24 hours, clock skew allowance 60 seconds
/// - size limit 4096 bytes for name plus value ([`BROWSER_COOKIE_LIMIT`])
/// - no "not before" time, no revocation store, the system clock
///
/// ```
/// use sealed_session::{Codec, KeyRing, OpenError, SecretKey};
///
/// let codec = Codec::new(KeyRing::new(SecretKey::generate()));
/// let mut session = codec.new_session()?;
/// session.insert("user_id", &42u64)?;
/// let cookie = codec.seal(&session)?;
///
/// let opened = codec.open(&cookie)?;
/// assert_eq!(opened.state().get::<u64>("user_id")?, Some(42));
///
/// // One changed character and the cookie is refused.
/// let mut forged = cookie.into_bytes();
/// forged[20] = if forged[20] == b'A' { b'B' } else { b'A' };
/// assert!(codec.open(std::str::from_utf8(&forged)?).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Codec {
    inner: Arc<Settings>,
}

struct Settings {
    ring: KeyRing,
    mode: Mode,
    name: CookieName,
    idle: u64,
    absolute: u64,
    skew: u64,
    not_before: Option<u64>,
    size_limit: usize,
    clock: Arc<dyn Clock>,
    revocation: Option<Arc<dyn RevocationStore>>,
}

impl Codec {
    /// A codec with the [defaults](Codec#defaults).
    pub fn new(ring: KeyRing) -> Self {
        // The defaults are valid by construction (a test checks it).
        Self::builder(ring)
            .build()
            .expect("default codec settings are valid")
    }

    /// A builder starting from the [defaults](Codec#defaults).
    pub fn builder(ring: KeyRing) -> CodecBuilder {
        CodecBuilder {
            ring,
            mode: Mode::Encrypted,
            name: DEFAULT_COOKIE_NAME.to_owned(),
            idle: DEFAULT_IDLE_TIMEOUT,
            absolute: DEFAULT_ABSOLUTE_TIMEOUT,
            skew: DEFAULT_CLOCK_SKEW,
            not_before: None,
            size_limit: BROWSER_COOKIE_LIMIT,
            clock: Arc::new(SystemClock),
            revocation: None,
        }
    }

    /// A new empty session, created now, with a fresh random id.
    ///
    /// # Errors
    /// [`SealError::Randomness`] if the operating system's generator fails.
    pub fn new_session(&self) -> Result<SessionState, SealError> {
        SessionState::new(self.now())
    }

    /// The current time of this codec's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    /// The cookie name bound into every cookie.
    pub fn cookie_name(&self) -> &CookieName {
        &self.inner.name
    }

    /// The sealing mode.
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }

    /// The key ring.
    pub fn key_ring(&self) -> &KeyRing {
        &self.inner.ring
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        seconds(self.inner.idle)
    }

    /// The absolute timeout.
    pub fn absolute_timeout(&self) -> Duration {
        seconds(self.inner.absolute)
    }

    /// The size budget for the cookie's name plus value.
    pub fn size_limit(&self) -> usize {
        self.inner.size_limit
    }

    /// The revocation store, if one is configured.
    pub fn revocation_store(&self) -> Option<&Arc<dyn RevocationStore>> {
        self.inner.revocation.as_ref()
    }

    /// The exact length, in bytes, of the cookie's name plus value if `state` were sealed now.
    /// Costs one postcard encoding and no cryptography.
    pub fn sealed_len(&self, state: &SessionState) -> usize {
        self.cookie_len(encoded_len(state.body()))
    }

    /// Checks that `state` fits the size budget however long it stays active, returning the
    /// largest length it can reach by activity alone.
    ///
    /// Activity only grows the varint of the idle offset, which can't exceed the absolute
    /// timeout, so this measures the session with that offset at its maximum: a session that
    /// passes here never fails [`Codec::seal`] for size after [`SessionState::touch`]. Use it
    /// where a write is accepted (e.g. a session `insert`), so size errors surface there.
    ///
    /// # Errors
    /// [`SealError::TooLarge`] if it does not fit.
    pub fn check_size(&self, state: &SessionState) -> Result<usize, SealError> {
        self.check_len(self.worst_body_len(state.body()))
    }

    /// The body's encoded length with the idle offset at the largest activity can make it.
    fn worst_body_len(&self, body: &Body) -> usize {
        let now = varint_len(body.active_for);
        let worst = varint_len(body.active_for.max(self.inner.absolute));
        encoded_len(body) - now + worst
    }

    /// Seals `state` into a cookie value (base64url, no padding), under the primary key, with a
    /// fresh random nonce in encrypted mode. The state's times are written as they are; call
    /// [`SessionState::touch`] first to record activity.
    ///
    /// # Errors
    /// [`SealError::TooLarge`] if the cookie would exceed the size budget (checked before any
    /// cryptography), [`SealError::Randomness`] if no nonce can be drawn.
    pub fn seal(&self, state: &SessionState) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        if self.inner.mode == Mode::Encrypted {
            // The OS generator, not a user-space one: a forked process can't repeat its nonces.
            rand::rngs::OsRng
                .try_fill_bytes(&mut nonce)
                .map_err(|_| SealError::Randomness)?;
        }
        self.seal_with_nonce(state, &nonce)
    }

    fn seal_with_nonce(
        &self,
        state: &SessionState,
        nonce: &[u8; NONCE_LEN],
    ) -> Result<String, SealError> {
        let body = state.body();
        let body_len = encoded_len(body);
        self.check_len(body_len)?;
        let s = &self.inner;
        let envelope = envelope::seal(&s.ring, s.mode, &s.name, nonce, body_len, |out| {
            encode_into(body, out);
        });
        Ok(URL_SAFE_NO_PAD.encode(envelope))
    }

    /// Opens a cookie value at the clock's current time. See [`Codec::open_at`].
    ///
    /// # Errors
    /// The [`OpenError`] that says why the cookie is refused.
    pub fn open(&self, value: &str) -> Result<Opened, OpenError> {
        self.open_at(value, self.now())
    }

    /// Opens a cookie value as of `now`.
    ///
    /// Checks, in this order: well-formed, known version, expected mode, known key id,
    /// authentic, absolute expiry, idle expiry, not from the future beyond the clock skew
    /// allowance, not created before the "not before" time, not revoked. Never panics.
    ///
    /// # Errors
    /// The [`OpenError`] for the first check that fails.
    pub fn open_at(&self, value: &str, now: OffsetDateTime) -> Result<Opened, OpenError> {
        let (header, role, body) = self.authenticate(value, Some(self.inner.mode))?;
        self.check_times(&body, unix_seconds(now))?;
        self.check_revoked(&body, now)?;
        Ok(Opened {
            state: SessionState::from_body(body),
            key_id: header.key_id,
            role,
        })
    }

    /// Authenticates a cookie and shows what it holds, even when [`Codec::open_at`] would
    /// refuse it for its age, mode or revocation: for operators' tools, never for serving
    /// requests.
    ///
    /// The cookie is authenticated under the mode its header names (both modes bind the mode,
    /// so this can't be used to forge anything); [`Inspection::verdict`] then says whether
    /// `open_at` would accept it at `now`, and if not, why.
    ///
    /// # Errors
    /// The [`OpenError`] if the cookie is malformed, of an unknown version or key, or forged.
    pub fn inspect_at(&self, value: &str, now: OffsetDateTime) -> Result<Inspection, OpenError> {
        let (header, role, body) = self.authenticate(value, None)?;
        let verdict = if header.mode == self.inner.mode {
            self.check_times(&body, unix_seconds(now))
                .and_then(|()| self.check_revoked(&body, now))
        } else {
            Err(OpenError::ModeMismatch)
        };
        Ok(Inspection {
            header,
            key_role: role,
            state: SessionState::from_body(body),
            verdict,
        })
    }

    /// Decodes, finds the key, authenticates and decodes the body: every check that needs no
    /// clock. `mode` is the one mode accepted, or `None` for the header's.
    fn authenticate(
        &self,
        value: &str,
        mode: Option<Mode>,
    ) -> Result<(Header, KeyRole, Body), OpenError> {
        let s = &self.inner;
        if value.is_empty() || value.len() > MAX_VALUE_LEN {
            return Err(OpenError::Malformed);
        }
        let mut envelope = URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| OpenError::Malformed)?;
        let header = Header::parse(&envelope)?;
        if mode.is_some_and(|m| m != header.mode) {
            return Err(OpenError::ModeMismatch);
        }
        let key = s.ring.find(header.key_id).ok_or(OpenError::UnknownKey {
            key_id: header.key_id,
        })?;
        let body = envelope::open(key, &header, &s.name, &mut envelope)?;
        Ok((header, key.role, decode(body)?))
    }

    fn check_revoked(&self, body: &Body, now: OffsetDateTime) -> Result<(), OpenError> {
        match &self.inner.revocation {
            Some(store)
                if store.is_revoked(
                    body.id,
                    body.subject.as_deref(),
                    body.created,
                    unix_seconds(now),
                ) =>
            {
                Err(OpenError::Revoked)
            }
            _ => Ok(()),
        }
    }

    /// Reads the public header of a cookie value without any key: version, mode and key id.
    /// Says nothing about authenticity.
    ///
    /// # Errors
    /// [`OpenError::Malformed`] or [`OpenError::UnsupportedVersion`].
    pub fn peek_header(value: &str) -> Result<Header, OpenError> {
        if value.len() > MAX_VALUE_LEN {
            return Err(OpenError::Malformed);
        }
        let envelope = URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| OpenError::Malformed)?;
        Header::parse(&envelope)
    }

    /// Revokes one session until the moment it would have expired anyway (creation plus the
    /// absolute timeout). Does nothing without a revocation store; returns whether one was
    /// written to.
    pub fn revoke(&self, state: &SessionState) -> bool {
        let Some(store) = &self.inner.revocation else {
            return false;
        };
        let until = state.created_unix().saturating_add(self.inner.absolute);
        store.revoke(state.id(), until, unix_seconds(self.now()));
        true
    }

    /// Revokes every session of `subject` created before now ("log out everywhere"). Does
    /// nothing without a revocation store; returns whether one was written to.
    pub fn revoke_subject(&self, subject: &str) -> bool {
        self.revoke_subject_cutoff(subject).is_some()
    }

    /// Revokes every other session of `state`'s subject and keeps this one: the password-change
    /// case ("sign out my other devices"). `state` is renewed (new id, the old one revoked) with
    /// its creation time at the cutoff, one second ahead, so the cutoff doesn't cover it (well
    /// within the clock skew allowance). Returns `false`, changing nothing, without a subject or
    /// a revocation store.
    ///
    /// # Errors
    /// [`SealError::Randomness`] if no new session id can be drawn (nothing is revoked then).
    pub fn revoke_other_sessions(&self, state: &mut SessionState) -> Result<bool, SealError> {
        let (Some(subject), Some(_)) = (state.subject(), &self.inner.revocation) else {
            return Ok(false);
        };
        let new_id = SessionId::random()?;
        let subject = subject.to_owned();
        self.revoke(state);
        let cutoff = self
            .revoke_subject_cutoff(&subject)
            .unwrap_or_else(|| unix_seconds(self.now()));
        state.renew(new_id, crate::state::from_unix_seconds(cutoff));
        Ok(true)
    }

    /// Writes a subject revocation and returns its cutoff (unix seconds).
    fn revoke_subject_cutoff(&self, subject: &str) -> Option<u64> {
        let store = self.inner.revocation.as_ref()?;
        let now = unix_seconds(self.now());
        // Sessions created in the same second as the cutoff would survive `created < cutoff`,
        // so the cutoff is the next second: a log-out-everywhere also ends a session opened a
        // moment before it.
        let cutoff = now.saturating_add(1);
        let until = cutoff.saturating_add(self.inner.absolute);
        store.revoke_subject(subject, cutoff, until, now);
        Some(cutoff)
    }

    /// Access to operations that can break the security guarantees if misused.
    pub fn dangerous(&self) -> DangerousCodec<'_> {
        DangerousCodec { codec: self }
    }

    fn check_times(&self, body: &Body, now: u64) -> Result<(), OpenError> {
        let s = &self.inner;
        if now >= body.created.saturating_add(s.absolute) {
            return Err(OpenError::ExpiredAbsolute);
        }
        let last_active = body.last_active();
        if now >= last_active.saturating_add(s.idle) {
            return Err(OpenError::ExpiredIdle);
        }
        let horizon = now.saturating_add(s.skew);
        if body.created > horizon || last_active > horizon {
            return Err(OpenError::FromFuture);
        }
        if s.not_before.is_some_and(|nb| body.created < nb) {
            return Err(OpenError::NotBefore);
        }
        Ok(())
    }

    fn cookie_len(&self, body_len: usize) -> usize {
        let envelope = self.inner.mode.overhead() + body_len;
        self.inner.name.as_str().len() + base64_len(envelope)
    }

    fn check_len(&self, body_len: usize) -> Result<usize, SealError> {
        let size = self.cookie_len(body_len);
        let limit = self.inner.size_limit;
        if size > limit {
            return Err(SealError::TooLarge { size, limit });
        }
        Ok(size)
    }
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.inner;
        f.debug_struct("Codec")
            .field("ring", &s.ring)
            .field("mode", &s.mode)
            .field("name", &s.name)
            .field("idle_secs", &s.idle)
            .field("absolute_secs", &s.absolute)
            .field("size_limit", &s.size_limit)
            .finish_non_exhaustive()
    }
}

/// Operations for test vectors and interoperability checks only.
///
/// **Warning:** sealing twice with the same nonce under the same key destroys XChaCha20-Poly1305's
/// confidentiality and integrity for both cookies. Never use these with anything but fixed test
/// data.
#[derive(Debug)]
pub struct DangerousCodec<'a> {
    codec: &'a Codec,
}

impl DangerousCodec<'_> {
    /// Seals with a caller-chosen nonce (ignored in signed mode), for reproducible test vectors.
    ///
    /// # Errors
    /// As [`Codec::seal`].
    pub fn seal_with_nonce(
        &self,
        state: &SessionState,
        nonce: &[u8; NONCE_LEN],
    ) -> Result<String, SealError> {
        self.codec.seal_with_nonce(state, nonce)
    }
}

/// A cookie that passed every check, with what opened it.
#[derive(Debug, Clone)]
pub struct Opened {
    state: SessionState,
    key_id: KeyId,
    role: KeyRole,
}

impl Opened {
    /// The session.
    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// Takes the session out.
    pub fn into_state(self) -> SessionState {
        self.state
    }

    /// The id of the key that opened the cookie.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The role of that key in the ring.
    pub fn key_role(&self) -> KeyRole {
        self.role
    }

    /// `true` when an older key opened the cookie: re-seal it so that it moves to the primary
    /// key (this is how cookies migrate during a rotation). A cookie opened by a staged
    /// (`open-only`) key is newer than the primary and is left alone.
    pub fn should_reseal(&self) -> bool {
        self.role == KeyRole::Fallback
    }
}

/// What [`Codec::inspect_at`] found in an authentic cookie.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Inspection {
    /// The public header (version, mode, key id).
    pub header: Header,
    /// The role of the key that opened it.
    pub key_role: KeyRole,
    /// The session it holds.
    pub state: SessionState,
    /// `Ok` if [`Codec::open_at`] would accept the cookie at that time, else why not
    /// (expired, from the future, not before, revoked, or sealed in the other mode).
    pub verdict: Result<(), OpenError>,
}

/// Builds a [`Codec`]; every setting is checked by [`CodecBuilder::build`].
#[derive(Debug)]
#[must_use]
pub struct CodecBuilder {
    ring: KeyRing,
    mode: Mode,
    name: String,
    idle: Duration,
    absolute: Duration,
    skew: Duration,
    not_before: Option<OffsetDateTime>,
    size_limit: usize,
    clock: Arc<dyn Clock>,
    revocation: Option<Arc<dyn RevocationStore>>,
}

impl CodecBuilder {
    /// The cookie name, bound into every cookie. Defaults to `id` (short, and says nothing about
    /// the framework behind it).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The sealing mode. Defaults to [`Mode::Encrypted`].
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Sessions idle for this long are refused. Defaults to 1 hour.
    #[doc(alias = "inactivity")]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = timeout;
        self
    }

    /// Sessions older than this are refused however active. Defaults to 24 hours.
    #[doc(alias = "max_age")]
    #[doc(alias = "ttl")]
    pub fn absolute_timeout(mut self, timeout: Duration) -> Self {
        self.absolute = timeout;
        self
    }

    /// How far in the future a cookie's times may lie (clocks of a fleet disagree a little).
    /// Defaults to 60 seconds.
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// Refuses every session created before `time`: the emergency switch that logs everyone out
    /// without changing keys. Defaults to none.
    pub fn not_before(mut self, time: OffsetDateTime) -> Self {
        self.not_before = Some(time);
        self
    }

    /// The budget for the cookie's name plus value, in bytes. Defaults to 4096, what browsers
    /// keep.
    pub fn size_limit(mut self, limit: usize) -> Self {
        self.size_limit = limit;
        self
    }

    /// Where the time comes from. Defaults to [`SystemClock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The revocation store consulted by every open. Defaults to none.
    pub fn revocation_store(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocation = Some(store);
        self
    }

    /// Checks the settings and builds the codec.
    ///
    /// # Errors
    /// [`ConfigError::InvalidCookieName`], [`ConfigError::InvalidTimeout`] (a timeout of less
    /// than a second, or an idle timeout longer than the absolute one),
    /// [`ConfigError::SizeLimitTooSmall`].
    pub fn build(self) -> Result<Codec, ConfigError> {
        let name = CookieName::new(self.name)?;
        let idle = positive_seconds("idle_timeout", self.idle)?;
        let absolute = positive_seconds("absolute_timeout", self.absolute)?;
        if idle > absolute {
            return Err(ConfigError::InvalidTimeout {
                setting: "idle_timeout",
                reason: "it is longer than the absolute timeout, which always ends a session \
                         first: shorten it or lengthen `absolute_timeout`",
            });
        }
        let skew =
            u64::try_from(self.skew.whole_seconds()).map_err(|_| ConfigError::InvalidTimeout {
                setting: "clock_skew",
                reason: "it is negative: use zero or a few seconds",
            })?;
        let settings = Settings {
            ring: self.ring,
            mode: self.mode,
            name,
            idle,
            absolute,
            skew,
            not_before: self.not_before.map(unix_seconds),
            size_limit: self.size_limit,
            clock: self.clock,
            revocation: self.revocation,
        };
        let codec = Codec {
            inner: Arc::new(settings),
        };
        // The smallest budget must hold an empty session however long it stays active.
        let empty = SessionState::with_id(SessionId::from_bytes([0xff; 16]), codec.now());
        let empty = codec.cookie_len(codec.worst_body_len(empty.body()));
        if empty > codec.inner.size_limit {
            return Err(ConfigError::SizeLimitTooSmall {
                limit: codec.inner.size_limit,
                min: empty,
            });
        }
        Ok(codec)
    }
}

fn positive_seconds(setting: &'static str, d: Duration) -> Result<u64, ConfigError> {
    u64::try_from(d.whole_seconds())
        .ok()
        .filter(|&s| s > 0)
        .ok_or(ConfigError::InvalidTimeout {
            setting,
            reason: "it must be at least one second",
        })
}

fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX))
}

/// Bytes postcard's LEB128 varint takes for `n` (7 bits per byte).
const fn varint_len(n: u64) -> usize {
    let bits = 64 - n.leading_zeros() as usize;
    if bits == 0 { 1 } else { bits.div_ceil(7) }
}

/// Length of `n` bytes in base64 without padding.
const fn base64_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

// Every field of `Body` is a type postcard encodes (integers, strings, byte strings, maps with
// string keys), and neither counting nor appending to a `Vec` can run out of room, so neither
// of these can fail.

/// The body's postcard length, counted without encoding it anywhere.
fn encoded_len(body: &Body) -> usize {
    postcard::experimental::serialized_size(body).expect("a session body always encodes")
}

/// Appends the body's postcard encoding to `out`.
fn encode_into(body: &Body, out: &mut Vec<u8>) {
    // `to_extend` takes its writer by value: move the buffer through it (no copy).
    *out = postcard::to_extend(body, std::mem::take(out)).expect("a session body always encodes");
}

fn decode(bytes: &[u8]) -> Result<Body, OpenError> {
    // Only authenticated bytes get here, so a failure means a key holder wrote garbage; trailing
    // bytes are refused too, so that one body has exactly one encoding.
    match postcard::take_from_bytes::<Body>(bytes) {
        Ok((body, [])) => Ok(body),
        _ => Err(OpenError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::SecretKey;

    #[test]
    fn defaults_build() {
        let codec = Codec::new(KeyRing::new(SecretKey::generate()));
        assert_eq!(codec.cookie_name().as_str(), "id");
        assert_eq!(codec.mode(), Mode::Encrypted);
        assert_eq!(codec.size_limit(), BROWSER_COOKIE_LIMIT);
    }

    #[test]
    fn base64_len_matches_the_engine() {
        for n in 0..100 {
            assert_eq!(base64_len(n), URL_SAFE_NO_PAD.encode(vec![0u8; n]).len());
        }
    }

    #[test]
    fn varint_len_matches_postcard() {
        for n in [
            0u64,
            1,
            127,
            128,
            16_383,
            16_384,
            86_400,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            assert_eq!(varint_len(n), postcard::to_stdvec(&n).unwrap().len(), "{n}");
        }
    }

    #[test]
    fn a_session_that_fits_keeps_fitting_when_touched() {
        let clock = Arc::new(crate::ManualClock::new(
            OffsetDateTime::UNIX_EPOCH + Duration::days(20_000),
        ));
        let codec = Codec::builder(KeyRing::new(SecretKey::generate()))
            .clock(clock.clone())
            .build()
            .unwrap();
        let mut state = codec.new_session().unwrap();
        // Find the largest value that passes the check while fresh.
        let mut n = 0;
        while {
            state.insert("v", &vec![0u8; n + 1]).unwrap();
            codec.check_size(&state).is_ok()
        } {
            n += 1;
        }
        state.insert("v", &vec![0u8; n]).unwrap();
        clock.advance(Duration::hours(23));
        state.touch(codec.now());
        assert!(codec.seal(&state).is_ok());
    }

    #[test]
    fn sealed_len_is_exact() {
        for mode in [Mode::Encrypted, Mode::Signed] {
            let codec = Codec::builder(KeyRing::new(SecretKey::generate()))
                .mode(mode)
                .cookie_name("session")
                .build()
                .unwrap();
            let mut state = codec.new_session().unwrap();
            for n in 0..40 {
                state.insert("k", &vec![1u8; n * 7]).unwrap();
                let predicted = codec.sealed_len(&state);
                let value = codec.seal(&state).unwrap();
                assert_eq!(predicted, "session".len() + value.len());
            }
        }
    }

    #[test]
    fn inspect_shows_refused_cookies_with_their_verdict() {
        let ring = KeyRing::new(SecretKey::generate());
        let clock = Arc::new(crate::ManualClock::new(
            OffsetDateTime::UNIX_EPOCH + Duration::days(20_000),
        ));
        let encrypted = Codec::builder(ring.clone())
            .clock(clock.clone())
            .build()
            .unwrap();
        let signed = Codec::builder(ring)
            .mode(Mode::Signed)
            .clock(clock.clone())
            .build()
            .unwrap();
        let mut state = encrypted.new_session().unwrap();
        state.insert("k", &7u8).unwrap();
        let cookie = encrypted.seal(&state).unwrap();

        let fresh = encrypted.inspect_at(&cookie, clock.now()).unwrap();
        assert_eq!(fresh.verdict, Ok(()));
        assert_eq!(fresh.state, state);
        assert_eq!(fresh.key_role, KeyRole::Primary);

        let later = clock.now() + Duration::hours(2);
        let expired = encrypted.inspect_at(&cookie, later).unwrap();
        assert_eq!(expired.verdict, Err(OpenError::ExpiredIdle));
        assert_eq!(expired.state.get::<u8>("k").unwrap(), Some(7));
        assert_eq!(
            encrypted.open_at(&cookie, later).unwrap_err(),
            OpenError::ExpiredIdle
        );

        let other_mode = signed.inspect_at(&cookie, clock.now()).unwrap();
        assert_eq!(other_mode.verdict, Err(OpenError::ModeMismatch));
        assert_eq!(other_mode.header.mode, Mode::Encrypted);

        let mut forged = cookie.into_bytes();
        let last = forged.len() - 10;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(
            encrypted.inspect_at(&forged, clock.now()).unwrap_err(),
            OpenError::Forged
        );
    }

    #[test]
    fn revoking_other_sessions_keeps_this_one() {
        let clock = Arc::new(crate::ManualClock::new(
            OffsetDateTime::UNIX_EPOCH + Duration::days(20_000),
        ));
        let codec = Codec::builder(KeyRing::new(SecretKey::generate()))
            .clock(clock.clone())
            .revocation_store(Arc::new(crate::MemoryRevocationStore::new()))
            .build()
            .unwrap();
        let mut laptop = codec.new_session().unwrap();
        laptop.set_subject(Some("alice".into()));
        let mut phone = laptop.clone();
        phone.renew(SessionId::random().unwrap(), codec.now());
        let (laptop_before, phone_cookie) =
            (codec.seal(&laptop).unwrap(), codec.seal(&phone).unwrap());

        // The same second: the renewed laptop session survives, everything older does not.
        assert!(codec.revoke_other_sessions(&mut laptop).unwrap());
        let laptop_after = codec.seal(&laptop).unwrap();
        assert_eq!(codec.open(&phone_cookie).unwrap_err(), OpenError::Revoked);
        assert_eq!(codec.open(&laptop_before).unwrap_err(), OpenError::Revoked);
        assert!(codec.open(&laptop_after).is_ok());
        clock.advance(Duration::minutes(5));
        assert!(codec.open(&laptop_after).is_ok());

        let mut anonymous = codec.new_session().unwrap();
        assert!(!codec.revoke_other_sessions(&mut anonymous).unwrap());
    }

    #[test]
    fn bad_settings_are_refused() {
        let ring = KeyRing::new(SecretKey::generate());
        let err = Codec::builder(ring.clone())
            .idle_timeout(Duration::hours(2))
            .absolute_timeout(Duration::hours(1))
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::InvalidTimeout {
                setting: "idle_timeout",
                ..
            }
        ));
        assert!(matches!(
            Codec::builder(ring.clone())
                .idle_timeout(Duration::ZERO)
                .build()
                .unwrap_err(),
            ConfigError::InvalidTimeout { .. }
        ));
        assert!(matches!(
            Codec::builder(ring.clone())
                .size_limit(20)
                .build()
                .unwrap_err(),
            ConfigError::SizeLimitTooSmall { limit: 20, .. }
        ));
        assert!(matches!(
            Codec::builder(ring).cookie_name("a b").build().unwrap_err(),
            ConfigError::InvalidCookieName { .. }
        ));
    }
}
