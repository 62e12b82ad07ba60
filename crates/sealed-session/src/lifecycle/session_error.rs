//! The errors of [`Session`](super::Session)'s methods, the same on every web framework. Each
//! says which HTTP status a web adapter answers it with ([`SessionError::http_status`] and the
//! like); the adapters' `ResponseError` and `IntoResponse` impls only translate that status.

use std::fmt;

use crate::error::{InsertError, RenewError, SealError, ValueError};
use crate::revocation::RevokeError;

/// A value could not be stored in the session. The session is left as it was.
///
/// As a response (e.g. through `?`) it is an opaque `500 Internal Server Error` (`503` for
/// [`SessionInsertError::RevocationsUnknown`]): the details are for logs, not for clients. Match
/// on [`SessionInsertError::TooLarge`] to answer better.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionInsertError {
    /// The cookie would exceed its size budget.
    TooLarge {
        /// Bytes the cookie's name and value would take.
        size: usize,
        /// The budget.
        limit: usize,
    },
    /// The value could not be encoded.
    Encode(ValueError),
    /// Sealing failed for another reason (the OS random generator failed).
    Seal(SealError),
    /// The subject is longer than [`MAX_SUBJECT_LEN`](crate::revocation::MAX_SUBJECT_LEN) bytes.
    SubjectTooLong {
        /// Bytes given.
        len: usize,
        /// The most accepted.
        max: usize,
    },
    /// The subject holds a control character (a line break, a tab, a NUL, ...).
    SubjectControlCharacter,
    /// No session middleware would send the change (see [`MissingMiddleware`]).
    MissingMiddleware,
    /// The request's cookie is signed in but the revocation store can't check it yet (a shared
    /// store before its first load): nothing was written, so that the signed-in cookie is not
    /// replaced. A `503`: try again in a moment.
    RevocationsUnknown,
}

impl SessionInsertError {
    /// The HTTP status a web adapter answers this error with: `503` for
    /// [`SessionInsertError::RevocationsUnknown`], `500` otherwise.
    ///
    /// ```
    /// use sealed_session::SessionInsertError;
    ///
    /// assert_eq!(SessionInsertError::RevocationsUnknown.http_status(), 503);
    /// assert_eq!(SessionInsertError::TooLarge { size: 5000, limit: 4096 }.http_status(), 500);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self {
            Self::RevocationsUnknown => 503,
            _ => 500,
        }
    }
}

impl fmt::Display for SessionInsertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { size, limit } => SealError::TooLarge {
                size: *size,
                limit: *limit,
            }
            .fmt(f),
            Self::Encode(err) => err.fmt(f),
            Self::Seal(err) => err.fmt(f),
            Self::SubjectTooLong { len, max } => InsertError::SubjectTooLong {
                len: *len,
                max: *max,
            }
            .fmt(f),
            Self::SubjectControlCharacter => InsertError::SubjectControlCharacter.fmt(f),
            Self::MissingMiddleware => MissingMiddleware.fmt(f),
            Self::RevocationsUnknown => InsertError::RevocationsUnknown.fmt(f),
        }
    }
}

impl std::error::Error for SessionInsertError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Encode(err) => Some(err),
            Self::Seal(err) => Some(err),
            Self::TooLarge { .. }
            | Self::SubjectTooLong { .. }
            | Self::SubjectControlCharacter
            | Self::MissingMiddleware
            | Self::RevocationsUnknown => None,
        }
    }
}

impl From<MissingMiddleware> for SessionInsertError {
    fn from(_: MissingMiddleware) -> Self {
        Self::MissingMiddleware
    }
}

impl From<InsertError> for SessionInsertError {
    fn from(err: InsertError) -> Self {
        match err {
            InsertError::TooLarge { size, limit } => Self::TooLarge { size, limit },
            InsertError::Encode(err) => Self::Encode(err),
            InsertError::SubjectTooLong { len, max } => Self::SubjectTooLong { len, max },
            InsertError::SubjectControlCharacter => Self::SubjectControlCharacter,
            InsertError::RevocationsUnknown => Self::RevocationsUnknown,
            InsertError::Randomness => Self::Seal(SealError::Randomness),
        }
    }
}

/// A renewal, sign-in or logout could not be carried out; the session is left as it was
/// (except after [`RevokeError::Superseded`], when the session had been logged out meanwhile and
/// is purged, and after [`RevokeError::NotDurable`] from a renewal, a sign-in or a
/// sign-out-others, which hold on this instance and only lack the shared store's confirmation).
///
/// As a response: `503 Service Unavailable` when the revocation could not be recorded or
/// confirmed (answer "try again": a logout is never reported as done when a copy of the cookie
/// would outlive it), `401 Unauthorized` when the session had been logged out meanwhile, an
/// opaque `500` otherwise. The body is empty; the details are for logs.
///
/// ```
/// use sealed_session::{RenewError, RevokeError, SessionError};
///
/// let full = SessionError::from(RevokeError::CapacityExceeded { limit: 10 });
/// assert!(matches!(full, SessionError::Operation(RenewError::Revoke(_))));
/// assert_eq!(full.http_status(), 503);
/// assert_eq!(SessionError::MissingMiddleware.http_status(), 500);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The operation could not be carried out: see [`RenewError`].
    Operation(RenewError),
    /// No session middleware would send the change (see [`MissingMiddleware`]).
    MissingMiddleware,
}

