//! actix-web (feature `actix-web`): [`Session`] as a handler argument, and the session's errors
//! as `ResponseError`s.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};

use crate::lifecycle::{
    MissingMiddleware, Session, SessionError, SessionGetError, SessionInsertError,
    SessionUpdateError,
};
use crate::{LOG_TARGET, SameSite};

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

/// An empty response with the error's status; the error is logged.
macro_rules! response_error {
    ($($error:ty),*) => {$(
        impl ResponseError for $error {
            fn status_code(&self) -> StatusCode {
                StatusCode::from_u16(self.http_status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }

            fn error_response(&self) -> HttpResponse {
                super::log_answered(self.http_status(), self);
                HttpResponse::new(self.status_code())
            }
        }
    )*};
}

response_error!(
    SessionError,
    SessionInsertError,
    SessionGetError,
    SessionUpdateError,
    MissingMiddleware
);

/// actix-web's `SameSite` (the `cookie` crate's, as actix-web re-exports it), for the builder's
/// `cookie_same_site`.
impl From<actix_web::cookie::SameSite> for SameSite {
    fn from(same_site: actix_web::cookie::SameSite) -> Self {
        match same_site {
            actix_web::cookie::SameSite::Strict => Self::Strict,
            actix_web::cookie::SameSite::Lax => Self::Lax,
            actix_web::cookie::SameSite::None => Self::None,
        }
    }
}
