//! The login app on sealed cookie sessions: [`crate::contract`]'s routes, with
//! `sealed_session_actix::Session`.

use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use sealed_session::{KeyRing, SecretKey};
use sealed_session_actix::{CookieSessionMiddleware, Session, SessionInsertError};
use sealed_session_redis::RedisRevocationStore;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::contract::{AppSession, InsertError};
use crate::{request_log, settings};

/// Registers the app's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    crate::contract::routes::<Session>(cfg);
}

/// Serves the app as `examples/login.rs` does, configured by the environment (see that file),
/// until the server stops.
///
/// # Errors
/// A bad setting (`SESSION_KEYS`, `PORT`, `COOKIE_SECURE`, `REDIS_URL`), or a port that can't be
/// bound.
pub async fn run_from_env() -> Result<(), Box<dyn std::error::Error>> {
    let keys = match std::env::var("SESSION_KEYS") {
        Ok(_) => KeyRing::from_env("SESSION_KEYS")?,
        Err(_) => {
            tracing::warn!(
                "SESSION_KEYS is not set: using a throwaway key generated for this run. \
                 Sessions will not survive a restart. NEVER run like this in production: \
                 set SESSION_KEYS to the output of `openssl rand -base64 32`."
            );
            KeyRing::new(SecretKey::generate())
        }
    };
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT must be a port number, got `{p}`"))?,
        Err(_) => 8080,
    };
    let secure = settings::cookie_secure()?;

    let mut sessions = CookieSessionMiddleware::builder(keys).cookie_secure(secure);
    if let Ok(name) = std::env::var("COOKIE_NAME") {
        sessions = sessions.cookie_name(name);
    }
    if let Ok(url) = std::env::var("REDIS_URL") {
        // Waits up to 2 s for the shared list (and says so if Redis is not there: signed-in
        // sessions are then refused until it is loaded). A logout is answered once Redis has it,
        // or `503` after 250 ms.
        let store = RedisRevocationStore::builder(url).build()?;
        sessions = sessions.revocation_store(Arc::new(store));
    } else {
        tracing::info!("REDIS_URL is not set: logouts are revoked in this process only");
    }
    let sessions = sessions.build()?;

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

// `Session::method(self, ..)` below is the inherent method: inherent methods come before trait
// methods of the same name.
impl AppSession for Session {
    fn get<T: DeserializeOwned>(&self, key: &str) -> actix_web::Result<Option<T>> {
        Ok(Session::get(self, key)?)
    }

    /// The limit is the cookie's: `insert` seals the session now and measures the cookie.
    fn insert(&self, key: &str, value: impl Serialize) -> Result<(), InsertError> {
        Session::insert(self, key, value).map_err(insert_error)
    }

    /// A new session for `user` as its subject (what `purge_subject` logs out everywhere); a
    /// signed-in session it replaces is revoked.
    fn sign_in(&self, user: &str) -> actix_web::Result<()> {
        Ok(Session::sign_in(self, user)?)
    }

    /// Revokes the session (the revocation store answers for copies of the cookie until the
    /// session would have expired anyway) and removes the cookie.
    fn purge(&self) -> actix_web::Result<()> {
        Ok(Session::purge(self)?)
    }

    /// Advances the user's revocation generation: every session signed in before is refused.
    fn purge_subject(&self) -> actix_web::Result<()> {
        Session::purge_subject(self)?;
        Ok(())
    }

    /// Advances the user's generation and gives only this session the new one.
    fn purge_other_sessions(&self) -> actix_web::Result<()> {
        Session::purge_other_sessions(self)?;
        Ok(())
    }

    fn refusal_reason(&self) -> Option<&'static str> {
        self.refusal().map(|refusal| refusal.reason())
    }
}

fn insert_error(err: SessionInsertError) -> InsertError {
    match err {
        SessionInsertError::TooLarge { size, limit } => InsertError::TooLarge { size, limit },
        other => InsertError::Other(other.into()),
    }
}
