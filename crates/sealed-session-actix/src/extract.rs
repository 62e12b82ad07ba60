//! `Session` as a handler argument.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest};

use crate::error::MissingMiddleware;
use crate::session::Session;
use sealed_session::LOG_TARGET;

/// Fails with [`MissingMiddleware`] on a route the middleware doesn't wrap: a configuration
/// bug is a `500` and an error log naming the fix, never a session that silently loses writes.
impl FromRequest for Session {
    type Error = MissingMiddleware;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.extensions().get::<Session>().cloned();
        ready(session.ok_or_else(|| {
            tracing::error!(target: LOG_TARGET, path = req.path(), "{MissingMiddleware}");
            MissingMiddleware
        }))
    }
}
