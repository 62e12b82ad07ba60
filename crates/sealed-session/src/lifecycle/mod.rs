//! The session lifecycle, written once for every web framework: open a request's cookies into a
//! [`RequestSession`], carry out renew, sign-in and the three kinds of logout against the
//! revocation store, and say what the response's cookie must be.
//!
//! A web adapter only translates: it hands [`SessionManager::attach`] the request's `Cookie`
//! header values, gives the handler the [`Session`], and writes every header of
//! [`Session::finish`]'s [`ResponseCookies`] into the response (the session cookie's, its other
//! chunks' when it spans several cookies, and a [`LegacyReader`]'s removal of another library's
//! cookie). Every decision is made here.

mod chunking;
mod config;
mod doors;
mod handle;
mod legacy;
mod session;
mod session_error;
mod store_choice;

use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::{Arc, Once};

use time::{Duration, OffsetDateTime};

pub use config::SessionConfig;
pub use handle::{PendingResponse, ResponseCookies, Session};
pub use legacy::{LegacyMigrations, LegacyReader};
pub use session::{IncomingCookie, RequestSession, SessionStatus};
pub use session_error::{
    MissingMiddleware, SessionError, SessionGetError, SessionInsertError, SessionUpdateError,
};
use store_choice::StoreChoice;

use crate::clock::{Clock, SystemClock};
use crate::codec::{Codec, CodecBuilder};
use crate::cookie::{self, CookieAttributes, SameSite};
use crate::envelope::{CookieName, Mode};
use crate::error::{ConfigError, OpenError, TimeoutProblem};
use crate::key_ring::{KeyRing, KeyRole};
use crate::lifetime::SessionLifecycle;
use crate::metrics::{KeyUsage, KeyUse};
use crate::random::RandomSource;
use crate::revocation::{
    Confirmation, Cutoff, Generation, IntoRevocationStore, MemoryRevocationStore, RevocationStore,
    RevokeError,
};
use crate::state::{SessionId, SessionState};
use crate::unix::UnixTime;

/// Where the lifecycle's events are logged: refused cookies (with a `reason` field), cookies
/// opened by older keys, revocation overflows.
pub const LOG_TARGET: &str = "sealed_session";

/// When an unchanged session is sealed again to slide its idle deadline.
///
/// A changed session is always re-sealed, and so is one opened with an older key during a
/// rotation; this policy is about sessions the request only read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshPolicy {
    /// Re-seal when the last recorded activity is at least this old. Reads within the interval
    /// write no cookie, so they can't overwrite a concurrent write's cookie, and responses stay
    /// small. The idle deadline lags real activity by at most the interval.
    Interval(Duration),
    /// Re-seal on every request that has a session (`Set-Cookie` on every response).
    ///
    /// # Performance impact
    /// One seal and one `Set-Cookie` header per request, and every read-only request can
    /// overwrite the cookie of a concurrent write with older data.
    EveryRequest,
}

/// Fraction of the idle timeout used as the default refresh interval.
const DEFAULT_REFRESH_DIVISOR: i32 = 10;

/// What the response must do with the session cookie, with the `Set-Cookie` header value to
/// write when it must do something.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieUpdate {
    /// Nothing: the session was not written, or only read within the refresh interval.
    None,
    /// A new or changed session: set the cookie.
    Set(String),
    /// An unchanged session sealed again (its idle deadline slid, or an older key opened it).
    Refresh(String),
    /// A logout or a refused cookie: remove the cookie (same name, `Path` and `Domain`).
    Remove(String),
}

impl CookieUpdate {
    /// The `Set-Cookie` header value to append, if any.
    pub fn header(&self) -> Option<&str> {
        match self {
            Self::None => None,
            Self::Set(h) | Self::Refresh(h) | Self::Remove(h) => Some(h),
        }
    }
}

/// What the lifecycle logs about a request besides the reason a cookie was refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestInfo<'a> {
    path: &'a str,
    peer: Option<SocketAddr>,
}

impl<'a> RequestInfo<'a> {
    /// A request for `path`.
    pub fn new(path: &'a str) -> Self {
        Self { path, peer: None }
    }

    /// The request's path, for a [`LegacyReader`]'s log events.
    ///
    /// ```
    /// use sealed_session::adapter::RequestInfo;
    ///
    /// assert_eq!(RequestInfo::new("/login").path(), "/login");
    /// assert_eq!(RequestInfo::default().path(), "", "none given");
    /// ```
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The client's address, logged with cookies that look tampered with.
    #[must_use]
    pub fn peer(mut self, peer: Option<SocketAddr>) -> Self {
        self.peer = peer;
        self
    }
}

/// Sessions of one application: the codec, the clock, the revocation store and the cookie's
/// attributes, and every decision about them.
///
/// Cheap to clone (shared). Web adapters (`sealed-session-actix`) build one and call
/// [`SessionManager::open`] per request; it can also be used directly:
///
/// ```
/// use sealed_session::adapter::{CookieUpdate, RequestInfo};
/// use sealed_session::{KeyRing, SecretKey, SessionManager};
///
/// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
/// let mut session = sessions.open([], RequestInfo::new("/login"));
/// session.sign_in("alice")?;                 // new id, no pre-login values, subject set
/// session.insert("role", &"admin")?;         // size checked here
/// let CookieUpdate::Set(header) = session.finish()? else { unreachable!() };
/// assert!(header.starts_with("__Host-id="));
///
/// // The next request carries the cookie back.
/// let value = header.split(';').next().unwrap().trim_start_matches("__Host-id=");
/// let cookie = format!("__Host-id={value}");
/// let mut next = sessions.open([cookie.as_bytes()], RequestInfo::new("/logout"));
/// assert_eq!(next.subject(), Some("alice"));
/// next.purge()?;                              // logged out: a copy of the cookie is refused
/// assert!(matches!(next.finish()?, CookieUpdate::Remove(_)));
/// let replay = sessions.open([cookie.as_bytes()], RequestInfo::new("/"));
/// assert_eq!(replay.refusal(), Some(sealed_session::OpenError::Revoked));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SessionManager {
    inner: Arc<Settings>,
}

struct Settings {
    codec: Codec,
    clock: Arc<dyn Clock>,
    store: Arc<dyn RevocationStore>,
    attributes: CookieAttributes,
    refresh: RefreshPolicy,
    revoke_anonymous: bool,
    usage: KeyUsage,
    legacy: Option<legacy::CheckedReader>,
    /// `None` for a session in one cookie (the default).
    chunking: Option<chunking::Chunking>,
}

impl SessionManager {
    /// A builder with the [defaults](SessionBuilder#defaults).
    pub fn builder(ring: KeyRing) -> SessionBuilder {
        SessionBuilder::new(ring)
    }

