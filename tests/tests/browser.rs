//! The login example in a real browser (issue 5, item 6): headless Chromium, driven through
//! chromedriver over WebDriver, logs in through the HTML form, cannot read the `HttpOnly` session
//! cookie from script, counts, logs out, and is left with no session; a copy of the cookie taken
//! before the logout is refused as revoked.
//!
//! The app runs with the example's default settings, so the cookie is `Secure` and named
//! `__Host-id` although the server is plain HTTP: Chromium treats `http://127.0.0.1` as a secure
//! context, keeps the cookie and sends it back (issue 10, point 6). The counter and `/whoami`
//! prove it comes back; WebDriver's cookie list shows it is `Secure`.
//!
//! Needs Debian's `chromium` and `chromium-driver`, which `scripts/test.sh` installs. Without them
//! this test fails instead of skipping: a skipped browser test proves nothing.
//!
//! Every wait is bounded: the whole test gives up after [`BUDGET`] and cleans up in a few seconds
//! more, so a hung browser costs about a minute at worst.
//!
//! Set `SEALED_SESSION_SCREENSHOT=/some/file.png` to save a PNG of the page after login.
//!
//! The same steps run against `examples/login.rs` (actix-web) and `examples/axum_login.rs`
//! (axum, `sealed-session-tower`; issue 11, item 3), one browser at a time.
//!
//! And a session over several cookies (issue 21, point 4), with `COOKIE_CHUNKS=3`: in the real
//! browser, `POST /big?bytes=6000` leaves `__Host-id`, `__Host-id-1` and `__Host-id-2` in the
//! cookie store (each `HttpOnly` and `Secure`), the browser sends all three back and the server
//! reads the whole value; `bytes=20000` is a `413` that changes nothing; `bytes=10` leaves only
//! `__Host-id` in the store; a logout leaves none. A route of the test's own, `/test/received`,
//! echoes the names of the cookies the browser sent, since script can't read `HttpOnly` ones.

use std::future::Future;
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use actix_web::http::header::COOKIE as COOKIE_HEADER;
use actix_web::middleware::from_fn;
use actix_web::rt::time::{sleep, timeout};
use actix_web::{App, HttpRequest, HttpServer, web};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use sealed_session::{KeyRing, SecretKey, Session, SessionGetError};
use sealed_session_actix::CookieSessionMiddleware;
use sealed_session_examples::{login, request_log, settings};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The middleware's default name for a `Secure` cookie.
const COOKIE: &str = "__Host-id";
/// The session's cookies over three cookies, as a browser sorts their names.
const CHUNKS: [&str; 3] = ["__Host-id", "__Host-id-1", "__Host-id-2"];
const USER: &str = "alice";
/// `POST /big`'s bytes that take all three cookies (with `alice` signed in, just within the
/// library's default `Cookie` header budget), and bytes past it.
const THREE_COOKIES: usize = 6_000;
const TOO_LARGE: usize = 20_000;

/// The whole browser session, from starting chromedriver to logging out.
const BUDGET: Duration = Duration::from_secs(55);
/// chromedriver answering `/status`.
const DRIVER_READY: Duration = Duration::from_secs(10);
/// A new WebDriver session: Chromium starting with a fresh profile. That takes 1 to 3 s on an
/// idle 2-core machine, and up to 25 s seen while it was busy compiling.
const SESSION_START: Duration = Duration::from_secs(40);
/// One WebDriver command.
const COMMAND: Duration = Duration::from_secs(10);
/// The page showing what a click did.
const PAGE_UPDATE: Duration = Duration::from_secs(5);
/// Closing the session and stopping the app, on the way out.
const CLEANUP: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(50);

#[actix_web::test]
async fn login_counter_logout_in_headless_chromium() {
    run_in_chromium(
        LoginApp::start_actix(default_chunks()),
        Steps::LoginCounterLogout,
    )
    .await;
}

#[actix_web::test]
async fn login_counter_logout_in_headless_chromium_on_axum() {
    run_in_chromium(
        LoginApp::start_axum(default_chunks()),
        Steps::LoginCounterLogout,
    )
    .await;
}

#[actix_web::test]
async fn a_session_over_three_cookies_in_headless_chromium() {
    run_in_chromium(LoginApp::start_actix(three_chunks()), Steps::ThreeCookies).await;
}

#[actix_web::test]
async fn a_session_over_three_cookies_in_headless_chromium_on_axum() {
    run_in_chromium(LoginApp::start_axum(three_chunks()), Steps::ThreeCookies).await;
}

