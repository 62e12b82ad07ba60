//! Server for the HTTP benchmarks: the same routes behind no session middleware, behind
//! sealed-session (with its in-memory or its Redis revocation store), and behind actix-session
//! (its `CookieSessionStore`, or its server-side `RedisSessionStore`).
//!
//! Run with: `cargo run --release -p sealed-session-http-bench -- <kind> <port>`, where `<kind>`
//! is one of
//!
//! | kind | session |
//! |---|---|
//! | `none` | no session middleware: the floor |
//! | `ours` | `CookieSessionMiddleware`, revocations in this process's memory |
//! | `ours-subject` | as `ours`, but `/seed` signs in `user-42` first, and the store holds a generation for it and for 10,000 other subjects, so every request's revocation check looks the subject up |
//! | `ours-redis` | `CookieSessionMiddleware`, revocations shared through `sealed-session-redis` |
//! | `ours-1-cookie`, `ours-2-cookies`, `ours-3-cookies` | as `ours`, with `.max_cookies(3)` (issue 21), and `/seed` adds filler text (`padding`) so that the session spans exactly 1, 2 or 3 cookies: the middle of the lengths that do, found at startup by sealing the session (see `padding_for`) and logged with the range |
//! | `actix-session` | actix-session's `SessionMiddleware` over `CookieSessionStore` |
//! | `ours-actix-session` | actix-session's `SessionMiddleware` over our `SealedSessionStore` (`store.middleware()`), configured as `ours`: the cost of the compatibility layer, against `actix-session` and `ours` |
//! | `server-store` | actix-session's `SessionMiddleware` over `RedisSessionStore` |
//!
//! `benches/http/run.sh` compares the cookie stores, `benches/http/compare.sh` the cookie model
//! against the server-side one (see `docs/comparison.md`).
//!
//! Environment:
//! - `SESSION_KEYS` (every `ours*` kind): the key ring, as `KeyRing::from_config` reads it.
//!   Unset, a throwaway key is generated, so a restart logs everyone out.
//! - `SERVER_STORE_KEY` (`actix-session`, `server-store`): base64 of the 64-byte key actix-session
//!   signs and encrypts its cookie with. Unset, a throwaway key is generated. (`ours-actix-session`
//!   signs with the store's own public key: what it signs is sealed by `SESSION_KEYS`.)
//! - `REDIS_URL` (`ours-redis`, `server-store`): the Redis to use, e.g. `redis://127.0.0.1:6379/`.
//! - `SIGN_IN` (`ours`, `ours-redis`): a subject that `/seed` signs in first, as a login does,
//!   so that `/logout` revokes the session (`compare.sh` sets it). Unset, the session stays
//!   anonymous, and a logout gives it a fresh id without listing the old one.
//! - `WORKERS`: actix workers, default 1.
//!
//! Routes: `POST /seed` stores the typical session (user id, role, a 3-item cart; for
//! `ours-subject`, signed in as `user-42` first; for `ours-<n>-cookie(s)`, with its filler);
//! `GET /read`
//! reads the user id (`user` or `anonymous`); `POST /write` increments a counter; `POST /logout`
//! purges the session; `POST /big?bytes=N` adds N bytes of text to the session, or answers `413`
//! with `{"size":..,"limit":..}` when the session model refuses it at insert. Loopback only.

use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine as _;
use sealed_session::SessionBuilder;
use sealed_session_http_bench::{
    CHUNKED_MAX_COOKIES, PADDING_KEY, USER_ID, cart, chunked_kind, filler,
};
use serde::Deserialize;

/// The subject `ours-subject` signs the seeded session in as.
const SUBJECT: &str = "user-42";

/// Subjects other than [`SUBJECT`] that `ours-subject` gives a generation at startup, so the
/// subject lookup of its revocation check runs over a populated store.
const OTHER_SUBJECTS: usize = 10_000;

/// Largest `bytes` that `POST /big` accepts; past it the request itself is refused with `400`.
const MAX_BIG: usize = 1 << 20;

/// The Redis key prefix of `server-store` sessions (actix-session's default is no prefix).
const SERVER_STORE_PREFIX: &str = "sealed-session-bench:session:";

/// The Redis key prefix of `ours-redis` revocations.
const REVOCATION_PREFIX: &str = "sealed-session-bench:";

/// How long start-up waits for Redis before giving up.
const REDIS_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
struct BigQuery {
    bytes: usize,
}

/// Tells a size refusal at insert apart from other insert errors.
trait TooLarge {
    /// `(size, limit)` if the insert was refused for size.
    fn too_large(&self) -> Option<(usize, usize)>;
}

impl TooLarge for sealed_session_actix::SessionInsertError {
    fn too_large(&self) -> Option<(usize, usize)> {
        match self {
            Self::TooLarge { size, limit } => Some((*size, *limit)),
            _ => None,
        }
    }
}

