//! The middleware: opens the cookie before the handler, writes the cookie after it.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderValue, SET_COOKIE};
use actix_web::{HttpMessage as _, HttpResponse};
use sealed_session::{KeyRing, OpenError, Opened, SessionState};
use time::{Duration, OffsetDateTime};

use crate::config::{CookieSessionBuilder, RefreshPolicy, Settings};
use crate::cookie;
use crate::metrics::KeyUse;
use crate::session::{IncomingCookie, Session, SessionStatus};

/// Where refused cookies are logged, with a `reason` field.
pub const LOG_TARGET: &str = "sealed_session";

/// actix-web middleware that keeps the session in one sealed cookie.
///
/// Wrap an `App` (or scope) with it and take a [`Session`] in handlers:
///
/// ```no_run
/// use actix_web::{App, HttpServer, get};
/// use sealed_session::KeyRing;
/// use sealed_session_actix::{CookieSessionMiddleware, Session};
///
/// #[get("/")]
/// async fn index(session: Session) -> actix_web::Result<String> {
///     Ok(format!("{:?}", session.get::<String>("user")?))
/// }
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     let sessions = CookieSessionMiddleware::new(KeyRing::from_env("SESSION_KEYS").expect("keys"));
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
///   opened it (rotation) or per the [`RefreshPolicy`];
/// - a purged session, and a refused cookie (forged, expired, revoked, ...), get a removal
///   cookie with the same name, `Path` and `Domain`; a refused cookie is also logged under
///   [`LOG_TARGET`] with its reason, and the handler sees an empty session. A bad cookie never
///   causes an error response.
///
/// Concurrent requests of one client are last-writer-wins, as with every cookie session: the
/// response that arrives last sets the cookie. Requests that only read write no cookie (within
/// the refresh interval), so they don't overwrite a concurrent write.
#[derive(Clone, Debug)]
pub struct CookieSessionMiddleware {
    settings: Arc<Settings>,
}

impl CookieSessionMiddleware {
    /// The middleware with safe defaults (see [`CookieSessionBuilder`]).
    ///
    /// # Panics
    /// Never: the defaults are valid for every key ring.
    pub fn new(ring: KeyRing) -> Self {
        // Default settings pass every check of `build` whatever the ring (a test pins it).
        Self::builder(ring)
            .build()
            .expect("default session settings are valid")
    }

    /// A builder to change the defaults.
    pub fn builder(ring: KeyRing) -> CookieSessionBuilder {
        CookieSessionBuilder::new(ring)
    }

    pub(crate) fn from_settings(settings: Settings) -> Self {
        Self {
            settings: Arc::new(settings),
        }
    }

    /// How many cookies each key opened since startup: the figure to watch before retiring a
    /// key (see the rotation runbook in `docs/operations.md`).
    pub fn key_usage(&self) -> Vec<KeyUse> {
        self.settings.usage.snapshot()
    }

    /// The codec, e.g. to revoke a user's sessions from an admin task.
    pub fn codec(&self) -> &sealed_session::Codec {
        &self.settings.codec
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
            settings: Arc::clone(&self.settings),
        }))
    }
}

/// The service [`CookieSessionMiddleware`] wraps around the application.
#[derive(Debug)]
pub struct CookieSessionService<S> {
    service: Rc<S>,
    settings: Arc<Settings>,
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
        let settings = Arc::clone(&self.settings);
        let now = settings.codec.now();
        let session = open_request(&settings, &req, now);
        req.extensions_mut().insert(session.clone());
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let mut res = service.call(req).await?;
            write_response(&settings, &session, res.response_mut(), now)?;
            Ok(res)
        })
    }
}

/// Opens the request's cookie into a [`Session`].
fn open_request(settings: &Arc<Settings>, req: &ServiceRequest, now: OffsetDateTime) -> Session {
    let codec = &settings.codec;
    let mut first_refusal = None;
    let mut opened: Option<Opened> = None;
    // The first value that opens wins; the others may be stale copies for a parent domain.
    for raw in cookie::values(req.headers(), codec.cookie_name()) {
        let result = std::str::from_utf8(raw)
            .map_err(|_| OpenError::Malformed)
            .and_then(|value| codec.open_at(value, now));
        match result {
            Ok(found) => {
                opened = Some(found);
                break;
            }
            Err(err) => {
                first_refusal.get_or_insert(err);
            }
        }
    }
    match (opened, first_refusal) {
        (Some(opened), _) => {
            settings.usage.record(opened.key_id());
            if opened.key_role() != sealed_session::KeyRole::Primary {
                // What the rotation runbook watches: cookies still sealed by older keys.
                tracing::debug!(
                    target: LOG_TARGET,
                    key_id = %opened.key_id(),
                    role = ?opened.key_role(),
                    "session cookie opened by a non-primary key"
                );
            }
            let reseal = opened.should_reseal();
            Session::new(
                Arc::clone(settings),
                Some(opened.into_state()),
                IncomingCookie::Valid,
                reseal,
            )
        }
        (None, Some(err)) => {
            log_refusal(&err, req);
            Session::new(
                Arc::clone(settings),
                None,
                IncomingCookie::Refused(err),
                false,
            )
        }
        (None, None) => Session::new(Arc::clone(settings), None, IncomingCookie::Missing, false),
    }
}

