//! Sessions over several cookies over real HTTP (issue 21, points 1, 3 and 4:
//! <https://github.com/sealed-session/sealed-session/issues/21>): the example login app on both
//! stacks with `max_cookies(3)`, what `COOKIE_CHUNKS=3` sets in `examples/login.rs` and
//! `examples/axum_login.rs`, driven by a client that keeps its cookies as a browser does.
//!
//! `POST /big?bytes=6000` takes the three cookies `id`, `id-1` and `id-2`, each `Set-Cookie`
//! within 4096 bytes, and reads back; `bytes=10` afterwards removes `id-1` and `id-2` in the
//! same response; `bytes=20000` is past the `Cookie` header budget (8192 bytes): `413`, and
//! nothing changes. With one cookie, the default, 6000 bytes are a `413` too. A request whose
//! chunks were dropped, added or mixed from two sessions has no session (`/whoami` says why),
//! its chunks are all removed, and no route answers a `5xx`. A logout removes every chunk. A
//! configuration file's `"max_cookies": 3` does the same as the builder.

use std::collections::BTreeMap;

use actix_web::web;
use sealed_session::clock::ManualClock;
use sealed_session::{SecretKey, Session, SessionConfig, SessionGetError, SessionManager};
use sealed_session_tests::{
    Reply, STACKS, Stack, StackApp, StackSettings, Store, is_removal, start_time,
};
use serde_json::{Value, json};

/// The chunks' names, in order (cookies not `Secure`, so the first is `id`).
const CHUNKS: [&str; 3] = ["id", "id-1", "id-2"];
/// `/big`'s bytes that take all three cookies, with `alice` signed in: just within the default
/// `Cookie` header budget of 8192 bytes (some 40 bytes more are past it), since two cookies
/// hold about 5,960.
const THREE_COOKIES: usize = 6_000;
/// `/big`'s bytes that take two cookies.
const TWO_COOKIES: usize = 4_000;
/// `/big`'s bytes past what three cookies hold within the budget (and within the route's own
/// `MAX_BIG`, so the session refuses them, not the route).
const TOO_LARGE: usize = 20_000;
/// The `Cookie` header budget, the library's default.
const BUDGET: usize = 8192;
/// A browser's limit on one `Set-Cookie` header, name and attributes included.
const SET_COOKIE_LIMIT: usize = 4096;

/// The login app on `stack` over up to `max_cookies` cookies, with `GET /api/big-len`.
fn app(stack: Stack, store: Store, max_cookies: usize) -> StackApp {
    let mut settings = StackSettings::on(store);
    settings.max_cookies = max_cookies;
    StackApp::start_with(stack, &settings, actix_routes, axum_routes)
}

fn actix_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/big-len",
        web::get().to(|session: Session| async move { big_len(&session).map(web::Json) }),
    );
}

fn axum_routes(router: axum::Router) -> axum::Router {
    async fn route(session: Session) -> Result<axum::Json<Value>, SessionGetError> {
        big_len(&session).map(axum::Json)
    }
    router.route("/api/big-len", axum::routing::get(route))
}

/// `{"big": n}`: how many bytes `POST /big` stored (`null` if none), so a test sees the value
/// came back whole.
fn big_len(session: &Session) -> Result<Value, SessionGetError> {
    let big = session.get::<serde_bytes::ByteBuf>("big")?;
    Ok(json!({ "big": big.map(|bytes| bytes.len()) }))
}

/// A browser's cookie jar: a `Set-Cookie` sets its cookie or, as a removal, drops it; every
/// cookie held goes back in one `Cookie` header.
#[derive(Debug, Clone, Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    /// Keeps what `reply` sets, drops what it removes.
    fn keep(&mut self, reply: &Reply) {
        for cookie in &reply.set_cookies {
            if is_removal(cookie) {
                self.0.remove(cookie.name());
            } else {
                self.0
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
    }

    /// The names held, sorted.
    fn names(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }

    /// The value held under `name`.
    fn value(&self, name: &str) -> &str {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("no `{name}` in {:?}", self.names()))
    }

    /// The `Cookie` header a browser sends.
    fn header(&self) -> String {
        cookie_header(
            self.0
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        )
    }
}

/// A `Cookie` header of `pairs`, in their order.
fn cookie_header<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `method path` with `jar`'s cookies; the jar keeps what the response sets.
async fn send(app: &StackApp, jar: &mut Jar, method: &str, path: &str) -> Reply {
    let reply = app.send_header(method, path, &jar.header()).await;
    jar.keep(&reply);
    reply
}

