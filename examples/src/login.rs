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

    /// Also revokes the old id, so a copy of the pre-login cookie is refused as `revoked`.
    fn renew(&self) -> actix_web::Result<()> {
        Ok(Session::renew(self)?)
    }

    /// Revokes the session id (the revocation store answers for copies of the cookie until the
    /// session would have expired anyway) and removes the cookie.
    fn purge(&self) {
        Session::purge(self);
    }

    /// The subject is what `Session::purge_subject` logs out everywhere.
    fn set_subject(&self, user: &str) -> Result<(), InsertError> {
        Session::set_subject(self, user).map_err(insert_error)
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