impl SessionError {
    /// The HTTP status a web adapter answers this error with, the same on every framework
    /// ([`RenewError::http_status`]; `500` for [`SessionError::MissingMiddleware`]).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Operation(err) => err.http_status(),
            Self::MissingMiddleware => 500,
        }
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Operation(err) => err.fmt(f),
            Self::MissingMiddleware => MissingMiddleware.fmt(f),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Operation(err) => Some(err),
            Self::MissingMiddleware => None,
        }
    }
}

impl From<RenewError> for SessionError {
    fn from(err: RenewError) -> Self {
        Self::Operation(err)
    }
}

impl From<RevokeError> for SessionError {
    fn from(err: RevokeError) -> Self {
        Self::Operation(RenewError::Revoke(err))
    }
}

impl From<MissingMiddleware> for SessionError {
    fn from(_: MissingMiddleware) -> Self {
        Self::MissingMiddleware
    }
}

/// A stored value did not decode as the requested type. An opaque `500` as a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionGetError(ValueError);

impl SessionGetError {
    pub(super) fn new(err: ValueError) -> Self {
        Self(err)
    }

    /// Why the value did not decode.
    pub fn reason(&self) -> &ValueError {
        &self.0
    }

    /// The HTTP status a web adapter answers this error with: always `500`.
    pub fn http_status(&self) -> u16 {
        500
    }
}

impl fmt::Display for SessionGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SessionGetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// A value could not be updated in place ([`Session::update`](super::Session::update),
/// [`Session::update_or`](super::Session::update_or)); the session is left as it was. An opaque
/// `500` as a response (`503` as [`SessionInsertError::http_status`] says).
///
/// actix-session's `SessionUpdateError` wraps an `anyhow::Error`; this one says which step
/// failed, so a value too large for the cookie can be told apart:
///
/// ```
/// use sealed_session::{Session, SessionInsertError, SessionUpdateError};
///
/// fn append(session: &Session, line: &str) -> Result<bool, SessionUpdateError> {
///     let grown = session.update_or("log", Vec::new(), |mut log: Vec<String>| {
///         log.push(line.to_owned());
///         log
///     });
///     match grown {
///         Ok(()) => Ok(true),
///         // Full: keep the log as it was.
///         Err(SessionUpdateError::Insert(SessionInsertError::TooLarge { .. })) => Ok(false),
///         Err(other) => Err(other),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionUpdateError {
    /// The stored value is not of the requested type; the updater was not called.
    Get(SessionGetError),
    /// The updated (or default) value could not be stored.
    Insert(SessionInsertError),
}

impl SessionUpdateError {
    /// The HTTP status a web adapter answers this error with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Get(err) => err.http_status(),
            Self::Insert(err) => err.http_status(),
        }
    }
}

impl fmt::Display for SessionUpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Get(err) => err.fmt(f),
            Self::Insert(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for SessionUpdateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Get(err) => Some(err),
            Self::Insert(err) => Some(err),
        }
    }
}

impl From<SessionGetError> for SessionUpdateError {
    fn from(err: SessionGetError) -> Self {
        Self::Get(err)
    }
}

impl From<SessionInsertError> for SessionUpdateError {
    fn from(err: SessionInsertError) -> Self {
        Self::Insert(err)
    }
}

impl From<MissingMiddleware> for SessionUpdateError {
    fn from(_: MissingMiddleware) -> Self {
        Self::Insert(SessionInsertError::MissingMiddleware)
    }
}

/// No session middleware runs where the session was used: a route it doesn't wrap, or code
/// that runs after it decided the response's cookie (a `wrap_fn` registered outside it on
/// actix-web, a task that outlived its request).
///
/// A configuration bug. The adapters' extractors fail with it (an opaque `500`, never a
/// silently empty session); a detached session's writes fail with it. Either way it is logged
/// under [`LOG_TARGET`](crate::LOG_TARGET) with the fix.
///
/// ```
/// use sealed_session::{MissingMiddleware, Session, SessionError};
///
/// let logout = pollster::block_on(Session::detached().purge()); // `.await` in a handler
/// assert_eq!(logout, Err(SessionError::MissingMiddleware));
/// assert!(MissingMiddleware.to_string().contains("CookieSessionLayer"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingMiddleware;

impl MissingMiddleware {
    /// The HTTP status a web adapter answers this error with: always `500`.
    pub fn http_status(&self) -> u16 {
        500
    }
}

impl fmt::Display for MissingMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the session needs its middleware around this code: on actix-web, \
             `CookieSessionMiddleware` (`.wrap(CookieSessionMiddleware::new(key_ring))` on the \
             `App` or scope of this route, with any `wrap_fn` that uses the session registered \
             before it, inside it); on axum, `CookieSessionLayer` \
             (`.layer(CookieSessionLayer::new(key_ring))` after the routes that take a \
             `Session`); and no use of the session after the response was sent"
        )
    }
}

impl std::error::Error for MissingMiddleware {}
