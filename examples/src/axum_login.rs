//! The login app on axum and sealed cookie sessions: [`crate::contract`]'s routes, with
//! `sealed_session_tower::Session`.

use axum::Router;
use sealed_session_tower::{CookieSessionLayer, InsertError as CoreInsertError};
use sealed_session_tower::{Session, SessionError, SessionInsertError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::contract::{AppSession, InsertError, RouteError};

/// The app: the contract's routes behind `sessions`.
pub fn app(sessions: CookieSessionLayer) -> Router {
    crate::contract_axum::routes::<Session>().layer(sessions)
}

/// The session's errors, as axum answers them.
#[derive(Debug)]
pub enum AxumSessionError {
    /// From `get`.
    Get(sealed_session_tower::SessionGetError),
    /// From `insert`.
    Insert(SessionInsertError),
    /// From the sign-in and the logouts.
    Session(SessionError),
}

impl std::fmt::Display for AxumSessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Get(err) => err.fmt(f),
            Self::Insert(err) => err.fmt(f),
            Self::Session(err) => err.fmt(f),
        }
    }
}

impl axum::response::IntoResponse for AxumSessionError {
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
    type Error = AxumSessionError;

    /// The adapter's status (as the actix app's): `sealed_session::RenewError::http_status`
    /// for the logouts, `sealed_session::InsertError::http_status` for writes (`503` while the
    /// revocation store can't check a signed-in cookie yet), an opaque `500` otherwise.
    fn error_status(err: &AxumSessionError) -> u16 {
        match err {
            AxumSessionError::Session(err) => err.status().as_u16(),
            AxumSessionError::Insert(SessionInsertError::Insert(err)) => err.http_status(),
            AxumSessionError::Get(_) | AxumSessionError::Insert(_) => 500,
        }
    }

    fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, AxumSessionError> {
        Session::get(self, key).map_err(AxumSessionError::Get)
    }

    /// The limit is the cookie's: `insert` seals the session now and measures the cookie.
    fn insert(
        &self,
        key: &str,
        value: impl Serialize,
    ) -> Result<(), InsertError<AxumSessionError>> {
        Session::insert(self, key, value).map_err(|err| match err {
            SessionInsertError::Insert(CoreInsertError::TooLarge { size, limit }) => {
                InsertError::TooLarge { size, limit }
            }
            other => InsertError::Other(AxumSessionError::Insert(other)),
        })
    }

    fn sign_in(&self, user: &str) -> Result<(), AxumSessionError> {
        Session::sign_in(self, user).map_err(AxumSessionError::Session)
    }

    fn purge(&self) -> Result<(), AxumSessionError> {
        Session::purge(self).map_err(AxumSessionError::Session)
    }

    fn purge_subject(&self) -> Result<(), RouteError<AxumSessionError>> {
        Session::purge_subject(self)
            .map_err(|err| RouteError::Session(AxumSessionError::Session(err)))?;
        Ok(())
    }

    fn purge_other_sessions(&self) -> Result<(), RouteError<AxumSessionError>> {
        Session::purge_other_sessions(self)
            .map_err(|err| RouteError::Session(AxumSessionError::Session(err)))?;
        Ok(())
    }

    fn refusal_reason(&self) -> Option<&'static str> {
        self.refusal().map(|refusal| refusal.reason())
    }
}
