//! Test harness: the example login app behind the real middleware on a real HTTP server, a
//! clock the test moves, and a client that shows every `Set-Cookie`.

#[cfg(doctest)]
mod doc_tests;
pub mod events;
mod stacks;

pub use stacks::{STACKS, Stack, StackApp, StackServer, StackSettings, send_id};

use std::sync::{Arc, Mutex, PoisonError};

use actix_web::cookie::Cookie;
use actix_web::{App, HttpResponse, get, web};
use sealed_session::clock::{Clock, ManualClock};
use sealed_session::codec::{RandomSource, UnixTime};
use sealed_session::revocation::{
    Confirmation, Cutoff, Generation, MemoryRevocationStore, Revocation, RevocationStore, Subject,
};
use sealed_session::{KeyRing, NotDurableReason, RevokeError, SealError, SecretKey, SessionId};
use sealed_session_actix::{CookieSessionBuilder, CookieSessionMiddleware, Session};
use sealed_session_redis::RedisRevocationStore;
use sealed_session_test_support::redis_url;
use time::OffsetDateTime;

/// The revocation backends the acceptance suite runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// The embedded `MemoryRevocationStore`.
    Memory,
    /// `RedisRevocationStore` on the test run's redis-server (`REDIS_URL`), under a key prefix
    /// of this app's own.
    Redis,
}

impl Store {
    /// A fresh, empty store of this kind (connected and loaded, for Redis), on `clock`: the
    /// clock of the app it serves (a Redis store bounds what it reads by its clock).
    pub fn make(self, clock: Arc<dyn Clock>) -> Arc<dyn RevocationStore> {
        self.make_pair(Arc::clone(&clock), clock).0
    }

    /// What two instances of one application share: the same memory store twice, or two Redis
    /// stores (one per instance, on the clocks `a` and `b`) on one fresh key prefix.
    pub fn make_pair(
        self,
        a: Arc<dyn Clock>,
        b: Arc<dyn Clock>,
    ) -> (Arc<dyn RevocationStore>, Arc<dyn RevocationStore>) {
        match self {
            Self::Memory => {
                let store: Arc<dyn RevocationStore> = Arc::new(MemoryRevocationStore::new());
                (Arc::clone(&store), store)
            }
            Self::Redis => {
                let prefix = format!(
                    "test:{}:",
                    sealed_session::SessionId::random().expect("random id")
                );
                let connect = |clock: Arc<dyn Clock>| {
                    let store = RedisRevocationStore::builder(redis_url())
                        .prefix(prefix.clone())
                        .clock(clock)
                        .build()
                        .expect("valid Redis settings");
                    assert!(
                        store.wait_until_connected(std::time::Duration::from_secs(10)),
                        "Redis at REDIS_URL answers"
                    );
                    Arc::new(store) as Arc<dyn RevocationStore>
                };
                (connect(a), connect(b))
            }
        }
    }
}

/// Polls `check` (every 5 ms, at most 5 s) until it holds: what another instance sees through
/// Redis arrives a moment later. Panics, naming `what`, if it never does.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "not within 5 s: {what}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// A tiny seeded generator (an LCG), so that a failing randomized trial can be replayed.
#[derive(Debug, Clone)]
pub struct Lcg(pub u64);

impl Lcg {
    /// The next number, below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.step();
        (self.0 >> 33) % n
    }

    /// The next byte: the top byte of the next state (an LCG's high bits are its best).
    pub fn byte(&mut self) -> u8 {
        self.step();
        self.0.to_be_bytes()[0]
    }

    fn step(&mut self) {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    }
}

/// A [`RandomSource`] for tests that compare cookies byte for byte: an [`Lcg`], so a fresh one
/// of the same seed gives the same bytes, in the order they are drawn. Entirely predictable:
/// given to a lifecycle only through `SessionBuilder::dangerous`, and only here.
#[derive(Debug)]
pub struct SeededRandom(Mutex<Lcg>);

impl SeededRandom {
    /// A source that starts at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(Lcg(seed)))
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), SealError> {
        // A poisoned lock only means another test thread panicked while drawing; the generator's
        // state is a plain number, still valid.
        let mut lcg = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        dest.fill_with(|| lcg.byte());
        Ok(())
    }
}

