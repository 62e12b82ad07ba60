//! `Session` as an axum handler argument.

use axum_core::extract::FromRequestParts;
use http::request::Parts;
use sealed_session::LOG_TARGET;

use crate::error::MissingLayer;
use crate::session::Session;

/// Rejects with [`MissingLayer`] on a route the layer doesn't wrap: a configuration bug is a
/// `500` and an error log naming the fix, never a session that silently loses writes.
impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Session>().cloned().ok_or_else(|| {
            tracing::error!(target: LOG_TARGET, path = parts.uri.path(), "{MissingLayer}");
            MissingLayer
        })
    }
}
