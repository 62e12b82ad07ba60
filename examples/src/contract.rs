//! The login app's routes and JSON contract, written once for both session models: sealed cookie
//! sessions ([`crate::login`]) and actix-session's Redis store ([`crate::server_store`]).
//!
//! | route | does |
//! |---|---|
//! | `GET /` | the HTML page |
//! | `GET /whoami` | `{"user": string or null, "counter": int}`; reads only, never writes |
//! | `POST /login` | `user=<name>` as a form or JSON; signs in: a new session (new id, no value from before) for the user |
//! | `POST /counter` | increments the counter: `{"counter": n}` |
//! | `POST /logout` | purges the session: a copy of the old cookie stops working |
//! | `POST /logout-everywhere` | ends every session of the signed-in user, this one included: `{"user": null}` |
//! | `POST /logout-others` | ends the user's sessions signed in before this one (with sealed cookies, never one signed in after it) and keeps this one (with a new cookie): `{"user": name}` |
//! | `POST /big?bytes=N` | stores N pseudo-random bytes (the same N on every request); `413` with a JSON error if the session can't hold them |
//!
//! Without a signed-in user, `/logout-everywhere` and `/logout-others` answer `200` and change
//! nothing (`{"user": null}`, with `"refused": reason` if the request's cookie was refused, as
//! `/whoami` says it), unless the cookie was refused as revoked (perhaps the retry of a logout
//! not confirmed yet) or is signed in but can't be checked yet (`"revocation_unknown"`: the
//! shared revocation list is not loaded): the session's logout then takes it, as below. A
//! logout that could not be recorded, or that the shared revocation store did not confirm in
//! time (Redis unreachable), answers with the session's error status (`503`: try again) and a
//! JSON `{"error": ...}`, and keeps the cookie, so that the retry, made with it, is answered
//! `200` only once the logout is confirmed; a `/logout-others` whose session was logged out
//! meanwhile answers `401` (sign in again); a session model that can't end a user's other
//! sessions answers `501` with a JSON error.
//!
//! The routes' logic is written once, framework-free, over [`AppSession`]: the `Session` types
//! have similar methods but not quite the same signatures, so each app implements the trait in
//! a few lines. Each route is a function that returns an [`Answer`] (a status and a JSON body)
//! or a [`RouteError`]; [`routes`] serves them on actix-web, [`crate::contract_axum`] on axum,
//! and only the extraction of the request and the writing of the response differ.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use rand::{Rng as _, SeedableRng as _};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Longest user name `POST /login` accepts, in bytes.
pub const MAX_USER_LEN: usize = 64;

/// Largest `bytes` that `POST /big` accepts: far past any session limit, small enough to never
/// strain the server. Past it the answer is `400`, not `413`: the request itself is refused.
pub const MAX_BIG: usize = 1 << 20;

/// The key `/whoami` shows the user under, and `POST /login` stores it under.
pub const USER: &str = "user";
/// The key `POST /counter` counts under.
pub const COUNTER: &str = "counter";
const BIG: &str = "big";

/// What the routes need from a session. The methods carry the names of the `Session` types' own
/// methods, so each implementation is a line or two per method.
pub trait AppSession: 'static {
    /// The session's errors, as its framework answers them (an opaque `500`, a `503` for a
    /// revocation that could not be recorded, ...).
    type Error: fmt::Display;

    /// The HTTP status `err` answers with.
    fn error_status(err: &Self::Error) -> u16;

    /// Reads and decodes the value under `key`.
    ///
    /// # Errors
    /// When the stored value does not decode as `T` (an opaque `500`).
    fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Self::Error>;

    /// Stores `value` under `key`, or refuses with [`InsertError::TooLarge`] if the session would
    /// exceed its size limit. A refused insert leaves the session exactly as it was.
    ///
    /// # Errors
    /// [`InsertError::TooLarge`], or [`InsertError::Other`] if `value` cannot be encoded.
    fn insert(&self, key: &str, value: impl Serialize) -> Result<(), InsertError<Self::Error>>;

    /// Signs `user` in: a new session (new id, no value from before), belonging to `user` where
    /// the session model keeps that apart from the data. The old id stops working.
    ///
    /// # Errors
    /// When no new id can be drawn or the old session can't be revoked.
    fn sign_in(&self, user: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Logs out: forgets the data, removes the cookie, and makes a copy of it worthless.
    ///
    /// # Errors
    /// When the logout can't be recorded (the session is then left as it was).
    fn purge(&self) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Logs out every session of the signed-in user, this one included.
    ///
    /// # Errors
    /// When the logout can't be recorded, or [`RouteError::Unsupported`] (the default) when
    /// the session model can't find a user's other sessions.
    fn purge_subject(&self) -> impl Future<Output = Result<(), RouteError<Self::Error>>> + Send {
        Immediate::new(|| Err(RouteError::Unsupported("log out everywhere")))
    }

    /// Logs out the signed-in user's sessions signed in before this one (a session model may
    /// end all the others) and keeps this one, renewed.
    ///
    /// # Errors
    /// As [`AppSession::purge_subject`].
    fn purge_other_sessions(
        &self,
    ) -> impl Future<Output = Result<(), RouteError<Self::Error>>> + Send {
        Immediate::new(|| Err(RouteError::Unsupported("log out other sessions")))
    }

    /// Why the cookie that came with the request was refused, if it was. `None` by default: not
    /// every session model can tell.
    fn refusal_reason(&self) -> Option<&'static str> {
        None
    }
}

