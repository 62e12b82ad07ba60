//! Errors a handler sees from the session, and the extractor's rejection without the layer.
//! Each wraps the lifecycle's own error (`sealed_session::InsertError`, `RenewError`,
//! `UpdateError`, `ValueError`), so there is one set of reasons for every adapter, and answers
//! as a response with an empty body: the details are for logs, which `into_response` writes.

use std::fmt;

use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use sealed_session::{InsertError, LOG_TARGET, RenewError, RevokeError, UpdateError, ValueError};

/// A value could not be stored in the session. The session is left as it was.
///
/// As a response (e.g. through `?`) it is an opaque `500 Internal Server Error`, logged. Match
/// on `SessionInsertError::Insert(InsertError::TooLarge { .. })` to answer better:
///
/// ```
/// use axum::http::StatusCode;
/// use sealed_session_tower::{InsertError, Session, SessionInsertError};
///
/// async fn remember(session: Session, note: String) -> Result<StatusCode, SessionInsertError> {
///     match session.insert("note", note) {
///         Ok(()) => Ok(StatusCode::OK),
///         Err(SessionInsertError::Insert(InsertError::TooLarge { .. })) => {
///             Ok(StatusCode::PAYLOAD_TOO_LARGE)
///         }
///         Err(other) => Err(other),
///     }
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::post(remember));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionInsertError {
    /// The lifecycle refused the value: too large for the cookie, not encodable, a subject too
    /// long, or no randomness to seal with.
    Insert(InsertError),
    /// The layer already wrote the response's cookie (see [`MissingLayer`]).
    MissingLayer,
}

impl fmt::Display for SessionInsertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Insert(err) => err.fmt(f),
            Self::MissingLayer => MissingLayer.fmt(f),
        }
    }
}

impl std::error::Error for SessionInsertError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Insert(err) => Some(err),
            Self::MissingLayer => None,
        }
    }
}

impl From<InsertError> for SessionInsertError {
    fn from(err: InsertError) -> Self {
        Self::Insert(err)
    }
}

impl From<MissingLayer> for SessionInsertError {
    fn from(_: MissingLayer) -> Self {
        Self::MissingLayer
    }
}

impl IntoResponse for SessionInsertError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::Insert(err) => {
                StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::MissingLayer => StatusCode::INTERNAL_SERVER_ERROR,
        };
        opaque(status, &self)
    }
}

/// A renewal, sign-in or logout could not be carried out; the session is left as it was
/// (except after [`RevokeError::Superseded`], when the session had been logged out meanwhile
/// and is purged, and after [`RevokeError::NotDurable`] from a renewal, a sign-in or a
/// sign-out-others, which hold on this instance and only lack the shared store's confirmation).
///
/// As a response, the status of `RenewError::http_status`, the actix adapter's too: `503
/// Service Unavailable` when the revocation could not be recorded or confirmed (answer "try
/// again": a logout is never reported as done when a copy of the cookie would outlive it), `401
/// Unauthorized` when the session had been logged out meanwhile, an opaque `500` otherwise. The
/// body is empty; the details are logged.
///
/// ```
/// use axum::response::IntoResponse as _;
/// use sealed_session_tower::{RenewError, RevokeError, SessionError};
///
/// let full = SessionError::from(RevokeError::CapacityExceeded { limit: 10 });
/// assert!(matches!(full, SessionError::Lifecycle(RenewError::Revoke(_))));
/// assert_eq!(full.into_response().status(), 503);
/// assert_eq!(SessionError::MissingLayer.into_response().status(), 500);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The lifecycle could not carry it out: see [`RenewError`].
    Lifecycle(RenewError),
    /// The layer already wrote the response's cookie (see [`MissingLayer`]).
    MissingLayer,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lifecycle(err) => err.fmt(f),
            Self::MissingLayer => MissingLayer.fmt(f),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Lifecycle(err) => Some(err),
            Self::MissingLayer => None,
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

impl From<MissingLayer> for SessionError {
    fn from(_: MissingLayer) -> Self {
        Self::MissingLayer
    }
}

impl SessionError {
    /// The response's status: see the type's documentation.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Lifecycle(err) => {
                StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::MissingLayer => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        opaque(self.status(), &self)
    }
}

