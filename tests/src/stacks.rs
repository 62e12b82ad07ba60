//! The example login app on either stack (actix-web with `sealed-session-actix`, or axum with
//! `sealed-session-tower`), on the same settings, behind one client: the tests that hold both
//! adapters to one contract.

use std::sync::Arc;

use actix_web::web;
use sealed_session::SessionManager;
use sealed_session::clock::ManualClock;
use sealed_session::revocation::RevocationStore;
use sealed_session::{KeyRing, SecretKey, SessionLifecycle};
use sealed_session_actix::CookieSessionMiddleware;
use sealed_session_tower::CookieSessionLayer;
use serde_json::Value;

use crate::{AxumServer, Reply, Store, TestApp, send_to, start_time};

/// The session cookie's name on every [`StackApp`] (the default; cookies not `Secure`).
const ID: &str = "id";

/// The two implementations of the login app's contract on sealed cookie sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// `examples/login.rs`: actix-web and `sealed-session-actix` (with the test harness's
    /// debug routes beside it).
    Actix,
    /// `examples/axum_login.rs`: axum and `sealed-session-tower`.
    Axum,
}

/// Both stacks, actix-web first.
pub const STACKS: [Stack; 2] = [Stack::Actix, Stack::Axum];

/// How a [`StackApp`] is configured: the same settings on either stack.
#[derive(Debug)]
pub struct StackSettings {
    /// The keys.
    pub ring: KeyRing,
    /// The sessions' clock (a Redis store made by [`Store::make`] reads it too).
    pub clock: Arc<ManualClock>,
    /// The revocation store.
    pub store: Arc<dyn RevocationStore>,
    /// The session lifetime, if not the default (idle 1 hour, absolute 24 hours, no `Max-Age`).
    pub lifetime: Option<SessionLifecycle>,
    /// The most cookies a session spans (`SessionBuilder::max_cookies`): 1, the default, or
    /// more for a session cut into chunks.
    pub max_cookies: usize,
}

impl StackSettings {
    /// A fresh key, the manual clock at [`start_time`], a fresh store of kind `store` on it.
    pub fn on(store: Store) -> Self {
        let clock = Arc::new(ManualClock::new(start_time()));
        Self {
            ring: KeyRing::new(SecretKey::generate()),
            store: store.make(clock.clone()),
            clock,
            lifetime: None,
            max_cookies: 1,
        }
    }
}

/// Where a [`StackApp`] runs.
#[allow(missing_debug_implementations)] // `TestApp` has no `Debug`.
pub enum StackServer {
    /// On actix-web's test server.
    Actix(TestApp),
    /// On axum, on a thread of its own.
    Axum(AxumServer),
}

/// The example login app on one stack, on a real HTTP server on loopback, and a client that
/// sends the session cookie by hand.
#[allow(missing_debug_implementations)] // `TestApp` has no `Debug`.
pub struct StackApp {
    /// The server (stopped when dropped).
    pub server: StackServer,
    /// The sessions' clock.
    pub clock: Arc<ManualClock>,
    http: reqwest::Client,
}

impl StackApp {
    /// The login app on `stack`, configured by `settings`.
    pub fn start(stack: Stack, settings: &StackSettings) -> Self {
        Self::start_with(stack, settings, |_| {}, |router| router)
    }

    /// The login app on `stack`, configured by `settings`, with routes of the test's own behind
    /// the sessions' middleware: `actix` on actix-web (beside the harness's debug routes, as in
    /// [`TestApp::serve_with`]), `axum` added to the axum router.
    pub fn start_with(
        stack: Stack,
        settings: &StackSettings,
        actix: fn(&mut web::ServiceConfig),
        axum: fn(axum::Router) -> axum::Router,
    ) -> Self {
        // One builder for both stacks: the same settings give the same sessions.
        let mut builder = SessionManager::builder(settings.ring.clone())
            .cookie_secure(false)
            .clock(settings.clock.clone())
            .revocation_store(Arc::clone(&settings.store))
            .max_cookies(settings.max_cookies);
        if let Some(lifetime) = &settings.lifetime {
            builder = builder.session_lifecycle(lifetime.clone());
        }
        let sessions = builder.build().expect("valid test configuration");
        Self::serve_with(stack, sessions, settings.clock.clone(), actix, axum)
    }

