//! The pure layer: [`Codec`] turns a [`SessionState`] into a cookie value and back, enforcing
//! size and expiry, with no clock, no store and no I/O (the
//! [`SessionManager`](crate::SessionManager) above it owns those). Here too are what it works
//! with: the cookie's public [`Header`] and validated [`CookieName`], the [`UnixTime`] its times
//! are kept in, the [`RandomSource`] of its nonces and session ids, and the defaults and limits
//! its builder checks.
//!
//! An application that goes through [`SessionManager`](crate::SessionManager) rarely names
//! anything here; code that reads or writes cookie values outside a request (the CLI, tests,
//! benchmarks, the fuzz targets) uses the codec directly:
//!
//! ```
//! use sealed_session::codec::{Codec, DEFAULT_IDLE_TIMEOUT};
//! use sealed_session::{KeyRing, OpenError, SecretKey};
//! use time::OffsetDateTime;
//!
//! let codec = Codec::new(KeyRing::new(SecretKey::generate()));
//! let now = OffsetDateTime::now_utc();
//! let cookie = codec.seal(&codec.new_session(now)?)?;
//!
//! assert!(codec.open_at(&cookie, now).is_ok());
//! let later = now + DEFAULT_IDLE_TIMEOUT + time::Duration::minutes(2);
//! assert_eq!(codec.open_at(&cookie, later).unwrap_err(), OpenError::ExpiredIdle);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::{Duration, OffsetDateTime};

pub use crate::chunks::{DEFAULT_COOKIE_HEADER_BUDGET, MAX_COOKIES, chunk_name, join_chunks};
pub use crate::envelope::{CookieName, Header};
pub use crate::random::{RandomSource, SystemRandom};
pub use crate::state::SessionState;
pub use crate::unix::UnixTime;

use crate::envelope::{self, Mode};
use crate::error::{ConfigError, OpenError, SealError, TimeoutProblem};
use crate::key::KeyId;
use crate::key_ring::{KeyRing, KeyRole};
use crate::state::{Body, SessionId, unix_seconds};
use crate::unix::duration_from_secs;
use crate::xchacha;

/// Length of the nonce of encrypted mode, in bytes (XChaCha20's 192 bits).
pub const NONCE_LEN: usize = xchacha::NONCE_LEN;

/// Default cookie name: short, and says nothing about the framework behind it.
pub const DEFAULT_COOKIE_NAME: &str = "id";
/// Default idle timeout: 1 hour.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::hours(1);
/// Default absolute timeout: 24 hours (actix-session's default session TTL).
pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::hours(24);
/// Default allowance for clocks of a fleet that disagree: 60 seconds.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::seconds(60);
/// Longest idle or absolute timeout accepted: 400 days, the cap browsers apply to a cookie's
/// `Max-Age` (RFC 6265bis section 5.6.2).
pub const MAX_TIMEOUT: Duration = Duration::days(400);
/// Largest clock skew allowance accepted: one day.
pub const MAX_CLOCK_SKEW: Duration = Duration::days(1);

/// Browsers keep cookies whose name and value together take at most this many bytes
/// (RFC 6265 section 6.1 asks for at least 4096; Chrome, Firefox and Safari stop there).
pub const BROWSER_COOKIE_LIMIT: usize = 4096;

