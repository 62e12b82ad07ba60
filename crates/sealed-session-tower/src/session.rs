//! The per-request session handle that handlers use: a shared handle on the lifecycle's
//! [`RequestSession`], with the actix adapter's method names and shapes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sealed_session::{
    CookieUpdate, IncomingCookie, LOG_TARGET, OpenError, RequestSession, SealError, SessionId,
    SessionStatus, SessionValue,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{
    MissingLayer, SessionError, SessionGetError, SessionInsertError, SessionUpdateError,
};

/// The session of the current request, extracted in axum handlers:
///
/// ```
/// use axum::{Json, Router, routing::post};
/// use sealed_session_tower::{CookieSessionLayer, KeyRing, SecretKey, Session, SessionUpdateError};
///
/// async fn counter(session: Session) -> Result<Json<u64>, SessionUpdateError> {
///     // Fails at once if the cookie would be too large.
///     session.update_or("counter", 1u64, |n| n + 1)?;
///     Ok(Json(session.get::<u64>("counter").ok().flatten().unwrap_or(0)))
/// }
///
/// let app: Router = Router::new()
///     .route("/counter", post(counter))
///     .layer(CookieSessionLayer::new(KeyRing::new(SecretKey::generate())));
/// ```
///
/// Cheap to clone; clones share the same session. Changes are written to the response when the
/// handler returns, so a handler that only reads writes no cookie. Every method is a thin call
/// into `sealed_session::RequestSession`, where the rules live.
///
/// On a route [`CookieSessionLayer`](crate::CookieSessionLayer) doesn't wrap, the extractor
/// rejects the request with [`MissingLayer`] (a `500`, logged). A write after the layer wrote
/// the response's cookie (from a task that outlived the request) fails with it too, rather than
/// being lost.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

struct Shared {
    session: Mutex<RequestSession>,
    /// The layer wrote the response's cookie: later writes would never be sent.
    written: AtomicBool,
}

impl Session {
    pub(crate) fn new(session: RequestSession) -> Self {
        Self {
            shared: Arc::new(Shared {
                session: Mutex::new(session),
                written: AtomicBool::new(false),
            }),
        }
    }

    /// The session, even if a handler panicked while holding it: the lifecycle's operations
    /// leave it consistent (a refused change is undone before returning), so the poison flag
    /// carries nothing to act on.
    fn lock(&self) -> MutexGuard<'_, RequestSession> {
        self.shared
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Decides the response's cookie (see `RequestSession::finish`); every write after this
    /// fails, since nothing would send it.
    pub(crate) fn finish(&self) -> Result<CookieUpdate, SealError> {
        let mut session = self.lock();
        self.shared.written.store(true, Ordering::Release);
        session.finish()
    }

    fn read<R>(&self, read: impl FnOnce(&RequestSession) -> R) -> R {
        read(&self.lock())
    }

    /// `write` on the session, or [`MissingLayer`] (logged) if no response will carry it.
    fn write<R>(&self, write: impl FnOnce(&mut RequestSession) -> R) -> Result<R, MissingLayer> {
        let mut session = self.lock();
        // Checked under the lock `finish` takes: a write either lands before the cookie is
        // decided, or fails.
        if self.shared.written.load(Ordering::Acquire) {
            tracing::error!(target: LOG_TARGET, "session write refused: {MissingLayer}");
            return Err(MissingLayer);
        }
        Ok(write(&mut session))
    }

