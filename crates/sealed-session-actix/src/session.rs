//! The per-request session handle that handlers use.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use sealed_session::{OpenError, SessionId, SessionState};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Settings;
use crate::error::{SessionGetError, SessionInsertError};

/// What a request did to its session; decides what the response writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionStatus {
    /// Not modified by this request.
    Unchanged,
    /// Modified: the response seals it again.
    Changed,
    /// Given a new id (the old one is revoked): the response seals it again.
    Renewed,
    /// Logged out: revoked server-side, and the response removes the cookie.
    Purged,
}

/// What the request's cookie turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IncomingCookie {
    /// The request carried no session cookie.
    Missing,
    /// The cookie opened: the session is the one it carried.
    Valid,
    /// The cookie was refused; the handler sees an empty session and the response removes the
    /// cookie.
    Refused(OpenError),
}

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
/// handler returns, so a handler that only reads writes no cookie.
#[derive(Clone)]
pub struct Session {
    pub(crate) inner: Rc<RefCell<Inner>>,
}

pub(crate) struct Inner {
    pub(crate) settings: Arc<Settings>,
    /// `None` until the session holds something: a session nobody wrote sets no cookie.
    pub(crate) state: Option<SessionState>,
    pub(crate) status: SessionStatus,
    pub(crate) incoming: IncomingCookie,
    /// An older key opened the cookie: re-seal it with the primary even if unchanged.
    pub(crate) reseal: bool,
}

impl Session {
    pub(crate) fn new(
        settings: Arc<Settings>,
        state: Option<SessionState>,
        incoming: IncomingCookie,
        reseal: bool,
    ) -> Self {
        Self {
            inner: Rc::new(RefCell::new(Inner {
                settings,
                state,
                status: SessionStatus::Unchanged,
                incoming,
                reseal,
            })),
        }
    }