    /// Opens the session of a request whose `Cookie` headers are `cookie_headers` (their raw
    /// values, in order), at the clock's current time.
    ///
    /// At most three distinct values of the cookie's name are tried (a stale copy set for a
    /// parent domain and the current one fit); the first that opens and is not revoked wins. A
    /// refused cookie gives an empty session that removes the cookie at
    /// [`RequestSession::finish`] (unless more values were sent than were tried: the real one
    /// may be among the rest), and one `tracing` event under [`LOG_TARGET`] with a `reason`
    /// field (`warn` for what looks like tampering, `debug` for expiry and logout).
    ///
    /// With a legacy reader ([`SessionBuilder::legacy_reader`]), a request whose own cookie
    /// did not open is then given the session of its old cookie, if the reader reads one.
    pub fn open<'h>(
        &self,
        cookie_headers: impl IntoIterator<Item = &'h [u8]>,
        request: RequestInfo<'_>,
    ) -> RequestSession {
        self.open_at(cookie_headers, request, self.inner.clock.now())
    }

    /// [`SessionManager::open`], as the shared [`Session`] handle handlers use: what a web adapter
    /// puts in the request (its extensions), then [`Session::finish`]es once the handler
    /// returned, writing every header of the [`ResponseCookies`].
    ///
    /// ```
    /// use sealed_session::adapter::RequestInfo;
    /// use sealed_session::{KeyRing, SecretKey, SessionManager};
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
    /// let session = sessions.attach([], RequestInfo::new("/login"));
    /// // In a handler: `session.sign_in("alice").await?`.
    /// pollster::block_on(session.sign_in("alice"))?;
    /// let cookies = session.finish()?;
    /// assert!(cookies.headers().next().unwrap().starts_with("__Host-id="));
    /// assert!(session.insert("late", 1).is_err(), "a write after the cookie was decided");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn attach<'h>(
        &self,
        cookie_headers: impl IntoIterator<Item = &'h [u8]>,
        request: RequestInfo<'_>,
    ) -> Session {
        Session::attached(self.open(cookie_headers, request))
    }

    /// [`SessionManager::open`] as of `now`: the request's one clock reading, used by every
    /// operation on the session and by [`RequestSession::finish`].
    pub fn open_at<'h>(
        &self,
        cookie_headers: impl IntoIterator<Item = &'h [u8]>,
        request: RequestInfo<'_>,
        now: OffsetDateTime,
    ) -> RequestSession {
        if let Some(reader) = &self.inner.legacy {
            // Both names are looked for: the headers are scanned twice.
            let headers: Vec<&[u8]> = cookie_headers.into_iter().collect();
            let session = self.open_ours(headers.iter().copied(), request, now);
            return self.open_legacy(reader, session, &headers, request, now);
        }
        self.open_ours(cookie_headers, request, now)
    }

    /// Opens the session of a bare cookie value, as [`SessionManager::open`] opens a request
    /// that sent it under the session cookie's name (at the clock's current time, with the
    /// same checks, the same refusals and the same log events): for an adapter whose framework
    /// reads the cookie itself and hands over only its value, as actix-session gives its
    /// `SessionStore` the session key (`sealed_session_actix::SealedSessionStore`).
    ///
    /// A value no cookie could carry (a `;`, a `,`, a space, a quote or a control character,
    /// which a percent-decoded value may hold) is refused as [`OpenError::Malformed`] before
    /// anything else is read.
    ///
    /// ```
    /// use sealed_session::adapter::{CookieUpdate, RequestInfo};
    /// use sealed_session::{KeyRing, OpenError, SecretKey, SessionManager};
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
    /// let mut session = sessions.open_value("", RequestInfo::default());
    /// session.sign_in("alice")?;
    /// let value = session.sealed_value()?.expect("a session to seal");
    ///
    /// assert_eq!(sessions.open_value(&value, RequestInfo::default()).subject(), Some("alice"));
    /// let forged = sessions.open_value("x; __Host-id=y", RequestInfo::default());
    /// assert_eq!(forged.refusal(), Some(OpenError::Malformed));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_value(&self, value: &str, request: RequestInfo<'_>) -> RequestSession {
        let now = self.inner.clock.now();
        // RFC 6265's cookie-octet, less the double quote: a value that can't sit in a `Cookie`
        // header as it is must not be spliced into one below.
        let cookie_octet = |b: u8| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\');
        if !value.bytes().all(cookie_octet) {
            log_refusal(&OpenError::Malformed, request);
            let refused = IncomingCookie::Refused(OpenError::Malformed);
            return RequestSession::new(self.clone(), now, None, refused, false);
        }
        let header = format!("{}={value}", self.cookie_name());
        self.open_at([header.as_bytes()], request, now)
    }

    /// The session our own cookie holds, if one of its values opens.
    fn open_ours<'h>(
        &self,
        cookie_headers: impl IntoIterator<Item = &'h [u8]>,
        request: RequestInfo<'_>,
        now: OffsetDateTime,
    ) -> RequestSession {
        let s = &self.inner;
        let mut first_refusal = None;
        // A cookie refused only because the revocation list is not loaded yet is kept: it
        // works again once the store can check it, and a logout made with it meanwhile is
        // recorded (invariant 2).
        let mut unverified = None;
        // A cookie refused only for idleness, or as revoked, is kept for a logout: a copy kept
        // active may still be in force with the same id, and a revocation may hold here only
        // (a coarser cutoff of this instance's) until the logout records the session's own.
        let mut refused_held = None;
        // One cookie (the default): the values of its name. Several: those and the chunks'.
        // The chunk names sent are noted either way, so that cookies a larger `max_cookies` set
        // before are removed.
        let (values, skipped, chunks, sent) = match &s.chunking {
            None => {
                let found = cookie::chunk_values(cookie_headers, s.codec.cookie_name(), 1);
                let sent = found.sent();
                (found.firsts, found.skipped, None, sent)
            }
            Some(chunking) => {
                let mut found =
                    cookie::chunk_values(cookie_headers, s.codec.cookie_name(), chunking.max());
                let firsts = std::mem::take(&mut found.firsts);
                let sent = found.sent();
                (firsts, found.skipped, Some(found), sent)
            }
        };
        for raw in values {
            match self.open_one(raw, chunks.as_ref(), now) {
                Ok(opened) => {
                    s.usage.record(opened.key_id());
                    if opened.key_role() != KeyRole::Primary {
                        // What the rotation runbook watches: cookies still sealed by older keys.
                        tracing::debug!(
                            target: LOG_TARGET,
                            key_id = %opened.key_id(),
                            role = ?opened.key_role(),
                            "session cookie opened by a non-primary key"
                        );
                    }
                    let reseal = opened.should_reseal();
                    let mut session = RequestSession::new(
                        self.clone(),
                        now,
                        Some(opened.into_state()),
                        IncomingCookie::Valid,
                        reseal,
                    );
                    session.chunks_sent(sent);
                    return session;
                }
                Err(Refused::Unverified(held)) => {
                    unverified.get_or_insert(held);
                }
                Err(Refused::Revoked(held)) => {
                    refused_held.get_or_insert(*held);
                    first_refusal.get_or_insert(OpenError::Revoked);
                }
                Err(Refused::Open(err)) => {
                    if err == OpenError::ExpiredIdle && refused_held.is_none() {
                        refused_held = self.idle_expired_state(raw, chunks.as_ref(), now);
                    }
                    first_refusal.get_or_insert(err);
                }
            }
        }
        if let Some(held) = unverified {
            log_refusal(&OpenError::RevocationUnknown, request);
            let mut session = RequestSession::unverified(self.clone(), now, *held);
            session.chunks_sent(sent);
            return session;
        }
        let incoming = match first_refusal {
            Some(err) => {
                log_refusal(&err, request);
                IncomingCookie::Refused(err)
            }
            None => IncomingCookie::Missing,
        };
        let mut session = RequestSession::new(self.clone(), now, None, incoming, false);
        session.chunks_sent(sent);
        if let Some(held) = refused_held {
            session.hold_refused(held);
        }
        if skipped {
            // More values of our name came than were tried: the real cookie may be among the
            // skipped ones (planted cookies for a parent domain listed first), so a refusal of
            // the others must not delete it.
            session.keep_refused_cookie();
        }
        session
    }

    /// The legacy reader's part of an open, after ours: an old cookie becomes the session when
    /// ours did not open (and every value of our name was tried), and is removed when it was
    /// migrated or when ours opened (a current session supersedes it; left in place, it would
    /// come back as a session after a logout).
    fn open_legacy(
        &self,
        reader: &legacy::CheckedReader,
        mut session: RequestSession,
        headers: &[&[u8]],
        request: RequestInfo<'_>,
        now: OffsetDateTime,
    ) -> RequestSession {
        if *session.incoming() == IncomingCookie::Valid {
            if reader.present(headers) {
                session.remove_legacy_cookie(reader.removal().to_owned());
            }
            return session;
        }
        if session.keeps_refused_cookie() {
            // Values of our name were left untried: the real session may be among them, and a
            // migration would overwrite it with an older one.
            return session;
        }
        let fits = |state: &SessionState| self.check_size(state).is_ok();
        match reader.migrate(headers, &self.inner.codec, now, request, fits) {
            Some(state) => {
                RequestSession::migrated(self.clone(), now, state, reader.removal().to_owned())
            }
            None => session,
        }
    }

    /// The session of a cookie the codec refused as idle too long, authenticated under the
    /// configured mode (only a logout uses it).
    fn idle_expired_state(
        &self,
        raw: &[u8],
        chunks: Option<&cookie::ChunkValues<'_>>,
        now: OffsetDateTime,
    ) -> Option<SessionState> {
        let (value, parts) = self.joined(raw, chunks).ok()?;
        let inspection = self
            .inner
            .codec
            .inspect_chunked_at(&value, parts, now)
            .ok()?;
        (inspection.header.mode == self.inner.codec.mode()
            && inspection.verdict == Err(OpenError::ExpiredIdle))
        .then_some(inspection.state)
    }

    /// The sealed value `raw` (a first chunk's, with the request's other `chunks`, when the
    /// session may span several cookies) and the number of parts it was sealed for.
    fn joined<'v>(
        &self,
        raw: &'v [u8],
        chunks: Option<&cookie::ChunkValues<'v>>,
    ) -> Result<(std::borrow::Cow<'v, str>, u8), OpenError> {
        let value = std::str::from_utf8(raw).map_err(|_| OpenError::Malformed)?;
        let Some(chunks) = chunks else {
            return Ok((std::borrow::Cow::Borrowed(value), 1));
        };
        let max = self
            .inner
            .chunking
            .as_ref()
            .map_or(1, chunking::Chunking::max);
        // A chunk that is not text is no chunk of ours: refused as such, not as missing.
        let text = |raw: &[u8]| std::str::from_utf8(raw).is_ok();
        if (1..max).any(|index| chunks.chunk(index).is_some_and(|raw| !text(raw))) {
            return Err(OpenError::Malformed);
        }
        crate::chunks::join_chunks(
            value,
            |index| {
                chunks
                    .chunk(index)
                    .and_then(|raw| std::str::from_utf8(raw).ok())
            },
            max,
        )
    }

    fn open_one(
        &self,
        raw: &[u8],
        chunks: Option<&cookie::ChunkValues<'_>>,
        now: OffsetDateTime,
    ) -> Result<crate::codec::Opened, Refused> {
        let (value, parts) = self.joined(raw, chunks)?;
        let opened = self.inner.codec.open_chunked_at(&value, parts, now)?;
        let state = opened.state();
        let store = &self.inner.store;
        let revocable = state.subject().is_some() || self.inner.revoke_anonymous;
        if revocable && !store.revocations_known() {
            return Err(Refused::Unverified(Box::new(opened.into_state())));
        }
        if store.is_revoked(state.id(), state.subject_generation(), UnixTime::from(now)) {
            return Err(Refused::Revoked(Box::new(opened.into_state())));
        }
        Ok(opened)
    }

    /// Logs out every session of `subject` ("log out everywhere"), from outside a request: an
    /// admin task, a password reset. The cutoff holds on this instance when this returns; the
    /// returned [`Confirmation`] resolves to the subject's new cutoff once the shared store
    /// confirms it: every session of the subject stamped below it is refused, and a sign-in
    /// from now on is stamped above it. `.await` it in async code (no thread waits for Redis),
    /// or [`Confirmation::wait`] for it elsewhere.
    ///
    /// ```
    /// use sealed_session::{KeyRing, SecretKey, SessionManager};
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
    /// let cutoff = sessions.revoke_subject("alice").wait()?;
    /// assert!(cutoff > sealed_session::revocation::Generation::ZERO);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The confirmation resolves to [`RevokeError::NotDurable`] if the cutoff holds here but
    /// the shared store did not confirm it in time (retry). Never refused for lack of room
    /// (invariant 6 of [`crate::guide::security`]).
    pub fn revoke_subject(&self, subject: &str) -> Confirmation<Generation> {
        match self.log_out_everywhere(subject, self.inner.clock.now()) {
            Ok(durable) => {
                let cutoff = self.inner.store.generation(subject);
                durable.map(move |()| cutoff)
            }
            Err(err) => Confirmation::ready(Err(err)),
        }
    }

    /// "Log out everywhere" of `subject` at `now`, with the confirmation that it is durable to
    /// await: the cutoff rises above every stamp an instance within the clock skew allowance
    /// could have issued (invariant 4).
    pub(super) fn log_out_everywhere(
        &self,
        subject: &str,
        now: OffsetDateTime,
    ) -> Result<Confirmation, RevokeError> {
        let store = &self.inner.store;
        // The exact time, not whole seconds: a stamp issued within the same second by a clock a
        // full skew allowance ahead must be below the cutoff too.
        let above = Generation::everywhere_at(now, self.inner.codec.clock_skew());
        let unix = UnixTime::from(now);
        store.advance(
            subject,
            Cutoff::Everything { above },
            self.horizon(unix),
            unix,
        )?;
        Ok(store.settle())
    }

    /// The authentication stamp of a session of `subject` signed in at `now`: above the
    /// subject's cutoff as this instance knows it (invariant 3).
    pub(super) fn stamp(&self, subject: &str, now: OffsetDateTime) -> Generation {
        self.inner
            .store
            .authentication_stamp(subject, Generation::at(now))
    }

    /// How many cookies each key opened since startup: the figure to watch before retiring a
    /// key (see the rotation runbook, [`crate::guide::operations`]).
    pub fn key_usage(&self) -> Vec<KeyUse> {
        self.inner.usage.snapshot()
    }

    /// What the legacy reader did since startup (all zero without a reader): the figure to
    /// watch before turning it off (the cut-over runbook in `sealed_session_actix::migrating`).
    /// The example on [`LegacyReader`] shows both counts move.
    ///
    /// ```
    /// use sealed_session::adapter::RequestInfo;
    /// use sealed_session::{KeyRing, SecretKey, SessionManager};
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
    /// // Without a reader, an `id` cookie is nobody's: not read, not counted.
    /// let session = sessions.open([b"id=forged".as_slice()], RequestInfo::new("/"));
    /// assert!(session.state().is_none());
    /// let counts = sessions.legacy_migrations();
    /// assert_eq!((counts.migrated, counts.refused), (0, 0));
    /// # Ok::<(), sealed_session::ConfigError>(())
    /// ```
    pub fn legacy_migrations(&self) -> LegacyMigrations {
        self.inner
            .legacy
            .as_ref()
            .map_or_else(LegacyMigrations::default, legacy::CheckedReader::counts)
    }

    /// The codec.
    pub fn codec(&self) -> &Codec {
        &self.inner.codec
    }

    /// The cookie's name.
    pub fn cookie_name(&self) -> &CookieName {
        self.inner.codec.cookie_name()
    }

    /// The cookie's attributes (`Path`, `Domain`, `Secure`, ...), for an adapter that has another
    /// library write the cookie and must configure it the same way.
    ///
    /// ```
    /// use sealed_session::{KeyRing, SameSite, SecretKey, SessionManager};
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
    ///     .cookie_same_site(SameSite::Strict)
    ///     .build()?;
    /// let attributes = sessions.cookie_attributes();
    /// assert_eq!((attributes.path(), attributes.domain()), ("/", None));
    /// assert!(attributes.secure() && attributes.http_only() && !attributes.persistent());
    /// assert_eq!(attributes.same_site(), SameSite::Strict);
    /// # Ok::<(), sealed_session::ConfigError>(())
    /// ```
    pub fn cookie_attributes(&self) -> &CookieAttributes {
        &self.inner.attributes
    }

    /// The revocation store.
    pub fn revocation_store(&self) -> &Arc<dyn RevocationStore> {
        &self.inner.store
    }

    /// The current time of the lifecycle's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    /// Until when a revocation made at `now` must be kept: the latest a session alive now can
    /// still open (an absolute timeout, plus the clock skew allowance).
    fn horizon(&self, now: UnixTime) -> UnixTime {
        self.inner.codec.lifetime_end(now)
    }
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.inner;
        let mut f = f.debug_struct("SessionManager");
        f.field("codec", &s.codec)
            .field("store", &s.store)
            .field("attributes", &s.attributes)
            .field("refresh", &s.refresh)
            .field("revoke_anonymous", &s.revoke_anonymous)
            .field("legacy", &s.legacy);
        f.finish_non_exhaustive()
    }
}

