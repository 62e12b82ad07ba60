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
//! | `POST /logout-others` | ends the user's other sessions and keeps this one (with a new cookie): `{"user": name}` |
//! | `POST /big?bytes=N` | stores N random bytes; `413` with a JSON error if the session can't hold them |
//!
//! Without a signed-in user, `/logout-everywhere` and `/logout-others` answer `200` and change
//! nothing (`{"user": null}`, with `"refused": reason` if the request's cookie was refused, as
//! `/whoami` says it). A logout that could not be recorded, or that the shared revocation store
//! did not confirm in time (Redis unreachable), answers with the session's error status (`503`:
//! try again) and a JSON `{"error": ...}`, and keeps the cookie, so that the retry, made with
//! it, is answered `200` only once the logout is confirmed; a session model that can't end a
//! user's other sessions answers `501` with a JSON error.
//!
//! The handlers are generic over [`AppSession`]: the two `Session` types have similar methods
//! but not quite the same signatures, so each app implements the trait in a few lines and the
//! handlers exist once.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpResponse, ResponseError, web};
use rand::RngCore as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Longest user name `POST /login` accepts, in bytes.
pub const MAX_USER_LEN: usize = 64;

/// Largest `bytes` that `POST /big` accepts: far past any session limit, small enough to never
/// strain the server. Past it the answer is `400`, not `413`: the request itself is refused.
pub const MAX_BIG: usize = 1 << 20;

const USER: &str = "user";
const COUNTER: &str = "counter";
const BIG: &str = "big";

/// What the routes need from a session. The methods carry the names of the two `Session` types'
/// own methods, so each implementation is a line or two per method.
pub trait AppSession: FromRequest + 'static {
    /// Reads and decodes the value under `key`.
    ///
    /// # Errors
    /// When the stored value does not decode as `T` (an opaque `500`).
    fn get<T: DeserializeOwned>(&self, key: &str) -> actix_web::Result<Option<T>>;

    /// Stores `value` under `key`, or refuses with [`InsertError::TooLarge`] if the session would
    /// exceed its size limit. A refused insert leaves the session exactly as it was.
    ///
    /// # Errors
    /// [`InsertError::TooLarge`], or [`InsertError::Other`] if `value` cannot be encoded.
    fn insert(&self, key: &str, value: impl Serialize) -> Result<(), InsertError>;

    /// Signs `user` in: a new session (new id, no value from before), belonging to `user` where
    /// the session model keeps that apart from the data. The old id stops working.
    ///
    /// # Errors
    /// When no new id can be drawn or the old session can't be revoked.
    fn sign_in(&self, user: &str) -> actix_web::Result<()>;

    /// Logs out: forgets the data, removes the cookie, and makes a copy of it worthless.
    ///
    /// # Errors
    /// When the logout can't be recorded (the session is then left as it was).
    fn purge(&self) -> actix_web::Result<()>;

    /// Logs out every session of the signed-in user, this one included.
    ///
    /// # Errors
    /// When the logout can't be recorded, or [`Unsupported`] (the default) when the session
    /// model can't find a user's other sessions.
    fn purge_subject(&self) -> actix_web::Result<()> {
        Err(Unsupported("log out everywhere").into())
    }

    /// Logs out every other session of the signed-in user and keeps this one, renewed.
    ///
    /// # Errors
    /// As [`AppSession::purge_subject`].
    fn purge_other_sessions(&self) -> actix_web::Result<()> {
        Err(Unsupported("log out other sessions").into())
    }

    /// Why the cookie that came with the request was refused, if it was. `None` by default: not
    /// every session model can tell.
    fn refusal_reason(&self) -> Option<&'static str> {
        None
    }
}

/// [`AppSession::insert`] failed. As a response (through `?`), `TooLarge` is the `413` of the
/// contract and `Other` is the error it wraps.
#[derive(Debug)]
pub enum InsertError {
    /// The session would exceed its limit; nothing was changed.
    TooLarge {
        /// Bytes the session would take, as the session model measures it.
        size: usize,
        /// Its limit.
        limit: usize,
    },
    /// Any other failure, already an HTTP error.
    Other(actix_web::Error),
}

impl fmt::Display for InsertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { size, limit } => write!(
                f,
                "the session would take {size} bytes, over its limit of {limit}; nothing was \
                 changed"
            ),
            Self::Other(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for InsertError {}

impl ResponseError for InsertError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Other(err) => err.as_response_error().status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::TooLarge { size, limit } => HttpResponse::PayloadTooLarge().json(json!({
                "error": "the session would exceed its size limit; nothing was changed",
                "size": size,
                "limit": limit,
            })),
            Self::Other(err) => err.error_response(),
        }
    }
}

/// The session model can't do this: `501` with a JSON error.
#[derive(Debug)]
pub struct Unsupported(pub &'static str);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not possible with this session store: it keeps no index of a user's sessions",
            self.0
        )
    }
}

impl ResponseError for Unsupported {
    fn status_code(&self) -> StatusCode {
        StatusCode::NOT_IMPLEMENTED
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::NotImplemented().json(json!({ "error": self.to_string() }))
    }
}