    /// Decodes the value stored under `key`, or `None` if there is none.
    ///
    /// # Errors
    /// [`SessionGetError`] if the value does not decode as `T` (read it with the type it was
    /// inserted with).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionGetError> {
        match &self.inner.borrow().state {
            None => Ok(None),
            Some(state) => state.get(key).map_err(SessionGetError),
        }
    }

    /// Whether a value is stored under `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.inner
            .borrow()
            .state
            .as_ref()
            .is_some_and(|s| s.get_raw(key).is_some())
    }

    /// The keys stored, in sorted order.
    pub fn keys(&self) -> Vec<String> {
        self.inner
            .borrow()
            .state
            .as_ref()
            .map(|s| s.keys().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Stores `value` under `key`.
    ///
    /// The size is checked now: if the session would no longer fit in the cookie, this returns
    /// [`SessionInsertError::TooLarge`] and the session stays exactly as it was.
    ///
    /// # Errors
    /// [`SessionInsertError::TooLarge`] or [`SessionInsertError::Encode`].
    pub fn insert(&self, key: &str, value: impl Serialize) -> Result<(), SessionInsertError> {
        self.modify(|state| {
            let previous = state.insert(key, &value)?;
            Ok(Undo::Value(key.to_owned(), previous))
        })
    }

    /// Removes the value under `key`; returns whether there was one.
    pub fn remove(&self, key: &str) -> bool {
        let mut inner = self.inner.borrow_mut();
        let removed = inner
            .state
            .as_mut()
            .is_some_and(|s| s.remove(key).is_some());
        if removed {
            inner.mark(SessionStatus::Changed);
        }
        removed
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
        let mut inner = self.inner.borrow_mut();
        if let Some(state) = inner.state.as_mut()
            && !state.is_empty()
        {
            state.clear();
            inner.mark(SessionStatus::Changed);
        }
    }

    /// Gives the session a new id and a new lifetime, keeping its data, and revokes the old id.
    ///
    /// Call it at login and at every privilege change: a cookie planted or copied before the
    /// change (session fixation) then stops working. The absolute timeout counts from here.
    ///
    /// # Errors
    /// [`SessionInsertError::Seal`] if no new id can be drawn.
    pub fn renew(&self) -> Result<(), SessionInsertError> {
        let mut inner = self.inner.borrow_mut();
        let new_id = SessionId::random().map_err(SessionInsertError::from)?;
        let settings = Arc::clone(&inner.settings);
        match inner.state.as_mut() {
            Some(state) => {
                settings.codec.revoke(state);
                state.renew(new_id, settings.codec.now());
            }
            None => {
                inner.state = Some(SessionState::with_id(new_id, settings.codec.now()));
            }
        }
        inner.status = SessionStatus::Renewed;
        Ok(())
    }

    /// Logs out: revokes the session server-side (a copy of the cookie stops working), forgets
    /// its data and removes the cookie from the browser.
    pub fn purge(&self) {
        let mut inner = self.inner.borrow_mut();
        if let Some(state) = inner.state.take() {
            inner.settings.codec.revoke(&state);
        }
        inner.status = SessionStatus::Purged;
    }

    /// Logs out every session of the current subject ("sign out everywhere"), this one
    /// included. Does nothing if no subject is set.
    pub fn purge_subject(&self) {
        let subject = self.subject();
        if let Some(subject) = subject {
            self.inner.borrow().settings.codec.revoke_subject(&subject);
            self.purge();
        }
    }

    /// Logs out every other session of the current subject and keeps this one, renewed: call
    /// it after a password change ("sign out my other devices"). Returns `false`, changing
    /// nothing, if no subject is set.
    ///
    /// # Errors
    /// [`SessionInsertError::Seal`] if no new id can be drawn.
    pub fn purge_other_sessions(&self) -> Result<bool, SessionInsertError> {
        let mut inner = self.inner.borrow_mut();
        let settings = Arc::clone(&inner.settings);
        let Some(state) = inner.state.as_mut() else {
            return Ok(false);
        };
        let done = settings.codec.revoke_other_sessions(state)?;
        if done {
            inner.status = SessionStatus::Renewed;
        }
        Ok(done)
    }

    /// The session id, if the session exists (it is created by the first write).
    pub fn id(&self) -> Option<SessionId> {
        self.inner.borrow().state.as_ref().map(SessionState::id)
    }

    /// Whose session this is, if set at login.
    pub fn subject(&self) -> Option<String> {
        self.inner
            .borrow()
            .state
            .as_ref()
            .and_then(|s| s.subject().map(str::to_owned))
    }

    /// Sets who the session belongs to (e.g. the user id, at login), so that all of a user's
    /// sessions can be revoked at once.
    ///
    /// # Errors
    /// [`SessionInsertError::TooLarge`] if the subject doesn't fit in the cookie.
    pub fn set_subject(&self, subject: impl Into<String>) -> Result<(), SessionInsertError> {
        let subject = subject.into();
        self.modify(|state| {
            let previous = state.subject().map(str::to_owned);
            state.set_subject(Some(subject));
            Ok(Undo::Subject(previous))
        })
    }

    /// What this request did to the session so far.
    pub fn status(&self) -> SessionStatus {
        self.inner.borrow().status
    }

    /// What the request's cookie was: missing, valid, or refused and why (e.g. to tell the user
    /// "your session expired, please sign in again").
    pub fn incoming(&self) -> IncomingCookie {
        self.inner.borrow().incoming.clone()
    }

    /// Why the request's cookie was refused, if it was.
    pub fn refusal(&self) -> Option<OpenError> {
        match &self.inner.borrow().incoming {
            IncomingCookie::Refused(err) => Some(err.clone()),
            _ => None,
        }
    }

    /// Applies `change`, then checks the size; undoes the change if it doesn't fit.
    fn modify(
        &self,
        change: impl FnOnce(&mut SessionState) -> Result<Undo, SessionInsertError>,
    ) -> Result<(), SessionInsertError> {
        let mut inner = self.inner.borrow_mut();
        let settings = Arc::clone(&inner.settings);
        let created_here = inner.state.is_none();
        let state = match inner.state.as_mut() {
            Some(state) => state,
            None => inner.state.insert(settings.codec.new_session()?),
        };
        let undo = change(state)?;
        if let Err(err) = settings.codec.check_size(state) {
            undo.apply(state);
            if created_here {
                inner.state = None;
            }
            return Err(err.into());
        }
        inner.mark(SessionStatus::Changed);
        Ok(())
    }
}

/// How to take back a change that made the session too large.
enum Undo {
    Value(String, Option<Vec<u8>>),
    Subject(Option<String>),
}

impl Undo {
    fn apply(self, state: &mut SessionState) {
        match self {
            Self::Value(key, Some(previous)) => {
                state.insert_raw(&key, previous);
            }
            Self::Value(key, None) => {
                state.remove(&key);
            }
            Self::Subject(previous) => state.set_subject(previous),
        }
    }
}

impl Inner {
    /// Records a change without downgrading a stronger status (renewed or purged).
    fn mark(&mut self, status: SessionStatus) {
        if self.status == SessionStatus::Unchanged {
            self.status = status;
        } else if self.status == SessionStatus::Purged && status == SessionStatus::Changed {
            // Writing after a purge starts a fresh session.
            self.status = SessionStatus::Renewed;
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("Session")
            .field("state", &inner.state)
            .field("status", &inner.status)
            .field("incoming", &inner.incoming)
            .finish_non_exhaustive()
    }
}