/// An axum app on a real HTTP server on loopback, on a thread and tokio runtime of its own (so
/// it runs beside actix-web's test runtime). Stopped when dropped.
#[derive(Debug)]
pub struct AxumServer {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl AxumServer {
    /// Serves `app` on a free port of 127.0.0.1.
    pub fn start(app: axum::Router) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking socket");
        let addr = listener.local_addr().expect("bound address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio socket");
                let serve = axum::serve(listener, app).into_future();
                // Stops at the signal (or when the handle is dropped), without waiting for the
                // clients' keep-alive connections: the runtime drops them.
                tokio::select! {
                    result = serve => result.expect("axum serves"),
                    _ = stopped => {}
                }
            });
        });
        Self {
            addr,
            stop: Some(stop),
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for AxumServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A running app and the clock its middleware reads.
#[allow(missing_debug_implementations)] // `actix_test::TestServer` has no `Debug`.
pub struct TestApp {
    /// The server (stopped when dropped).
    pub server: actix_test::TestServer,
    /// The middleware's clock.
    pub clock: Arc<ManualClock>,
    /// The middleware, for `key_usage` and its codec.
    pub middleware: CookieSessionMiddleware,
    client: reqwest::Client,
}

/// What a response said.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Every `Set-Cookie`, parsed.
    pub set_cookies: Vec<Cookie<'static>>,
    /// Every `Set-Cookie` header, as sent (a browser keeps a cookie only if its header is at
    /// most 4096 bytes).
    pub set_cookie_headers: Vec<String>,
    /// The body as JSON (`Null` if it isn't JSON).
    pub json: serde_json::Value,
}

impl Reply {
    /// The one `Set-Cookie` for `name`, if any.
    pub fn cookie(&self, name: &str) -> Option<&Cookie<'static>> {
        let mut matching = self.set_cookies.iter().filter(|c| c.name() == name);
        let first = matching.next();
        assert!(matching.next().is_none(), "one Set-Cookie per name");
        first
    }

    /// The value of the `Set-Cookie` for `name` that sets (not removes) it.
    pub fn new_value(&self, name: &str) -> Option<String> {
        self.cookie(name)
            .filter(|c| !is_removal(c))
            .map(|c| c.value().to_owned())
    }
}

/// Every `Set-Cookie` of a response, parsed (panics on one that doesn't parse: the middleware
/// must never write such a header).
pub fn set_cookies(headers: &reqwest::header::HeaderMap) -> Vec<Cookie<'static>> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| {
            Cookie::parse(v.to_str().expect("ascii Set-Cookie").to_owned())
                .expect("valid Set-Cookie")
        })
        .collect()
}

/// Sends `method url` with `client`, the raw `Cookie` header `cookie` (if any) and an optional
/// form, and reads the reply.
pub async fn send_to(
    client: &reqwest::Client,
    method: &str,
    url: String,
    cookie: Option<&[u8]>,
    form: Option<&[(&str, &str)]>,
) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = client.request(method, url);
    if let Some(cookie) = cookie {
        req = req.header(
            reqwest::header::COOKIE,
            reqwest::header::HeaderValue::from_bytes(cookie).expect("header bytes"),
        );
    }
    if let Some(form) = form {
        req = req.form(form);
    }
    let res = req.send().await.expect("request succeeds");
    let status = res.status().as_u16();
    let set_cookies = set_cookies(res.headers());
    let set_cookie_headers = res
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii Set-Cookie").to_owned())
        .collect();
    let bytes = res.bytes().await.expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Reply {
        status,
        set_cookies,
        set_cookie_headers,
        json,
    }
}

/// Whether a `Set-Cookie` removes its cookie.
pub fn is_removal(cookie: &Cookie<'_>) -> bool {
    cookie.value().is_empty() && cookie.max_age() == Some(time::Duration::ZERO)
}

/// 2030-01-01T00:00:00Z: tests run on a fixed clock.
pub fn start_time() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_893_456_000).expect("valid time")
}

/// Debug route: the session id and subject as the handler sees them.
#[get("/debug/session")]
async fn debug_session(session: Session) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "id": session.id().map(|id| id.to_string()),
        "subject": session.subject(),
        "status": format!("{:?}", session.status()),
        "refusal": session.refusal().map(|r| r.reason()),
    }))
}

/// Debug route: "sign out my other devices".
#[actix_web::post("/debug/logout-others")]
async fn debug_logout_others(session: Session) -> actix_web::Result<HttpResponse> {
    let done = session.purge_other_sessions().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "done": done })))
}

/// A route that uses the extractor without the middleware (mounted outside it).
#[get("/unwrapped")]
async fn unwrapped(session: Session) -> HttpResponse {
    HttpResponse::Ok().body(format!("{:?}", session.id()))
}

impl TestApp {
    /// The login app with `ring` and an in-memory revocation store, configured by `configure`
    /// (the clock is set here).
    pub fn start(
        ring: KeyRing,
        configure: impl FnOnce(CookieSessionBuilder) -> CookieSessionBuilder,
    ) -> Self {
        Self::start_on(Store::Memory, ring, configure)
    }

