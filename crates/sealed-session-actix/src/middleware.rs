//! The middleware: opens the cookie before the handler, writes the cookie after it.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{COOKIE, HeaderValue, SET_COOKIE};
use actix_web::{HttpMessage as _, HttpResponse};
use sealed_session::adapter::{PendingResponse, RequestInfo};
use sealed_session::keys::KeyUse;
use sealed_session::{KeyRing, SessionBuilder, SessionManager};

/// actix-web middleware that keeps the session in one sealed cookie.
///
/// Wrap an `App` (or scope) with it and take a [`Session`](crate::Session) in handlers:
///
/// ```no_run
/// use actix_web::{App, HttpServer, get};
/// use sealed_session_actix::{CookieSessionMiddleware, KeyRing, Session};
///
/// #[get("/")]
/// async fn index(session: Session) -> actix_web::Result<String> {
///     Ok(format!("{:?}", session.get::<String>("user")?))
/// }
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     let sessions = CookieSessionMiddleware::new(KeyRing::from_env("SESSION_KEYS")?);
///     HttpServer::new(move || App::new().wrap(sessions.clone()).service(index))
///         .bind(("127.0.0.1", 8080))?
///         .run()
///         .await
/// }
/// ```
///
/// On each response:
/// - a session nobody wrote sets no cookie;
/// - a changed or renewed session is sealed again; an unchanged one only when an older key
///   opened it (rotation) or per the [`RefreshPolicy`](crate::RefreshPolicy);
/// - a purged session, and a refused cookie (forged, expired, revoked, ...), get a removal
///   cookie with the same name, `Path` and `Domain`; a refused cookie is also logged under
///   [`LOG_TARGET`](crate::LOG_TARGET) with its reason, and the handler sees an empty session.
///   A bad cookie never causes an error response.
///
/// Those decisions are `sealed_session::SessionManager`'s: the middleware hands it the `Cookie`
/// headers and writes the `Set-Cookie` headers it returns (two when an actix-session cookie is
/// migrated: see `CookieSessionBuilder::legacy_reader`).
///
/// Concurrent requests of one client are last-writer-wins, as with every cookie session: the
/// response that arrives last sets the cookie. Requests that only read write no cookie (within
/// the refresh interval), so they don't overwrite a concurrent write.
#[derive(Clone, Debug)]
pub struct CookieSessionMiddleware {
    lifecycle: SessionManager,
}

impl CookieSessionMiddleware {
    /// The middleware with safe defaults (see
    /// [`CookieSessionBuilder`](crate::CookieSessionBuilder)).
    ///
    /// # Panics
    /// Never: the defaults are valid for every key ring.
    pub fn new(ring: KeyRing) -> Self {
        // Default settings pass every check of `build` whatever the ring (a test pins it).
        Self::builder(ring)
            .build()
            .expect("default session settings are valid")
    }

    /// A builder to change the defaults: the core's
    /// [`SessionBuilder`](sealed_session::SessionBuilder), whose `build` returns the
    /// middleware (the tower adapter's layer is configured with the same methods).
    ///
    /// ```
    /// use sealed_session_actix::{
    ///     CookieSessionMiddleware, Duration, KeyRing, Mode, RefreshPolicy, SameSite, SecretKey,
    /// };
    ///
    /// let middleware = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
    ///     .cookie_name("__Host-session")
    ///     .mode(Mode::Signed)
    ///     .idle_timeout(Duration::minutes(30))
    ///     .absolute_timeout(Duration::hours(8))
    ///     .cookie_same_site(SameSite::Strict)
    ///     .refresh(RefreshPolicy::EveryRequest)
    ///     .build()?;
    ///
    /// // A `__Host-` cookie must be Secure: caught at startup.
    /// let err = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
    ///     .cookie_name("__Host-session")
    ///     .cookie_secure(false)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("must be `Secure`"));
    /// # Ok::<(), sealed_session_actix::ConfigError>(())
    /// ```
    pub fn builder(ring: KeyRing) -> SessionBuilder<Self> {
        SessionBuilder::new(ring)
    }

    /// How many cookies each key opened since startup: the figure to watch before retiring a
    /// key (see the rotation runbook, [`sealed_session::guide::operations`]).
    pub fn key_usage(&self) -> Vec<KeyUse> {
        self.lifecycle.key_usage()
    }