/// What a browser session does once started.
#[derive(Debug, Clone, Copy)]
enum Steps {
    /// [`drive`]: log in, count, log out, replay the old cookie.
    LoginCounterLogout,
    /// [`drive_three_cookies`]: a session over three cookies, grown, shrunk and logged out.
    ThreeCookies,
}

/// One Chromium at a time: two at once on a 2-core machine blow [`SESSION_START`].
static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

// The lock is held across the awaits on purpose: each test has its own single-threaded
// runtime, and the other test waits here, before starting its browser.
#[allow(clippy::await_holding_lock)]
async fn run_in_chromium(app: LoginApp, steps: Steps) {
    let _one = ONE_BROWSER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for binary in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(binary).exists(),
            "`{binary}` is missing: run `scripts/test.sh`, which installs Debian's chromium and \
             chromium-driver (scripts/ensure-chromium.sh); this test fails rather than skips"
        );
    }
    let started = Instant::now();
    // Declared before the driver, so dropped after it: Chromium is gone before its profile is.
    let profile = Profile::create();
    let outcome = timeout(BUDGET, async {
        let driver = ChromeDriver::start().await;
        let client = match timeout(SESSION_START, connect(&driver, &profile)).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!("start a Chromium session: {e:?}"),
            Err(_) => panic!("start a Chromium session: no answer within {SESSION_START:?}"),
        };
        let session_started = started.elapsed();
        match steps {
            Steps::LoginCounterLogout => drive(&client, &app.url).await,
            Steps::ThreeCookies => drive_three_cookies(&client, &app.url).await,
        }
        eprintln!(
            "browser test: Chromium session after {session_started:.1?}, steps done after {:.1?}",
            started.elapsed()
        );
        // On this path the browser quits cleanly; on a panic `ChromeDriver`'s drop ends it.
        let _ = timeout(CLEANUP, client.close()).await;
        driver
    })
    .await;
    app.stop().await;
    let driver = outcome.unwrap_or_else(|_| panic!("the browser test took over {BUDGET:?}"));
    drop(driver);
    drop(profile);
    eprintln!("browser test: cleaned up after {:.1?}", started.elapsed());
}

/// Opens the page and logs in as [`USER`] through its form.
async fn log_in(client: &Client, base: &str) {
    step("open the page", client.goto(&format!("{base}/"))).await;
    wait_for_text(client, "user", "nobody").await;

    let input = step("find #user-input", client.find(Locator::Id("user-input"))).await;
    step("type the user", input.send_keys(USER)).await;
    click(client, "login-button").await;
    wait_for_text(client, "user", USER).await;
}

/// The steps a user takes, each checked on the page, in `document.cookie` and in the browser's
/// cookie store (which WebDriver shows, `HttpOnly` cookies included).
async fn drive(client: &Client, base: &str) {
    log_in(client, base).await;
    if let Some(path) = std::env::var_os("SEALED_SESSION_SCREENSHOT") {
        let png = step("take a screenshot", client.screenshot()).await;
        std::fs::write(&path, png).expect("write the screenshot");
    }

    let script_sees = step(
        "read document.cookie",
        client.execute("return document.cookie;", vec![]),
    )
    .await;
    let script_sees = script_sees.as_str().expect("document.cookie is a string");
    assert!(
        !script_sees
            .split(';')
            .any(|c| c.trim_start().starts_with(&format!("{COOKIE}="))),
        "script can read the session cookie: document.cookie = {script_sees:?}"
    );
    let cookies = step("list cookies", client.get_all_cookies()).await;
    let session = cookies
        .iter()
        .find(|c| c.name() == COOKIE)
        .unwrap_or_else(|| panic!("no `{COOKIE}` cookie after login: {cookies:?}"));
    assert_eq!(session.http_only(), Some(true), "{session:?}");
    assert_eq!(session.secure(), Some(true), "{session:?}");
    assert!(!session.value().is_empty());
    // Taken before the logout, replayed after it.
    let copy = session.value().to_owned();

    // One click at a time: two requests in flight carry the same cookie, and the later answer
    // would overwrite the earlier one (a cookie session has no server copy to merge into).
    click(client, "counter-button").await;
    wait_for_text(client, "counter", "1").await;
    click(client, "counter-button").await;
    wait_for_text(client, "counter", "2").await;
    // The `Secure` cookie came back over plain HTTP: the server knows the user and the count.
    let whoami = fetch_whoami(client).await;
    assert_eq!(whoami, json!({ "user": USER, "counter": 2 }));

    click(client, "logout-button").await;
    wait_for_text(client, "user", "nobody").await;
    let deadline = Instant::now() + PAGE_UPDATE;
    loop {
        let cookies = step("list cookies", client.get_all_cookies()).await;
        if cookies.iter().all(|c| c.name() != COOKIE) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "`{COOKIE}` still held {PAGE_UPDATE:?} after logout: {cookies:?}"
        );
        sleep(POLL).await;
    }

    step("reload the page", client.refresh()).await;
    // `nobody` is also the page's text before its script has asked the server, so ask the
    // server directly, from the page and with the browser's cookies.
    let whoami = fetch_whoami(client).await;
    assert_eq!(whoami, json!({ "user": null, "counter": 0 }));
    wait_for_text(client, "user", "nobody").await;
    wait_for_text(client, "counter", "0").await;

    // What the page's list says to try: the copy, replayed as curl would send it, is refused.
    let replayed: Value = step("replay the copied cookie", async {
        reqwest::Client::new()
            .get(format!("{base}/whoami"))
            .header(reqwest::header::COOKIE, format!("{COOKIE}={copy}"))
            .send()
            .await?
            .json()
            .await
    })
    .await;
    assert_eq!(
        replayed,
        json!({ "user": null, "counter": 0, "refused": "revoked" })
    );
}