    /// Decodes the value stored under `key`, or `None` if there is none.
    ///
    /// ```
    /// use sealed_session_tower::{Session, SessionGetError};
    ///
    /// fn user_id(session: &Session) -> Result<Option<u64>, SessionGetError> {
    ///     // A value stored with another type is an error, never another value.
    ///     session.get::<u64>("user_id")
    /// }
    /// ```
    ///
    /// # Errors
    /// [`SessionGetError`] if the value does not decode as `T` (read it with the type it was
    /// inserted with).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionGetError> {
        self.read(|s| s.get(key).map_err(SessionGetError))
    }

    /// Whether a value is stored under `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.read(|s| s.contains_key(key))
    }

    /// The keys stored, in sorted order.
    pub fn keys(&self) -> Vec<String> {
        self.read(|s| s.keys().map(str::to_owned).collect())
    }

    /// Every value, in key order, still encoded: a snapshot that later writes don't change.
    /// Each [`SessionValue`] gives its [`key`](SessionValue::key) and decodes with
    /// [`decode`](SessionValue::decode).
    ///
    /// ```
    /// use sealed_session_tower::Session;
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
        self.read(|s| s.values().collect())
    }

    /// Stores `value` under `key`.
    ///
    /// The size is checked now: if the session would no longer fit in the cookie, this returns
    /// `SessionInsertError::Insert(InsertError::TooLarge { .. })` and the session stays exactly
    /// as it was (tower-sessions finds out only when its store writes).
    ///
    /// # Errors
    /// [`SessionInsertError::Insert`] (too large, not encodable), or
    /// [`SessionInsertError::MissingLayer`] after the response's cookie was written.
    pub fn insert<T: Serialize>(
        &self,
        key: impl Into<String>,
        value: T,
    ) -> Result<(), SessionInsertError> {
        Ok(self.write(|s| s.insert(&key.into(), &value))??)
    }

    /// Replaces the value under `key` with what `updater` makes of it, if there is one; an
    /// absent key stays absent (see [`Session::update_or`]).
    ///
    /// ```
    /// use sealed_session_tower::{Session, SessionUpdateError};
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
    /// [`SessionUpdateError::Update`] if the stored value is not a `T` (`updater` is not
    /// called) or the new value can't be stored. The session is left as it was.
    pub fn update<T, F>(&self, key: impl Into<String>, updater: F) -> Result<(), SessionUpdateError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(T) -> T,
    {
        let key = key.into();
        self.write(|s| s.update(&key, updater))??;
        Ok(())
    }

    /// [`Session::update`], or stores `default_value` if `key` is absent (`updater` is then
    /// not called).
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

    /// Removes the value under `key` and returns it, still encoded, if there was one (decode
    /// it with [`SessionValue::decode`], or use [`Session::remove_as`]). After the response's
    /// cookie was written, this returns `None` (and logs [`MissingLayer`]).
    pub fn remove(&self, key: &str) -> Option<SessionValue> {
        self.write(|s| s.remove(key)).ok().flatten()
    }

    /// Removes the value under `key` and decodes it as a `T`: `None` if there was none,
    /// `Some(Err(value))` with the removed value, still encoded, if it is not a `T`.
    ///
    /// ```
    /// use sealed_session_tower::Session;
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
    /// [`Session::purge`]. After the response's cookie was written, logs [`MissingLayer`] and
    /// does nothing.
    pub fn clear(&self) {
        let _ = self.write(RequestSession::clear);
    }

    /// Gives the session a new id, keeping its data, its subject with its authentication stamp,
    /// and its absolute deadline (only a sign-in starts a new absolute window), and revokes the
    /// old id if the session has a subject (or anonymous sessions are revoked too):
    /// tower-sessions' `cycle_id`. At login, use [`Session::sign_in`], which also drops every
    /// value from before the login.
    ///
    /// # Errors
    /// [`SessionError`] if no new id can be drawn or the old one can't be revoked (the session
    /// is left as it was). Two errors come after the fact: when the shared store did not
    /// confirm the old id's revocation in time (a `503`), the renewal is done and the old id
    /// refused here; when the session was logged out meanwhile, or its old id's revocation
    /// folded into a cutoff that ends it too (a `401`), it is purged: see
    /// `sealed_session::RequestSession::renew`.
    #[doc(alias = "cycle_id")]
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
    /// login (session fixation) is worthless after it.
    ///
    /// # Errors
    /// [`SessionError`] if no new id can be drawn, the old session can't be revoked, or the
    /// subject doesn't fit in the cookie (the session is left as it was). When the shared store
    /// did not confirm in time the revocation of the signed-in session this one replaces (a
    /// `503`), the sign-in is done all the same.
    #[must_use = "a sign-in can fail: handle the error"]
    pub fn sign_in(&self, subject: impl Into<String>) -> Result<(), SessionError> {
        Ok(self.write(|s| s.sign_in(subject))??)
    }

    /// Logs out: revokes the session server-side (a copy of the cookie stops working), forgets
    /// its data and removes the cookie from the browser: tower-sessions' `flush` and `delete`.
    ///
    /// ```
    /// use axum::{Json, http::StatusCode};
    /// use sealed_session_tower::Session;
    ///
    /// async fn logout(session: Session) -> Result<Json<&'static str>, (StatusCode, String)> {
    ///     match session.purge() {
    ///         Ok(()) => Ok(Json("logged out")),
    ///         // Not recorded (a `503`): say "try again", never claim the logout.
    ///         Err(err) => Err((err.status(), err.to_string())),
    ///     }
    /// }
    /// # let _: axum::Router = axum::Router::new().route("/", axum::routing::post(logout));
    /// ```
    ///
    /// # Errors
    /// [`SessionError`] (a `503` as a response) if the revocation could not be recorded: the
    /// session is left as it was, so answer "try again" rather than claim the logout.
    #[doc(alias = "flush")]
    #[doc(alias = "delete")]
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
        self.read(RequestSession::id)
    }

    /// Whose session this is, if set at login.
    pub fn subject(&self) -> Option<String> {
        self.read(|s| s.subject().map(str::to_owned))
    }

    /// Sets who the session belongs to (e.g. the user id), so that all of a user's sessions
    /// can be revoked at once. At login, prefer [`Session::sign_in`].
    ///
    /// # Errors
    /// [`SessionInsertError::Insert`] if the subject doesn't fit in the cookie,
    /// [`SessionInsertError::MissingLayer`] after the response's cookie was written.
    pub fn set_subject(&self, subject: impl Into<String>) -> Result<(), SessionInsertError> {
        Ok(self.write(|s| s.set_subject(subject))??)
    }

    /// What this request did to the session so far.
    pub fn status(&self) -> SessionStatus {
        self.read(RequestSession::status)
    }

    /// What the request's cookie was: missing, valid, or refused and why.
    pub fn incoming(&self) -> IncomingCookie {
        self.read(|s| s.incoming().clone())
    }

    /// Why the request's cookie was refused, if it was (e.g. to tell the user "your session
    /// expired, please sign in again").
    pub fn refusal(&self) -> Option<OpenError> {
        self.read(RequestSession::refusal)
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.lock().fmt(f)
    }
}