    /// What the legacy reader did since startup (feature `actix-session-legacy`): actix-session
    /// cookies migrated and refused. When `migrated` stops growing on every instance, the old
    /// cookies are gone and the reader can be turned off (the cut-over runbook
    /// in [`crate::migrating`]).
    ///
    /// ```
    /// use sealed_session_actix::{
    ///     CookieSessionMiddleware, KeyRing, LegacyCookies, LegacyKey, SecretKey,
    /// };
    ///
    /// # let old_secret = [7u8; 64];
    /// let middleware = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
    ///     .legacy_reader(LegacyCookies::new(LegacyKey::from_master(&old_secret)?))
    ///     .build()?;
    /// let counts = middleware.legacy_migrations();
    /// println!("migrated {}, refused {}", counts.migrated, counts.refused);
    /// # Ok::<(), sealed_session_actix::ConfigError>(())
    /// ```
    #[cfg(feature = "actix-session-legacy")]
    #[cfg_attr(docsrs, doc(cfg(feature = "actix-session-legacy")))]
    pub fn legacy_migrations(&self) -> crate::LegacyMigrations {
        self.lifecycle.legacy_migrations()
    }

    /// The session lifecycle, e.g. to log a user out everywhere from an admin task
    /// (`SessionManager::revoke_subject`).
    pub fn manager(&self) -> &SessionManager {
        &self.lifecycle
    }

    /// The codec.
    pub fn codec(&self) -> &sealed_session::codec::Codec {
        self.lifecycle.codec()
    }
}

/// The middleware of a lifecycle built (or shared) elsewhere, e.g. by a
/// [`SessionConfig`](crate::SessionConfig).
///
/// ```
/// use sealed_session_actix::{CookieSessionMiddleware, KeyRing, SessionManager, SecretKey};
///
/// let lifecycle = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
/// let middleware = CookieSessionMiddleware::from(lifecycle.clone());
/// # Ok::<(), sealed_session_actix::ConfigError>(())
/// ```
impl From<SessionManager> for CookieSessionMiddleware {
    fn from(lifecycle: SessionManager) -> Self {
        Self { lifecycle }
    }
}

impl<S, B> Transform<S, ServiceRequest> for CookieSessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = CookieSessionService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(CookieSessionService {
            service: Rc::new(service),
            lifecycle: self.lifecycle.clone(),
        }))
    }
}

/// The service [`CookieSessionMiddleware`] wraps around the application.
#[derive(Debug)]
pub struct CookieSessionService<S> {
    service: Rc<S>,
    lifecycle: SessionManager,
}

type BoxedResponse<B> = Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, actix_web::Error>>>>;

impl<S, B> Service<ServiceRequest> for CookieSessionService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = BoxedResponse<B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let cookies = req.headers().get_all(COOKIE).map(HeaderValue::as_bytes);
        let info = RequestInfo::new(req.path()).peer(req.peer_addr());
        let session = self.lifecycle.attach(cookies, info);
        req.extensions_mut().insert(session.clone());
        let service = Rc::clone(&self.service);
        // Dropped unfinished (an error below, or the future dropped), no cookie is written and
        // the session's later writes fail.
        let pending = session.pending_response();
        Box::pin(async move {
            let mut res = service.call(req).await?;
            write_response(pending, res.response_mut())?;
            Ok(res)
        })
    }
}

/// Writes the cookies the lifecycle asks for.
fn write_response<B>(
    pending: PendingResponse,
    res: &mut actix_web::HttpResponse<B>,
) -> Result<(), actix_web::Error> {
    // The lifecycle logged the failure; no cookie is better than a broken one, and the client
    // keeps its previous cookie.
    let cookies = pending.finish().map_err(internal_error)?;
    for header in cookies.headers() {
        let header = HeaderValue::try_from(header).map_err(internal_error)?;
        res.headers_mut().append(SET_COOKIE, header);
    }
    Ok(())
}

/// An opaque 500: the cause goes to logs, not to the client.
fn internal_error<E: std::fmt::Debug + std::fmt::Display + 'static>(err: E) -> actix_web::Error {
    actix_web::error::InternalError::from_response(
        err,
        HttpResponse::InternalServerError().finish(),
    )
    .into()
}
