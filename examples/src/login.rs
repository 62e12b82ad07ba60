//! The login app on sealed cookie sessions: the JSON contract of `examples/README.md`.
//!
//! | route | does |
//! |---|---|
//! | `GET /` | the HTML page |
//! | `GET /whoami` | `{"user": string or null, "counter": int}`; reads only |
//! | `POST /login` | `user=<name>` as a form or JSON; renews the session, sets the user |
//! | `POST /counter` | increments the counter: `{"counter": n}` |
//! | `POST /logout` | purges the session (revoked server-side, cookie removed) |
//! | `POST /big?bytes=N` | stores N random bytes; `413` with a JSON error if the cookie can't hold them |

use actix_web::{HttpResponse, get, post, web};
use rand::RngCore as _;
use sealed_session_actix::{Session, SessionInsertError};
use serde::Deserialize;
use serde_json::json;

/// Registers the app's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(index)
        .service(whoami)
        .service(login)
        .service(counter)
        .service(logout)
        .service(big);
}

const USER: &str = "user";
const COUNTER: &str = "counter";
const BIG: &str = "big";
const MAX_USER_LEN: usize = 64;

#[get("/")]
async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(crate::page::HTML)
}

#[get("/whoami")]
async fn whoami(session: Session) -> actix_web::Result<HttpResponse> {
    let user = session.get::<String>(USER)?;
    let count = session.get::<u64>(COUNTER)?.unwrap_or(0);
    let mut body = json!({ "user": user, "counter": count });
    // Say why a cookie that came in was refused, so the page can tell the user.
    if let Some(refusal) = session.refusal() {
        body["refused"] = json!(refusal.reason());
    }
    Ok(HttpResponse::Ok().json(body))
}

/// The login form or JSON body.
#[derive(Debug, Deserialize)]
struct Login {
    user: String,
}

#[post("/login")]
async fn login(
    session: Session,
    body: web::Either<web::Form<Login>, web::Json<Login>>,
) -> actix_web::Result<HttpResponse> {
    let user = match body {
        web::Either::Left(form) => form.into_inner().user,
        web::Either::Right(json) => json.into_inner().user,
    };
    let user = user.trim();
    if user.is_empty() || user.len() > MAX_USER_LEN {
        return Ok(HttpResponse::BadRequest()
            .json(json!({ "error": "`user` must be 1 to 64 characters" })));
    }
    // A new id at login: a session id planted or copied before it is worthless after it.
    session.renew()?;
    session.set_subject(user)?;
    session.insert(USER, user)?;
    Ok(HttpResponse::Ok().json(json!({ "user": user })))
}

#[post("/counter")]
async fn counter(session: Session) -> actix_web::Result<HttpResponse> {
    let n = session.get::<u64>(COUNTER)?.unwrap_or(0) + 1;
    session.insert(COUNTER, n)?;
    Ok(HttpResponse::Ok().json(json!({ "counter": n })))
}

#[post("/logout")]
async fn logout(session: Session) -> HttpResponse {
    session.purge();
    HttpResponse::Ok().json(json!({ "user": null }))
}

#[derive(Debug, Deserialize)]
struct BigQuery {
    bytes: usize,
}

/// Largest `bytes` accepted: far past any cookie, small enough to never strain the server.
const MAX_BIG: usize = 1 << 20;

#[post("/big")]
async fn big(session: Session, query: web::Query<BigQuery>) -> actix_web::Result<HttpResponse> {
    if query.bytes > MAX_BIG {
        return Ok(HttpResponse::BadRequest()
            .json(json!({ "error": format!("`bytes` must be at most {MAX_BIG}") })));
    }
    let mut data = vec![0u8; query.bytes];
    rand::rng().fill_bytes(&mut data);
    match session.insert(BIG, data) {
        Ok(()) => Ok(HttpResponse::Ok().json(json!({ "stored": query.bytes }))),
        Err(SessionInsertError::TooLarge { size, limit }) => Ok(HttpResponse::PayloadTooLarge()
            .json(json!({
                "error": "the session would not fit in its cookie; nothing was changed",
                "size": size,
                "limit": limit,
            }))),
        Err(other) => Err(other.into()),
    }
}