/// A future ready at once with what a plain function returns: `Send` whatever it returns (the
/// axum routes need `Send` futures; actix-session's errors are not `Send`, and its session's
/// logouts are synchronous).
#[derive(Debug)]
pub struct Immediate<T>(Option<fn() -> T>);

impl<T> Immediate<T> {
    /// Ready with `make()`.
    pub fn new(make: fn() -> T) -> Self {
        Self(Some(make))
    }
}

impl<T> Future for Immediate<T> {
    type Output = T;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<T> {
        let make = self
            .0
            .take()
            .expect("an Immediate polled after it was ready");
        std::task::Poll::Ready(make())
    }
}

/// [`AppSession::insert`] failed.
#[derive(Debug)]
pub enum InsertError<E = actix_web::Error> {
    /// The session would exceed its limit; nothing was changed.
    TooLarge {
        /// Bytes the session would take, as the session model measures it.
        size: usize,
        /// Its limit.
        limit: usize,
    },
    /// Any other failure, the session's own error.
    Other(E),
}

/// What a route answers: a status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

impl Answer {
    /// `200` with `body`.
    pub fn ok(body: Value) -> Self {
        Self { status: 200, body }
    }

    fn bad_request(error: String) -> Self {
        Self {
            status: 400,
            body: json!({ "error": error }),
        }
    }
}

/// Why a route did not answer `200`.
#[derive(Debug)]
pub enum RouteError<E> {
    /// The session failed: answered as its framework answers the error (an opaque body).
    Session(E),
    /// The contract's `413`, with a JSON error: the session would exceed its limit.
    TooLarge {
        /// Bytes the session would take.
        size: usize,
        /// Its limit.
        limit: usize,
    },
    /// The contract's `501`, with a JSON error: the session model can't do this.
    Unsupported(&'static str),
}

impl<E> RouteError<E> {
    /// The contract's own answer for this error, or the session's error for its framework to
    /// answer.
    ///
    /// # Errors
    /// [`RouteError::Session`]'s error.
    pub fn into_answer(self) -> Result<Answer, E> {
        match self {
            Self::Session(err) => Err(err),
            Self::TooLarge { size, limit } => Ok(Answer {
                status: 413,
                body: json!({
                    "error": "the session would exceed its size limit; nothing was changed",
                    "size": size,
                    "limit": limit,
                }),
            }),
            Self::Unsupported(what) => Ok(Answer {
                status: 501,
                body: json!({
                    "error": format!(
                        "{what} is not possible with this session store: it keeps no index of \
                         a user's sessions"
                    ),
                }),
            }),
        }
    }
}

impl<E> From<InsertError<E>> for RouteError<E> {
    fn from(err: InsertError<E>) -> Self {
        match err {
            InsertError::TooLarge { size, limit } => Self::TooLarge { size, limit },
            InsertError::Other(err) => Self::Session(err),
        }
    }
}

/// A route's result.
pub type Outcome<E> = Result<Answer, RouteError<E>>;

/// A logout that failed: its status (`503` when the revocation can't be recorded or confirmed:
/// the status of `sealed_session::RevokeError::http_status`, through the adapter; `401` when the
/// session itself was logged out meanwhile), with a JSON body saying so, so the page can ask the
/// user to try again, or to sign in again.
fn logout_failed<S: AppSession>(err: RouteError<S::Error>) -> Answer {
    match err.into_answer() {
        Ok(answer) => answer,
        Err(err) => logout_not_done(S::error_status(&err), &err),
    }
}

/// The answer to a logout that failed with `err`, answered with `status`: `401` says to sign in
/// again, any other to try again.
pub fn logout_not_done(status: u16, err: &dyn fmt::Display) -> Answer {
    let error = if status == 401 {
        format!("this session is logged out: sign in again ({err})")
    } else {
        format!("the logout is not done: try again ({err})")
    };
    Answer {
        status,
        body: json!({ "error": error }),
    }
}

/// `GET /whoami`.
///
/// # Errors
/// A value of another type in the session.
pub fn whoami<S: AppSession>(session: &S) -> Outcome<S::Error> {
    let user = session.get::<String>(USER).map_err(RouteError::Session)?;
    let count = session
        .get::<u64>(COUNTER)
        .map_err(RouteError::Session)?
        .unwrap_or(0);
    let mut body = json!({ "user": user, "counter": count });
    // Say why a cookie that came in was refused, so the page can tell the user.
    if let Some(reason) = session.refusal_reason() {
        body["refused"] = json!(reason);
    }
    Ok(Answer::ok(body))
}

/// The login form or JSON body.
#[derive(Debug, Deserialize)]
struct Login {
    user: String,
}

/// The user of a `POST /login` body: a form or JSON, by its `Content-Type`.
///
/// # Errors
/// A `400` answer when the body is neither, or has no `user`.
pub fn login_user(content_type: Option<&str>, body: &[u8]) -> Result<String, Answer> {
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|ct| ct.trim().to_ascii_lowercase());
    let parsed = match essence.as_deref() {
        Some("application/x-www-form-urlencoded") => {
            serde_urlencoded::from_bytes::<Login>(body).map_err(|err| err.to_string())
        }
        Some("application/json") => {
            serde_json::from_slice::<Login>(body).map_err(|err| err.to_string())
        }
        _ => Err("send `user` as a form or as JSON".to_owned()),
    };
    parsed
        .map(|login| login.user)
        .map_err(|err| Answer::bad_request(format!("invalid login: {err}")))
}