/// A logout that failed: its status (`503` when the revocation can't be recorded or confirmed),
/// with a JSON body saying so, so the page can ask the user to try again.
fn logout_failed(err: &actix_web::Error) -> HttpResponse {
    let response = err.error_response();
    if response.status() == StatusCode::NOT_IMPLEMENTED {
        return response;
    }
    HttpResponse::build(response.status()).json(json!({
        "error": format!("the logout is not done: try again ({err})"),
    }))
}

/// Registers the routes, with sessions of type `S`.
pub fn routes<S: AppSession>(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/whoami", web::get().to(whoami::<S>))
        .route("/login", web::post().to(login::<S>))
        .route("/counter", web::post().to(counter::<S>))
        .route("/logout", web::post().to(logout::<S>))
        .route("/logout-everywhere", web::post().to(logout_everywhere::<S>))
        .route("/logout-others", web::post().to(logout_others::<S>))
        .route("/big", web::post().to(big::<S>));
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(crate::page::HTML)
}

async fn whoami<S: AppSession>(session: S) -> actix_web::Result<HttpResponse> {
    let user = session.get::<String>(USER)?;
    let count = session.get::<u64>(COUNTER)?.unwrap_or(0);
    let mut body = json!({ "user": user, "counter": count });
    // Say why a cookie that came in was refused, so the page can tell the user.
    if let Some(reason) = session.refusal_reason() {
        body["refused"] = json!(reason);
    }
    Ok(HttpResponse::Ok().json(body))
}

/// The login form or JSON body.
#[derive(Debug, Deserialize)]
struct Login {
    user: String,
}

async fn login<S: AppSession>(
    session: S,
    body: web::Either<web::Form<Login>, web::Json<Login>>,
) -> actix_web::Result<HttpResponse> {
    let user = match body {
        web::Either::Left(form) => form.into_inner().user,
        web::Either::Right(json) => json.into_inner().user,
    };
    let user = user.trim();
    if user.is_empty() || user.len() > MAX_USER_LEN {
        return Ok(HttpResponse::BadRequest()
            .json(json!({ "error": format!("`user` must be 1 to {MAX_USER_LEN} characters") })));
    }
    // A new session at login: a session id planted or copied before it is worthless after it,
    // and none of its values come along.
    session.sign_in(user)?;
    session.insert(USER, user)?;
    Ok(HttpResponse::Ok().json(json!({ "user": user })))
}

async fn counter<S: AppSession>(session: S) -> actix_web::Result<HttpResponse> {
    let n = session.get::<u64>(COUNTER)?.unwrap_or(0) + 1;
    session.insert(COUNTER, n)?;
    Ok(HttpResponse::Ok().json(json!({ "counter": n })))
}

async fn logout<S: AppSession>(session: S) -> HttpResponse {
    match session.purge() {
        Ok(()) => HttpResponse::Ok().json(json!({ "user": null })),
        Err(err) => logout_failed(&err),
    }
}

/// `{"user": null}`, with why the request's cookie was refused if it was: a logout asked for
/// with a cookie that was already refused did nothing, and the caller should know.
fn nobody<S: AppSession>(session: &S) -> HttpResponse {
    let mut body = json!({ "user": null });
    if let Some(reason) = session.refusal_reason() {
        body["refused"] = json!(reason);
    }
    HttpResponse::Ok().json(body)
}

/// Whether a request without a signed-in user still goes to the session's logout: when its
/// cookie was refused as revoked, it may be the retry of a logout not confirmed yet, which the
/// session answers only once it is.
fn retrying<S: AppSession>(session: &S) -> bool {
    session.refusal_reason() == Some("revoked")
}

async fn logout_everywhere<S: AppSession>(session: S) -> actix_web::Result<HttpResponse> {
    let signed_in = session.get::<String>(USER)?.is_some();
    if !signed_in && !retrying(&session) {
        return Ok(nobody(&session));
    }
    Ok(match session.purge_subject() {
        Ok(()) if signed_in => HttpResponse::Ok().json(json!({ "user": null })),
        Ok(()) => nobody(&session),
        Err(err) => logout_failed(&err),
    })
}

async fn logout_others<S: AppSession>(session: S) -> actix_web::Result<HttpResponse> {
    let user = session.get::<String>(USER)?;
    if user.is_none() && !retrying(&session) {
        return Ok(nobody(&session));
    }
    Ok(match (session.purge_other_sessions(), user) {
        (Ok(()), Some(user)) => HttpResponse::Ok().json(json!({ "user": user })),
        (Ok(()), None) => nobody(&session),
        (Err(err), _) => logout_failed(&err),
    })
}

#[derive(Debug, Deserialize)]
struct BigQuery {
    bytes: usize,
}

async fn big<S: AppSession>(
    session: S,
    query: web::Query<BigQuery>,
) -> actix_web::Result<HttpResponse> {
    if query.bytes > MAX_BIG {
        return Ok(HttpResponse::BadRequest()
            .json(json!({ "error": format!("`bytes` must be at most {MAX_BIG}") })));
    }
    let mut data = vec![0u8; query.bytes];
    rand::rng().fill_bytes(&mut data);
    // Over the limit, `?` answers the contract's `413`, and the session stays as it was.
    // `ByteBuf`: one MessagePack `bin` of N bytes, where a `Vec<u8>` is an array of numbers
    // (up to 2 bytes each).
    session.insert(BIG, serde_bytes::ByteBuf::from(data))?;
    Ok(HttpResponse::Ok().json(json!({ "stored": query.bytes })))
}
