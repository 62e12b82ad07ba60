//! How long a session and its cookie live, set in one call and named as actix-session names it
//! (`SessionLifecycle`, `PersistentSession::session_ttl`, `BrowserSession::state_ttl`).
//!
//! One call sets both sides, so they can't disagree: the cookie's `Max-Age` (or its absence)
//! for the browser, and the timeouts sealed into the cookie that the server enforces on every
//! request. A cookie's `Max-Age` is always what is left of the session's life, so the browser
//! forgets it when the server would refuse it anyway.

use time::Duration;

use crate::cookie::Persistence;

/// What kind of cookie the session lives in, and for how long the session lasts: pass a
/// [`PersistentSession`] or a [`BrowserSession`] to
/// [`SessionBuilder::session_lifecycle`](crate::SessionBuilder::session_lifecycle).
///
/// # Defaults
/// [`BrowserSession`] with the builder's timeouts (idle 1 hour, absolute 24 hours), as
/// actix-session: no `Max-Age`, so the browser drops the cookie when it ends its session (OWASP
/// recommends non-persistent cookies for sessions), while the server refuses the session after
/// an hour of inactivity or a day in any case, whatever the browser keeps.
///
/// ```
/// use sealed_session::{BrowserSession, PersistentSession, SessionLifecycle};
/// use time::Duration;
///
/// let week: SessionLifecycle = PersistentSession::default().session_ttl(Duration::days(7)).into();
/// assert!(matches!(week, SessionLifecycle::PersistentSession(_)));
/// assert_eq!(SessionLifecycle::default(), BrowserSession::default().into());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionLifecycle {
    /// A cookie without `Max-Age`: the browser drops it when its session ends. When that is
    /// depends on the browser (many restore such cookies on restart), which is why the server
    /// enforces the session's timeouts all the same.
    BrowserSession(BrowserSession),
    /// A cookie with `Max-Age`: it outlives a browser restart, until the session's end.
    PersistentSession(PersistentSession),
}

impl SessionLifecycle {
    /// The cookie's persistence.
    pub(crate) fn persistence(&self) -> Persistence {
        match self {
            Self::BrowserSession(_) => Persistence::BrowserSession,
            Self::PersistentSession(_) => Persistence::Persistent,
        }
    }

    /// The timeouts to set, as `(idle, absolute)`; `None` leaves a timeout as configured.
    pub(crate) fn timeouts(&self) -> (Option<Duration>, Option<Duration>) {
        let (ttl, idle) = match self {
            Self::BrowserSession(b) => (b.state_ttl, b.idle_timeout),
            Self::PersistentSession(p) => (p.session_ttl, p.idle_timeout),
        };
        (idle.or(ttl), ttl)
    }
}

impl Default for SessionLifecycle {
    fn default() -> Self {
        Self::BrowserSession(BrowserSession::default())
    }
}

impl From<BrowserSession> for SessionLifecycle {
    fn from(lifecycle: BrowserSession) -> Self {
        Self::BrowserSession(lifecycle)
    }
}

impl From<PersistentSession> for SessionLifecycle {
    fn from(lifecycle: PersistentSession) -> Self {
        Self::PersistentSession(lifecycle)
    }
}

/// A persistent cookie (`Max-Age` = what is left of the session's life), for "keep me signed
/// in": it survives a browser restart.
///
/// `session_ttl` is how long a session lasts from its creation (a sign-in or a renewal), and
/// the cookie's `Max-Age` when it is new; it then counts down. Unlike actix-session's, whose
/// TTL starts again at every change (so an active session, or a stolen cookie kept active,
/// never ends), activity never extends it: it is the absolute timeout. To also end sessions
/// left unused, add a shorter [`PersistentSession::idle_timeout`]: activity then slides the
/// idle deadline (and `Max-Age`) up to the `session_ttl`.
///
/// # Defaults
/// Without `session_ttl`, the builder's timeouts stay (idle 1 hour, absolute 24 hours), so the
/// cookie lasts at most an hour after the last activity. actix-session's default TTL is 1 day:
/// say `session_ttl(Duration::days(1))` for that.
///
/// ```
/// use sealed_session::adapter::RequestInfo;
/// use sealed_session::{KeyRing, PersistentSession, SecretKey, SessionManager};
/// use time::Duration;
///
/// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(7)))
///     .build()?;
/// let mut session = sessions.open([], RequestInfo::new("/login"));
/// session.sign_in("alice")?;
/// let header = session.finish()?.header().unwrap().to_owned();
/// assert!(header.ends_with("Max-Age=604800"), "{header}");
///
/// // An idle timeout longer than the session's whole life is refused at startup.
/// let err = SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .session_lifecycle(
///         PersistentSession::default()
///             .session_ttl(Duration::days(7))
///             .idle_timeout(Duration::days(8)),
///     )
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("idle"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct PersistentSession {
    session_ttl: Option<Duration>,
    idle_timeout: Option<Duration>,
}

impl PersistentSession {
    /// How long a session lasts from its creation, and the `Max-Age` of a new cookie: sets the
    /// absolute timeout, and the idle timeout too unless
    /// [`PersistentSession::idle_timeout`] sets a shorter one. At most 400 days, what browsers
    /// keep a cookie for. Defaults to the builder's timeouts.
    #[doc(alias = "max_age")]
    #[doc(alias = "expires")]
    #[doc(alias = "absolute_timeout")]
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = Some(ttl);
        self
    }

    /// Ends a session left unused this long, before its `session_ttl`; each re-seal slides it
    /// (and the cookie's `Max-Age`). Defaults to the `session_ttl` when that is set (no
    /// separate idle limit), to the builder's idle timeout otherwise.
    #[doc(alias = "inactivity_timeout")]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }
}

