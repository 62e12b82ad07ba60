//! The per-request session handle that handlers use: a shared handle on the lifecycle's
//! [`RequestSession`], with actix-session's method names and shapes.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use sealed_session::{
    CookieUpdate, IncomingCookie, LOG_TARGET, OpenError, RequestSession, SealError, SessionId,
    SessionStatus, SessionValue,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{
    MissingMiddleware, SessionError, SessionGetError, SessionInsertError, SessionUpdateError,
};

/// The session of the current request, extracted in handlers:
///
/// ```
/// use actix_web::{HttpResponse, post};
/// use sealed_session_actix::Session;
///
/// #[post("/counter")]
/// async fn counter(session: Session) -> actix_web::Result<HttpResponse> {
///     // Fails at once if the cookie would be too large.
///     session.update_or("counter", 1u64, |n| n + 1)?;
///     Ok(HttpResponse::Ok().json(session.get::<u64>("counter")?))
/// }
/// ```
///
/// Also reachable through [`SessionExt::get_session`](crate::SessionExt::get_session) from an
/// `HttpRequest`, a `ServiceRequest` or `ServiceResponse` (in a `wrap_fn` middleware) and a
/// guard's `GuardContext`.
///
/// Cheap to clone; clones share the same session. Changes are written to the response when the
/// handler returns, so a handler that only reads writes no cookie. Every method is a thin call
/// into `sealed_session::RequestSession`, where the rules live.
///
/// Where [`CookieSessionMiddleware`](crate::CookieSessionMiddleware) does not run (a route it
/// doesn't wrap, or code that runs after it wrote the response's cookie), the session is
/// *detached*: it reads as empty and every write fails with
/// [`MissingMiddleware`](crate::MissingMiddleware), logged under [`LOG_TARGET`], rather than
/// being lost as actix-session's are. The extractor refuses such a route outright.
#[derive(Clone)]
pub struct Session {
    handle: Handle,
}

#[derive(Clone)]
enum Handle {
    /// The middleware's session for this request.
    Attached(Rc<Attached>),
    /// No middleware: an empty session that refuses writes.
    Detached,
}

struct Attached {
    session: RefCell<RequestSession>,
    /// The middleware wrote the response's cookie: later writes would never be sent.
    written: Cell<bool>,
}

impl Session {
    pub(crate) fn new(session: RequestSession) -> Self {
        Self {
            handle: Handle::Attached(Rc::new(Attached {
                session: RefCell::new(session),
                written: Cell::new(false),
            })),
        }
    }

    /// The session of a request the middleware doesn't wrap.
    pub(crate) fn detached() -> Self {
        Self {
            handle: Handle::Detached,
        }
    }

    /// Decides the response's cookie (see `RequestSession::finish`); every write after this
    /// fails, since nothing would send it.
    pub(crate) fn finish(&self) -> Result<CookieUpdate, SealError> {
        match &self.handle {
            Handle::Attached(attached) => {
                attached.written.set(true);
                attached.session.borrow_mut().finish()
            }
            Handle::Detached => Ok(CookieUpdate::None),
        }
    }

    /// The removal header of an actix-session cookie the legacy reader found (see
    /// `RequestSession::legacy_removal`).
    pub(crate) fn legacy_removal(&self) -> Option<String> {
        self.read(None, |s| s.legacy_removal().map(str::to_owned))
    }

    /// `read` on the session, or `detached` without one.
    fn read<R>(&self, detached: R, read: impl FnOnce(&RequestSession) -> R) -> R {
        match &self.handle {
            Handle::Attached(attached) => read(&attached.session.borrow()),
            Handle::Detached => detached,
        }
    }

    /// `write` on the session, or [`MissingMiddleware`] (logged) if no response will carry it.
    fn write<R>(
        &self,
        write: impl FnOnce(&mut RequestSession) -> R,
    ) -> Result<R, MissingMiddleware> {
        match &self.handle {
            Handle::Attached(attached) if !attached.written.get() => {
                Ok(write(&mut attached.session.borrow_mut()))
            }
            _ => {
                tracing::error!(target: LOG_TARGET, "session write refused: {MissingMiddleware}");
                Err(MissingMiddleware)
            }
        }
    }

