//! `Session` as a handler argument.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest};

use crate::error::MissingMiddleware;
use crate::session::Session;
use sealed_session::LOG_TARGET;

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