/// One event per refused cookie: `warn` for what looks like tampering, `debug` for the
/// ordinary end of a session. Never the cookie's value.
/// Why one cookie value gave no session.
enum Refused {
    /// The codec or the revocation store refused it.
    Open(OpenError),
    /// It authenticated, but the store can't tell yet whether it is revoked.
    Unverified(Box<SessionState>),
    /// It authenticated, and the store refuses it as revoked: kept for a logout made with it.
    Revoked(Box<SessionState>),
}

impl From<OpenError> for Refused {
    fn from(err: OpenError) -> Self {
        Self::Open(err)
    }
}

fn log_refusal(err: &OpenError, request: RequestInfo<'_>) {
    if err.is_suspicious() {
        tracing::warn!(
            target: LOG_TARGET,
            reason = err.reason(),
            path = request.path,
            peer = ?request.peer,
            "session cookie refused: {err}"
        );
    } else {
        tracing::debug!(
            target: LOG_TARGET,
            reason = err.reason(),
            path = request.path,
            "session cookie refused: {err}"
        );
    }
}

/// Builds a [`SessionManager`]. Every setting is checked by [`SessionBuilder::build`].
///
/// # Defaults
/// - cookie `__Host-id` when `Secure` (the default) with `Path=/` and no `Domain`,
///   `__Secure-id` when `Secure` with another path or a domain, `id` in plain-HTTP development
///   mode; `Path=/`, `Secure`, `HttpOnly`, `SameSite=Lax`, a browser-session cookie (no
///   `Max-Age`, as actix-session's default; [`SessionBuilder::session_lifecycle`] makes it
///   persistent)
/// - [`Mode::Encrypted`], idle timeout 1 hour, absolute timeout 24 hours, clock skew allowance
///   60 seconds
/// - refresh an unchanged session when its activity is older than a tenth of the idle timeout
/// - a 4096-byte budget for the cookie's name plus value
/// - a [`MemoryRevocationStore`] with its default limits; sessions without a subject are not
///   revoked (their fresh id at sign-in is what defeats fixation)
/// - the system clock
/// - nonces and session ids from the operating system's generator
///   ([`SystemRandom`](crate::codec::SystemRandom))
///
/// ```
/// use sealed_session::{ConfigError, KeyRing, SessionManager, SecretKey};
/// use time::Duration;
///
/// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .idle_timeout(Duration::minutes(30))
///     .absolute_timeout(Duration::hours(8))
///     .build()?;
/// assert_eq!(sessions.cookie_name().as_str(), "__Host-id");
///
/// // Timeouts past what browsers keep are refused at startup, with the reason.
/// let err = SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .absolute_timeout(Duration::days(1_000))
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("400 days"));
/// # Ok::<(), ConfigError>(())
/// ```
///
/// The same builder makes the web adapters' middleware: `T` is what [`SessionBuilder::build`]
/// returns (`CookieSessionMiddleware::builder(ring)` in `sealed-session-actix`,
/// `CookieSessionLayer::builder(ring)` in `sealed-session-tower`), so both stacks are configured
/// with the same methods.
#[must_use]
pub struct SessionBuilder<T = SessionManager> {
    codec: CodecBuilder,
    name: Option<String>,
    idle: Duration,
    attributes: CookieAttributes,
    refresh: Option<RefreshPolicy>,
    store: Option<StoreChoice>,
    clock: Arc<dyn Clock>,
    revoke_anonymous: bool,
    legacy: Option<Box<dyn LegacyReader>>,
    max_cookies: usize,
    cookie_header_budget: usize,
    size_limit_set: bool,
    target: PhantomData<fn() -> T>,
}

