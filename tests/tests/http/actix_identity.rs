//! `examples/with_actix_identity.rs` over real HTTP (issue 20, points 1 and 3): actix-identity on
//! actix-session's `SessionMiddleware` with `SealedSessionStore`. The route contract runs in
//! [`super::scenarios`]; these tests look inside the cookie: a logout revokes it, a key rotation
//! logs no one out, and a logout that can't be recorded is an error, never a silent success.

use std::sync::Arc;

use actix_web::cookie::Cookie;
use sealed_session::adapter::RequestInfo;
use sealed_session::codec::Codec;
use sealed_session::revocation::{MemoryRevocationStore, RevocationLimits};
use sealed_session::{KeyRing, OpenError, SecretKey};
use sealed_session_actix::{ACTIX_SIGNATURE_LEN, SealedSessionStore};
use sealed_session_tests::{Reply, Unconfirmed, identity_store, send_to, start_identity_app};
use serde_json::Value;

/// The cookie's name: not `Secure`, so the library's plain-HTTP default.
const COOKIE: &str = "id";

/// One identity app and a client without a cookie jar.
struct App {
    server: actix_test::TestServer,
    client: reqwest::Client,
}

impl App {
    fn start(store: SealedSessionStore) -> Self {
        Self {
            server: start_identity_app(store),
            client: reqwest::Client::new(),
        }
    }

    /// `method path` with the session cookie `cookie` (as the server set it), if any.
    async fn send(&self, method: &str, path: &str, cookie: Option<&str>) -> Reply {
        let header = cookie.map(|value| format!("{COOKIE}={value}"));
        let form: Option<&[(&str, &str)]> = (path == "/login").then_some(&[("user", "alice")]);
        send_to(
            &self.client,
            method,
            self.server.url(path),
            header.as_deref().map(str::as_bytes),
            form,
        )
        .await
    }

    /// Signs alice in; the session cookie's value.
    async fn login(&self) -> String {
        let reply = self.send("POST", "/login", None).await;
        assert_eq!(reply.status, 200, "{:?}", reply.json);
        reply.new_value(COOKIE).expect("login sets the cookie")
    }

    /// A session without a user (a counter); its cookie's value.
    async fn anonymous(&self) -> String {
        let reply = self.send("POST", "/counter", None).await;
        reply
            .new_value(COOKIE)
            .expect("the first write sets the cookie")
    }

    async fn user(&self, cookie: &str) -> Value {
        let reply = self.send("GET", "/whoami", Some(cookie)).await;
        assert_eq!(reply.status, 200);
        reply.json["user"].clone()
    }
}

/// The sealed session in a cookie's value: after actix-session's signature, percent-decoded as
/// actix-session reads it.
fn sealed(value: &str) -> String {
    let cookie = Cookie::parse_encoded(format!("{COOKIE}={value}")).expect("a cookie");
    cookie.value()[ACTIX_SIGNATURE_LEN..].to_owned()
}

#[actix_web::test]
async fn a_copy_of_the_cookie_replayed_after_logout_is_refused() {
    let store = identity_store(KeyRing::new(SecretKey::generate()));
    let app = App::start(store.clone());
    let copy = app.login().await;
    assert_eq!(app.user(&copy).await, "alice");
    let session = store
        .manager()
        .open_value(&sealed(&copy), RequestInfo::default());
    assert_eq!(session.subject(), Some("alice"), "actix-identity's user id");

    let logout = app.send("POST", "/logout", Some(&copy)).await;
    assert_eq!(logout.status, 200);
    assert!(
        logout
            .cookie(COOKIE)
            .is_some_and(sealed_session_tests::is_removal),
        "{:?}",
        logout.set_cookies
    );

    // The copy still carries a valid signature and seal: refused because it was revoked.
    assert_eq!(app.user(&copy).await, Value::Null);
    let replay = store
        .manager()
        .open_value(&sealed(&copy), RequestInfo::default());
    assert_eq!(replay.refusal(), Some(OpenError::Revoked));
    // A write with it starts an anonymous session, never alice's.
    let write = app.send("POST", "/counter", Some(&copy)).await;
    assert_eq!(write.status, 200);
    let fresh = write.new_value(COOKIE).expect("a new session");
    assert_eq!(app.user(&fresh).await, Value::Null);
}

#[actix_web::test]
async fn rotating_the_key_ring_keeps_users_signed_in() {
    let (old, new) = (SecretKey::generate(), SecretKey::generate());
    let before = App::start(identity_store(KeyRing::new(old.clone())));
    let cookie = before.login().await;

    // The deploy: a new primary, the old key kept to open. actix-session's own key is the
    // store's, unchanged.
    let ring = KeyRing::new(new.clone())
        .with_open_only(old)
        .expect("distinct keys");
    let primary = ring.primary_id();
    let during = App::start(identity_store(ring));
    assert_eq!(
        during.user(&cookie).await,
        "alice",
        "signed in across the rotation"
    );
    let old_key_id = Codec::peek_header(&sealed(&cookie))
        .expect("a header")
        .key_id;
    assert_ne!(old_key_id, primary);

    // A write re-seals the session with the new primary...
    let write = during.send("POST", "/counter", Some(&cookie)).await;
    assert_eq!(write.status, 200, "{:?}", write.json);
    let resealed = write.new_value(COOKIE).expect("a new cookie");
    let header = Codec::peek_header(&sealed(&resealed)).expect("a header");
    assert_eq!(header.key_id, primary);

    // ... so that once the old key is retired, that session is still signed in.
    let after = App::start(identity_store(KeyRing::new(new)));
    assert_eq!(after.user(&resealed).await, "alice");
    assert_eq!(
        after.user(&cookie).await,
        Value::Null,
        "only a cookie no write re-sealed"
    );
}

