//! Errors a handler sees from the session, and the one the extractor returns without the
//! middleware.

use std::fmt;

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use sealed_session::{SealError, ValueError};

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
        }
    }
}

impl std::error::Error for SessionInsertError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Encode(err) => Some(err),
            Self::Seal(err) => Some(err),
            Self::TooLarge { .. } => None,
        }
    }
}

impl From<SealError> for SessionInsertError {
    fn from(err: SealError) -> Self {
        match err {
            SealError::TooLarge { size, limit } => Self::TooLarge { size, limit },
            other => Self::Seal(other),
        }
    }
}

impl From<ValueError> for SessionInsertError {
    fn from(err: ValueError) -> Self {
        Self::Encode(err)
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