impl<T> SessionBuilder<T> {
    /// A builder of a `T` with the [defaults](SessionBuilder#defaults): what the web
    /// adapters' `builder` functions return (for a [`SessionManager`], see [`SessionManager::builder`]).
    pub fn new(ring: KeyRing) -> Self {
        Self {
            codec: Codec::builder(ring),
            name: None,
            idle: crate::codec::DEFAULT_IDLE_TIMEOUT,
            attributes: CookieAttributes::default(),
            refresh: None,
            store: None,
            clock: Arc::new(SystemClock),
            revoke_anonymous: false,
            legacy: None,
            max_cookies: 1,
            cookie_header_budget: crate::chunks::DEFAULT_COOKIE_HEADER_BUDGET,
            size_limit_set: false,
            target: PhantomData,
        }
    }

    /// The cookie's name, bound into every cookie. Defaults to `__Host-id` when the cookie is
    /// `Secure` (browsers then refuse it from subdomains and over plain HTTP, so a sibling
    /// subdomain can't plant one), see the [defaults](SessionBuilder#defaults).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Encrypted (default) or signed.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.codec = self.codec.mode(mode);
        self
    }

    /// Sessions idle this long are refused. Defaults to 1 hour; at most 400 days.
    #[doc(alias = "inactivity_timeout")]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = timeout;
        self.codec = self.codec.idle_timeout(timeout);
        self
    }

    /// Sessions this old are refused however active (activity never extends it). Defaults to
    /// 24 hours; at most 400 days.
    #[doc(alias = "session_ttl")]
    #[doc(alias = "max_age")]
    pub fn absolute_timeout(mut self, timeout: Duration) -> Self {
        self.codec = self.codec.absolute_timeout(timeout);
        self
    }

    /// How far in the future a cookie's times may lie (clocks of a fleet disagree a little).
    /// Defaults to 60 seconds.
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.codec = self.codec.clock_skew(skew);
        self
    }

    /// When unchanged sessions are re-sealed. Defaults to [`RefreshPolicy::Interval`] of a
    /// tenth of the idle timeout.
    #[doc(alias = "ttl_extension_policy")]
    #[doc(alias = "session_ttl_extension_policy")]
    #[doc(alias = "state_ttl_extension_policy")]
    pub fn refresh(mut self, policy: RefreshPolicy) -> Self {
        self.refresh = Some(policy);
        self
    }

    /// Refuses every session created before `time`: logs everyone out without a key change.
    pub fn not_before(mut self, time: OffsetDateTime) -> Self {
        self.codec = self.codec.not_before(time);
        self
    }

    /// Budget for the cookie's name plus value, in bytes. Defaults to 4096. For a session over
    /// several cookies, see [`SessionBuilder::max_cookies`] (the two don't go together).
    pub fn size_limit(mut self, limit: usize) -> Self {
        self.codec = self.codec.size_limit(limit);
        self.size_limit_set = true;
        self
    }

    /// The most cookies one session may span, for sessions past 4 KB (an OAuth provider's
    /// tokens, say). Defaults to 1: one cookie, and [`insert`](RequestSession::insert) refuses
    /// what doesn't fit. At most [`MAX_COOKIES`](crate::codec::MAX_COOKIES) (10).
    ///
    /// With `n` > 1 the session is sealed once and its value cut into as few cookies as it
    /// needs, named `<name>`, `<name>-1`, ... `<name>-<n-1>` (a `__Host-` or `__Secure-`
    /// prefix stays), each `Set-Cookie` header at most 4096 bytes counting its name, value and
    /// attributes; the number of cookies is authenticated with the value, so a missing, extra,
    /// reordered or foreign chunk refuses the session, with a typed reason
    /// ([`OpenError::MissingChunk`], [`OpenError::ExtraChunk`], [`OpenError::Forged`]). A
    /// response removes the chunks a smaller session or a logout no longer uses. `insert`
    /// refuses at once a session that would need more than `n` cookies, or more than the
    /// [`cookie_header_budget`](SessionBuilder::cookie_header_budget) in the request's `Cookie`
    /// header.
    ///
    /// ```
    /// use sealed_session::{KeyRing, SecretKey, SessionManager};
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
    ///     .max_cookies(3)
    ///     .build()?;
    /// let session = sessions.attach([], sealed_session::adapter::RequestInfo::new("/"));
    /// session.insert("tokens", "x".repeat(5_000))?; // past one cookie, within three
    /// let cookies = session.finish()?;
    /// let headers: Vec<&str> = cookies.headers().collect();
    /// // `__Host-id` and `__Host-id-1`, and the removal of `__Host-id-2`, which this session
    /// // doesn't use (a concurrent response may have set it).
    /// assert_eq!(headers.len(), 3);
    /// assert!(headers[2].starts_with("__Host-id-2=;"));
    /// assert!(headers.iter().all(|header| header.len() <= 4096));
    /// assert!(session.id().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Performance impact
    /// A request's `Cookie` headers are scanned once, for the cookie's name and its chunks'; a
    /// session of `n` cookies is one seal or open of its whole value, and a write sends `n`
    /// `Set-Cookie` headers plus a short removal for each of the other `max_cookies` names.
    #[doc(alias = "chunks")]
    pub fn max_cookies(mut self, max: usize) -> Self {
        self.max_cookies = max;
        self
    }

    /// The most bytes the session's cookies may take in the request's `Cookie` header (their
    /// names, values, and the `; ` between them), when it spans several
    /// ([`SessionBuilder::max_cookies`]). Defaults to
    /// [`DEFAULT_COOKIE_HEADER_BUDGET`](crate::codec::DEFAULT_COOKIE_HEADER_BUDGET), 8192: the
    /// per-header-line limit of nginx's default buffers and of Heroku's router; a proxy that
    /// passes less (or a site with other large cookies) needs less, one that passes 16 KiB (ALB,
    /// Vercel, hyper's HTTP/2 default) allows more.
    pub fn cookie_header_budget(mut self, bytes: usize) -> Self {
        self.cookie_header_budget = bytes;
        self
    }

    /// The cookie's `Path`. Defaults to `/`.
    pub fn cookie_path(mut self, path: impl Into<String>) -> Self {
        self.attributes.path = path.into();
        self
    }

    /// The cookie's `Domain`. Defaults to none (this host only).
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.attributes.domain = Some(domain.into());
        self
    }

    /// The `Secure` attribute. Defaults to `true`.
    ///
    /// Turn it off only for local development over plain HTTP: without it, anyone on the
    /// network path can read and replay the session cookie.
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.attributes.secure = secure;
        self
    }

    /// The `HttpOnly` attribute. Defaults to `true`, so scripts (and XSS) can't read the cookie.
    pub fn cookie_http_only(mut self, http_only: bool) -> Self {
        self.attributes.http_only = http_only;
        self
    }

    /// The `SameSite` attribute. Defaults to `Lax`, which blocks cross-site POSTs (CSRF) but
    /// keeps the user signed in when following a link to the site.
    ///
    /// Takes this crate's [`SameSite`], or actix-web's with the `actix-web` feature.
    pub fn cookie_same_site(mut self, same_site: impl Into<SameSite>) -> Self {
        self.attributes.same_site = same_site.into();
        self
    }

    /// The cookie's kind and the session's lifetime in one call, with actix-session's names:
    /// [`PersistentSession`](crate::PersistentSession)`::default().session_ttl(ttl)` gives a
    /// cookie with `Max-Age` and sessions that last `ttl` from sign-in;
    /// [`BrowserSession`](crate::BrowserSession) a cookie without `Max-Age`. The one setting
    /// of the cookie's kind; it also sets the idle and absolute timeouts the lifecycle sets (a
    /// later call of either timeout's method overrides it). Defaults to
    /// [`SessionLifecycle::BrowserSession`] with idle 1 hour and absolute 24 hours.
    ///
    /// ```
    /// use sealed_session::{KeyRing, SessionManager, PersistentSession, SecretKey};
    /// use time::Duration;
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
    ///     .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(7)))
    ///     .build()?;
    /// assert_eq!(sessions.codec().absolute_timeout(), Duration::days(7));
    /// assert_eq!(sessions.codec().idle_timeout(), Duration::days(7));
    /// # Ok::<(), sealed_session::ConfigError>(())
    /// ```
    #[doc(alias = "session_ttl")]
    #[doc(alias = "max_age")]
    pub fn session_lifecycle(mut self, lifecycle: impl Into<SessionLifecycle>) -> Self {
        let lifecycle = lifecycle.into();
        self.attributes.persistence = lifecycle.persistence();
        let (idle, absolute) = lifecycle.timeouts();
        if let Some(absolute) = absolute {
            self = self.absolute_timeout(absolute);
        }
        if let Some(idle) = idle {
            self = self.idle_timeout(idle);
        }
        self
    }

    /// The revocation store consulted on every request and written by renew, sign-in and the
    /// logouts: a running store (`Arc<MemoryRevocationStore>`, `Arc<dyn RevocationStore>`, ...)
    /// or a configuration started at [`SessionBuilder::build`] with the lifecycle's clock and
    /// the key ring's revocation key, which a shared store authenticates its entries and
    /// messages with (`sealed_session_redis::RedisConfig`): see [`IntoRevocationStore`].
    /// Defaults to a
    /// [`MemoryRevocationStore`] of this process; use a shared store when the application runs
    /// on several instances. Replaces any earlier choice of store.
    #[doc(alias = "redis_revocation")]
    pub fn revocation_store(mut self, store: impl IntoRevocationStore) -> Self {
        self.store = Some(StoreChoice::new(store));
        self
    }

    /// Also revoke sessions without a subject when they are renewed or purged. Defaults to
    /// `false`: an anonymous session holds nothing worth stealing once its user signs in (the
    /// sign-in gives a fresh id), and revoking every anonymous session lets any client grow the
    /// revocation list one entry per request.
    ///
    /// # Performance impact
    /// With it on, unauthenticated clients can fill the store up to its total limit
    /// ([`RevocationLimits`](crate::revocation::RevocationLimits)), after which logouts that need a
    /// new entry fail with [`RevokeError::CapacityExceeded`] (a sign-in still succeeds: it does not
    /// need the anonymous session listed).
    pub fn revoke_anonymous_sessions(mut self, revoke: bool) -> Self {
        self.revoke_anonymous = revoke;
        self
    }

    /// Where the time comes from (for tests). Defaults to the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reads another library's session cookies with `reader`, so moving from it logs no one
    /// out; sealed-session-actix's `LegacyCookies` reads actix-session 0.11's
    /// `CookieSessionStore` cookies. Defaults to off.
    ///
    /// A request whose own cookie is missing or refused, and that carries an old cookie the
    /// reader reads, gets that session: a new one (a fresh id, created and last active now, no
    /// subject), [`SessionStatus::Changed`], and [`IncomingCookie::Migrated`] says where it came
    /// from. The response sets the new cookie and removes the old one
    /// ([`RequestSession::legacy_removal`]), as it also does whenever the request's own cookie
    /// opened beside an old one. A request whose own values were not all tried (more than
    /// three) is not migrated: the real session may be among them.
    ///
    /// An old cookie that can't be migrated gives an empty session and is left in place: if
    /// the reader was misconfigured, fixing it still migrates everyone. At most three distinct
    /// values of the old name are given to the reader. [`SessionManager::legacy_migrations`] counts
    /// both outcomes.
    ///
    /// # Performance impact
    /// Every request's `Cookie` headers are scanned a second time, for the old name. An old
    /// cookie costs what the reader does with it; one that is refused is tried again on each
    /// request that carries it, until the reader is off.
    ///
    /// # Security
    /// What the reader accepts becomes a session: see [`LegacyReader`]. Old cookies that carry
    /// no expiry and no id can't be revoked: a copy of one works, as a new session, for as long
    /// as the reader is on. Turn it off once the old cookies' lifetime has passed
    /// ([`crate::guide::security`], "Migrating from actix-session").
    ///
    /// ```
    /// use sealed_session::adapter::LegacyReader;
    /// use sealed_session::{ConfigError, KeyRing, SecretKey, SessionManager};
    /// # use sealed_session::adapter::RequestInfo;
    /// # use sealed_session::codec::{Codec, SessionState};
    /// # #[derive(Debug)]
    /// # struct OldCookies;
    /// # impl LegacyReader for OldCookies {
    /// #     fn name(&self) -> &str { "id" }
    /// #     fn path(&self) -> &str { "/" }
    /// #     fn domain(&self) -> Option<&str> { None }
    /// #     fn migrate(&self, _: &[&[u8]], _: &Codec, _: time::OffsetDateTime, _: RequestInfo<'_>)
    /// #         -> Option<SessionState> { None }
    /// # }
    ///
    /// // `OldCookies` reads the old app's `id` cookies (a full reader is on `LegacyReader`).
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
    ///     .legacy_reader(OldCookies)
    ///     .build()?;
    ///
    /// // Over plain HTTP the new cookie is named `id` too: old and new would be confused.
    /// let err = SessionManager::builder(KeyRing::new(SecretKey::generate()))
    ///     .cookie_secure(false)
    ///     .legacy_reader(OldCookies)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(matches!(err, ConfigError::LegacyCookieNameClash { .. }));
    /// # Ok::<(), ConfigError>(())
    /// ```
    #[doc(alias = "migrate")]
    #[doc(alias = "actix-session")]
    pub fn legacy_reader(mut self, reader: impl LegacyReader + 'static) -> Self {
        self.legacy = Some(Box::new(reader));
        self
    }

    /// Settings that break the sessions' security if misused, for reproducible tests only: see
    /// [`DangerousSessionBuilder`].
    pub fn dangerous(self) -> DangerousSessionBuilder<T> {
        DangerousSessionBuilder { builder: self }
    }

    /// Checks the settings and builds the lifecycle.
    ///
    /// # Errors
    /// A [`ConfigError`] that says what to fix: an invalid cookie name, timeout (more than 400
    /// days, less than a second, idle longer than absolute) or size limit, a refresh interval
    /// not shorter than the idle timeout, or cookie attributes browsers would reject
    /// (`__Host-` without `Secure`, `SameSite=None` without `Secure`, ...); with a legacy
    /// reader, [`ConfigError::LegacyCookieNameClash`], an invalid old cookie name, or an old
    /// path or domain browsers would reject.
    ///
    /// # Logging
    /// The plain-HTTP warning and the reason of every refused cookie are `tracing` events
    /// (target `sealed_session`): without a subscriber they go nowhere. So when no global
    /// subscriber is installed yet (`tracing::dispatcher::has_been_set()` is false), the first
    /// `build` of the process prints one line on stderr saying so, and how to see them: install
    /// a subscriber before building, e.g. `tracing_subscriber::fmt::init()`. (`tracing` counts a
    /// subscriber set for a scope too, so after one no line is printed; an application that reads
    /// `tracing` events through a `log` logger gets the line all the same.)
    pub fn build(self) -> Result<T, ConfigError>
    where
        T: From<SessionManager>,
    {
        let secure = self.attributes.secure;
        let name = self.name.unwrap_or_else(|| {
            let host_only = self.attributes.path == "/" && self.attributes.domain.is_none();
            match (secure, host_only) {
                (true, true) => "__Host-id",
                (true, false) => "__Secure-id",
                (false, _) => crate::codec::DEFAULT_COOKIE_NAME,
            }
            .to_owned()
        });
        let mut codec = self.codec.cookie_name(name);
        if self.max_cookies > 1 && self.max_cookies <= crate::codec::MAX_COOKIES {
            if self.size_limit_set {
                return Err(ConfigError::InvalidChunking {
                    reason: crate::ChunkingProblem::SizeLimitWithChunks,
                });
            }
            // The chunks' capacities and the budget bound the session (`Chunking::parts`), not
            // the codec's one-cookie budget.
            codec = codec.size_limit(usize::MAX);
        }
        let codec = codec.build()?;
        self.attributes.validate(codec.cookie_name())?;
        let chunking = chunking::Chunking::new(
            codec.cookie_name(),
            self.max_cookies,
            self.cookie_header_budget,
            &self.attributes,
        )?;
        if let Some(chunking) = &chunking {
            // Created as late as a session's times get (their varints at their longest).
            let late = OffsetDateTime::from_unix_timestamp(i64::from(u32::MAX))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let empty = SessionState::with_id(SessionId::from_bytes([0; 16]), late);
            let len = codec.sealed_len(&empty) - codec.cookie_name().as_str().len();
            chunking.check_budget(len)?;
        }
        let refresh = self
            .refresh
            .unwrap_or(RefreshPolicy::Interval(self.idle / DEFAULT_REFRESH_DIVISOR));
        if let RefreshPolicy::Interval(interval) = refresh
            && (interval.is_negative() || interval >= codec.idle_timeout())
        {
            return Err(ConfigError::InvalidTimeout {
                setting: "refresh",
                reason: TimeoutProblem::RefreshNotShorterThanIdle,
            });
        }
        if !secure {
            tracing::warn!(
                target: LOG_TARGET,
                cookie = codec.cookie_name().as_str(),
                "session cookie is not `Secure` (plain-HTTP development mode, so it is named \
                 `{}` rather than `__Host-id`): anyone on the network path can read and replay \
                 it; never run like this in production",
                codec.cookie_name()
            );
        }
        if let Some(notice) = subscriber_notice(tracing::dispatcher::has_been_set()) {
            SUBSCRIBER_NOTICE.call_once(|| eprintln!("{notice}"));
        }
        let legacy = self
            .legacy
            .map(|reader| legacy::CheckedReader::new(reader, codec.cookie_name(), &self.attributes))
            .transpose()?;
        let usage = KeyUsage::new(codec.key_ring());
        let store = match self.store {
            Some(choice) => {
                choice.start(Arc::clone(&self.clock), codec.key_ring().revocation_mac())
            }
            None => Arc::new(MemoryRevocationStore::new()),
        };
        Ok(T::from(SessionManager {
            inner: Arc::new(Settings {
                codec,
                clock: self.clock,
                store,
                attributes: self.attributes,
                refresh,
                revoke_anonymous: self.revoke_anonymous,
                usage,
                legacy,
                chunking,
            }),
        }))
    }
}