    /// The login app on `stack` with `sessions` (built elsewhere, from a configuration file
    /// say), whose clock is `clock`, and routes of the test's own as in
    /// [`StackApp::start_with`]. Its cookie must be named `id`, as the client sends it.
    pub fn serve_with(
        stack: Stack,
        sessions: SessionManager,
        clock: Arc<ManualClock>,
        actix: fn(&mut web::ServiceConfig),
        axum: fn(axum::Router) -> axum::Router,
    ) -> Self {
        let server = match stack {
            Stack::Actix => StackServer::Actix(TestApp::serve_with(
                CookieSessionMiddleware::from(sessions),
                clock.clone(),
                actix,
            )),
            Stack::Axum => {
                // `axum_login::app`, with the test's routes.
                let routes = sealed_session_examples::contract_axum::routes::<
                    sealed_session_tower::Session,
                >();
                let layer = CookieSessionLayer::from(sessions);
                StackServer::Axum(AxumServer::start(axum(routes).layer(layer)))
            }
        };
        Self {
            server,
            clock,
            http: reqwest::Client::new(),
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        match &self.server {
            StackServer::Actix(app) => app.url(path),
            StackServer::Axum(server) => server.url(path),
        }
    }

    /// `method path`, with `Cookie: id=<cookie>` if given and the login form for `user` if
    /// given.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        user: Option<&str>,
    ) -> Reply {
        send_id(&self.http, method, self.url(path), cookie, user).await
    }

    /// `method path` with the raw `Cookie` header `header` (several cookies, say: `id=..;
    /// id-1=..`), or none if it is empty.
    pub async fn send_header(&self, method: &str, path: &str, header: &str) -> Reply {
        let cookie = (!header.is_empty()).then_some(header.as_bytes());
        send_to(&self.http, method, self.url(path), cookie, None).await
    }

    /// `GET path` with `cookie`.
    pub async fn get(&self, path: &str, cookie: &str) -> Reply {
        self.send("GET", path, Some(cookie), None).await
    }

    /// `POST path` with `cookie`.
    pub async fn post(&self, path: &str, cookie: &str) -> Reply {
        self.send("POST", path, Some(cookie), None).await
    }

    /// `POST /login` for `user`, with the cookie the client holds (if any), as a browser would.
    pub async fn login_with(&self, user: &str, cookie: Option<&str>) -> Reply {
        self.send("POST", "/login", cookie, Some(user)).await
    }

    /// Signs `user` in on a fresh client: asserts a `200` and returns the cookie.
    pub async fn login(&self, user: &str) -> String {
        let reply = self.login_with(user, None).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.new_value(ID).expect("login sets the cookie")
    }

    /// What `/whoami` says of `cookie`: asserts a `200`.
    pub async fn whoami(&self, cookie: &str) -> Value {
        let reply = self.get("/whoami", cookie).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json
    }

    /// What `/whoami` says of `cookie` (asserts a `200`); a re-sealed cookie replaces it.
    pub async fn whoami_renewing(&self, cookie: &mut String) -> Value {
        let reply = self.get("/whoami", cookie).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        if let Some(next) = reply.new_value(ID) {
            *cookie = next;
        }
        reply.json
    }

    /// `POST path` with `cookie`, which must be answered `200` with a new cookie (not a
    /// removal): the reply, and `cookie` becomes the new one.
    pub async fn post_renewing(&self, path: &str, cookie: &mut String) -> Reply {
        let reply = self.post(path, cookie).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        *cookie = reply
            .new_value(ID)
            .unwrap_or_else(|| panic!("{path}: a new cookie: {reply:?}"));
        reply
    }

    /// Why `/whoami` refused `cookie` (`None` if it didn't): asserts a `200`.
    pub async fn refusal(&self, cookie: &str) -> Option<String> {
        self.whoami(cookie).await["refused"]
            .as_str()
            .map(str::to_owned)
    }

    /// Asserts that `/whoami` refuses `cookie` as logged out (`"refused": "revoked"`); `context`
    /// names the case in the failure.
    pub async fn assert_revoked(&self, cookie: &str, context: impl std::fmt::Display) {
        assert_eq!(
            self.refusal(cookie).await.as_deref(),
            Some("revoked"),
            "{context}"
        );
    }
}

/// Sends `method url` with `client`, with `Cookie: id=<cookie>` if given and the login form for
/// `user` if given, and reads the reply.
pub async fn send_id(
    client: &reqwest::Client,
    method: &str,
    url: String,
    cookie: Option<&str>,
    user: Option<&str>,
) -> Reply {
    let header = cookie.map(|c| format!("{ID}={c}"));
    let form = user.map(|u| [("user", u)]);
    send_to(
        client,
        method,
        url,
        header.as_deref().map(str::as_bytes),
        form.as_ref().map(|f| &f[..]),
    )
    .await
}