/// `user` without surrounding spaces, if it is 1 to [`MAX_USER_LEN`] bytes.
///
/// # Errors
/// The `400` answer otherwise.
pub fn valid_user(user: &str) -> Result<&str, Answer> {
    let user = user.trim();
    if user.is_empty() || user.len() > MAX_USER_LEN {
        return Err(Answer::bad_request(format!(
            "`user` must be 1 to {MAX_USER_LEN} characters"
        )));
    }
    Ok(user)
}

/// `POST /login` for `user`.
///
/// # Errors
/// The sign-in or the insert failed.
pub async fn login<S: AppSession>(session: &S, user: &str) -> Outcome<S::Error> {
    let user = match valid_user(user) {
        Ok(user) => user,
        Err(answer) => return Ok(answer),
    };
    // A new session at login: a session id planted or copied before it is worthless after it,
    // and none of its values come along.
    session.sign_in(user).await.map_err(RouteError::Session)?;
    session.insert(USER, user)?;
    Ok(Answer::ok(json!({ "user": user })))
}

/// `POST /counter`.
///
/// # Errors
/// A value of another type, or a counter the session can't hold.
pub fn counter<S: AppSession>(session: &S) -> Outcome<S::Error> {
    let n = session
        .get::<u64>(COUNTER)
        .map_err(RouteError::Session)?
        .unwrap_or(0)
        + 1;
    session.insert(COUNTER, n)?;
    Ok(Answer::ok(json!({ "counter": n })))
}

/// `POST /logout`: a failure is answered too, with a JSON error.
pub async fn logout<S: AppSession>(session: &S) -> Answer {
    match session.purge().await {
        Ok(()) => Answer::ok(json!({ "user": null })),
        Err(err) => logout_failed::<S>(RouteError::Session(err)),
    }
}

/// `{"user": null}`, with why the request's cookie was refused if it was: a logout asked for
/// with a cookie that was already refused did nothing, and the caller should know.
fn nobody<S: AppSession>(session: &S) -> Answer {
    let mut body = json!({ "user": null });
    if let Some(reason) = session.refusal_reason() {
        body["refused"] = json!(reason);
    }
    Answer::ok(body)
}

/// `POST /logout-everywhere`.
///
/// # Errors
/// A user name of another type in the session.
pub async fn logout_everywhere<S: AppSession>(session: &S) -> Outcome<S::Error> {
    let signed_in = session
        .get::<String>(USER)
        .map_err(RouteError::Session)?
        .is_some();
    Ok(logout_everywhere_for(session, signed_in).await)
}

/// `POST /logout-everywhere`, with whether a user is signed in known otherwise (an app that
/// keeps its user elsewhere than under `"user"`, as axum-login does).
pub async fn logout_everywhere_for<S: AppSession>(session: &S, signed_in: bool) -> Answer {
    if !signed_in && !retrying(session) {
        return nobody(session);
    }
    match session.purge_subject().await {
        Ok(()) if signed_in => Answer::ok(json!({ "user": null })),
        Ok(()) => nobody(session),
        Err(err) => logout_failed::<S>(err),
    }
}