/// A browser-session cookie (no `Max-Age`): the browser drops it when its session ends.
///
/// The server enforces the session's timeouts whatever the browser keeps (many browsers
/// restore session cookies on restart). `state_ttl` is the longest a session lasts from its
/// creation, as in actix-session, where it bounds the server-side state; ours is the absolute
/// timeout, and activity never extends it.
///
/// # Defaults
/// The builder's timeouts (idle 1 hour, absolute 24 hours). This is the lifecycle of a builder
/// that sets none.
///
/// ```
/// use sealed_session::adapter::RequestInfo;
/// use sealed_session::{BrowserSession, KeyRing, SecretKey, SessionManager};
/// use time::Duration;
///
/// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .session_lifecycle(BrowserSession::default().state_ttl(Duration::hours(8)))
///     .build()?;
/// let mut session = sessions.open([], RequestInfo::new("/"));
/// session.insert("n", &1u8)?;
/// let header = session.finish()?.header().unwrap().to_owned();
/// assert!(!header.contains("Max-Age") && !header.contains("Expires"), "{header}");
///
/// // A session life of more than 400 days is refused at startup.
/// let err = SessionManager::builder(KeyRing::new(SecretKey::generate()))
///     .session_lifecycle(BrowserSession::default().state_ttl(Duration::days(401)))
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("400 days"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct BrowserSession {
    state_ttl: Option<Duration>,
    idle_timeout: Option<Duration>,
}

impl BrowserSession {
    /// The longest a session lasts from its creation: sets the absolute timeout, and the idle
    /// timeout too unless [`BrowserSession::idle_timeout`] sets a shorter one. At most 400
    /// days. Defaults to the builder's timeouts.
    #[doc(alias = "absolute_timeout")]
    pub fn state_ttl(mut self, ttl: Duration) -> Self {
        self.state_ttl = Some(ttl);
        self
    }

    /// Ends a session left unused this long. Defaults to the `state_ttl` when that is set, to
    /// the builder's idle timeout otherwise.
    #[doc(alias = "inactivity_timeout")]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ttl_sets_both_timeouts_unless_an_idle_timeout_is_given() {
        let day = Duration::days(1);
        let hour = Duration::hours(1);
        let cases = [
            (SessionLifecycle::default(), (None, None)),
            (PersistentSession::default().into(), (None, None)),
            (
                PersistentSession::default().session_ttl(day).into(),
                (Some(day), Some(day)),
            ),
            (
                PersistentSession::default()
                    .session_ttl(day)
                    .idle_timeout(hour)
                    .into(),
                (Some(hour), Some(day)),
            ),
            (
                BrowserSession::default().idle_timeout(hour).into(),
                (Some(hour), None),
            ),
            (
                BrowserSession::default().state_ttl(day).into(),
                (Some(day), Some(day)),
            ),
        ];
        for (lifecycle, timeouts) in cases {
            assert_eq!(lifecycle.timeouts(), timeouts, "{lifecycle:?}");
        }
        assert_eq!(
            SessionLifecycle::from(PersistentSession::default()).persistence(),
            Persistence::Persistent
        );
        assert_eq!(
            SessionLifecycle::default().persistence(),
            Persistence::BrowserSession
        );
    }
}