/// A session over three cookies in the browser's store and on the wire: grown past one
/// cookie, refused past the budget, shrunk back to one, logged out.
async fn drive_three_cookies(client: &Client, base: &str) {
    log_in(client, base).await;
    assert_eq!(session_cookies(client).await, [COOKIE]);

    let big = fetch(client, "POST", &format!("/big?bytes={THREE_COOKIES}")).await;
    assert_eq!(
        big,
        json!({ "status": 200, "body": { "stored": THREE_COOKIES } })
    );
    wait_for_session_cookies(client, &CHUNKS).await;
    for cookie in step("list cookies", client.get_all_cookies()).await {
        if cookie.name().starts_with(COOKIE) {
            assert_eq!(cookie.http_only(), Some(true), "{}", cookie.name());
            assert_eq!(cookie.secure(), Some(true), "{}", cookie.name());
        }
    }
    // The browser sends all three back, and the server reads the whole value from them.
    assert_eq!(
        fetch(client, "GET", "/test/received").await["body"],
        json!({ "cookies": CHUNKS, "big": THREE_COOKIES })
    );
    assert_eq!(
        fetch_whoami(client).await,
        json!({ "user": USER, "counter": 0 })
    );

    // Past the budget: a `413`, and the three cookies stay as they were.
    let refused = fetch(client, "POST", &format!("/big?bytes={TOO_LARGE}")).await;
    assert_eq!(refused["status"], 413, "{refused}");
    assert_eq!(
        fetch(client, "GET", "/test/received").await["body"],
        json!({ "cookies": CHUNKS, "big": THREE_COOKIES })
    );

    // Back to one cookie: the response removes the other two from the browser's store.
    let small = fetch(client, "POST", "/big?bytes=10").await;
    assert_eq!(small, json!({ "status": 200, "body": { "stored": 10 } }));
    wait_for_session_cookies(client, &[COOKIE]).await;
    assert_eq!(
        fetch(client, "GET", "/test/received").await["body"],
        json!({ "cookies": [COOKIE], "big": 10 })
    );
    assert_eq!(
        fetch_whoami(client).await,
        json!({ "user": USER, "counter": 0 })
    );

    // A logout of a session over three cookies leaves none.
    let big = fetch(client, "POST", &format!("/big?bytes={THREE_COOKIES}")).await;
    assert_eq!(big["status"], 200, "{big}");
    wait_for_session_cookies(client, &CHUNKS).await;
    click(client, "logout-button").await;
    wait_for_text(client, "user", "nobody").await;
    wait_for_session_cookies(client, &[]).await;
    assert_eq!(
        fetch(client, "GET", "/test/received").await["body"],
        json!({ "cookies": [], "big": null })
    );
}

/// The names of the session's cookies in the browser's store (`HttpOnly` ones included), sorted.
async fn session_cookies(client: &Client) -> Vec<String> {
    let mut names: Vec<String> = step("list cookies", client.get_all_cookies())
        .await
        .iter()
        .map(|cookie| cookie.name().to_owned())
        .filter(|name| name.starts_with(COOKIE))
        .collect();
    names.sort();
    names
}