/// actix-session never refuses at insert: its cookie store fails later, when the response is
/// written, and its Redis store takes any size.
impl TooLarge for actix_session::SessionInsertError {
    fn too_large(&self) -> Option<(usize, usize)> {
        None
    }
}

/// `/logout`'s answer, on each session type: ours once the revocation is confirmed, or the
/// error's status (`503` while Redis can't confirm it: compare.sh's outage shows it);
/// actix-session's only marks the session purged, so always `200`.
trait LogOut {
    async fn log_out(&self) -> HttpResponse;
}

impl LogOut for sealed_session_actix::Session {
    async fn log_out(&self) -> HttpResponse {
        match self.purge().await {
            Ok(()) => HttpResponse::Ok().body("logged out"),
            Err(err) => actix_web::ResponseError::error_response(&err),
        }
    }
}

impl LogOut for actix_session::Session {
    async fn log_out(&self) -> HttpResponse {
        self.purge();
        HttpResponse::Ok().body("logged out")
    }
}

/// The routes, written once per session type (the two `Session` types share method names).
/// With `sign_in = subject` (an `Option`), `/seed` signs the session in as the subject, if any,
/// before storing the values; with `padding = bytes` (an `Option`), it stores that many bytes
/// of [`filler`] after them, if any.
macro_rules! routes {
    ($session:ty $(, sign_in = $subject:expr)? $(, padding = $padding:expr)?) => {{
        async fn seed(session: $session) -> actix_web::Result<HttpResponse> {
            $(if let Some(subject) = $subject {
                session.sign_in(subject).await?;
            })?
            session.insert("user_id", USER_ID)?;
            session.insert("role", "admin")?;
            session.insert("cart", cart())?;
            $(if let Some(bytes) = $padding {
                session.insert(PADDING_KEY, filler(bytes))?;
            })?
            Ok(HttpResponse::Ok().body("seeded"))
        }
        async fn read(session: $session) -> actix_web::Result<HttpResponse> {
            let user: Option<u64> = session.get("user_id")?;
            Ok(HttpResponse::Ok().body(if user.is_some() { "user" } else { "anonymous" }))
        }
        async fn write(session: $session) -> actix_web::Result<HttpResponse> {
            let n: u64 = session.get("counter")?.unwrap_or(0);
            session.insert("counter", n + 1)?;
            Ok(HttpResponse::Ok().body("ok"))
        }
        async fn logout(session: $session) -> HttpResponse {
            session.log_out().await
        }
        async fn big(
            session: $session,
            query: web::Query<BigQuery>,
        ) -> actix_web::Result<HttpResponse> {
            if query.bytes > MAX_BIG {
                return Ok(HttpResponse::BadRequest().body("bytes is too large"));
            }
            match session.insert("big", filler(query.bytes)) {
                Ok(()) => Ok(HttpResponse::Ok().body("stored")),
                Err(err) => match err.too_large() {
                    Some((size, limit)) => Ok(HttpResponse::PayloadTooLarge()
                        .content_type("application/json")
                        .body(format!(r#"{{"size":{size},"limit":{limit}}}"#))),
                    None => Err(err.into()),
                },
            }
        }
        |cfg: &mut web::ServiceConfig| {
            cfg.route("/seed", web::post().to(seed))
                .route("/read", web::get().to(read))
                .route("/write", web::post().to(write))
                .route("/logout", web::post().to(logout))
                .route("/big", web::post().to(big));
        }
    }};
}

fn bare(cfg: &mut web::ServiceConfig) {
    async fn seed() -> HttpResponse {
        HttpResponse::Ok().body("seeded")
    }
    async fn read() -> HttpResponse {
        HttpResponse::Ok().body("anonymous")
    }
    async fn write() -> HttpResponse {
        HttpResponse::Ok().body("ok")
    }
    cfg.route("/seed", web::post().to(seed))
        .route("/read", web::get().to(read))
        .route("/write", web::post().to(write));
}

/// `SIGN_IN` (`ours`, `ours-redis`): the subject `/seed` signs in, as a login does, so that
/// `/logout` revokes the session; unset, the seeded session is anonymous, which a logout
/// replaces with a fresh id without listing it (`docs/security.md`).
fn sign_in_subject() -> Option<&'static str> {
    static SUBJECT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    SUBJECT
        .get_or_init(|| std::env::var("SIGN_IN").ok().filter(|s| !s.is_empty()))
        .as_deref()
}

/// The filler bytes `/seed` stores for the `ours-<n>-cookie(s)` kinds, set once at startup.
static PADDING: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

fn seed_padding() -> Option<usize> {
    PADDING.get().copied()
}

/// `SESSION_KEYS` if set, else a throwaway key.
fn key_ring() -> io::Result<sealed_session::KeyRing> {
    if std::env::var_os("SESSION_KEYS").is_some() {
        sealed_session::KeyRing::from_env("SESSION_KEYS").map_err(io::Error::other)
    } else {
        Ok(sealed_session::KeyRing::new(
            sealed_session::SecretKey::generate(),
        ))
    }
}

/// `SERVER_STORE_KEY` (base64 of 64 bytes) if set, else a throwaway key.
fn actix_key() -> io::Result<actix_web::cookie::Key> {
    match std::env::var("SERVER_STORE_KEY") {
        Ok(text) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|err| {
                    io::Error::other(format!("`SERVER_STORE_KEY` is not base64: {err}"))
                })?;
            actix_web::cookie::Key::try_from(bytes.as_slice()).map_err(|_| {
                io::Error::other(format!(
                    "`SERVER_STORE_KEY` holds {} bytes, actix-session needs 64: use \
                     `openssl rand -base64 64 | tr -d '\\n'`",
                    bytes.len()
                ))
            })
        }
        Err(_) => Ok(actix_web::cookie::Key::generate()),
    }
}