#[actix_web::test]
async fn a_logout_that_cannot_be_recorded_is_an_error_and_keeps_the_cookie() {
    // Only an anonymous session's revocation can be refused (for room): a list of one entry,
    // anonymous sessions revoked too.
    let store = SealedSessionStore::builder(KeyRing::new(SecretKey::generate()))
        .cookie_secure(false)
        .revoke_anonymous_sessions(true)
        .revocation_store(Arc::new(MemoryRevocationStore::with_limits(
            RevocationLimits::new().total(1),
        )))
        .build()
        .expect("valid configuration");
    let app = App::start(store);
    let (first, second) = (app.anonymous().await, app.anonymous().await);
    assert_eq!(app.send("POST", "/logout", Some(&first)).await.status, 200);

    // actix-session answers the store's error with its opaque 500, and writes no cookie: the
    // logout is not claimed, and the session goes on.
    let refused = app.send("POST", "/logout", Some(&second)).await;
    assert_eq!(refused.status, 500);
    assert!(refused.set_cookies.is_empty(), "{:?}", refused.set_cookies);
    let counter = app.send("POST", "/counter", Some(&second)).await;
    assert_eq!(counter.json["counter"], 2, "{:?}", counter.json);
}

/// A logout the shared store doesn't confirm is an error (the cookie kept), and so is its
/// retry, made with the cookie the store now refuses, until the store confirms: then `200` and
/// the cookie removed; log-out-everywhere retried with it waits the same way. Never a silent
/// `200` for a refused cookie (review of issue 20: actix-session drops the key of a session
/// its store doesn't load, so the retry never reached the store).
#[actix_web::test]
async fn a_logout_retried_with_the_refused_cookie_is_answered_once_confirmed() {
    let revocations = Arc::new(Unconfirmed::default());
    let store = SealedSessionStore::builder(KeyRing::new(SecretKey::generate()))
        .cookie_secure(false)
        .revocation_store(revocations.clone())
        .build()
        .expect("valid configuration");
    let app = App::start(store);
    let cookie = app.login().await;
    revocations.fail(true);
    let first = app.send("POST", "/logout", Some(&cookie)).await;
    assert_eq!(first.status, 500, "{:?}", first.json);
    assert!(first.set_cookies.is_empty(), "{:?}", first.set_cookies);
    assert_eq!(app.user(&cookie).await, Value::Null, "refused here already");
    for path in ["/logout", "/logout-everywhere"] {
        let retry = app.send("POST", path, Some(&cookie)).await;
        assert_ne!(retry.status, 200, "{path}: {:?}", retry.json);
        assert!(
            retry.set_cookies.is_empty(),
            "{path}: {:?}",
            retry.set_cookies
        );
    }
    revocations.fail(false);
    let done = app.send("POST", "/logout", Some(&cookie)).await;
    assert_eq!(done.status, 200, "{:?}", done.json);
    assert!(
        done.set_cookies
            .iter()
            .any(|c| c.name() == COOKIE && c.value().is_empty()),
        "the cookie removed: {:?}",
        done.set_cookies
    );
    // A login with the refused cookie starts a new session.
    let again = app.send("POST", "/login", Some(&cookie)).await;
    assert_eq!(again.status, 200, "{:?}", again.json);
    let fresh = again.new_value(COOKIE).expect("a new cookie");
    assert_eq!(app.user(&fresh).await, "alice");
}

#[actix_web::test]
async fn a_session_filled_to_the_limit_fits_in_a_cookie_browsers_keep() {
    let app = App::start(identity_store(KeyRing::new(SecretKey::generate())));
    let cookie = app.login().await;
    // The most `/big` bytes the session takes (`413` past them), by bisection.
    let (mut fits, mut too_many) = (0, 4096);
    let mut header = None;
    while too_many - fits > 1 {
        let bytes = usize::midpoint(fits, too_many);
        let reply = app
            .send("POST", &format!("/big?bytes={bytes}"), Some(&cookie))
            .await;
        match reply.status {
            200 => {
                fits = bytes;
                header = reply.set_cookie_headers.into_iter().next();
            }
            413 => too_many = bytes,
            other => panic!("{other}: {:?}", reply.json),
        }
    }
    assert!(fits > 500, "{fits}");
    // What browsers count against 4096: the name and the value, as actix-session wrote them
    // (its signature percent-encoded). (The worst signature is a unit test of the store's.)
    let header = header.expect("a Set-Cookie");
    let (name, value) = header
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .expect("name=value");
    assert!(name.len() + value.len() <= 4096, "{header}");
}
