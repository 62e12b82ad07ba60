//! [`SessionExt`]: the session from the actix-web types that carry a request, as
//! actix-session's `session_ext.rs` offers it.

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::guard::GuardContext;
use actix_web::{HttpMessage as _, HttpRequest};
use sealed_session::{LOG_TARGET, MissingMiddleware, Session};

/// The [`Session`] of a request, from an `HttpRequest`, a `ServiceRequest` or
/// `ServiceResponse` (in a `wrap_fn` middleware) or a guard's `GuardContext`.
///
/// ```
/// use actix_web::{App, HttpResponse, dev::Service as _, guard, web};
/// use sealed_session_actix::{CookieSessionMiddleware, KeyRing, SecretKey, SessionExt};
///
/// let app = App::new()
///     .service(
///         web::resource("/admin")
///             // A guard that reads the session.
///             .guard(guard::fn_guard(|ctx| {
///                 let role = ctx.get_session().get::<String>("role");
///                 role.ok().flatten().as_deref() == Some("admin")
///             }))
///             .to(HttpResponse::Ok),
///     )
///     // A middleware that uses it; registered before `CookieSessionMiddleware`, so inside it.
///     .wrap_fn(|req, srv| {
///         let visits = req.get_session().update_or("visits", 1u64, |n| n + 1);
///         let res = srv.call(req);
///         async move {
///             visits?; // a cookie too large is an error response, not a lost write
///             res.await
///         }
///     })
///     .wrap(CookieSessionMiddleware::new(KeyRing::new(SecretKey::generate())));
/// # drop(app);
/// ```
///
/// Without the middleware (a route it doesn't wrap, or a `wrap_fn` registered after it, so
/// outside it), `get_session` logs an error under [`LOG_TARGET`] and returns a *detached*
/// session, as actix-session does; but where actix-session's detached session accepts writes
/// and drops them, ours reads as empty and fails every write with
/// [`MissingMiddleware`], so no write, renewal or logout passes for done. In handlers, prefer
/// the `Session` extractor, which refuses such a route outright.
pub trait SessionExt {
    /// The request's session, shared with every other handle on it (the extractor's too).
    fn get_session(&self) -> Session;
}

/// The middleware's session in `extensions`, or a detached one (logged).
fn session_in(extensions: &actix_web::dev::Extensions, path: &str) -> Session {
    extensions.get::<Session>().cloned().unwrap_or_else(|| {
        tracing::error!(target: LOG_TARGET, path, "detached session: {MissingMiddleware}");
        Session::detached()
    })
}

impl SessionExt for HttpRequest {
    fn get_session(&self) -> Session {
        session_in(&self.extensions(), self.path())
    }
}

impl SessionExt for ServiceRequest {
    fn get_session(&self) -> Session {
        session_in(&self.extensions(), self.path())
    }
}

impl<B> SessionExt for ServiceResponse<B> {
    fn get_session(&self) -> Session {
        self.request().get_session()
    }
}

impl SessionExt for GuardContext<'_> {
    fn get_session(&self) -> Session {
        session_in(&self.req_data(), self.head().uri.path())
    }
}
