//! The login app on actix-web and sealed cookie sessions: [`crate::contract`]'s routes, with
//! the session of [`crate::sealed`] (the same as the axum app's).

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use sealed_session_actix::{CookieSessionMiddleware, Session};

use crate::request_log;
use crate::settings::SealedSettings;

/// Registers the app's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    crate::contract::routes::<Session>(cfg);
}

/// Serves the app as `examples/login.rs` does, configured by the environment (see that file),
/// until the server stops.
///
/// # Errors
/// A bad setting (`SESSION_KEYS`, `PORT`, `COOKIE_SECURE`, `COOKIE_CHUNKS`, `REDIS_URL`), or a
/// port that can't be bound.
pub async fn run_from_env() -> Result<(), Box<dyn std::error::Error>> {
    let settings = SealedSettings::from_env()?;
    let port = settings.port;
    let sessions = settings.builder(CookieSessionMiddleware::builder).build()?;

    tracing::info!("listening on http://127.0.0.1:{port}");
    HttpServer::new(move || {
        App::new()
            .wrap(sessions.clone())
            // Outermost, so the time logged includes the session's work.
            .wrap(from_fn(request_log::log))
            .configure(routes)
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await?;
    Ok(())
}
