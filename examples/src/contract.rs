//! The login app's routes and JSON contract, written once for both session models: sealed cookie
//! sessions ([`crate::login`]) and actix-session's Redis store ([`crate::server_store`]).
//!
//! | route | does |
//! |---|---|
//! | `GET /` | the HTML page |
//! | `GET /whoami` | `{"user": string or null, "counter": int}`; reads only, never writes |
//! | `POST /login` | `user=<name>` as a form or JSON; renews the session, sets the user |
//! | `POST /counter` | increments the counter: `{"counter": n}` |
//! | `POST /logout` | purges the session: a copy of the old cookie stops working |
//! | `POST /big?bytes=N` | stores N random bytes; `413` with a JSON error if the session can't hold them |
//!
//! The handlers are generic over [`AppSession`]: the two `Session` types have the same method
//! names (`get`, `insert`, `renew`, `purge`) but not quite the same signatures, so each app
//! implements the trait in a few lines and the handlers exist once.

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

    /// Gives the session a new id, keeping its data; the old id stops working.
    ///
    /// # Errors
    /// When no new id can be drawn (an opaque `500`).
    fn renew(&self) -> actix_web::Result<()>;

    /// Logs out: forgets the data, removes the cookie, and makes a copy of it worthless.
    fn purge(&self);

    /// Records whom the session belongs to, where the session model keeps that apart from the
    /// data. Does nothing by default.
    ///
    /// # Errors
    /// As [`AppSession::insert`].
    fn set_subject(&self, user: &str) -> Result<(), InsertError> {
        let _ = user;
        Ok(())
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

/// Registers the routes, with sessions of type `S`.
pub fn routes<S: AppSession>(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/whoami", web::get().to(whoami::<S>))
        .route("/login", web::post().to(login::<S>))
        .route("/counter", web::post().to(counter::<S>))
        .route("/logout", web::post().to(logout::<S>))
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
    // A new id at login: a session id planted or copied before it is worthless after it.
    session.renew()?;
    session.set_subject(user)?;
    session.insert(USER, user)?;
    Ok(HttpResponse::Ok().json(json!({ "user": user })))
}

async fn counter<S: AppSession>(session: S) -> actix_web::Result<HttpResponse> {
    let n = session.get::<u64>(COUNTER)?.unwrap_or(0) + 1;
    session.insert(COUNTER, n)?;
    Ok(HttpResponse::Ok().json(json!({ "counter": n })))
}

async fn logout<S: AppSession>(session: S) -> HttpResponse {
    session.purge();
    HttpResponse::Ok().json(json!({ "user": null }))
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
    session.insert(BIG, data)?;
    Ok(HttpResponse::Ok().json(json!({ "stored": query.bytes })))
}