fn redis_url() -> io::Result<String> {
    std::env::var("REDIS_URL").map_err(|_| {
        io::Error::other(
            "`REDIS_URL` is not set: point it at a Redis, or run through `scripts/with-redis.sh`",
        )
    })
}

/// How every `ours*` kind configures its sessions, the middleware and `padding_for`'s probe
/// alike: a plain-HTTP cookie, persistent, over up to `max_cookies` cookies.
fn configure<T>(builder: SessionBuilder<T>, max_cookies: usize) -> SessionBuilder<T> {
    // Persistent, as when docs/comparison.md and docs/benchmarks.md were measured (the default
    // then): the `Set-Cookie` sizes and compare.sh's Max-Age line stay comparable.
    builder
        .cookie_secure(false)
        .session_lifecycle(sealed_session_actix::PersistentSession::default())
        .max_cookies(max_cookies)
}

/// Our middleware over `store` (the in-memory store when `None`), with a plain-HTTP cookie.
fn ours(
    store: Option<Arc<dyn sealed_session::revocation::RevocationStore>>,
) -> io::Result<sealed_session_actix::CookieSessionMiddleware> {
    let mut builder = configure(
        sealed_session_actix::CookieSessionMiddleware::builder(key_ring()?),
        1,
    );
    if let Some(store) = store {
        builder = builder.revocation_store(store);
    }
    builder.build().map_err(io::Error::other)
}

/// The `ours-<n>-cookie(s)` middleware, over up to [`CHUNKED_MAX_COOKIES`] cookies, and the
/// filler that makes `/seed`'s session span exactly `cookies` of them.
fn ours_chunked(
    cookies: usize,
) -> io::Result<(sealed_session_actix::CookieSessionMiddleware, usize)> {
    let ring = key_ring()?;
    let probe = configure(
        sealed_session::SessionManager::builder(ring.clone()),
        CHUNKED_MAX_COOKIES,
    )
    .build()
    .map_err(io::Error::other)?;
    let padding = sealed_session_http_bench::padding_reported(&probe, cookies)?;
    let mw = configure(
        sealed_session_actix::CookieSessionMiddleware::builder(ring),
        CHUNKED_MAX_COOKIES,
    )
    .build()
    .map_err(io::Error::other)?;
    Ok((mw, padding))
}

/// The in-memory store of `ours-subject`: [`OTHER_SUBJECTS`] subjects and [`SUBJECT`] each
/// advanced once ("log out everywhere"), their entries kept for a day. [`SUBJECT`]'s sessions
/// signed in afterwards carry its new, non-zero generation and stay valid.
fn subject_store() -> io::Result<sealed_session::revocation::MemoryRevocationStore> {
    use sealed_session::revocation::RevocationStore as _;
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(io::Error::other)?
        .as_secs();
    let now = sealed_session::codec::UnixTime::from_secs(secs);
    let until = now.saturating_add_secs(86_400);
    let store = sealed_session::revocation::MemoryRevocationStore::new();
    let everything = sealed_session::revocation::Cutoff::Everything {
        above: sealed_session::revocation::Generation::ZERO,
    };
    for i in 0..OTHER_SUBJECTS {
        store
            .advance(&format!("other-{i}"), everything, until, now)
            .map_err(io::Error::other)?;
    }
    store
        .advance(SUBJECT, everything, until, now)
        .map_err(io::Error::other)?;
    let generation = store.generation(SUBJECT);
    if generation == sealed_session::revocation::Generation::ZERO
        || store.subjects() != OTHER_SUBJECTS + 1
    {
        return Err(io::Error::other(
            "the subject store was not filled as expected",
        ));
    }
    Ok(store)
}

