//! Errors a handler sees from the session, and the one the extractor returns without the
//! middleware.

use std::fmt;

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use sealed_session::{InsertError, RenewError, RevokeError, SealError, ValueError};

/// A value could not be stored in the session. The session is left as it was.
///
/// As a response (e.g. through `?`) it is an opaque `500 Internal Server Error`: the details
/// are for logs, not for clients. Match on [`SessionInsertError::TooLarge`] to answer better.
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
        }
    }
}

impl std::error::Error for SessionInsertError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Encode(err) => Some(err),
            Self::Seal(err) => Some(err),
            Self::TooLarge { .. } | Self::SubjectTooLong { .. } => None,
        }
    }
}

impl From<InsertError> for SessionInsertError {
    fn from(err: InsertError) -> Self {
        match err {
            InsertError::TooLarge { size, limit } => Self::TooLarge { size, limit },
            InsertError::Encode(err) => Self::Encode(err),
            InsertError::SubjectTooLong { len, max } => Self::SubjectTooLong { len, max },
            // `InsertError` is non-exhaustive; what remains is a failure to seal.
            _ => Self::Seal(SealError::Randomness),
        }
    }
}

impl ResponseError for SessionInsertError {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::InternalServerError().finish()
    }
}

/// A renewal, sign-in or logout could not be carried out; the session is left as it was
/// (except after [`RevokeError::Superseded`], when the session had been logged out meanwhile and
/// is purged).
///
/// As a response: `503 Service Unavailable` when the revocation could not be recorded (answer
/// "try again": a logout is never reported as done when a copy of the cookie would outlive it),
/// `401 Unauthorized` when the session had been logged out meanwhile, an opaque `500`
/// otherwise. The body is empty; the details are for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionError(RenewError);

impl SessionError {
    /// What went wrong.
    pub fn kind(&self) -> &RenewError {
        &self.0
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl From<RenewError> for SessionError {
    fn from(err: RenewError) -> Self {
        Self(err)
    }
}

impl From<RevokeError> for SessionError {
    fn from(err: RevokeError) -> Self {
        Self(RenewError::Revoke(err))
    }
}

impl ResponseError for SessionError {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            RenewError::Revoke(RevokeError::Superseded { .. }) => StatusCode::UNAUTHORIZED,
            RenewError::Revoke(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
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

/// The `Session` extractor was used on a route the middleware does not wrap.
///
/// A configuration bug, so an opaque `500` with an error log naming the fix, never a silently
/// empty session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingMiddleware;

impl fmt::Display for MissingMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the `Session` extractor needs `CookieSessionMiddleware`: add \
             `.wrap(CookieSessionMiddleware::new(key_ring))` to the `App` or scope of this route"
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