/// A jar signed in as `user`.
async fn signed_in(app: &StackApp, user: &str) -> Jar {
    let mut jar = Jar::default();
    let reply = app.login_with(user, None).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    jar.keep(&reply);
    assert_eq!(jar.names(), ["id"]);
    jar
}

/// `user` signed in with `bytes` stored by `POST /big`: asserts a `200`.
async fn holding(app: &StackApp, user: &str, bytes: usize) -> Jar {
    let mut jar = signed_in(app, user).await;
    let reply = send(app, &mut jar, "POST", &format!("/big?bytes={bytes}")).await;
    assert_eq!(reply.status, 200, "{bytes} bytes: {reply:?}");
    jar
}

/// The names of `reply`'s `Set-Cookie` headers, in order, and whether each removes its cookie.
fn set(reply: &Reply) -> Vec<(&str, bool)> {
    reply
        .set_cookies
        .iter()
        .map(|cookie| (cookie.name(), is_removal(cookie)))
        .collect()
}

/// The lengths of `reply`'s `Set-Cookie` headers, for a failure's message (the values are
/// kilobytes of base64).
fn lens(reply: &Reply) -> Vec<usize> {
    reply.set_cookie_headers.iter().map(String::len).collect()
}

/// What `/api/big-len` says of `jar`'s session: asserts a `200`.
async fn stored(app: &StackApp, jar: &mut Jar) -> Value {
    let reply = send(app, jar, "GET", "/api/big-len").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json["big"].clone()
}

#[actix_web::test]
async fn a_session_over_three_cookies_reads_back_shrinks_and_refuses_past_the_budget() {
    for stack in STACKS {
        for store in [Store::Memory, Store::Redis] {
            let case = format!("{stack:?} on {store:?}");
            let app = app(stack, store, 3);
            let mut jar = signed_in(&app, "alice").await;

            // 6,000 bytes: three cookies, in order, each header within a browser's limit.
            let reply = send(
                &app,
                &mut jar,
                "POST",
                &format!("/big?bytes={THREE_COOKIES}"),
            )
            .await;
            assert_eq!(reply.status, 200, "{case}: {reply:?}");
            assert_eq!(reply.json, json!({ "stored": THREE_COOKIES }), "{case}");
            assert_eq!(
                set(&reply),
                CHUNKS.map(|name| (name, false)),
                "{case}: {:?}",
                lens(&reply)
            );
            for header in &reply.set_cookie_headers {
                assert!(
                    header.len() <= SET_COOKIE_LIMIT,
                    "{case}: a {}-byte Set-Cookie",
                    header.len()
                );
            }
            assert!(
                jar.value("id").starts_with("3."),
                "{case}: the first announces the count"
            );
            assert_eq!(jar.names(), CHUNKS, "{case}");
            assert!(jar.header().len() <= BUDGET, "{case}: within the budget");

            // It reads back: signed in, the whole value there.
            let whoami = send(&app, &mut jar, "GET", "/whoami").await;
            assert_eq!(
                whoami.json,
                json!({ "user": "alice", "counter": 0 }),
                "{case}"
            );
            assert_eq!(stored(&app, &mut jar).await, json!(THREE_COOKIES), "{case}");
            // A change to another value rewrites every chunk.
            let counter = send(&app, &mut jar, "POST", "/counter").await;
            assert_eq!(counter.status, 200, "{case}: {counter:?}");
            assert_eq!(set(&counter), CHUNKS.map(|name| (name, false)), "{case}");

            // 20,000 bytes: past the budget, a `413`, and the session as it was.
            let before = jar.clone();
            let refused = send(&app, &mut jar, "POST", &format!("/big?bytes={TOO_LARGE}")).await;
            assert_eq!(refused.status, 413, "{case}: {refused:?}");
            assert_eq!(refused.json["limit"], json!(BUDGET), "{case}");
            assert!(refused.set_cookies.is_empty(), "{case}: {refused:?}");
            assert_eq!(jar.0, before.0, "{case}");
            assert_eq!(stored(&app, &mut jar).await, json!(THREE_COOKIES), "{case}");

            // 10 bytes: one cookie, and the response removes the two it no longer uses.
            let small = send(&app, &mut jar, "POST", "/big?bytes=10").await;
            assert_eq!(small.status, 200, "{case}: {small:?}");
            assert_eq!(
                set(&small),
                [("id", false), ("id-1", true), ("id-2", true)],
                "{case}: {:?}",
                lens(&small)
            );
            assert!(
                small.set_cookie_headers[1..]
                    .iter()
                    .all(|h| h.contains("Max-Age=0")),
                "{case}: {:?}",
                lens(&small)
            );
            assert_eq!(jar.names(), ["id"], "{case}");
            assert!(!jar.value("id").starts_with("3."), "{case}: one cookie");
            assert_eq!(stored(&app, &mut jar).await, json!(10), "{case}");
            let whoami = send(&app, &mut jar, "GET", "/whoami").await;
            assert_eq!(
                whoami.json,
                json!({ "user": "alice", "counter": 1 }),
                "{case}"
            );

            // A logout of a session over three cookies removes all three, and a copy of them
            // is refused.
            let big = send(
                &app,
                &mut jar,
                "POST",
                &format!("/big?bytes={THREE_COOKIES}"),
            )
            .await;
            assert_eq!(big.status, 200, "{case}: {big:?}");
            assert_eq!(jar.names(), CHUNKS, "{case}");
            let copy = jar.clone();
            let logout = send(&app, &mut jar, "POST", "/logout").await;
            assert_eq!(logout.status, 200, "{case}: {logout:?}");
            assert_eq!(
                set(&logout),
                CHUNKS.map(|name| (name, true)),
                "{case}: {:?}",
                lens(&logout)
            );
            assert!(jar.names().is_empty(), "{case}: {:?}", jar.names());
            let replayed = app.send_header("GET", "/whoami", &copy.header()).await;
            assert_eq!(
                replayed.json,
                json!({ "user": null, "counter": 0, "refused": "revoked" }),
                "{case}"
            );
        }
    }
}

