//! The layer and its service: open the cookie before the inner service, write the cookie after
//! it. Every decision is `sealed_session::SessionManager`'s.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::{COOKIE, HeaderValue, SET_COOKIE};
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use sealed_session::adapter::{PendingResponse, RequestInfo};
use sealed_session::keys::KeyUse;
use sealed_session::{KeyRing, LOG_TARGET, SessionBuilder, SessionManager};
use tower_layer::Layer;
use tower_service::Service;

/// A tower [`Layer`] that keeps the session in one sealed cookie, for axum or any `http` 1.x
/// service.
///
/// Add it to a `Router` after the routes that take a [`Session`](crate::Session):
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use sealed_session_tower::{CookieSessionLayer, KeyRing, Session, SessionGetError};
///
/// async fn index(session: Session) -> Result<String, SessionGetError> {
///     Ok(format!("{:?}", session.get::<String>("user")?))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let sessions = CookieSessionLayer::new(KeyRing::from_env("SESSION_KEYS")?);
///     let app = Router::new().route("/", get(index)).layer(sessions);
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
///     axum::serve(listener, app).await?;
///     Ok(())
/// }
/// ```
///
/// On each response, as with the actix adapter (the decisions are the lifecycle's):
/// - a session nobody wrote sets no cookie;
/// - a changed or renewed session is sealed again; an unchanged one only when an older key
///   opened it (rotation) or per the [`RefreshPolicy`](crate::RefreshPolicy);
/// - a purged session, and a refused cookie (forged, expired, revoked, ...), get a removal
///   cookie with the same name, `Path` and `Domain`; a refused cookie is also logged under
///   [`LOG_TARGET`] with its reason, and the handler sees an empty session. A bad cookie never
///   causes an error response.
///
/// If the cookie can't be sealed (the OS random generator failed), the response is replaced by
/// an empty `500`, logged, and the client keeps its previous cookie.
#[derive(Clone, Debug)]
pub struct CookieSessionLayer {
    lifecycle: SessionManager,
}

impl CookieSessionLayer {
    /// The layer with safe defaults (see [`CookieSessionBuilder`](crate::CookieSessionBuilder)).
    ///
    /// # Panics
    /// Never: the defaults are valid for every key ring.
    pub fn new(ring: KeyRing) -> Self {
        // Default settings pass every check of `build` whatever the ring (the actix adapter's
        // test pins it: both build the same `SessionBuilder` defaults).
        Self::builder(ring)
            .build()
            .expect("default session settings are valid")
    }

    /// A builder to change the defaults: the core's
    /// [`SessionBuilder`](sealed_session::SessionBuilder), whose `build` returns the layer
    /// (the actix adapter's middleware is configured with the same methods).
    ///
    /// ```
    /// use sealed_session_tower::{
    ///     CookieSessionLayer, Duration, KeyRing, PersistentSession, SameSite, SecretKey,
    /// };
    ///
    /// let layer = CookieSessionLayer::builder(KeyRing::new(SecretKey::generate()))
    ///     .idle_timeout(Duration::minutes(30))
    ///     .session_lifecycle(PersistentSession::default().session_ttl(Duration::days(7)))
    ///     .cookie_same_site(SameSite::Strict) // tower-sessions' default; ours is `Lax`
    ///     .build()?;
    /// # Ok::<(), sealed_session_tower::ConfigError>(())
    /// ```
    pub fn builder(ring: KeyRing) -> SessionBuilder<Self> {
        SessionBuilder::new(ring)
    }

    /// How many cookies each key opened since startup: the figure to watch before retiring a
    /// key (see the rotation runbook, [`sealed_session::guide::operations`]).
    pub fn key_usage(&self) -> Vec<KeyUse> {
        self.lifecycle.key_usage()
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

/// The layer of a lifecycle built (or shared) elsewhere.
///
/// ```
/// use sealed_session_tower::{CookieSessionLayer, KeyRing, SessionManager, SecretKey};
///
/// let lifecycle = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
/// let layer = CookieSessionLayer::from(lifecycle.clone());
/// # Ok::<(), sealed_session_tower::ConfigError>(())
/// ```
impl From<SessionManager> for CookieSessionLayer {
    fn from(lifecycle: SessionManager) -> Self {
        Self { lifecycle }
    }
}

impl<S> Layer<S> for CookieSessionLayer {
    type Service = CookieSessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CookieSessionService {
            inner,
            lifecycle: self.lifecycle.clone(),
        }
    }
}

/// The service [`CookieSessionLayer`] wraps around the application.
#[derive(Clone, Debug)]
pub struct CookieSessionService<S> {
    inner: S,
    lifecycle: SessionManager,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CookieSessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let cookies = req
            .headers()
            .get_all(COOKIE)
            .iter()
            .map(HeaderValue::as_bytes);
        let info = RequestInfo::new(req.uri().path()).peer(peer(req.extensions()));
        let session = self.lifecycle.attach(cookies, info);
        req.extensions_mut().insert(session.clone());
        ResponseFuture {
            inner: self.inner.call(req),
            session: Some(session.pending_response()),
        }
    }
}

pin_project! {
    /// The response of [`CookieSessionService`]: the inner service's, with the cookie the
    /// lifecycle asks for.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        // Dropped unfinished (the inner service failed, or this future was dropped), no cookie
        // is written and the session's later writes fail.
        session: Option<PendingResponse>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: Default,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = std::task::ready!(this.inner.poll(cx))?;
        if let Some(pending) = this.session.take() {
            write_response(pending, &mut res);
        }
        Poll::Ready(Ok(res))
    }
}

/// The client's address, where the server recorded it: axum's `ConnectInfo` (feature `axum`,
/// with `into_make_service_with_connect_info::<SocketAddr>()`), or a bare `SocketAddr`.
fn peer(extensions: &http::Extensions) -> Option<SocketAddr> {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(addr)) =
        extensions.get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(*addr);
    }
    extensions.get::<SocketAddr>().copied()
}

/// Writes the cookies the lifecycle asks for, or replaces the response by an opaque `500`.
fn write_response<B: Default>(pending: PendingResponse, res: &mut Response<B>) {
    let cookies = match pending.finish() {
        Ok(cookies) => cookies,
        Err(err) => {
            // The lifecycle logged the failure; no cookie is better than a broken one, and the
            // client keeps its previous cookie.
            tracing::error!(target: LOG_TARGET, "session cookie not sealed: {err}");
            *res = internal_error();
            return;
        }
    };
    for header in cookies.headers() {
        match HeaderValue::try_from(header) {
            Ok(header) => {
                res.headers_mut().append(SET_COOKIE, header);
            }
            Err(err) => {
                // A cookie is base64 and attribute text: never reached, but never a panic.
                tracing::error!(target: LOG_TARGET, "session cookie is not a header value: {err}");
                *res = internal_error();
                return;
            }
        }
    }
}

fn internal_error<B: Default>() -> Response<B> {
    let mut res = Response::new(B::default());
    *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    res
}