    /// The login app with `ring` and a fresh revocation store of kind `store`, configured by
    /// `configure` (the clock is set here; `configure` may still replace the store).
    pub fn start_on(
        store: Store,
        ring: KeyRing,
        configure: impl FnOnce(CookieSessionBuilder) -> CookieSessionBuilder,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(start_time()));
        let builder = CookieSessionMiddleware::builder(ring)
            .clock(clock.clone())
            .revocation_store(store.make(clock.clone()));
        let middleware = configure(builder)
            .build()
            .expect("valid test configuration");
        Self::serve(middleware, clock)
    }

    /// The login app with one fresh key and default settings, except cookies not `Secure`, so
    /// named `id`, the name the tests send.
    pub fn default_app() -> Self {
        Self::default_app_on(Store::Memory)
    }

    /// [`TestApp::default_app`] on a revocation store of kind `store`.
    pub fn default_app_on(store: Store) -> Self {
        Self::start_on(store, KeyRing::new(SecretKey::generate()), |b| {
            b.cookie_secure(false)
        })
    }

    /// Serves `middleware`, whose clock is `clock`.
    pub fn serve(middleware: CookieSessionMiddleware, clock: Arc<ManualClock>) -> Self {
        Self::serve_with(middleware, clock, |_| {})
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// Sends `method path` with the raw `Cookie` header `cookie` (if any) and an optional form.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&[u8]>,
        form: Option<&[(&str, &str)]>,
    ) -> Reply {
        send_to(&self.client, method, self.url(path), cookie, form).await
    }

    /// `GET path` with cookie `name=value`.
    pub async fn get(&self, path: &str, cookie: Option<(&str, &str)>) -> Reply {
        let header = cookie.map(|(n, v)| format!("{n}={v}"));
        self.send("GET", path, header.as_deref().map(str::as_bytes), None)
            .await
    }

    /// `POST path` with cookie `name=value`.
    pub async fn post(&self, path: &str, cookie: Option<(&str, &str)>) -> Reply {
        let header = cookie.map(|(n, v)| format!("{n}={v}"));
        self.send("POST", path, header.as_deref().map(str::as_bytes), None)
            .await
    }

    /// Logs `user` in; returns the session cookie's value.
    pub async fn login(&self, name: &str, user: &str) -> String {
        let reply = self
            .send("POST", "/login", None, Some(&[("user", user)]))
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        reply.new_value(name).expect("login sets the cookie")
    }
}

impl TestApp {
    /// Serves `middleware`, whose clock is `clock`, with `extra` routes mounted behind it beside
    /// the login app's and the debug routes (`/unwrapped` stays outside it).
    pub fn serve_with(
        middleware: CookieSessionMiddleware,
        clock: Arc<ManualClock>,
        extra: fn(&mut web::ServiceConfig),
    ) -> Self {
        let mw = middleware.clone();
        let server = actix_test::start(move || {
            App::new().service(unwrapped).service(
                web::scope("")
                    .wrap(mw.clone())
                    .configure(sealed_session_examples::login::routes)
                    .configure(extra)
                    .service(debug_session)
                    .service(debug_logout_others),
            )
        });
        let client = reqwest::Client::builder().build().expect("reqwest client");
        Self {
            server,
            clock,
            middleware,
            client,
        }
    }
}

/// A redis-server of one test's own, on a free loopback port, that the test stops (as a crash
/// would: `SIGKILL`, no persistence, so it comes back empty) and starts again on the same port.
/// Started from `REDIS_SERVER_BIN`, which `scripts/with-redis.sh` exports.
#[derive(Debug)]
pub struct RedisServer {
    bin: std::path::PathBuf,
    dir: std::path::PathBuf,
    port: u16,
    /// Arguments added to the command line (`--replicaof ...`), at every (re)start.
    extra: Vec<String>,
    child: Option<std::process::Child>,
}

