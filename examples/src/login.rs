//! The login app on sealed cookie sessions: [`crate::contract`]'s routes, with
//! `sealed_session_actix::Session`.

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use sealed_session_actix::{CookieSessionMiddleware, Session, SessionInsertError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::contract::{AppSession, InsertError, RouteError};
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
/// A bad setting (`SESSION_KEYS`, `PORT`, `COOKIE_SECURE`, `REDIS_URL`), or a port that can't be
/// bound.
pub async fn run_from_env() -> Result<(), Box<dyn std::error::Error>> {
    let settings = SealedSettings::from_env()?;
    let port = settings.port;
    let mut sessions =
        CookieSessionMiddleware::builder(settings.keys).cookie_secure(settings.secure);
    if let Some(name) = settings.cookie_name {
        sessions = sessions.cookie_name(name);
    }
    if let Some(store) = settings.store {
        sessions = sessions.revocation_store(store);
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
    type Error = actix_web::Error;

    fn error_status(err: &actix_web::Error) -> u16 {
        crate::contract::actix_status(err)
    }

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

    /// Raises the user's revocation cutoff above every authentication stamp issued so far:
    /// every session of the user signed in before, on any instance, is refused.
    fn purge_subject(&self) -> Result<(), RouteError<actix_web::Error>> {
        Session::purge_subject(self).map_err(|err| RouteError::Session(err.into()))?;
        Ok(())
    }

    /// Raises the user's cutoff to this session's authentication stamp (the user's sessions
    /// signed in before this one are refused, later ones are not) and renews this one: a new
    /// id, the same stamp.
    fn purge_other_sessions(&self) -> Result<(), RouteError<actix_web::Error>> {
        Session::purge_other_sessions(self).map_err(|err| RouteError::Session(err.into()))?;
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