/// One event per refused cookie: `warn` for what looks like tampering, `debug` for the
/// ordinary end of a session. Never the cookie's value.
fn log_refusal(err: &OpenError, req: &ServiceRequest) {
    if err.is_suspicious() {
        tracing::warn!(
            target: LOG_TARGET,
            reason = err.reason(),
            path = req.path(),
            peer = ?req.peer_addr(),
            "session cookie refused: {err}"
        );
    } else {
        tracing::debug!(
            target: LOG_TARGET,
            reason = err.reason(),
            path = req.path(),
            "session cookie refused: {err}"
        );
    }
}

/// What the response must do with the cookie.
enum CookieAction {
    None,
    /// The sealed value and the cookie's remaining life.
    Set(String, Duration),
    Remove,
}

/// Decides, and seals when needed, under one borrow of the session (no copy of its state).
fn decide(
    settings: &Settings,
    session: &Session,
    now: OffsetDateTime,
) -> Result<CookieAction, sealed_session::SealError> {
    let mut inner = session.inner.borrow_mut();
    let status = inner.status;
    let refused = matches!(inner.incoming, IncomingCookie::Refused(_));
    let reseal = inner.reseal;
    let Some(state) = inner.state.as_mut() else {
        let removes = status == SessionStatus::Purged || refused;
        return Ok(if removes {
            CookieAction::Remove
        } else {
            CookieAction::None
        });
    };
    let write = match status {
        SessionStatus::Changed | SessionStatus::Renewed => true,
        SessionStatus::Purged => return Ok(CookieAction::Remove),
        SessionStatus::Unchanged => {
            reseal
                || match settings.refresh {
                    RefreshPolicy::EveryRequest => true,
                    RefreshPolicy::Interval(interval) => now - state.last_active() >= interval,
                }
        }
    };
    if !write {
        return Ok(CookieAction::None);
    }
    state.touch(now);
    // Sizes were checked when the session was written, against the largest the session can
    // grow by activity, so `TooLarge` can't happen here; the OS random generator failing can.
    let value = settings.codec.seal(state)?;
    Ok(CookieAction::Set(
        value,
        remaining_life(settings, state, now),
    ))
}

/// Writes the cookie the session needs, as of `now` (the request's start: one clock read per
/// request).
fn write_response<B>(
    settings: &Settings,
    session: &Session,
    res: &mut actix_web::HttpResponse<B>,
    now: OffsetDateTime,
) -> Result<(), actix_web::Error> {
    let name = settings.codec.cookie_name();
    let attributes = &settings.attributes;
    let action = decide(settings, session, now).map_err(|err| {
        // No cookie is better than a broken one; the client keeps its previous cookie.
        tracing::error!(target: LOG_TARGET, "session could not be sealed: {err}");
        internal_error(err)
    })?;
    let header = match action {
        CookieAction::None => return Ok(()),
        CookieAction::Remove => attributes.set_cookie(name, "", None),
        CookieAction::Set(value, life) => attributes.set_cookie(name, &value, Some(life)),
    };
    let header = HeaderValue::try_from(header).map_err(internal_error)?;
    res.headers_mut().append(SET_COOKIE, header);
    Ok(())
}

/// Until the earlier of the idle and absolute deadlines.
fn remaining_life(settings: &Settings, state: &SessionState, now: OffsetDateTime) -> Duration {
    let codec = &settings.codec;
    let absolute = state.created() + codec.absolute_timeout();
    let idle = state.last_active() + codec.idle_timeout();
    absolute.min(idle) - now
}

/// An opaque 500: the cause goes to logs, not to the client.
fn internal_error<E: std::fmt::Debug + std::fmt::Display + 'static>(err: E) -> actix_web::Error {
    actix_web::error::InternalError::from_response(
        err,
        HttpResponse::InternalServerError().finish(),
    )
    .into()
}