/// What the test above relies on: with one cookie, the default, the same 6,000 bytes are a
/// `413`, so a broken chunking fails it rather than passing on a session that fitted anyway.
#[actix_web::test]
async fn with_one_cookie_the_same_bytes_are_a_413_and_nothing_changes() {
    for stack in STACKS {
        let app = app(stack, Store::Memory, 1);
        let mut jar = signed_in(&app, "alice").await;
        let before = jar.clone();
        let reply = send(
            &app,
            &mut jar,
            "POST",
            &format!("/big?bytes={THREE_COOKIES}"),
        )
        .await;
        assert_eq!(reply.status, 413, "{stack:?}: {reply:?}");
        assert_eq!(reply.json["limit"], json!(4096), "{stack:?}");
        assert!(reply.set_cookies.is_empty(), "{stack:?}: {reply:?}");
        assert_eq!(jar.0, before.0);
        let whoami = send(&app, &mut jar, "GET", "/whoami").await;
        assert_eq!(whoami.json, json!({ "user": "alice", "counter": 0 }));
    }
}

/// A request whose chunks don't make one session: one dropped, one more than the first
/// announces, or chunks of two sessions. Each is no session, with the reason on `/whoami`, every
/// chunk it sent removed, and no route answers a `5xx`: a refused cookie is the client's
/// problem, never the server's.
#[actix_web::test]
async fn chunks_dropped_added_or_mixed_are_no_session_removed_and_never_a_5xx() {
    for stack in STACKS {
        let app = app(stack, Store::Memory, 3);
        let a = holding(&app, "alice", THREE_COOKIES).await;
        let b = holding(&app, "bob", THREE_COOKIES).await;
        let two = holding(&app, "carol", TWO_COOKIES).await;
        assert_eq!(a.names(), CHUNKS);
        assert_eq!(two.names(), ["id", "id-1"]);
        let (a0, a1, a2) = (a.value("id"), a.value("id-1"), a.value("id-2"));
        let (b1, b2) = (b.value("id-1"), b.value("id-2"));
        let cases = [
            (
                "id-2 dropped",
                vec![("id", a0), ("id-1", a1)],
                "missing_chunk",
            ),
            (
                "id-1 dropped",
                vec![("id", a0), ("id-2", a2)],
                "missing_chunk",
            ),
            (
                "a third chunk on a session of two",
                vec![
                    ("id", two.value("id")),
                    ("id-1", two.value("id-1")),
                    ("id-2", a2),
                ],
                "extra_chunk",
            ),
            (
                "alice's first, bob's others",
                vec![("id", a0), ("id-1", b1), ("id-2", b2)],
                "forged",
            ),
            (
                "alice's but bob's last",
                vec![("id", a0), ("id-1", a1), ("id-2", b2)],
                "forged",
            ),
        ];
        for (what, sent, reason) in cases {
            let case = format!("{stack:?}, {what}");
            let cookie = cookie_header(sent.iter().copied());
            let sent: Vec<&str> = sent.iter().map(|&(name, _)| name).collect();

            let whoami = app.send_header("GET", "/whoami", &cookie).await;
            assert_eq!(whoami.status, 200, "{case}: {whoami:?}");
            assert_eq!(
                whoami.json,
                json!({ "user": null, "counter": 0, "refused": reason }),
                "{case}"
            );
            // Every chunk name is removed, sent or not: one left could refuse a later session.
            let removed = vec![("id", true), ("id-1", true), ("id-2", true)];
            assert!(
                sent.iter()
                    .all(|name| removed.iter().any(|(n, _)| n == name))
            );
            assert_eq!(set(&whoami), removed, "{case}: every chunk name is removed");

            for (method, path) in [
                ("GET", "/api/big-len"),
                ("POST", "/counter"),
                ("POST", "/big?bytes=10"),
                ("POST", &format!("/big?bytes={THREE_COOKIES}")),
                ("POST", "/logout"),
                ("POST", "/logout-everywhere"),
                ("POST", "/logout-others"),
            ] {
                let reply = app.send_header(method, path, &cookie).await;
                assert!(
                    reply.status < 500,
                    "{case}: {method} {path} answered {}: {reply:?}",
                    reply.status
                );
                // Whatever the route writes, the request's old chunks don't survive it: each
                // is removed or replaced by the new session's.
                let names: Vec<&str> = reply.set_cookies.iter().map(|c| c.name()).collect();
                for name in &sent {
                    assert!(names.contains(name), "{case}: {method} {path}: {names:?}");
                }
            }
        }
        // Without its first chunk a request has no session cookie at all, so there is no
        // refusal to report and a read leaves the other chunks alone; the next write removes
        // them (a new session of one cookie).
        let orphans = cookie_header([("id-1", a1), ("id-2", a2)]);
        let whoami = app.send_header("GET", "/whoami", &orphans).await;
        assert_eq!(whoami.status, 200, "{stack:?}: {whoami:?}");
        assert_eq!(whoami.json, json!({ "user": null, "counter": 0 }));
        let write = app.send_header("POST", "/counter", &orphans).await;
        assert_eq!(write.status, 200, "{stack:?}: {write:?}");
        assert_eq!(
            set(&write),
            [("id", false), ("id-1", true), ("id-2", true)],
            "{stack:?}"
        );

        // Each refusal left the sessions themselves alone.
        for (mut jar, user) in [(a, "alice"), (b, "bob")] {
            let whoami = send(&app, &mut jar, "GET", "/whoami").await;
            assert_eq!(whoami.json["user"], json!(user), "{stack:?}");
        }
    }
}