/// A stored value did not decode as the requested type. An opaque `500` as a response.
///
/// ```
/// use sealed_session_tower::{Session, SessionGetError};
///
/// async fn user_id(session: Session) -> Result<String, SessionGetError> {
///     // A value stored with another type is this error, never another value.
///     Ok(format!("{:?}", session.get::<u64>("user_id")?))
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::get(user_id));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionGetError(pub(crate) ValueError);

impl SessionGetError {
    /// Why the value did not decode.
    pub fn reason(&self) -> &ValueError {
        &self.0
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

impl IntoResponse for SessionGetError {
    fn into_response(self) -> Response {
        opaque(StatusCode::INTERNAL_SERVER_ERROR, &self)
    }
}

/// A value could not be updated in place ([`Session::update`](crate::Session::update),
/// [`Session::update_or`](crate::Session::update_or)); the session is left as it was. An
/// opaque `500` as a response.
///
/// ```
/// use sealed_session_tower::{InsertError, Session, SessionUpdateError, UpdateError};
///
/// fn append(session: &Session, line: &str) -> Result<bool, SessionUpdateError> {
///     let grown = session.update_or("log", Vec::new(), |mut log: Vec<String>| {
///         log.push(line.to_owned());
///         log
///     });
///     match grown {
///         Ok(()) => Ok(true),
///         // Full: keep the log as it was.
///         Err(SessionUpdateError::Update(UpdateError::Insert(InsertError::TooLarge { .. }))) => {
///             Ok(false)
///         }
///         Err(other) => Err(other),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionUpdateError {
    /// The lifecycle refused it: the stored value is not of the requested type (the updater
    /// was not called), or the new value could not be stored.
    Update(UpdateError),
    /// The layer already wrote the response's cookie (see [`MissingLayer`]).
    MissingLayer,
}

impl fmt::Display for SessionUpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Update(err) => err.fmt(f),
            Self::MissingLayer => MissingLayer.fmt(f),
        }
    }
}

impl std::error::Error for SessionUpdateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Update(err) => Some(err),
            Self::MissingLayer => None,
        }
    }
}

impl From<UpdateError> for SessionUpdateError {
    fn from(err: UpdateError) -> Self {
        Self::Update(err)
    }
}

impl From<MissingLayer> for SessionUpdateError {
    fn from(_: MissingLayer) -> Self {
        Self::MissingLayer
    }
}

impl IntoResponse for SessionUpdateError {
    fn into_response(self) -> Response {
        opaque(StatusCode::INTERNAL_SERVER_ERROR, &self)
    }
}

/// [`CookieSessionLayer`](crate::CookieSessionLayer) does not run where the session was used:
/// a route it doesn't wrap, or code that runs after it wrote the response's cookie (a task
/// that outlives the request).
///
/// A configuration bug. The [`Session`](crate::Session) extractor rejects the request with it:
/// an opaque `500`, logged under [`LOG_TARGET`] with the fix (tower-sessions 0.15 answers the
/// same bug with a `500` whose body names its layer, and logs nothing), never a silently empty
/// session. Writes after the response fail with it too.
///
/// ```
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use sealed_session_tower::Session;
/// use tower::ServiceExt as _;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // No `.layer(CookieSessionLayer::new(..))`: the extractor refuses the request.
/// let app = Router::new().route("/", get(|_: Session| async { "unreachable" }));
/// let res = app.oneshot(Request::new(Body::empty())).await.unwrap();
/// assert_eq!(res.status(), 500);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingLayer;

impl fmt::Display for MissingLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the session needs `CookieSessionLayer` around this route: add \
             `.layer(CookieSessionLayer::new(key_ring))` to the `Router` after the routes that \
             use `Session` (a layer wraps only the routes added before it), and don't write to \
             the session after the response was sent"
        )
    }
}

impl std::error::Error for MissingLayer {}

impl IntoResponse for MissingLayer {
    /// An empty `500`. Not logged here: the extractor that rejects with it logged it already,
    /// with the request's path.
    fn into_response(self) -> Response {
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

/// An empty response with `status`; the cause goes to logs, not to the client.
fn opaque(status: StatusCode, err: &dyn std::error::Error) -> Response {
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(target: LOG_TARGET, status = status.as_u16(), "session error: {err}");
    } else {
        // A full revocation store or a concurrent logout: an outage or a race, not a bug.
        tracing::warn!(target: LOG_TARGET, status = status.as_u16(), "session error: {err}");
    }
    status.into_response()
}