/// Polls until the browser's store holds exactly the session cookies `expected`, for at most
/// [`PAGE_UPDATE`].
async fn wait_for_session_cookies(client: &Client, expected: &[&str]) {
    let deadline = Instant::now() + PAGE_UPDATE;
    loop {
        let names = session_cookies(client).await;
        if names == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the browser holds {names:?}, not {expected:?}, after {PAGE_UPDATE:?}"
        );
        sleep(POLL).await;
    }
}

/// `method path` from the page, with the browser's cookies: `{"status": n, "body": json}`.
async fn fetch(client: &Client, method: &str, path: &str) -> Value {
    step(
        &format!("fetch {method} {path}"),
        client.execute_async(
            "const [method, path, done] = arguments;
             fetch(path, { method })
               .then(async (r) => done({ status: r.status, body: await r.json() }))
               .catch((e) => done(String(e)));",
            vec![json!(method), json!(path)],
        ),
    )
    .await
}

/// `GET /whoami` from the page, with the browser's cookies.
async fn fetch_whoami(client: &Client) -> Value {
    step(
        "fetch /whoami",
        client.execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/whoami').then((r) => r.json()).then(done, (e) => done(String(e)));",
            vec![],
        ),
    )
    .await
}

/// Awaits one WebDriver command, bounded by [`COMMAND`]; panics naming `what` otherwise.
async fn step<T, E: std::fmt::Debug>(what: &str, command: impl Future<Output = Result<T, E>>) -> T {
    match timeout(COMMAND, command).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("{what}: {e:?}"),
        Err(_) => panic!("{what}: no answer within {COMMAND:?}"),
    }
}

async fn click(client: &Client, id: &str) {
    let button = step(&format!("find #{id}"), client.find(Locator::Id(id))).await;
    step(&format!("click #{id}"), button.click()).await;
}

/// Polls until the element `#id` shows `expected`, for at most [`PAGE_UPDATE`].
async fn wait_for_text(client: &Client, id: &str, expected: &str) {
    let deadline = Instant::now() + PAGE_UPDATE;
    loop {
        let element = step(&format!("find #{id}"), client.find(Locator::Id(id))).await;
        let text = step(&format!("read #{id}"), element.text()).await;
        if text == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "#{id} shows {text:?}, not {expected:?}, after {PAGE_UPDATE:?}"
        );
        sleep(POLL).await;
    }
}

/// The login example as `examples/login.rs` serves it with no environment set but
/// `COOKIE_CHUNKS`, on a real server on a free loopback port, plus `GET /test/received`.
struct LoginApp {
    url: String,
    server: Server,
}

enum Server {
    Actix(ServerHandle),
    Axum(sealed_session_tests::AxumServer),
}

impl LoginApp {
    /// `examples/login.rs` with the example's defaults, over up to `chunks` cookies.
    fn start_actix(chunks: usize) -> Self {
        let sessions = CookieSessionMiddleware::builder(KeyRing::new(SecretKey::generate()))
            .cookie_secure(default_secure())
            .max_cookies(chunks)
            .build()
            .expect("valid configuration");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("bound address").port();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(sessions.clone())
                .wrap(from_fn(request_log::log))
                .configure(login::routes)
                .route("/test/received", web::get().to(received_on_actix))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .expect("serve on the bound socket")
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}"),
            server: Server::Actix(handle),
        }
    }

    /// `examples/axum_login.rs` with the example's defaults, over up to `chunks` cookies.
    fn start_axum(chunks: usize) -> Self {
        let sessions =
            sealed_session_tower::CookieSessionLayer::builder(KeyRing::new(SecretKey::generate()))
                .cookie_secure(default_secure())
                .max_cookies(chunks)
                .build()
                .expect("valid configuration");
        // `axum_login::app`, with the test's route behind the layer too.
        let app = sealed_session_examples::contract_axum::routes::<Session>()
            .route("/test/received", axum::routing::get(received_on_axum))
            .layer(sessions)
            .layer(axum::middleware::from_fn(request_log::axum));
        let server = sealed_session_tests::AxumServer::start(app);
        Self {
            url: server.url(""),
            server: Server::Axum(server),
        }
    }

    async fn stop(self) {
        match self.server {
            Server::Actix(handle) => {
                let _ = timeout(CLEANUP, handle.stop(true)).await;
            }
            Server::Axum(server) => drop(server),
        }
    }
}

/// The examples' default, read where the examples read it: `COOKIE_SECURE` unset.
fn default_secure() -> bool {
    settings::cookie_secure_from(None).expect("the default is valid")
}