/// Whether a request without a signed-in user still goes to the session's logout: when its
/// cookie was refused as revoked, it may be the retry of a logout not confirmed yet, which the
/// session answers only once it is; when the revocation store can't check it yet, the session
/// records the logout all the same and answers once it is durable (never a silent `200`).
fn retrying<S: AppSession>(session: &S) -> bool {
    matches!(
        session.refusal_reason(),
        Some("revoked" | "revocation_unknown")
    )
}

/// `POST /logout-others`.
///
/// # Errors
/// A user name of another type in the session.
pub async fn logout_others<S: AppSession>(session: &S) -> Outcome<S::Error> {
    let user = session.get::<String>(USER).map_err(RouteError::Session)?;
    Ok(logout_others_for(session, user).await)
}

/// `POST /logout-others`, with the signed-in user known otherwise (as for
/// [`logout_everywhere_for`]).
pub async fn logout_others_for<S: AppSession>(session: &S, user: Option<String>) -> Answer {
    if user.is_none() && !retrying(session) {
        return nobody(session);
    }
    match (session.purge_other_sessions().await, user) {
        (Ok(()), Some(user)) => Answer::ok(json!({ "user": user })),
        (Ok(()), None) => nobody(session),
        (Err(err), _) => logout_failed::<S>(err),
    }
}

/// `POST /big`'s query.
#[derive(Debug, Deserialize)]
pub struct BigQuery {
    bytes: usize,
}

/// `POST /big?bytes=N`.
///
/// # Errors
/// The contract's `413` when the session can't hold the bytes (it stays as it was).
pub fn big<S: AppSession>(session: &S, query: &BigQuery) -> Outcome<S::Error> {
    if query.bytes > MAX_BIG {
        return Ok(Answer::bad_request(format!(
            "`bytes` must be at most {MAX_BIG}"
        )));
    }
    let mut data = vec![0u8; query.bytes];
    // Bytes that look random (spread over 0..=255, as the server store's JSON size counts on)
    // but are the same on every request: two apps given the same requests, clock and session
    // randomness must set the same cookies, byte for byte (`tests/tests/http/on_axum.rs`).
    rand::rngs::StdRng::seed_from_u64(0).fill_bytes(&mut data);
    // Over the limit, `?` answers the contract's `413`, and the session stays as it was.
    // `ByteBuf`: one MessagePack `bin` of N bytes, where a `Vec<u8>` is an array of numbers
    // (up to 2 bytes each).
    session.insert(BIG, serde_bytes::ByteBuf::from(data))?;
    Ok(Answer::ok(json!({ "stored": query.bytes })))
}

// The routes on actix-web.

/// The status of an actix-web error, for [`AppSession::error_status`].
pub fn actix_status(err: &actix_web::Error) -> u16 {
    err.as_response_error().status_code().as_u16()
}

/// An actix-web response for `outcome`.
fn respond<E: Into<actix_web::Error>>(outcome: Outcome<E>) -> HttpResponse {
    match outcome.or_else(RouteError::into_answer) {
        Ok(answer) => json_response(answer),
        Err(err) => err.into().error_response(),
    }
}

fn json_response(answer: Answer) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status).json(answer.body)
}

/// Registers the routes, with sessions of type `S`.
pub fn routes<S>(cfg: &mut web::ServiceConfig)
where
    S: AppSession + FromRequest,
    <S as AppSession>::Error: Into<actix_web::Error>,
{
    cfg.route("/", web::get().to(index))
        .route(
            "/whoami",
            web::get().to(|s: S| async move { respond(whoami(&s)) }),
        )
        .route("/login", web::post().to(actix_login::<S>))
        .route(
            "/counter",
            web::post().to(|s: S| async move { respond(counter(&s)) }),
        )
        .route(
            "/logout",
            web::post().to(|s: S| async move { json_response(logout(&s).await) }),
        )
        .route(
            "/logout-everywhere",
            web::post().to(|s: S| async move { respond(logout_everywhere(&s).await) }),
        )
        .route(
            "/logout-others",
            web::post().to(|s: S| async move { respond(logout_others(&s).await) }),
        )
        .route(
            "/big",
            web::post().to(|s: S, q: web::Query<BigQuery>| async move { respond(big(&s, &q)) }),
        );
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(crate::page::HTML)
}

async fn actix_login<S>(session: S, req: HttpRequest, body: web::Bytes) -> HttpResponse
where
    S: AppSession,
    <S as AppSession>::Error: Into<actix_web::Error>,
{
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match login_user(content_type, &body) {
        Ok(user) => respond(login(&session, &user).await),
        Err(answer) => json_response(answer),
    }
}
