//! Errors a handler sees from the session, and the one a session without the middleware
//! returns.

use std::fmt;

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use sealed_session::{InsertError, RenewError, RevokeError, SealError, UpdateError, ValueError};

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
    /// The subject is longer than `sealed_session::MAX_SUBJECT_LEN` bytes.
    SubjectTooLong {
        /// Bytes given.
        len: usize,
        /// The most accepted.
        max: usize,
    },
    /// The session is detached: no [`CookieSessionMiddleware`](crate::CookieSessionMiddleware)
    /// would send the change (see [`MissingMiddleware`]).
    MissingMiddleware,
    /// The request's cookie is signed in but the revocation store can't check it yet (a shared
    /// store before its first load): nothing was written, so that the signed-in cookie is not
    /// replaced. A `503`: try again in a moment.
    RevocationsUnknown,
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
            InsertError::RevocationsUnknown => Self::RevocationsUnknown,
            // `InsertError` is non-exhaustive; what remains is a failure to seal.
            _ => Self::Seal(SealError::Randomness),
        }
    }
}

impl ResponseError for SessionInsertError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::RevocationsUnknown => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).finish()
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
/// use actix_web::ResponseError as _;
/// use sealed_session_actix::{RenewError, RevokeError, SessionError};
///
/// let full = SessionError::from(RevokeError::CapacityExceeded { limit: 10 });
/// assert!(matches!(full, SessionError::Lifecycle(RenewError::Revoke(_))));
/// assert_eq!(full.status_code(), 503);
/// assert_eq!(SessionError::MissingMiddleware.status_code(), 500);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The lifecycle could not carry it out: see [`RenewError`].
    Lifecycle(RenewError),
    /// The session is detached: no [`CookieSessionMiddleware`](crate::CookieSessionMiddleware)
    /// would send the change (see [`MissingMiddleware`]).
    MissingMiddleware,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lifecycle(err) => err.fmt(f),
            Self::MissingMiddleware => MissingMiddleware.fmt(f),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Lifecycle(err) => Some(err),
            Self::MissingMiddleware => None,
        }
    }
}

impl From<RenewError> for SessionError {
    fn from(err: RenewError) -> Self {
        Self::Lifecycle(err)
    }
}

impl From<RevokeError> for SessionError {
    fn from(err: RevokeError) -> Self {
        Self::Lifecycle(RenewError::Revoke(err))
    }
}

impl From<MissingMiddleware> for SessionError {
    fn from(_: MissingMiddleware) -> Self {
        Self::MissingMiddleware
    }
}

impl ResponseError for SessionError {
    fn status_code(&self) -> StatusCode {
        match self {
            // The lifecycle's status, the same on every framework (`RenewError::http_status`).
            Self::Lifecycle(err) => {
                StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::MissingMiddleware => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::new(self.status_code())
    }
}

/// A stored value did not decode as the requested type. An opaque `500` as a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionGetError(pub(crate) ValueError);

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

impl ResponseError for SessionGetError {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::InternalServerError().finish()
    }
}

/// A value could not be updated in place ([`Session::update`](crate::Session::update),
/// [`Session::update_or`](crate::Session::update_or)); the session is left as it was. An opaque
/// `500` as a response.
///
/// actix-session's `SessionUpdateError` wraps an `anyhow::Error`; this one says which step
/// failed, so a value too large for the cookie can be told apart:
///
/// ```
/// use sealed_session_actix::{Session, SessionInsertError, SessionUpdateError};
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

impl From<UpdateError> for SessionUpdateError {
    fn from(err: UpdateError) -> Self {
        match err {
            UpdateError::Decode(err) => Self::Get(SessionGetError(err)),
            UpdateError::Insert(err) => Self::Insert(err.into()),
            // `UpdateError` is non-exhaustive; what remains is a failure to store.
            _ => Self::Insert(SessionInsertError::Seal(SealError::Randomness)),
        }
    }
}

impl From<MissingMiddleware> for SessionUpdateError {
    fn from(_: MissingMiddleware) -> Self {
        Self::Insert(SessionInsertError::MissingMiddleware)
    }
}

impl ResponseError for SessionUpdateError {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::InternalServerError().finish()
    }
}

/// [`CookieSessionMiddleware`](crate::CookieSessionMiddleware) does not run where the session
/// was used: a route it doesn't wrap, or code that runs after it wrote the response's cookie
/// (a `wrap_fn` registered outside it).
///
/// A configuration bug. The `Session` extractor fails with it (an opaque `500`, never a
/// silently empty session); [`SessionExt::get_session`](crate::SessionExt::get_session) gives a
/// detached session instead, as actix-session does, whose writes fail with it. Either way it is
/// logged under [`LOG_TARGET`](crate::LOG_TARGET) with the fix.
///
/// ```
/// use actix_web::test::TestRequest;
/// use sealed_session_actix::{SessionError, SessionExt, SessionInsertError};
///
/// // A request no `CookieSessionMiddleware` saw: its session is detached.
/// let session = TestRequest::default().to_http_request().get_session();
/// assert_eq!(session.get::<u64>("n")?, None);
/// assert_eq!(session.insert("n", 1), Err(SessionInsertError::MissingMiddleware));
/// assert_eq!(session.purge(), Err(SessionError::MissingMiddleware), "never a logout that isn't");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingMiddleware;

impl fmt::Display for MissingMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the session needs `CookieSessionMiddleware` around this code: add \
             `.wrap(CookieSessionMiddleware::new(key_ring))` to the `App` or scope of this route, \
             and register any `wrap_fn` that uses the session before it (inside it)"
        )
    }
}

impl std::error::Error for MissingMiddleware {}

impl ResponseError for MissingMiddleware {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::InternalServerError().finish()
    }
}