/// Printed at most once per process, by the first [`SessionBuilder::build`] that finds no
/// `tracing` subscriber: one line is enough to point at the fix, and an application that builds
/// many managers (tests) is not flooded.
static SUBSCRIBER_NOTICE: Once = Once::new();

/// The line [`SessionBuilder::build`] prints on stderr when no global `tracing` subscriber is
/// installed (`has_subscriber` false), or `None`.
fn subscriber_notice(has_subscriber: bool) -> Option<&'static str> {
    (!has_subscriber).then_some(
        "sealed-session: no `tracing` subscriber is installed, so the plain-HTTP warning and \
         the reason of every refused session cookie are not shown; install one before building \
         the sessions, e.g. `tracing_subscriber::fmt::init()` (target `sealed_session`)",
    )
}

/// The settings of a [`SessionBuilder`] that break the sessions' security if misused,
/// reached through [`SessionBuilder::dangerous`] so that every use says so where it is
/// written (as rustls' `ConfigBuilder::dangerous`). For reproducible tests only.
#[must_use]
pub struct DangerousSessionBuilder<T = SessionManager> {
    builder: SessionBuilder<T>,
}

impl<T> DangerousSessionBuilder<T> {
    /// Draws every nonce and every session id of the lifecycle (new sessions, renewals, sign-ins,
    /// re-authentications, "sign out my other devices", migrated legacy sessions, and the seal of
    /// every cookie) from `source` instead of the operating system's generator, and returns the
    /// builder. Defaults to [`SystemRandom`](crate::codec::SystemRandom). The source becomes the
    /// codec's, as [`DangerousCodecBuilder::random_source`] sets it.
    ///
    /// [`DangerousCodecBuilder::random_source`]: crate::codec::DangerousCodecBuilder::random_source
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
    /// It exists for reproducible tests: given the same clock, the same requests and a source
    /// that gives the same bytes, two lifecycles (and the web adapters built from them) set
    /// the same cookies, byte for byte.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use sealed_session::adapter::{CookieUpdate, RequestInfo};
    /// use sealed_session::clock::ManualClock;
    /// use sealed_session::codec::RandomSource;
    /// use sealed_session::{KeyRing, SealError, SecretKey, SessionManager};
    ///
    /// /// A counter: the same bytes from every fresh one, and nothing secret about them.
    /// #[derive(Debug, Default)]
    /// struct Counter(Mutex<u8>);
    ///
    /// impl RandomSource for Counter {
    ///     fn fill(&self, dest: &mut [u8]) -> Result<(), SealError> {
    ///         let mut next = self.0.lock().unwrap();
    ///         for byte in dest {
    ///             *next = next.wrapping_add(1);
    ///             *byte = *next;
    ///         }
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let ring = KeyRing::new(SecretKey::generate());
    /// let clock = Arc::new(ManualClock::new(time::macros::datetime!(2030-01-01 0:00 UTC)));
    /// let sessions = || {
    ///     SessionManager::builder(ring.clone())
    ///         .clock(clock.clone())
    ///         .dangerous()
    ///         .random_source(Arc::new(Counter::default()))
    ///         .build()
    /// };
    /// let set_cookie = |sessions: SessionManager| -> Result<CookieUpdate, Box<dyn std::error::Error>> {
    ///     let mut session = sessions.open([], RequestInfo::new("/login"));
    ///     session.sign_in("alice")?;
    ///     Ok(session.finish()?)
    /// };
    /// // Reproducible: the same cookie, byte for byte. Predictable too: never in production.
    /// assert_eq!(set_cookie(sessions()?)?, set_cookie(sessions()?)?);
    ///
    /// // With the default source, never the same cookie.
    /// let default = || SessionManager::builder(ring.clone()).clock(clock.clone()).build();
    /// assert_ne!(set_cookie(default()?)?, set_cookie(default()?)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "rng")]
    #[doc(alias = "nonce")]
    pub fn random_source(mut self, source: Arc<dyn RandomSource>) -> SessionBuilder<T> {
        self.builder.codec = self.builder.codec.dangerous().random_source(source);
        self.builder
    }
}

