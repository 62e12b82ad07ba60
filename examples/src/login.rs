//! The login app on sealed cookie sessions: [`crate::contract`]'s routes, with
//! `sealed_session_actix::Session`.

use actix_web::web;
use sealed_session_actix::{Session, SessionInsertError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::contract::{AppSession, InsertError};

/// Registers the app's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    crate::contract::routes::<Session>(cfg);
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