    /// Decodes the value stored under `key`, or `None` if there is none.
    ///
    /// ```
    /// use sealed_session_actix::Session;
    ///
    /// fn user_id(session: &Session) -> actix_web::Result<Option<u64>> {
    ///     // A value stored with another type is an error, never another value.
    ///     Ok(session.get::<u64>("user_id")?)
    /// }
    /// ```
    ///
    /// # Errors
    /// [`SessionGetError`] if the value does not decode as `T` (read it with the type it was
    /// inserted with).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionGetError> {
        self.read(Ok(None), |s| s.get(key).map_err(SessionGetError))
    }

    /// Whether a value is stored under `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.read(false, |s| s.contains_key(key))
    }

    /// The keys stored, in sorted order.
    pub fn keys(&self) -> Vec<String> {
        self.read(Vec::new(), |s| s.keys().map(str::to_owned).collect())
    }

    /// Every value, in key order, still encoded: a snapshot that later writes don't change.
    ///
    /// actix-session's `entries` borrows a map of JSON strings; values here are MessagePack,
    /// so each [`SessionValue`] gives its [`key`](SessionValue::key) and decodes with
    /// [`decode`](SessionValue::decode).
    ///
    /// ```
    /// use sealed_session_actix::Session;
    ///
    /// fn dump(session: &Session) -> Vec<String> {
    ///     session
    ///         .entries()
    ///         .iter()
    ///         .map(|value| format!("{}: {} bytes", value.key(), value.as_bytes().len()))
    ///         .collect()
    /// }
    /// ```
    pub fn entries(&self) -> Vec<SessionValue> {
        self.read(Vec::new(), |s| s.values().collect())
    }

    /// Stores `value` under `key`.
    ///
    /// The size is checked now: if the session would no longer fit in the cookie, this returns
    /// [`SessionInsertError::TooLarge`] and the session stays exactly as it was.
    ///
    /// ```
    /// use actix_web::HttpResponse;
    /// use sealed_session_actix::{Session, SessionInsertError};
    ///
    /// fn remember(session: &Session, note: String) -> actix_web::Result<HttpResponse> {
    ///     match session.insert("note", note) {
    ///         Ok(()) => Ok(HttpResponse::Ok().finish()),
    ///         Err(SessionInsertError::TooLarge { .. }) => {
    ///             Ok(HttpResponse::PayloadTooLarge().finish())
    ///         }
    ///         Err(other) => Err(other.into()),
    ///     }
    /// }
    /// ```
    ///
    /// # Errors
    /// [`SessionInsertError::TooLarge`], [`SessionInsertError::Encode`], or
    /// [`SessionInsertError::MissingMiddleware`] on a detached session.
    pub fn insert<T: Serialize>(
        &self,
        key: impl Into<String>,
        value: T,
    ) -> Result<(), SessionInsertError> {
        Ok(self.write(|s| s.insert(&key.into(), &value))??)
    }

    /// Replaces the value under `key` with what `updater` makes of it, if there is one; an
    /// absent key stays absent (see [`Session::update_or`]). As actix-session's, except that
    /// the change is always written (actix-session 0.11's `update` does not mark the session
    /// changed, so its change is lost unless something else writes).
    ///
    /// ```
    /// use sealed_session_actix::{Session, SessionUpdateError};
    ///
    /// fn add_to_cart(session: &Session, sku: &str) -> Result<(), SessionUpdateError> {
    ///     // No cart yet: nothing happens (use `update_or` to start one).
    ///     session.update("cart", |mut cart: Vec<String>| {
    ///         cart.push(sku.to_owned());
    ///         cart
    ///     })
    /// }
    /// ```
    ///
    /// # Errors
    /// [`SessionUpdateError::Get`] if the stored value is not a `T` (`updater` is not
    /// called), [`SessionUpdateError::Insert`] if the new value can't be stored. The session is
    /// left as it was.
    pub fn update<T, F>(&self, key: impl Into<String>, updater: F) -> Result<(), SessionUpdateError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(T) -> T,
    {
        let key = key.into();
        if !self.contains_key(&key) {
            return Ok(());
        }
        self.write(|s| s.update(&key, updater))??;
        Ok(())
    }

    /// [`Session::update`], or stores `default_value` if `key` is absent (`updater` is then
    /// not called), as actix-session's.
    ///
    /// ```
    /// use sealed_session_actix::{Session, SessionUpdateError};
    ///
    /// fn count_visit(session: &Session) -> Result<(), SessionUpdateError> {
    ///     session.update_or("visits", 1u64, |n| n + 1)
    /// }
    /// ```
    ///
    /// # Errors
    /// As [`Session::update`]; the session is left as it was.
    pub fn update_or<T, F>(
        &self,
        key: impl Into<String>,
        default_value: T,
        updater: F,
    ) -> Result<(), SessionUpdateError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(T) -> T,
    {
        let key = key.into();
        Ok(self.write(|s| s.update_or(&key, default_value, updater))??)
    }

    /// Removes the value under `key` and returns it, still encoded, if there was one.
    ///
    /// actix-session returns the JSON string; decode a [`SessionValue`] with
    /// [`decode`](SessionValue::decode), or use [`Session::remove_as`]. A detached session
    /// holds nothing, so this returns `None` (and logs the missing middleware).
    ///
    /// ```
    /// use sealed_session_actix::Session;
    ///
    /// fn take_cart(session: &Session) -> actix_web::Result<Vec<String>> {
    ///     let Some(value) = session.remove("cart") else {
    ///         return Ok(Vec::new());
    ///     };
    ///     // A value of another type is an error (a `500`), not an empty cart.
    ///     value.decode().map_err(actix_web::error::ErrorInternalServerError)
    /// }
    /// ```
    pub fn remove(&self, key: &str) -> Option<SessionValue> {
        self.write(|s| s.remove(key)).ok().flatten()
    }

    /// Removes the value under `key` and decodes it as a `T`: `None` if there was none,
    /// `Some(Err(value))` with the removed value, still encoded, if it is not a `T`. The shape
    /// of actix-session's, whose `Err` holds the JSON string; the reason is one
    /// [`decode`](SessionValue::decode) away.
    ///
    /// ```
    /// use sealed_session_actix::Session;
    ///
    /// fn take_flash(session: &Session) -> Option<String> {
    ///     match session.remove_as::<String>("flash")? {
    ///         Ok(message) => Some(message),
    ///         // Removed all the same; say what it was instead of failing the request.
    ///         Err(value) => Some(format!("({} bytes of another type)", value.as_bytes().len())),
    ///     }
    /// }
    /// ```
    pub fn remove_as<T: DeserializeOwned>(&self, key: &str) -> Option<Result<T, SessionValue>> {
        self.write(|s| s.remove_as(key)).ok().flatten()
    }

    /// Removes every value; the session itself (id, subject, times) goes on. To log out, use
    /// [`Session::purge`]. On a detached session, logs the missing middleware and does nothing.
    pub fn clear(&self) {
        let _ = self.write(RequestSession::clear);
    }

    /// Gives the session a new id, keeping its data, its subject with its authentication stamp,
    /// and its absolute deadline (only a sign-in starts a new absolute window), and revokes the
    /// old id if the session has a subject (or anonymous sessions are revoked too). At login,
    /// use [`Session::sign_in`], which also drops every value from before the login.
    ///
    /// Unlike actix-session's, which returns `()`, this returns a `Result`: revoking the old id
    /// can fail (a shared revocation store that did not confirm it, or, for an anonymous
    /// session with `revoke_anonymous_sessions`, a full one), and a renewal that left the old
    /// id valid must not pass for done.
    ///
    /// # Errors
    /// [`SessionError`] if no new id can be drawn or the old one can't be revoked (the session
    /// is left as it was), or on a detached session. Two errors come after the fact: when the
    /// shared store did not confirm the old id's revocation in time (a `503`), the renewal is
    /// done and the old id refused here; when the session was logged out meanwhile, or its old
    /// id's revocation folded into a cutoff that ends it too (a `401`), it is purged: see
    /// `sealed_session::RequestSession::renew`.
    #[must_use = "a renewal can fail (the old id not revoked): handle the error"]
    pub fn renew(&self) -> Result<(), SessionError> {
        Ok(self.write(RequestSession::renew)??)
    }

    /// Records a new authentication of the session's user: call it after checking the password
    /// (or a second factor) again, for instance before "sign out my other devices". The
    /// session keeps its values and gets a new id, an authentication stamp fresher than every
    /// other session of the user this instance knows of, and a new absolute window; the old id
    /// is revoked. Returns `false`, changing nothing, if no subject is set. See
    /// `sealed_session::RequestSession::reauthenticate`.
    ///
    /// # Errors
    /// [`SessionError`] as for [`Session::renew`].
    #[must_use = "a re-authentication can fail: handle the error"]
    pub fn reauthenticate(&self) -> Result<bool, SessionError> {
        Ok(self.write(RequestSession::reauthenticate)??)
    }

    /// Signs `subject` in (e.g. the user id, after checking the password): a new session with
    /// a new id and no values from before, belonging to `subject`. A cookie planted before the
    /// login (session fixation) is worthless after it, and carries none of its values over.
    ///
    /// # Errors
    /// [`SessionError`] if no new id can be drawn, the old session can't be revoked, or the
    /// subject doesn't fit in the cookie (the session is left as it was), or on a detached
    /// session. When the shared store did not confirm in time the revocation of the signed-in
    /// session this one replaces (a `503`), the sign-in is done all the same.
    #[must_use = "a sign-in can fail: handle the error"]
    pub fn sign_in(&self, subject: impl Into<String>) -> Result<(), SessionError> {
        Ok(self.write(|s| s.sign_in(subject))??)
    }

    /// Logs out: revokes the session server-side (a copy of the cookie stops working), forgets
    /// its data and removes the cookie from the browser.
    ///
    /// Unlike actix-session's, which returns `()`, this returns a `Result`: a logout that
    /// could not be recorded is an error, never a silent success.
    ///
    /// # Errors
    /// [`SessionError`] (a `503` as a response) if the revocation could not be recorded: the
    /// session is left as it was, so answer "try again" rather than claim the logout. A `500`
    /// on a detached session.
    #[must_use = "a logout can fail (the revocation not recorded): handle the error"]
    pub fn purge(&self) -> Result<(), SessionError> {
        Ok(self.write(RequestSession::purge)??)
    }

    /// Logs out every session of the current subject ("log out everywhere"), this one
    /// included, whatever instance signed it in and whatever a renewal or a sign-out-others
    /// kept: the subject's cutoff rises above every authentication stamp issued so far. Never
    /// refused for lack of room. Returns `false`, changing nothing, if no subject is set.
    ///
    /// # Errors
    /// As [`Session::purge`].
    #[must_use = "a logout can fail: handle the error"]
    pub fn purge_subject(&self) -> Result<bool, SessionError> {
        Ok(self.write(RequestSession::purge_subject)??)
    }

    /// Logs out every session of the current subject authenticated before this one, and
    /// keeps this one, renewed (a new id; the same authentication stamp and absolute
    /// deadline): call it after a password change ("sign out my other devices"). Sessions
    /// authenticated after this one are never ended, so a stolen copy of an older cookie can't
    /// end the owner's newer session; to make this session the freshest, check the password
    /// again and [`Session::sign_in`] first. Returns `false`, changing nothing, if no subject
    /// is set. A "log out everywhere" that came first wins: this session is then purged and
    /// the error says so (a `401`).
    ///
    /// # Errors
    /// [`SessionError`]: see `sealed_session::RequestSession::purge_other_sessions`.
    #[must_use = "a logout can fail: handle the error"]
    pub fn purge_other_sessions(&self) -> Result<bool, SessionError> {
        Ok(self.write(RequestSession::purge_other_sessions)??)
    }

    /// The session id, if the session exists (it is created by the first write).
    pub fn id(&self) -> Option<SessionId> {
        self.read(None, RequestSession::id)
    }

    /// Whose session this is, if set at login.
    pub fn subject(&self) -> Option<String> {
        self.read(None, |s| s.subject().map(str::to_owned))
    }

    /// Sets who the session belongs to (e.g. the user id), so that all of a user's sessions
    /// can be revoked at once. At login, prefer [`Session::sign_in`].
    ///
    /// # Errors
    /// [`SessionInsertError::TooLarge`] if the subject doesn't fit in the cookie,
    /// [`SessionInsertError::MissingMiddleware`] on a detached session.
    pub fn set_subject(&self, subject: impl Into<String>) -> Result<(), SessionInsertError> {
        Ok(self.write(|s| s.set_subject(subject))??)
    }

    /// What this request did to the session so far (`Unchanged` on a detached session).
    pub fn status(&self) -> SessionStatus {
        self.read(SessionStatus::Unchanged, RequestSession::status)
    }

    /// What the request's cookie was: missing, valid, or refused and why (e.g. to tell the user
    /// "your session expired, please sign in again"). `Missing` on a detached session, which
    /// reads no cookie.
    pub fn incoming(&self) -> IncomingCookie {
        self.read(IncomingCookie::Missing, |s| s.incoming().clone())
    }

    /// Why the request's cookie was refused, if it was.
    pub fn refusal(&self) -> Option<OpenError> {
        self.read(None, RequestSession::refusal)
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.handle {
            Handle::Attached(attached) => attached.session.borrow().fmt(f),
            Handle::Detached => f.write_str("Session(detached: no CookieSessionMiddleware)"),
        }
    }
}