impl<T> fmt::Debug for DangerousSessionBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DangerousSessionBuilder")
            .field(&self.builder)
            .finish()
    }
}

impl<T> fmt::Debug for SessionBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("SessionBuilder");
        f.field("codec", &self.codec)
            .field("name", &self.name)
            .field("attributes", &self.attributes)
            .field("refresh", &self.refresh)
            .field("store", &self.store)
            .field("revoke_anonymous", &self.revoke_anonymous)
            .field("legacy", &self.legacy);
        f.finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::key::SecretKey;
    use crate::revocation::RevocationLimits;

    fn start() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    #[test]
    fn the_subscriber_notice_is_for_a_process_without_one_and_says_how_to_add_one() {
        assert_eq!(subscriber_notice(true), None);
        let notice = subscriber_notice(false).unwrap();
        assert!(!notice.contains('\n'), "{notice}");
        for needle in [
            "`tracing`",
            "plain-HTTP",
            "refused",
            "tracing_subscriber::fmt::init()",
        ] {
            assert!(notice.contains(needle), "{needle}: {notice}");
        }
    }

    /// Run again as a child process, alone and uncaptured, whose stderr is read: a process
    /// with no subscriber that builds two managers prints the notice once.
    #[test]
    fn a_process_without_a_subscriber_is_told_once_on_stderr() {
        const CHILD: &str = "SEALED_SESSION_NOTICE_CHILD";
        const NAME: &str =
            "lifecycle::tests::a_process_without_a_subscriber_is_told_once_on_stderr";
        if std::env::var_os(CHILD).is_some() {
            for _ in 0..2 {
                SessionManager::builder(KeyRing::new(SecretKey::generate()))
                    .build()
                    .unwrap();
            }
            return;
        }
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        let notice = subscriber_notice(false).unwrap();
        assert_eq!(stderr.matches(notice).count(), 1, "{stderr}");
    }

    fn sessions(store: Arc<dyn RevocationStore>) -> (SessionManager, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(start()));
        let lifecycle = SessionManager::builder(KeyRing::new(SecretKey::generate()))
            .clock(clock.clone())
            .revocation_store(store)
            .build()
            .unwrap();
        (lifecycle, clock)
    }

    /// The `Cookie` header that sends back what `update` set.
    fn cookie_of(update: &CookieUpdate) -> String {
        let header = update.header().expect("a Set-Cookie");
        header.split(';').next().unwrap().to_owned()
    }

    fn open(lifecycle: &SessionManager, cookie: &str) -> RequestSession {
        lifecycle.open([cookie.as_bytes()], RequestInfo::new("/"))
    }

    #[test]
    fn sign_in_starts_a_clean_session_of_the_subject() {
        let (lifecycle, _) = sessions(Arc::new(MemoryRevocationStore::new()));
        let mut planted = lifecycle.open([], RequestInfo::new("/"));
        planted.insert("role", &"admin").unwrap();
        let planted = cookie_of(&planted.finish().unwrap());

        let mut session = open(&lifecycle, &planted);
        let planted_id = session.id();
        session.sign_in("alice").unwrap();
        assert_ne!(session.id(), planted_id);
        assert_eq!(session.subject(), Some("alice"));
        assert!(!session.contains_key("role"));
        assert!(matches!(session.finish().unwrap(), CookieUpdate::Set(_)));
        let long = "x".repeat(crate::revocation::MAX_SUBJECT_LEN + 1);
        assert!(matches!(
            session.sign_in(long),
            Err(crate::RenewError::SubjectTooLong { .. })
        ));
        // Issue 18: a line break in a subject would forge lines in a pending file or a log.
        for bad in [
            "mallory\ng 1 2 alice",
            "tab\there",
            "nul\0",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            assert_eq!(
                session.sign_in(bad),
                Err(crate::RenewError::SubjectControlCharacter),
                "{bad:?}"
            );
            assert_eq!(
                session.set_subject(bad),
                Err(crate::error::InsertError::SubjectControlCharacter),
                "{bad:?}"
            );
            assert_eq!(session.subject(), Some("alice"), "nothing changed");
        }
        let err = crate::RenewError::SubjectControlCharacter;
        assert!(err.to_string().contains("printable"), "{err}");
        assert_eq!(err.http_status(), 500);
        session.sign_in("Zoë O'Brien <zoe@example.com>").unwrap();
    }

    #[test]
    fn a_logout_that_cannot_be_recorded_changes_nothing() {
        // Only an anonymous session's revocation can be refused for room (invariant 6).
        let store = Arc::new(MemoryRevocationStore::with_limits(
            RevocationLimits::new().total(1),
        ));
        let lifecycle = SessionManager::builder(KeyRing::new(SecretKey::generate()))
            .revocation_store(store)
            .revoke_anonymous_sessions(true)
            .build()
            .unwrap();
        let anonymous = |n: u64| {
            let mut session = lifecycle.open([], RequestInfo::new("/"));
            session.insert("n", &n).unwrap();
            cookie_of(&session.finish().unwrap())
        };
        let (first, second) = (anonymous(1), anonymous(2));
        open(&lifecycle, &first).purge().unwrap();

        let mut session = open(&lifecycle, &second);
        assert_eq!(
            session.purge(),
            Err(RevokeError::CapacityExceeded { limit: 1 })
        );
        assert_eq!(session.get::<u64>("n").unwrap(), Some(2));
        assert_eq!(
            session.finish().unwrap(),
            CookieUpdate::None,
            "the cookie stays"
        );
        assert_eq!(open(&lifecycle, &second).get::<u64>("n").unwrap(), Some(2));
    }

    #[test]
    fn sign_out_others_loses_to_a_log_out_everywhere_that_came_first() {
        let (lifecycle, _) = sessions(Arc::new(MemoryRevocationStore::new()));
        let mut session = lifecycle.open([], RequestInfo::new("/"));
        session.sign_in("alice").unwrap();
        let cookie = cookie_of(&session.finish().unwrap());

        // Both requests opened the same cookie; the log-out-everywhere is recorded first.
        let mut attacker = open(&lifecycle, &cookie);
        let mut victim = open(&lifecycle, &cookie);
        assert!(victim.purge_subject().unwrap());
        let err = attacker.purge_other_sessions().unwrap_err();
        assert!(matches!(
            err,
            crate::RenewError::Revoke(RevokeError::Superseded { .. })
        ));
        assert_eq!(attacker.status(), SessionStatus::Purged);
        assert!(matches!(
            attacker.finish().unwrap(),
            CookieUpdate::Remove(_)
        ));
        // And the other order: the kept session is then ended by the log-out-everywhere.
        let mut session = lifecycle.open([], RequestInfo::new("/"));
        session.sign_in("alice").unwrap();
        let cookie = cookie_of(&session.finish().unwrap());
        let mut attacker = open(&lifecycle, &cookie);
        let mut victim = open(&lifecycle, &cookie);
        assert!(attacker.purge_other_sessions().unwrap());
        let kept = cookie_of(&attacker.finish().unwrap());
        assert_eq!(victim.purge_subject(), Ok(true));
        assert_eq!(open(&lifecycle, &kept).refusal(), Some(OpenError::Revoked));
    }

    #[test]
    fn finish_refreshes_sets_removes_or_does_nothing() {
        let (lifecycle, clock) = sessions(Arc::new(MemoryRevocationStore::new()));
        let mut session = lifecycle.open([], RequestInfo::new("/"));
        assert_eq!(session.finish().unwrap(), CookieUpdate::None);
        session.insert("n", &1u8).unwrap();
        let cookie = cookie_of(&session.finish().unwrap());
        let mut read = open(&lifecycle, &cookie);
        assert_eq!(read.finish().unwrap(), CookieUpdate::None);
        clock.advance(Duration::minutes(7));
        let mut read = open(&lifecycle, &cookie);
        assert!(matches!(read.finish().unwrap(), CookieUpdate::Refresh(_)));
        let mut refused = open(&lifecycle, "__Host-id=garbage");
        assert_eq!(refused.refusal(), Some(OpenError::Malformed));
        assert!(matches!(refused.finish().unwrap(), CookieUpdate::Remove(_)));
    }

    #[test]
    fn the_largest_timeouts_give_a_capped_max_age() {
        let clock = Arc::new(ManualClock::new(start()));
        let lifecycle = SessionManager::builder(KeyRing::new(SecretKey::generate()))
            .session_lifecycle(
                crate::PersistentSession::default().session_ttl(crate::codec::MAX_TIMEOUT),
            )
            .clock(clock.clone())
            .build()
            .unwrap();
        let mut session = lifecycle.open([], RequestInfo::new("/"));
        session.insert("n", &1u8).unwrap();
        let header = session.finish().unwrap().header().unwrap().to_owned();
        assert!(header.contains("Max-Age=34560000"), "{header}");
        // And at the far end of what `OffsetDateTime` holds: no overflow, no panic.
        clock.set(time::macros::datetime!(9999-12-31 23:00 UTC));
        let mut session = lifecycle.open([], RequestInfo::new("/"));
        session.insert("n", &1u8).unwrap();
        assert!(session.finish().unwrap().header().is_some());
    }

    #[test]
    fn a_session_that_fits_keeps_fitting_through_a_new_generation() {
        let clock = Arc::new(ManualClock::new(start()));
        let lifecycle = SessionManager::builder(KeyRing::new(SecretKey::generate()))
            .size_limit(400)
            .clock(clock)
            .build()
            .unwrap();
        let mut session = lifecycle.open([], RequestInfo::new("/"));
        session.sign_in("alice").unwrap();
        // Fill it to the last byte the check allows.
        let mut n = 0;
        while session.insert("v", &vec![0u8; n + 1]).is_ok() {
            n += 1;
        }
        assert!(n > 100);
        assert!(session.purge_other_sessions().unwrap());
        assert!(matches!(session.finish().unwrap(), CookieUpdate::Set(_)));
    }

    #[test]
    fn a_session_logged_out_while_its_request_runs_is_not_revived() {
        let (lifecycle, _) = sessions(Arc::new(MemoryRevocationStore::new()));
        let mut session = lifecycle.open([], RequestInfo::new("/"));
        session.sign_in("alice").unwrap();
        let cookie = cookie_of(&session.finish().unwrap());

        // A slow request of the attacker's copy, then the victim logs out everywhere, then
        // the slow request renews (a privilege change) and sets the subject again.
        let mut slow = open(&lifecycle, &cookie);
        assert!(open(&lifecycle, &cookie).purge_subject().unwrap());
        slow.set_subject("alice").unwrap();
        assert!(matches!(
            slow.renew(),
            Err(crate::RenewError::Revoke(RevokeError::Superseded { .. }))
        ));
        assert!(matches!(slow.finish().unwrap(), CookieUpdate::Remove(_)));

        // Without renewing: the re-set subject keeps the old generation, so the session it
        // writes is refused.
        let mut session = lifecycle.open([], RequestInfo::new("/"));
        session.sign_in("alice").unwrap();
        let cookie = cookie_of(&session.finish().unwrap());
        let mut slow = open(&lifecycle, &cookie);
        assert!(open(&lifecycle, &cookie).purge_subject().unwrap());
        slow.set_subject("alice").unwrap();
        slow.insert("n", &1u8).unwrap();
        let written = cookie_of(&slow.finish().unwrap());
        assert_eq!(
            open(&lifecycle, &written).refusal(),
            Some(OpenError::Revoked)
        );

        // A logout of the very session while the other request runs: sign-out-others fails.
        let mut session = lifecycle.open([], RequestInfo::new("/"));
        session.sign_in("alice").unwrap();
        let cookie = cookie_of(&session.finish().unwrap());
        let mut slow = open(&lifecycle, &cookie);
        open(&lifecycle, &cookie).purge().unwrap();
        assert!(slow.purge_other_sessions().is_err());
        assert_eq!(slow.status(), SessionStatus::Purged);
    }

    #[test]
    fn a_subject_too_large_for_the_cookie_changes_nothing_at_sign_in() {
        let clock = Arc::new(ManualClock::new(start()));
        let store = Arc::new(MemoryRevocationStore::new());
        let lifecycle = SessionManager::builder(KeyRing::new(SecretKey::generate()))
            .size_limit(200)
            .clock(clock)
            .revocation_store(store.clone())
            .build()
            .unwrap();
        let mut session = lifecycle.open([], RequestInfo::new("/"));
        session.sign_in("alice").unwrap();
        let cookie = cookie_of(&session.finish().unwrap());
        let mut session = open(&lifecycle, &cookie);
        assert!(matches!(
            session.sign_in("b".repeat(300)),
            Err(crate::RenewError::TooLarge { .. })
        ));
        assert_eq!(session.subject(), Some("alice"));
        assert!(store.is_empty(), "the old session was not revoked");
        assert_eq!(open(&lifecycle, &cookie).subject(), Some("alice"));
    }
}
