//! Server for the HTTP benchmark (`benches/http/run.sh`): the same two routes behind no session
//! middleware, behind sealed-session, and behind actix-session's `CookieSessionStore`.
//!
//! Run with: `cargo run --release -p sealed-session-http-bench -- <none|ours|actix-session> <port>`
//!
//! Routes: `POST /seed` stores the typical session (user id, role, a 3-item cart);
//! `GET /read` reads the user id; `POST /write` increments a counter. One worker, loopback only.

use actix_web::{App, HttpResponse, HttpServer, web};
use serde::{Deserialize, Serialize};

/// One cart line of the typical session.
#[derive(Serialize, Deserialize)]
struct CartItem {
    sku: String,
    quantity: u16,
}

fn cart() -> Vec<CartItem> {
    ["sku-1001", "sku-2002", "sku-3003"]
        .into_iter()
        .enumerate()
        .map(|(i, sku)| CartItem {
            sku: sku.to_owned(),
            quantity: u16::try_from(i + 1).unwrap_or(1),
        })
        .collect()
}

const USER_ID: u64 = 1_234_567;

/// The routes, written once per session type (the two `Session` types share method names).
macro_rules! routes {
    ($session:ty) => {{
        async fn seed(session: $session) -> actix_web::Result<HttpResponse> {
            session.insert("user_id", USER_ID)?;
            session.insert("role", "admin")?;
            session.insert("cart", cart())?;
            Ok(HttpResponse::Ok().finish())
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
        |cfg: &mut web::ServiceConfig| {
            cfg.route("/seed", web::post().to(seed))
                .route("/read", web::get().to(read))
                .route("/write", web::post().to(write));
        }
    }};
}

fn bare(cfg: &mut web::ServiceConfig) {
    async fn seed() -> HttpResponse {
        HttpResponse::Ok().finish()
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

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(kind), Some(port)) = (args.next(), args.next()) else {
        eprintln!("usage: bench-server <none|ours|actix-session> <port>");
        std::process::exit(2);
    };
    let port: u16 = port.parse().map_err(std::io::Error::other)?;
    let addr = ("127.0.0.1", port);
    match kind.as_str() {
        "none" => {
            HttpServer::new(|| App::new().configure(bare))
                .workers(1)
                .bind(addr)?
                .run()
                .await
        }
        "ours" => {
            let ring = sealed_session::KeyRing::new(sealed_session::SecretKey::generate());
            let mw = sealed_session_actix::CookieSessionMiddleware::builder(ring)
                .cookie_secure(false)
                .build()
                .map_err(std::io::Error::other)?;
            let routes = routes!(sealed_session_actix::Session);
            HttpServer::new(move || App::new().wrap(mw.clone()).configure(routes))
                .workers(1)
                .bind(addr)?
                .run()
                .await
        }
        "actix-session" => {
            let key = actix_web::cookie::Key::generate();
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
            .workers(1)
            .bind(addr)?
            .run()
            .await
        }
        other => {
            eprintln!("unknown server kind `{other}`: use none, ours or actix-session");
            std::process::exit(2);
        }
    }
}
