//! axum (feature `axum-core`): [`Session`] as an extractor, and the session's errors as
//! responses.

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::LOG_TARGET;
use crate::lifecycle::{
    MissingMiddleware, Session, SessionError, SessionGetError, SessionInsertError,
    SessionUpdateError,
};

/// Rejects with [`MissingMiddleware`] on a route the layer doesn't wrap: a configuration bug is
/// a `500` and an error log naming the fix, never a session that silently loses writes.
impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = MissingMiddleware;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Session>().cloned().ok_or_else(|| {
            tracing::error!(target: LOG_TARGET, path = parts.uri.path(), "{MissingMiddleware}");
            MissingMiddleware
        })
    }
}

/// An empty response with the error's status; the error is logged.
macro_rules! into_response {
    ($($error:ty),*) => {$(
        impl IntoResponse for $error {
            fn into_response(self) -> Response {
                super::log_answered(self.http_status(), &self);
                StatusCode::from_u16(self.http_status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                    .into_response()
            }
        }
    )*};
}

into_response!(
    SessionError,
    SessionInsertError,
    SessionGetError,
    SessionUpdateError,
    MissingMiddleware
);