#[actix_web::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(kind), Some(port)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: bench-server <none|ours|ours-subject|ours-redis|ours-1-cookie|ours-2-cookies|\
             ours-3-cookies|ours-actix-session|actix-session|server-store> <port>"
        );
        std::process::exit(2);
    };
    let port: u16 = port.parse().map_err(io::Error::other)?;
    let workers: usize = match std::env::var("WORKERS") {
        Ok(n) => n.parse().map_err(io::Error::other)?,
        Err(_) => 1,
    };
    let addr = ("127.0.0.1", port);
    if let Some(cookies) = chunked_kind(&kind) {
        let (mw, padding) = ours_chunked(cookies)?;
        PADDING.get_or_init(|| padding);
        let routes = routes!(
            sealed_session_actix::Session,
            sign_in = None::<&str>,
            padding = seed_padding()
        );
        return HttpServer::new(move || App::new().wrap(mw.clone()).configure(routes))
            .workers(workers)
            .bind(addr)?
            .run()
            .await;
    }
    match kind.as_str() {
        "none" => {
            HttpServer::new(|| App::new().configure(bare))
                .workers(workers)
                .bind(addr)?
                .run()
                .await
        }
        "ours" | "ours-redis" => {
            let store = if kind == "ours-redis" {
                let store = sealed_session_redis::RedisRevocationStore::builder(redis_url()?)
                    .prefix(REVOCATION_PREFIX)
                    .build()
                    .map_err(io::Error::other)?;
                // Serve only once the other instances' revocations are loaded.
                if !store.wait_until_connected(REDIS_TIMEOUT) {
                    return Err(io::Error::other("Redis not reachable within 5 s"));
                }
                Some(Arc::new(store) as Arc<dyn sealed_session::revocation::RevocationStore>)
            } else {
                None
            };
            let mw = ours(store)?;
            sign_in_subject();
            let routes = routes!(sealed_session_actix::Session, sign_in = sign_in_subject());
            HttpServer::new(move || App::new().wrap(mw.clone()).configure(routes))
                .workers(workers)
                .bind(addr)?
                .run()
                .await
        }
        "ours-subject" => {
            let store =
                Arc::new(subject_store()?) as Arc<dyn sealed_session::revocation::RevocationStore>;
            let mw = ours(Some(store))?;
            let routes = routes!(sealed_session_actix::Session, sign_in = Some(SUBJECT));
            HttpServer::new(move || App::new().wrap(mw.clone()).configure(routes))
                .workers(workers)
                .bind(addr)?
                .run()
                .await
        }
        "ours-actix-session" => {
            let store = configure(
                sealed_session_actix::SealedSessionStore::builder(key_ring()?),
                1,
            )
            .build()
            .map_err(io::Error::other)?;
            let routes = routes!(actix_session::Session);
            // As `actix-session`: the middleware is built per worker, from a clone of the store.
            HttpServer::new(move || App::new().wrap(store.middleware()).configure(routes))
                .workers(workers)
                .bind(addr)?
                .run()
                .await
        }
        "actix-session" => {
            let key = actix_key()?;
            let routes = routes!(actix_session::Session);
            HttpServer::new(move || {
                App::new()
                    .wrap(
                        actix_session::SessionMiddleware::builder(
                            actix_session::storage::CookieSessionStore::default(),
                            key.clone(),
                        )
                        .cookie_name("id".to_owned())
                        .cookie_secure(false)
                        .build(),
                    )
                    .configure(routes)
            })
            .workers(workers)
            .bind(addr)?
            .run()
            .await
        }
        "server-store" => {
            let key = actix_key()?;
            // As examples/src/server_store.rs: namespaced keys, a bounded wait for Redis.
            let build = actix_session::storage::RedisSessionStore::builder(redis_url()?)
                .cache_keygen(|session_key| format!("{SERVER_STORE_PREFIX}{session_key}"))
                .build();
            let store = actix_web::rt::time::timeout(REDIS_TIMEOUT, build)
                .await
                .map_err(|_| io::Error::other("Redis not reachable within 5 s"))?
                .map_err(io::Error::other)?;
            let routes = routes!(actix_session::Session);
            // actix-session's middleware is built per worker, from clones of the store (one
            // shared connection manager) and of the key.
            HttpServer::new(move || {
                App::new()
                    .wrap(
                        actix_session::SessionMiddleware::builder(store.clone(), key.clone())
                            .cookie_name("id".to_owned())
                            .cookie_secure(false)
                            .build(),
                    )
                    .configure(routes)
            })
            .workers(workers)
            .bind(addr)?
            .run()
            .await
        }
        other => {
            eprintln!(
                "unknown server kind `{other}`: use none, ours, ours-subject, ours-redis, \
                 ours-1-cookie, ours-2-cookies, ours-3-cookies, ours-actix-session, actix-session \
                 or server-store"
            );
            std::process::exit(2);
        }
    }
}