/// The examples' default, read where the examples read it: `COOKIE_CHUNKS` unset (one cookie).
fn default_chunks() -> usize {
    settings::cookie_chunks_from(None).expect("the default is valid")
}

/// `COOKIE_CHUNKS=3`, read where the examples read it.
fn three_chunks() -> usize {
    settings::cookie_chunks_from(Some("3".as_ref())).expect("3 is valid")
}

/// `GET /test/received` on actix-web.
async fn received_on_actix(
    req: HttpRequest,
    session: Session,
) -> Result<web::Json<Value>, SessionGetError> {
    let headers = req.headers().get_all(COOKIE_HEADER).map(|v| v.as_bytes());
    received(headers, &session).map(web::Json)
}

/// `GET /test/received` on axum.
async fn received_on_axum(
    headers: axum::http::HeaderMap,
    session: Session,
) -> Result<axum::Json<Value>, SessionGetError> {
    let headers = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .map(|v| v.as_bytes());
    received(headers, &session).map(axum::Json)
}

/// `{"cookies": [...], "big": n}`: the names of the cookies the request carried, sorted (what
/// the browser sent: script can't see `HttpOnly` cookies), and how many bytes `POST /big`
/// stored in the session they make (`null` if none).
fn received<'h>(
    headers: impl Iterator<Item = &'h [u8]>,
    session: &Session,
) -> Result<Value, SessionGetError> {
    let mut names: Vec<String> = headers
        .flat_map(|header| header.split(|&b| b == b';'))
        .filter_map(|pair| {
            let pair = String::from_utf8_lossy(pair);
            pair.split_once('=').map(|(name, _)| name.trim().to_owned())
        })
        .collect();
    names.sort();
    let big = session.get::<serde_bytes::ByteBuf>("big")?;
    Ok(json!({ "cookies": names, "big": big.map(|bytes| bytes.len()) }))
}

/// A fresh Chromium profile directory, removed on drop.
struct Profile(PathBuf);

impl Profile {
    fn create() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "sealed-session-chromium-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir(&dir).expect("create the profile directory");
        Self(dir)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A chromedriver child process leading its own process group, on a free loopback port.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    /// Starts chromedriver and waits until it answers; tries another port if the one picked was
    /// taken between probing and binding.
    async fn start() -> Self {
        let mut last_exit = None;
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("probe a free port")
                .port();
            // chromedriver listens on loopback only unless given `--allowed-ips`.
            let child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("start `{CHROMEDRIVER}`: {e}"));
            let mut driver = Self {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            match driver.wait_ready().await {
                Ok(()) => return driver,
                Err(status) => last_exit = Some(status),
            }
        }
        panic!("chromedriver exited before answering, three times (last: {last_exit:?})");
    }

    /// Polls `/status` until it says ready; `Err` if chromedriver exited first.
    async fn wait_ready(&mut self) -> Result<(), std::process::ExitStatus> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()
            .expect("reqwest client");
        let deadline = Instant::now() + DRIVER_READY;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll chromedriver") {
                return Err(status);
            }
            if let Ok(res) = http.get(format!("{}/status", self.url)).send().await {
                let status: Value = res.json().await.unwrap_or_default();
                if status["value"]["ready"] == true {
                    return Ok(());
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer within {DRIVER_READY:?}"
            );
            sleep(POLL).await;
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // Neither SIGTERM nor SIGKILL to chromedriver quits the Chromium it started, but
        // Chromium's processes stay in chromedriver's process group: kill the whole group.
        // (Its crash handlers leave the group; they exit when the browser does.)
        let _ = Command::new("sh")
            .args(["-c", "kill -9 -\"$1\"", "sh", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver session on headless Chromium with a fresh profile in `profile`.
async fn connect(
    driver: &ChromeDriver,
    profile: &Profile,
) -> Result<Client, fantoccini::error::NewSessionError> {
    let args = [
        "--headless",
        // Chromium refuses to start as root without it.
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        // Debian's launcher means to add this when /dev/shm is small, but its check can fail.
        "--disable-dev-shm-usage",
        &format!("--user-data-dir={}", profile.0.display()),
    ];
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({ "binary": CHROMIUM, "args": args }),
    );
    // Chromium's own limits, below ours, so a hung page fails with its reason.
    capabilities.insert(
        "timeouts".to_owned(),
        json!({ "pageLoad": 10_000, "script": 5_000, "implicit": 0 }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
}
