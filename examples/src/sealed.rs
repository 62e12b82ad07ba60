//! [`crate::contract`]'s session on sealed cookies: one implementation for both stacks, since
//! `sealed_session::Session` is the session of the actix app and of the axum app alike.

use sealed_session::{Session, SessionError, SessionGetError, SessionInsertError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::contract::{AppSession, InsertError, RouteError};

/// The session's errors, as either framework answers them (the status each error's
/// `http_status` says, an empty body).
#[derive(Debug)]
pub enum SealedError {
    /// From `get`.
    Get(SessionGetError),
    /// From `insert`.
    Insert(SessionInsertError),
    /// From the sign-in and the logouts.
    Session(SessionError),
}

impl SealedError {
    /// The status the session library answers this error with, on either framework.
    fn http_status(&self) -> u16 {
        match self {
            Self::Get(err) => err.http_status(),
            Self::Insert(err) => err.http_status(),
            Self::Session(err) => err.http_status(),
        }
    }
}

impl std::fmt::Display for SealedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Get(err) => err.fmt(f),
            Self::Insert(err) => err.fmt(f),
            Self::Session(err) => err.fmt(f),
        }
    }
}

impl actix_web::ResponseError for SealedError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        match self {
            Self::Get(err) => err.status_code(),
            Self::Insert(err) => err.status_code(),
            Self::Session(err) => err.status_code(),
        }
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        match self {
            Self::Get(err) => err.error_response(),
            Self::Insert(err) => err.error_response(),
            Self::Session(err) => err.error_response(),
        }
    }
}

impl axum::response::IntoResponse for SealedError {
    fn into_response(self) -> axum::response::Response {
        match self {
            Self::Get(err) => err.into_response(),
            Self::Insert(err) => err.into_response(),
            Self::Session(err) => err.into_response(),
        }
    }
}

// `Session::method(self, ..)` below is the inherent method: inherent methods come before trait
// methods of the same name.
impl AppSession for Session {
    type Error = SealedError;

    /// The library's status: `sealed_session::RenewError::http_status` for the logouts (`503`
    /// when a revocation could not be recorded, `401` when the session was logged out
    /// meanwhile), `503` for writes while the revocation store can't check a signed-in cookie
    /// yet, an opaque `500` otherwise.
    fn error_status(err: &SealedError) -> u16 {
        err.http_status()
    }

    fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SealedError> {
        Session::get(self, key).map_err(SealedError::Get)
    }

    /// The limit is the cookie's: `insert` seals the session now and measures the cookie.
    fn insert(&self, key: &str, value: impl Serialize) -> Result<(), InsertError<SealedError>> {
        Session::insert(self, key, value).map_err(|err| match err {
            SessionInsertError::TooLarge { size, limit } => InsertError::TooLarge { size, limit },
            other => InsertError::Other(SealedError::Insert(other)),
        })
    }

    /// A new session for `user` as its subject (what `purge_subject` logs out everywhere); a
    /// signed-in session it replaces is revoked.
    async fn sign_in(&self, user: &str) -> Result<(), SealedError> {
        Session::sign_in(self, user)
            .await
            .map_err(SealedError::Session)
    }

    /// Revokes the session (the revocation store answers for copies of the cookie until the
    /// session would have expired anyway) and removes the cookie.
    async fn purge(&self) -> Result<(), SealedError> {
        Session::purge(self).await.map_err(SealedError::Session)
    }

    /// Raises the user's revocation cutoff above every authentication stamp issued so far:
    /// every session of the user signed in before, on any instance, is refused.
    async fn purge_subject(&self) -> Result<(), RouteError<SealedError>> {
        Session::purge_subject(self)
            .await
            .map_err(|err| RouteError::Session(SealedError::Session(err)))?;
        Ok(())
    }

    /// Raises the user's cutoff to this session's authentication stamp (the user's sessions
    /// signed in before this one are refused, later ones are not) and renews this one: a new
    /// id, the same stamp.
    async fn purge_other_sessions(&self) -> Result<(), RouteError<SealedError>> {
        Session::purge_other_sessions(self)
            .await
            .map_err(|err| RouteError::Session(SealedError::Session(err)))?;
        Ok(())
    }

    fn refusal_reason(&self) -> Option<&'static str> {
        self.refusal().map(|refusal| refusal.reason())
    }
}