/// Longest cookie value `open_at` decodes. Anything longer is no cookie of ours and is refused
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
/// - no "not before" time
/// - nonces and session ids from the operating system's generator ([`SystemRandom`])
///
/// ```
/// use sealed_session::codec::Codec;
/// use sealed_session::{KeyRing, OpenError, SecretKey};
///
/// let codec = Codec::new(KeyRing::new(SecretKey::generate()));
/// let now = time::OffsetDateTime::now_utc();
/// let mut session = codec.new_session(now)?;
/// session.insert("user_id", &42u64)?;
/// let cookie = codec.seal(&session)?;
///
/// let opened = codec.open_at(&cookie, now)?;
/// assert_eq!(opened.state().get::<u64>("user_id")?, Some(42));
///
/// // One changed character and the cookie is refused.
/// let mut forged = cookie.into_bytes();
/// forged[20] = if forged[20] == b'A' { b'B' } else { b'A' };
/// assert!(codec.open_at(std::str::from_utf8(&forged)?, now).is_err());
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
    random: Arc<dyn RandomSource>,
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
            random: Arc::new(SystemRandom),
        }
    }

    /// A new empty session, created at `now`, with a fresh random id drawn from the codec's
    /// [`RandomSource`] (the operating system's generator unless set through
    /// [`CodecBuilder::dangerous`]).
    ///
    /// # Errors
    /// [`SealError::Randomness`] if the random source fails.
    pub fn new_session(&self, now: OffsetDateTime) -> Result<SessionState, SealError> {
        Ok(SessionState::with_id(self.new_id()?, now))
    }

    /// A fresh session id from the codec's random source: the one door through which the
    /// lifecycle gets its ids, so that a test's source decides them all.
    pub(crate) fn new_id(&self) -> Result<SessionId, SealError> {
        let mut bytes = [0u8; 16];
        self.inner.random.fill(&mut bytes)?;
        Ok(SessionId::from_bytes(bytes))
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
        duration_from_secs(self.inner.idle)
    }

    /// The absolute timeout.
    pub fn absolute_timeout(&self) -> Duration {
        duration_from_secs(self.inner.absolute)
    }

    /// The clock skew allowance.
    pub fn clock_skew(&self) -> Duration {
        duration_from_secs(self.inner.skew)
    }

    /// The latest a session created at `created` can still open: its absolute deadline, pushed
    /// out by the clock skew allowance (a cookie may have been created by an instance whose
    /// clock is ahead). A revocation kept until then outlives every cookie it can refuse.
    pub fn lifetime_end(&self, created: UnixTime) -> UnixTime {
        created
            .saturating_add_secs(self.inner.absolute)
            .saturating_add_secs(self.inner.skew)
    }

    /// The earlier of the session's idle and absolute deadlines, as of its recorded activity.
    pub fn expires_at(&self, state: &SessionState) -> UnixTime {
        let body = state.body();
        let absolute = body.created.saturating_add(self.inner.absolute);
        let idle = body.last_active().saturating_add(self.inner.idle);
        UnixTime::from_secs(absolute.min(idle))
    }

    /// The size budget for the cookie's name plus value.
    pub fn size_limit(&self) -> usize {
        self.inner.size_limit
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
    /// timeout, and a renewal or a "sign out my other devices" only changes the subject's
    /// generation, so this measures the session with that offset at its maximum and the
    /// generation (if it has a subject) at the longest a `u64` takes: a session that passes
    /// here never fails [`Codec::seal`] for size after [`SessionState::touch`], a renewal or a
    /// new generation. Use it where a write is accepted (e.g. a session `insert`), so size
    /// errors surface there.
    ///
    /// # Errors
    /// [`SealError::TooLarge`] if it does not fit.
    pub fn check_size(&self, state: &SessionState) -> Result<usize, SealError> {
        self.check_len(self.worst_body_len(state.body()))
    }

    /// The body's encoded length with the idle offset at the largest activity can make it and
    /// the subject's generation at the largest a `u64` takes.
    fn worst_body_len(&self, body: &Body) -> usize {
        let now = varint_len(body.active_for);
        let worst = varint_len(body.active_for.max(self.inner.absolute));
        let generation = body.subject.as_ref().map_or(0, |subject| {
            varint_len(u64::MAX) - varint_len(subject.generation().get())
        });
        encoded_len(body) - now + worst + generation
    }

    /// Seals `state` into a cookie value (base64url, no padding), under the primary key, with a
    /// fresh random nonce from the codec's [`RandomSource`] in encrypted mode. The state's
    /// times are written as they are; call [`SessionState::touch`] first to record activity.
    ///
    /// # Errors
    /// [`SealError::TooLarge`] if the cookie would exceed the size budget (checked before any
    /// cryptography), [`SealError::Randomness`] if no nonce can be drawn.
    pub fn seal(&self, state: &SessionState) -> Result<String, SealError> {
        self.seal_chunked(state, 1)
    }

    /// [`Codec::seal`] for a session that travels split over `parts` cookies: `parts` (2 or
    /// more) is authenticated with the value, so it opens only with
    /// [`Codec::open_chunked_at`] and the same `parts`. `1` is [`Codec::seal`]. Splitting the
    /// value into cookies is the [`SessionManager`](crate::SessionManager)'s
    /// (docs/format.md, "Chunks"). The codec's [`size_limit`](CodecBuilder::size_limit) still
    /// bounds the whole value: a codec used directly for a session past one cookie needs it
    /// raised (a manager with `max_cookies` above 1 does so, and bounds each cookie itself).
    ///
    /// # Errors
    /// As [`Codec::seal`].
    pub fn seal_chunked(&self, state: &SessionState, parts: u8) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        if self.inner.mode == Mode::Encrypted {
            self.inner.random.fill(&mut nonce)?;
        }
        self.seal_with_nonce(state, parts, &nonce)
    }

    fn seal_with_nonce(
        &self,
        state: &SessionState,
        parts: u8,
        nonce: &[u8; NONCE_LEN],
    ) -> Result<String, SealError> {
        let body = state.body();
        let body_len = encoded_len(body);
        self.check_len(body_len)?;
        let s = &self.inner;
        let envelope = envelope::seal(&s.ring, s.mode, &s.name, parts, nonce, body_len, |out| {
            encode_into(body, out);
        });
        Ok(URL_SAFE_NO_PAD.encode(envelope))
    }

    /// Opens a cookie value as of `now`.
    ///
    /// Checks, in this order: well-formed, known version, expected mode, known key id,
    /// authentic, absolute expiry, idle expiry, not from the future beyond the clock skew
    /// allowance, not created before the "not before" time. Never panics. Revocation is the
    /// [`SessionManager`](crate::SessionManager)'s check, made after these.
    ///
    /// # Errors
    /// The [`OpenError`] for the first check that fails.
    pub fn open_at(&self, value: &str, now: OffsetDateTime) -> Result<Opened, OpenError> {
        self.open_chunked_at(value, 1, now)
    }

    /// [`Codec::open_at`] for the value of a session sealed for `parts` cookies
    /// ([`Codec::seal_chunked`]), the chunks already joined: a value sealed for another number
    /// of parts is [`OpenError::Forged`].
    ///
    /// # Errors
    /// As [`Codec::open_at`].
    pub fn open_chunked_at(
        &self,
        value: &str,
        parts: u8,
        now: OffsetDateTime,
    ) -> Result<Opened, OpenError> {
        let (header, role, body) = self.authenticate(value, Some(self.inner.mode), parts)?;
        self.check_times(&body, unix_seconds(now))?;
        Ok(Opened {
            state: SessionState::from_body(body),
            key_id: header.key_id,
            role,
        })
    }

    /// Authenticates a cookie and shows what it holds, even when [`Codec::open_at`] would
    /// refuse it for its age or mode: for operators' tools, never for serving requests.
    ///
    /// The cookie is authenticated under the mode its header names (both modes bind the mode,
    /// so this can't be used to forge anything); [`Inspection::verdict`] then says whether
    /// `open_at` would accept it at `now`, and if not, why.
    ///
    /// # Errors
    /// The [`OpenError`] if the cookie is malformed, of an unknown version or key, or forged.
    pub fn inspect_at(&self, value: &str, now: OffsetDateTime) -> Result<Inspection, OpenError> {
        self.inspect_chunked_at(value, 1, now)
    }

    /// [`Codec::inspect_at`] for the joined value of a session sealed for `parts` cookies.
    ///
    /// # Errors
    /// As [`Codec::inspect_at`].
    pub fn inspect_chunked_at(
        &self,
        value: &str,
        parts: u8,
        now: OffsetDateTime,
    ) -> Result<Inspection, OpenError> {
        let (header, role, body) = self.authenticate(value, None, parts)?;
        let verdict = if header.mode == self.inner.mode {
            self.check_times(&body, unix_seconds(now))
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
        parts: u8,
    ) -> Result<(Header, KeyRole, Body), OpenError> {
        let s = &self.inner;
        let longest = MAX_VALUE_LEN.max(usize::from(parts) * BROWSER_COOKIE_LIMIT);
        if value.is_empty() || value.len() > longest || parts == 0 {
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
        let body = envelope::open(key, &header, &s.name, parts, &mut envelope)?;
        Ok((header, key.role, decode(body)?))
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
            // Shown so that a test's source can't go unnoticed in a production log.
            .field("random", &s.random)
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
        self.codec.seal_with_nonce(state, 1, nonce)
    }

    /// [`Codec::seal_chunked`] with a caller-chosen nonce, for reproducible test vectors.
    ///
    /// # Errors
    /// As [`Codec::seal`].
    pub fn seal_chunked_with_nonce(
        &self,
        state: &SessionState,
        parts: u8,
        nonce: &[u8; NONCE_LEN],
    ) -> Result<String, SealError> {
        self.codec.seal_with_nonce(state, parts, nonce)
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
    /// (expired, from the future, not before, or sealed in the other mode).
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
    random: Arc<dyn RandomSource>,
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

    /// Sessions idle for this long are refused. Defaults to 1 hour; at most [`MAX_TIMEOUT`].
    #[doc(alias = "inactivity")]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = timeout;
        self
    }

    /// Sessions older than this are refused however active. Defaults to 24 hours; at most
    /// [`MAX_TIMEOUT`].
    #[doc(alias = "max_age")]
    #[doc(alias = "ttl")]
    pub fn absolute_timeout(mut self, timeout: Duration) -> Self {
        self.absolute = timeout;
        self
    }

    /// How far in the future a cookie's times may lie (clocks of a fleet disagree a little).
    /// Defaults to 60 seconds; at most [`MAX_CLOCK_SKEW`].
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

    /// Settings that break the codec's security guarantees if misused, for reproducible tests
    /// only: see [`DangerousCodecBuilder`].
    pub fn dangerous(self) -> DangerousCodecBuilder {
        DangerousCodecBuilder { builder: self }
    }

    /// Checks the settings and builds the codec.
    ///
    /// # Errors
    /// [`ConfigError::InvalidCookieName`], [`ConfigError::InvalidTimeout`] (a timeout of less
    /// than a second or more than [`MAX_TIMEOUT`], an idle timeout longer than the absolute
    /// one, a clock skew allowance that is negative or past [`MAX_CLOCK_SKEW`]),
    /// [`ConfigError::SizeLimitTooSmall`].
    pub fn build(self) -> Result<Codec, ConfigError> {
        let name = CookieName::new(self.name)?;
        let idle = timeout_seconds("idle_timeout", self.idle)?;
        let absolute = timeout_seconds("absolute_timeout", self.absolute)?;
        if idle > absolute {
            return Err(ConfigError::InvalidTimeout {
                setting: "idle_timeout",
                reason: TimeoutProblem::IdleLongerThanAbsolute,
            });
        }
        let skew = u64::try_from(self.skew.whole_seconds())
            .ok()
            .filter(|_| self.skew <= MAX_CLOCK_SKEW)
            .ok_or(ConfigError::InvalidTimeout {
                setting: "clock_skew",
                reason: TimeoutProblem::SkewOutOfRange,
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
            random: self.random,
        };
        let codec = Codec {
            inner: Arc::new(settings),
        };
        // The smallest budget must hold an empty session however long it stays active.
        // Created in 2106, the latest a 5-byte varint holds: what every real session takes.
        let created = UnixTime::from_secs(u64::from(u32::MAX)).to_datetime();
        let empty = SessionState::with_id(SessionId::from_bytes([0xff; 16]), created);
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

/// The settings of a [`CodecBuilder`] that break the codec's security guarantees if misused,
/// reached through [`CodecBuilder::dangerous`] so that every use says so where it is written
/// (as rustls' `ConfigBuilder::dangerous`). For reproducible tests only.
#[derive(Debug)]
#[must_use]
pub struct DangerousCodecBuilder {
    builder: CodecBuilder,
}

impl DangerousCodecBuilder {
    /// Draws every nonce and every session id from `source` instead of the operating system's
    /// generator, and returns the builder. Defaults to [`SystemRandom`].
    ///
    /// **Never in production.** Everything the cookies promise rests on this source being
    /// unpredictable and never repeating:
    /// - **Nonce uniqueness.** Two cookies sealed under one key with one nonce give away the
    ///   XOR of their plaintexts, and let whoever holds both forge cookies: XChaCha20-Poly1305
    ///   loses confidentiality and integrity. (Signed mode draws no nonce.)
    /// - **Session-id secrecy.** Ids must be unguessable and unique: from a predictable source
    ///   one session's id tells the ids of the next ones, and ids that repeat make two sessions
    ///   one for the revocation store (logging one out ends the other, and a renewal can land
    ///   on an id already revoked).
    ///
    /// It exists for reproducible tests: with the same clock, the same requests and a source
    /// that gives the same bytes, two codecs (or two web adapters over one
    /// [`SessionBuilder`](crate::SessionBuilder)) seal the same cookies, byte for byte.
    /// [`SecretKey::generate`](crate::SecretKey::generate) and [`SessionId::random`] stay on
    /// the operating system's generator.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sealed_session::codec::{Codec, RandomSource};
    /// use sealed_session::{KeyRing, SealError, SecretKey};
    ///
    /// /// Zeros: the most predictable source there is.
    /// #[derive(Debug)]
    /// struct Zeros;
    ///
    /// impl RandomSource for Zeros {
    ///     fn fill(&self, dest: &mut [u8]) -> Result<(), SealError> {
    ///         dest.fill(0);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let ring = KeyRing::new(SecretKey::generate());
    /// let codec = Codec::builder(ring.clone())
    ///     .dangerous()
    ///     .random_source(Arc::new(Zeros))
    ///     .build()?;
    /// let now = time::OffsetDateTime::now_utc();
    /// let (first, second) = (codec.new_session(now)?, codec.new_session(now)?);
    /// // What a test wants, and why it is dangerous: the same id twice, the same nonce twice.
    /// assert_eq!(first.id(), second.id());
    /// assert_eq!(codec.seal(&first)?, codec.seal(&second)?);
    ///
    /// // The default source never repeats.
    /// let codec = Codec::new(ring);
    /// let session = codec.new_session(now)?;
    /// assert_ne!(codec.new_session(now)?.id(), session.id());
    /// assert_ne!(codec.seal(&session)?, codec.seal(&session)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "rng")]
    #[doc(alias = "nonce")]
    pub fn random_source(self, source: Arc<dyn RandomSource>) -> CodecBuilder {
        CodecBuilder {
            random: source,
            ..self.builder
        }
    }
}

fn timeout_seconds(setting: &'static str, d: Duration) -> Result<u64, ConfigError> {
    if d > MAX_TIMEOUT {
        return Err(ConfigError::InvalidTimeout {
            setting,
            reason: TimeoutProblem::TooLong,
        });
    }
    u64::try_from(d.whole_seconds())
        .ok()
        .filter(|&s| s > 0)
        .ok_or(ConfigError::InvalidTimeout {
            setting,
            reason: TimeoutProblem::TooShort,
        })
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
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let codec = Codec::new(KeyRing::new(SecretKey::generate()));
        let mut state = codec.new_session(now).unwrap();
        // Find the largest value that passes the check while fresh.
        let mut n = 0;
        while {
            state.insert("v", &vec![0u8; n + 1]).unwrap();
            codec.check_size(&state).is_ok()
        } {
            n += 1;
        }
        state.insert("v", &vec![0u8; n]).unwrap();
        state.touch(now + Duration::hours(23));
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
            let mut state = codec.new_session(OffsetDateTime::now_utc()).unwrap();
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
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let encrypted = Codec::new(ring.clone());
        let signed = Codec::builder(ring).mode(Mode::Signed).build().unwrap();
        let mut state = encrypted.new_session(now).unwrap();
        state.insert("k", &7u8).unwrap();
        let cookie = encrypted.seal(&state).unwrap();

        let fresh = encrypted.inspect_at(&cookie, now).unwrap();
        assert_eq!(fresh.verdict, Ok(()));
        assert_eq!(fresh.state, state);
        assert_eq!(fresh.key_role, KeyRole::Primary);

        let later = now + Duration::hours(2);
        let expired = encrypted.inspect_at(&cookie, later).unwrap();
        assert_eq!(expired.verdict, Err(OpenError::ExpiredIdle));
        assert_eq!(expired.state.get::<u8>("k").unwrap(), Some(7));
        assert_eq!(
            encrypted.open_at(&cookie, later).unwrap_err(),
            OpenError::ExpiredIdle
        );

        let other_mode = signed.inspect_at(&cookie, now).unwrap();
        assert_eq!(other_mode.verdict, Err(OpenError::ModeMismatch));
        assert_eq!(other_mode.header.mode, Mode::Encrypted);

        let mut forged = cookie.into_bytes();
        let last = forged.len() - 10;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(
            encrypted.inspect_at(&forged, now).unwrap_err(),
            OpenError::Forged
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let ring = KeyRing::new(SecretKey::generate());
        let err = Codec::builder(ring.clone())
            .idle_timeout(Duration::hours(2))
            .absolute_timeout(Duration::hours(1))
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::InvalidTimeout {
                setting: "idle_timeout",
                reason: TimeoutProblem::IdleLongerThanAbsolute,
            }
        );
        for short in [
            Duration::ZERO,
            Duration::milliseconds(999),
            Duration::seconds(-1),
        ] {
            assert_eq!(
                Codec::builder(ring.clone())
                    .idle_timeout(short)
                    .build()
                    .unwrap_err(),
                ConfigError::InvalidTimeout {
                    setting: "idle_timeout",
                    reason: TimeoutProblem::TooShort,
                }
            );
        }
        assert!(matches!(
            Codec::builder(ring.clone())
                .size_limit(20)
                .build()
                .unwrap_err(),
            ConfigError::SizeLimitTooSmall { limit: 20, .. }
        ));
        assert!(matches!(
            Codec::builder(ring.clone())
                .cookie_name("a b")
                .build()
                .unwrap_err(),
            ConfigError::InvalidCookieName { .. }
        ));
        for (setting, reason, builder) in [
            (
                "idle_timeout",
                TimeoutProblem::TooLong,
                Codec::builder(ring.clone()).idle_timeout(Duration::days(401)),
            ),
            (
                "absolute_timeout",
                TimeoutProblem::TooLong,
                Codec::builder(ring.clone()).absolute_timeout(Duration::days(401)),
            ),
            (
                "clock_skew",
                TimeoutProblem::SkewOutOfRange,
                Codec::builder(ring.clone()).clock_skew(Duration::days(2)),
            ),
            (
                "clock_skew",
                TimeoutProblem::SkewOutOfRange,
                Codec::builder(ring.clone()).clock_skew(Duration::seconds(-1)),
            ),
        ] {
            let err = builder.build().unwrap_err();
            assert_eq!(
                err,
                ConfigError::InvalidTimeout { setting, reason },
                "{err}"
            );
        }
        // The largest accepted values build.
        Codec::builder(ring)
            .idle_timeout(MAX_TIMEOUT)
            .absolute_timeout(MAX_TIMEOUT)
            .clock_skew(MAX_CLOCK_SKEW)
            .build()
            .unwrap();
    }
}