impl RedisServer {
    /// Starts one and waits (at most 10 s) until it answers `PING`.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts one with `extra` arguments on its command line (e.g. `["--replicaof",
    /// "127.0.0.1", "6380"]`: one argument per word, as redis-server quotes each), and waits (at most 10 s) until it answers `PING`.
    pub fn start_with(extra: &[&str]) -> Self {
        let bin = std::env::var_os("REDIS_SERVER_BIN").unwrap_or_else(|| {
            panic!(
                "REDIS_SERVER_BIN is not set: run the suite with `scripts/test.sh`, which \
                 installs redis-server and says where it is"
            )
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let dir = std::env::temp_dir().join(format!(
            "sealed-session-test-redis-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut server = Self {
            bin: bin.into(),
            dir,
            port,
            extra: extra.iter().map(|arg| (*arg).to_owned()).collect(),
            child: None,
        };
        server.restart();
        server
    }

    /// Its loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (only the process this helper started, by its PID) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits (at most 10 s) for `PING`.
    pub fn restart(&mut self) {
        self.stop();
        let child = std::process::Command::new(&self.bin)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "yes"])
            .args(&self.extra)
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("redis.log"))
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !self.answers_ping() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server on port {} did not answer PING within 10 s",
                self.port
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Freezes the server (SIGSTOP to the process this helper started): connections stay open
    /// and nothing answers, as in a stall.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("the server runs").id();
        let status = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// A connection for raw commands (`FLUSHDB`, `CONFIG SET`, `ACL SETUSER`).
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|client| client.get_connection())
            .expect("redis-server answers")
    }

    fn answers_ping(&self) -> bool {
        use std::io::{Read as _, Write as _};
        let timeout = std::time::Duration::from_millis(500);
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let mut reply = [0u8; 7];
        stream.set_read_timeout(Some(timeout)).is_ok()
            && stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Instantiates each listed `async fn test(store: Store)` of the calling file once per
/// revocation backend, as `memory::<test>` and `redis::<test>`: one acceptance suite for every
/// store, as actix-session's `acceptance_test_suite` does.
#[macro_export]
macro_rules! acceptance_suite {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(
                #[actix_web::test]
                async fn $test() {
                    super::$test($crate::Store::Memory).await;
                }
            )*
        }
        mod redis {
            $(
                #[actix_web::test]
                async fn $test() {
                    super::$test($crate::Store::Redis).await;
                }
            )*
        }
    };
}

/// `examples/with_actix_identity.rs`'s store on `ring`: in-memory revocation, cookies not
/// `Secure`, so named `id`, as the other apps' in the scenarios.
pub fn identity_store(ring: KeyRing) -> sealed_session_actix::SealedSessionStore {
    sealed_session_actix::SealedSessionStore::builder(ring)
        .cookie_secure(false)
        .build()
        .expect("valid configuration")
}

/// `examples/with_actix_identity.rs` over `store`, on a real HTTP server: actix-identity inside
/// actix-session's middleware (built in the server's thread: it is not `Send`).
pub fn start_identity_app(
    store: sealed_session_actix::SealedSessionStore,
) -> actix_test::TestServer {
    actix_test::start(move || {
        App::new()
            .wrap(actix_identity::IdentityMiddleware::default())
            .wrap(store.middleware())
            .configure(sealed_session_examples::with_actix_identity::routes(
                store.clone(),
            ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_source_gives_the_same_bytes_for_the_same_seed() {
        let draw = |seed: u64| {
            let source = SeededRandom::new(seed);
            let mut bytes = [[0u8; 24]; 2];
            for b in &mut bytes {
                source.fill(b).expect("never fails");
            }
            bytes
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let [first, second] = draw(7);
        assert_ne!(first, second, "it moves on");
    }
}

/// A memory store whose confirmation a test switches off: `settle` fails as a Redis store's
/// does when Redis did not acknowledge in time (the revocations hold all the same).
#[derive(Debug, Default)]
pub struct Unconfirmed {
    inner: MemoryRevocationStore,
    failing: std::sync::atomic::AtomicBool,
}

impl Unconfirmed {
    /// From now on, confirmations fail (`true`) or come at once (`false`).
    pub fn fail(&self, failing: bool) {
        self.failing
            .store(failing, std::sync::atomic::Ordering::SeqCst);
    }
}

impl RevocationStore for Unconfirmed {
    fn is_revoked(&self, id: SessionId, subject: Option<&Subject>, now: UnixTime) -> bool {
        self.inner.is_revoked(id, subject, now)
    }
    fn generation(&self, subject: &str) -> Generation {
        self.inner.generation(subject)
    }
    fn authentication_stamp(&self, subject: &str, at: Generation) -> Generation {
        self.inner.authentication_stamp(subject, at)
    }
    fn revoke(&self, r: Revocation, now: UnixTime) -> Result<Option<Revocation>, RevokeError> {
        self.inner.revoke(r, now)
    }
    fn advance(
        &self,
        subject: &str,
        cutoff: Cutoff,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError> {
        self.inner.advance(subject, cutoff, until, now)
    }
    fn settle(&self) -> Confirmation {
        Confirmation::ready(if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            Err(RevokeError::NotDurable {
                waited: std::time::Duration::from_millis(250),
                reason: NotDurableReason::RedisTimedOut,
            })
        } else {
            Ok(())
        })
    }
}
