//! The per-request session handle that handlers use: a shared handle on the lifecycle's
//! [`RequestSession`].

use std::cell::RefCell;
use std::rc::Rc;

use sealed_session::{IncomingCookie, OpenError, RequestSession, SessionId, SessionStatus};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{SessionError, SessionGetError, SessionInsertError};

/// The session of the current request, extracted in handlers:
///
/// ```
/// use actix_web::{HttpResponse, post};
/// use sealed_session_actix::Session;
///
/// #[post("/counter")]
/// async fn counter(session: Session) -> actix_web::Result<HttpResponse> {
///     let n = session.get::<u64>("counter")?.unwrap_or(0) + 1;
///     session.insert("counter", n)?; // fails at once if the cookie would be too large
///     Ok(HttpResponse::Ok().json(n))
/// }
/// ```
///
/// Cheap to clone; clones share the same session. Changes are written to the response when the
/// handler returns, so a handler that only reads writes no cookie. Every method is a thin call
/// into `sealed_session::RequestSession`, where the rules live.
#[derive(Clone)]
pub struct Session {
    inner: Rc<RefCell<RequestSession>>,
}

impl Session {
    pub(crate) fn new(session: RequestSession) -> Self {
        Self {
            inner: Rc::new(RefCell::new(session)),
        }
    }

    /// The lifecycle's session, for the middleware to finish the response with.
    pub(crate) fn request_session(&self) -> &RefCell<RequestSession> {
        &self.inner
    }

    /// Decodes the value stored under `key`, or `None` if there is none.
    ///
    /// # Errors
    /// [`SessionGetError`] if the value does not decode as `T` (read it with the type it was
    /// inserted with).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionGetError> {
        self.inner.borrow().get(key).map_err(SessionGetError)
    }

    /// Whether a value is stored under `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.inner.borrow().contains_key(key)
    }

    /// The keys stored, in sorted order.
    pub fn keys(&self) -> Vec<String> {
        self.inner.borrow().keys().map(str::to_owned).collect()
    }

    /// Stores `value` under `key`.
    ///
    /// The size is checked now: if the session would no longer fit in the cookie, this returns
    /// [`SessionInsertError::TooLarge`] and the session stays exactly as it was.
    ///
    /// # Errors
    /// [`SessionInsertError::TooLarge`] or [`SessionInsertError::Encode`].
    pub fn insert(&self, key: &str, value: impl Serialize) -> Result<(), SessionInsertError> {
        Ok(self.inner.borrow_mut().insert(key, &value)?)
    }

    /// Removes the value under `key`; returns whether there was one.
    pub fn remove(&self, key: &str) -> bool {
        self.inner.borrow_mut().remove(key).is_some()
    }

    /// Removes and decodes the value under `key`.
    ///
    /// # Errors
    /// [`SessionGetError`] if it does not decode as `T` (it is removed all the same).
    pub fn remove_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionGetError> {
        let value = self.get(key);
        self.remove(key);
        value
    }

    /// Removes every value; the session itself (id, subject, times) goes on. To log out, use
    /// [`Session::purge`].
    pub fn clear(&self) {
        self.inner.borrow_mut().clear();
    }

    /// Gives the session a new id and a new lifetime, keeping its data, and revokes the old id
    /// if the session has a subject. At login, use [`Session::sign_in`], which also drops
    /// every value from before the login.
    ///
    /// # Errors
    /// [`SessionError`] if no new id can be drawn or the old one can't be revoked (the session
    /// is left as it was).
    pub fn renew(&self) -> Result<(), SessionError> {
        Ok(self.inner.borrow_mut().renew()?)
    }

    /// Signs `subject` in (e.g. the user id, after checking the password): a new session with
    /// a new id and no values from before, belonging to `subject`. A cookie planted before the
    /// login (session fixation) is worthless after it, and carries none of its values over.
    ///
    /// # Errors
    /// [`SessionError`] if no new id can be drawn, the old session can't be revoked, or the
    /// subject doesn't fit in the cookie (the session is left as it was).
    pub fn sign_in(&self, subject: impl Into<String>) -> Result<(), SessionError> {
        Ok(self.inner.borrow_mut().sign_in(subject)?)
    }

    /// Logs out: revokes the session server-side (a copy of the cookie stops working), forgets
    /// its data and removes the cookie from the browser.
    ///
    /// # Errors
    /// [`SessionError`] (a `503` as a response) if the revocation could not be recorded: the
    /// session is left as it was, so answer "try again" rather than claim the logout.
    pub fn purge(&self) -> Result<(), SessionError> {
        Ok(self.inner.borrow_mut().purge()?)
    }

    /// Logs out every session of the current subject ("log out everywhere"), this one
    /// included. Returns `false`, changing nothing, if no subject is set.
    ///
    /// # Errors
    /// As [`Session::purge`].
    pub fn purge_subject(&self) -> Result<bool, SessionError> {
        Ok(self.inner.borrow_mut().purge_subject()?)
    }

    /// Logs out every other session of the current subject and keeps this one, renewed: call
    /// it after a password change ("sign out my other devices"). Returns `false`, changing
    /// nothing, if no subject is set. A concurrent "log out everywhere" wins: this session is
    /// then purged and the error says so.
    ///
    /// # Errors
    /// [`SessionError`]: see `sealed_session::RequestSession::purge_other_sessions`.
    pub fn purge_other_sessions(&self) -> Result<bool, SessionError> {
        Ok(self.inner.borrow_mut().purge_other_sessions()?)
    }

    /// The session id, if the session exists (it is created by the first write).
    pub fn id(&self) -> Option<SessionId> {
        self.inner.borrow().id()
    }

    /// Whose session this is, if set at login.
    pub fn subject(&self) -> Option<String> {
        self.inner.borrow().subject().map(str::to_owned)
    }

    /// Sets who the session belongs to (e.g. the user id), so that all of a user's sessions
    /// can be revoked at once. At login, prefer [`Session::sign_in`].
    ///
    /// # Errors
    /// [`SessionInsertError::TooLarge`] if the subject doesn't fit in the cookie.
    pub fn set_subject(&self, subject: impl Into<String>) -> Result<(), SessionInsertError> {
        Ok(self.inner.borrow_mut().set_subject(subject)?)
    }

    /// What this request did to the session so far.
    pub fn status(&self) -> SessionStatus {
        self.inner.borrow().status()
    }

    /// What the request's cookie was: missing, valid, or refused and why (e.g. to tell the user
    /// "your session expired, please sign in again").
    pub fn incoming(&self) -> IncomingCookie {
        self.inner.borrow().incoming().clone()
    }

    /// Why the request's cookie was refused, if it was.
    pub fn refusal(&self) -> Option<OpenError> {
        self.inner.borrow().refusal()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.borrow().fmt(f)
    }
}