/// `"max_cookies": 3` in a configuration file builds the same sessions on either stack; left
/// out, one cookie; `11` fails at startup, saying what to set.
#[actix_web::test]
async fn a_configuration_file_with_max_cookies_3_spans_three_cookies() {
    let key = SecretKey::generate();
    let config = |extra: &str| {
        let json = format!(
            r#"{{"keys": "{}", "secure": false{extra}}}"#,
            *key.to_base64()
        );
        serde_json::from_str::<SessionConfig>(&json).expect("a valid configuration file")
    };
    for stack in STACKS {
        for (extra, status) in [(r#", "max_cookies": 3"#, 200), ("", 413)] {
            let clock = std::sync::Arc::new(ManualClock::new(start_time()));
            let sessions = config(extra)
                .into_builder::<SessionManager>()
                .expect("keys given")
                .clock(clock.clone())
                .build()
                .expect("valid settings");
            let app = StackApp::serve_with(stack, sessions, clock, actix_routes, axum_routes);
            let mut jar = signed_in(&app, "alice").await;
            let reply = send(
                &app,
                &mut jar,
                "POST",
                &format!("/big?bytes={THREE_COOKIES}"),
            )
            .await;
            assert_eq!(reply.status, status, "{stack:?} {extra:?}: {reply:?}");
            if status == 200 {
                assert_eq!(jar.names(), CHUNKS, "{stack:?}");
                assert_eq!(stored(&app, &mut jar).await, json!(THREE_COOKIES));
            }
        }
    }
    let err = config(r#", "max_cookies": 11"#)
        .build::<SessionManager>()
        .map(drop)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`max_cookies` must be 1 (one cookie, the default) to 10"),
        "{err}"
    );
}
