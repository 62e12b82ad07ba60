//! [`Session`]: the handle handlers use, written once for every web framework. A shared,
//! thread-safe handle on the request's [`RequestSession`], with the rule that a write after the
//! response's cookie was decided is an error, never a lost write.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::session_error::{
    MissingMiddleware, SessionError, SessionGetError, SessionInsertError, SessionUpdateError,
};
use super::{CookieUpdate, IncomingCookie, LOG_TARGET, RequestSession, SessionStatus};
use crate::error::{OpenError, SealError};
use crate::state::SessionId;
use crate::value::SessionValue;

/// The session of the current request: what a handler takes, on actix-web (through
/// `sealed-session-actix`) and on axum or any tower service (through `sealed-session-tower`)
/// alike. The same handler code compiles on both:
///
/// ```
/// use sealed_session::{Session, SessionError, SessionUpdateError};
///
/// /// Framework-free: called from an actix-web handler and from an axum one.
/// fn count(session: &Session) -> Result<u64, SessionUpdateError> {
///     session.update_or("counter", 1u64, |n| n + 1)?; // size checked now
///     Ok(session.get::<u64>("counter")?.unwrap_or(0))
/// }
///
/// async fn log_in(session: &Session, user: &str) -> Result<(), SessionError> {
///     // New id, no pre-login values, the subject for "log out everywhere". Awaited: a shared
///     // store's confirmation of the revocation it makes holds no thread while it comes.
///     session.sign_in(user).await
/// }
///
/// # let sessions = sealed_session::SessionManager::builder(
/// #     sealed_session::KeyRing::new(sealed_session::SecretKey::generate())).build()?;
/// # let session = sessions.attach([], sealed_session::adapter::RequestInfo::new("/"));
/// # pollster::block_on(async {
/// log_in(&session, "alice").await?;
/// assert_eq!(count(&session)?, 1);
/// assert_eq!(count(&session)?, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Cheap to clone; clones share the same session. Changes are written to the response when the
/// handler returns, so a handler that only reads writes no cookie. Handlers of one request
/// that share it (`tokio::join!`, a task spawned with a clone) may use it while a logout of
/// another waits for the shared store: see [`Session::purge`]. Every method is a thin call
/// into [`RequestSession`], where the rules live; the handle adds the one rule a shared handle
/// needs: once the response's cookie is decided ([`Session::finish`]), a write fails with
/// [`MissingMiddleware`] (logged under [`LOG_TARGET`]) rather than being lost.
///
/// Where no session middleware runs (a route it doesn't wrap), an adapter may hand out a
/// [detached](Session::detached) session: it reads as empty and every write fails the same way.
#[derive(Clone)]
pub struct Session {
    shared: Option<Arc<Shared>>,
}

struct Shared {
    session: Mutex<RequestSession>,
    /// The response's cookie was decided: later writes would never be sent.
    finished: AtomicBool,
}

/// The `Set-Cookie` header values a response carries for its session, in order: the session
/// cookie's, then the removal of a legacy cookie the lifecycle read
/// ([`RequestSession::legacy_removal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseCookies {
    update: CookieUpdate,
    /// The session's other chunks and the removals of unused ones.
    chunks: Vec<String>,
    legacy_removal: Option<String>,
}

impl ResponseCookies {
    /// What happens to the session cookie.
    pub fn update(&self) -> &CookieUpdate {
        &self.update
    }

    /// The `Set-Cookie` header values to append, in order: the session cookie's, those of its
    /// other chunks and of the chunks it no longer uses (a session over several cookies), and a
    /// legacy cookie's removal.
    pub fn headers(&self) -> impl Iterator<Item = &str> {
        self.update
            .header()
            .into_iter()
            .chain(self.chunks.iter().map(String::as_str))
            .chain(self.legacy_removal.as_deref())
    }
}

impl Session {
    /// The shared handle of `session`: what a web adapter puts in the request's extensions.
    pub(super) fn attached(session: RequestSession) -> Self {
        Self {
            shared: Some(Arc::new(Shared {
                session: Mutex::new(session),
                finished: AtomicBool::new(false),
            })),
        }
    }

    /// A session that no middleware wraps: it reads as empty and every write fails with
    /// [`MissingMiddleware`]. What an adapter returns where code asks for the session of a
    /// request the middleware did not see (actix-session's "detached" session, except that
    /// writes fail rather than vanish).
    ///
    /// ```
    /// use sealed_session::{Session, SessionInsertError};
    ///
    /// let session = Session::detached();
    /// assert_eq!(session.get::<u64>("n")?, None);
    /// assert_eq!(session.insert("n", 1), Err(SessionInsertError::MissingMiddleware));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn detached() -> Self {
        Self { shared: None }
    }

    /// Decides the response's cookies (see [`RequestSession::finish`]); every write after this
    /// fails, since nothing would send it. Called by the web adapter once the handler returned;
    /// a detached session sets nothing.
    ///
    /// # Errors
    /// [`SealError`] if the session could not be sealed (logged): answer with an opaque `500`,
    /// and the client keeps its previous cookie.
    pub fn finish(&self) -> Result<ResponseCookies, SealError> {
        let Some(shared) = &self.shared else {
            return Ok(ResponseCookies {
                update: CookieUpdate::None,
                chunks: Vec::new(),
                legacy_removal: None,
            });
        };
        let mut session = lock(shared);
        shared.finished.store(true, Ordering::Release);
        let update = session.finish()?;
        Ok(ResponseCookies {
            update,
            chunks: session.chunk_headers().to_vec(),
            legacy_removal: session.legacy_removal().map(str::to_owned),
        })
    }

    /// The response this session's cookies go into, for a web adapter: [`PendingResponse::finish`]
    /// decides them; dropped unfinished (the inner service failed, or a timeout dropped the
    /// request's future), it ends the session's writes as [`Session::finish`] would, so a task
    /// that outlived the request can't make a write, a renewal or a logout that no response will
    /// ever carry pass for done.
    ///
    /// ```
    /// use sealed_session::adapter::RequestInfo;
    /// use sealed_session::{KeyRing, SecretKey, SessionInsertError, SessionManager};
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
    /// let session = sessions.attach([], RequestInfo::new("/"));
    /// let kept = session.clone(); // e.g. moved into a spawned task
    /// drop(session.pending_response()); // the handler failed: no response carries cookies
    /// assert_eq!(kept.insert("late", 1), Err(SessionInsertError::MissingMiddleware));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pending_response(&self) -> PendingResponse {
        PendingResponse {
            session: Some(self.clone()),
        }
    }

    /// Ends the session's writes without deciding any cookie (see
    /// [`Session::pending_response`]).
    fn abandon(&self) {
        if let Some(shared) = &self.shared {
            let _session = lock(shared);
            shared.finished.store(true, Ordering::Release);
        }
    }

    /// `read` on the session, or `detached` without one.
    fn read<R>(&self, detached: R, read: impl FnOnce(&RequestSession) -> R) -> R {
        match &self.shared {
            Some(shared) => read(&lock(shared)),
            None => detached,
        }
    }

    /// `write` on the session, or [`MissingMiddleware`] (logged) if no response will carry it.
    fn write<R>(
        &self,
        write: impl FnOnce(&mut RequestSession) -> R,
    ) -> Result<R, MissingMiddleware> {
        if let Some(shared) = &self.shared {
            let mut session = lock(shared);
            // Checked under the lock `finish` takes: a write either lands before the cookie is
            // decided, or fails.
            if !shared.finished.load(Ordering::Acquire) {
                return Ok(write(&mut session));
            }
        }
        tracing::error!(target: LOG_TARGET, "session write refused: {MissingMiddleware}");
        Err(MissingMiddleware)
    }

    /// A revoking `call` on the session, then its confirmation by the shared store, awaited
    /// with the session unlocked (handlers of the same request go on reading and writing it,
    /// and no thread waits for Redis); a confirmation that doesn't come is applied under the
    /// lock again ([`RequestSession::confirmed`]), and its error is the call's. A call that
    /// asked for no confirmation of its own while another handler's is awaited (a second
    /// logout) awaits that one ([`RequestSession::take_confirmation`]).
    async fn confirming<T, E>(
        &self,
        call: impl FnOnce(&mut RequestSession) -> Result<T, E>,
    ) -> Result<T, SessionError>
    where
        SessionError: From<E>,
    {
        let (result, pending) = self.write(|s| (call(s), s.take_confirmation()))?;
        if let Some(pending) = pending {
            let confirmed = pending.wait().await;
            self.write(|s| s.confirmed(confirmed))??;
        }
        Ok(result?)
    }

    /// Decodes the value stored under `key`, or `None` if there is none.
    ///
    /// ```
    /// use sealed_session::{Session, SessionGetError};
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
        self.read(Ok(None), |s| s.get(key).map_err(SessionGetError::new))
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
    /// Each [`SessionValue`] gives its [`key`](SessionValue::key) and decodes with
    /// [`decode`](SessionValue::decode) (actix-session's `entries` borrows a map of JSON
    /// strings; values here are MessagePack).
    ///
    /// ```
    /// use sealed_session::Session;
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
    /// The size is checked now: if the session would no longer fit in its cookie (or, with
    /// `max_cookies`, in its cookies and the `Cookie` header budget), this returns
    /// [`SessionInsertError::TooLarge`] and the session stays exactly as it was
    /// (tower-sessions' and actix-session's cookie stores find out only when the response is
    /// written). `value` is encoded while the session's lock is held: a `Serialize` impl must not
    /// use the same session (it would wait on itself); [`Session::get`]'s decoding likewise.
    ///
    /// ```
    /// use sealed_session::{Session, SessionInsertError};
    ///
    /// /// `413` when the note doesn't fit, `200` otherwise.
    /// fn remember(session: &Session, note: String) -> Result<u16, SessionInsertError> {
    ///     match session.insert("note", note) {
    ///         Ok(()) => Ok(200),
    ///         Err(SessionInsertError::TooLarge { .. }) => Ok(413),
    ///         Err(other) => Err(other),
    ///     }
    /// }
    /// ```
    ///
    /// # Errors
    /// [`SessionInsertError::TooLarge`], [`SessionInsertError::Encode`],
    /// [`SessionInsertError::RevocationsUnknown`], or [`SessionInsertError::MissingMiddleware`]
    /// on a detached or finished session.
    pub fn insert<T: Serialize>(
        &self,
        key: impl Into<String>,
        value: T,
    ) -> Result<(), SessionInsertError> {
        Ok(self.write(|s| s.insert(&key.into(), &value))??)
    }

    /// Replaces the value under `key` with what `updater` makes of it, if there is one; an
    /// absent key stays absent (see [`Session::update_or`]). Unlike actix-session 0.11's, the
    /// change is always written.
    ///
    /// `updater` runs without the session's lock held, so it may read the session; the update
    /// is a [`get`](Session::get) then an [`insert`](Session::insert), so what another task of
    /// the same request does to the session in between is not seen by it: a write of the same key
    /// is overwritten, and after a `sign_in` or a `purge` there the value lands in the new
    /// session. Update from one task, or before signing in or out.
    ///
    /// ```
    /// use sealed_session::{Session, SessionUpdateError};
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
    /// called), [`SessionUpdateError::Insert`] if the new value can't be stored or the session
    /// is detached or finished (a key that is absent stays so, without an error). The session
    /// is left as it was.
    pub fn update<T, F>(&self, key: impl Into<String>, updater: F) -> Result<(), SessionUpdateError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(T) -> T,
    {
        let key = key.into();
        // An absent key stays absent: nothing to write, so nothing lost (on a detached session
        // too, which holds nothing).
        let Some(value) = self.get::<T>(&key)? else {
            return Ok(());
        };
        Ok(self.insert(key, updater(value))?)
    }

    /// [`Session::update`], or stores `default_value` if `key` is absent (`updater` is then
    /// not called), as actix-session's. `updater` runs without the session's lock held.
    ///
    /// ```
    /// use sealed_session::{Session, SessionUpdateError};
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
        self.write(|_| ())?;
        let value = match self.get::<T>(&key)? {
            Some(value) => updater(value),
            None => default_value,
        };
        Ok(self.insert(key, value)?)
    }

    /// Removes the value under `key` and returns it, still encoded, if there was one (decode it
    /// with [`SessionValue::decode`], or use [`Session::remove_as`]). On a detached or finished
    /// session, returns `None` and logs [`MissingMiddleware`].
    ///
    /// ```
    /// use sealed_session::{Session, ValueError};
    ///
    /// fn take_cart(session: &Session) -> Result<Vec<String>, ValueError> {
    ///     match session.remove("cart") {
    ///         // A value of another type is an error, not an empty cart.
    ///         Some(value) => value.decode(),
    ///         None => Ok(Vec::new()),
    ///     }
    /// }
    /// ```
    pub fn remove(&self, key: &str) -> Option<SessionValue> {
        self.write(|s| s.remove(key)).ok().flatten()
    }

    /// Removes the value under `key` and decodes it as a `T`: `None` if there was none,
    /// `Some(Err(value))` with the removed value, still encoded, if it is not a `T` (the shape
    /// of actix-session's, whose `Err` holds the JSON string).
    ///
    /// ```
    /// use sealed_session::Session;
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
    /// [`Session::purge`]. On a detached or finished session, logs [`MissingMiddleware`] and
    /// does nothing.
    pub fn clear(&self) {
        let _ = self.write(RequestSession::clear);
    }

    /// Gives the session a new id, keeping its data, its subject with its authentication stamp,
    /// and its absolute deadline (only a sign-in starts a new absolute window), and revokes the
    /// old id if the session has a subject (or anonymous sessions are revoked too):
    /// actix-session's `renew`, tower-sessions' `cycle_id`. At login, use
    /// [`Session::sign_in`], which also drops every value from before the login.
    ///
    /// Unlike actix-session's, which returns `()`, this returns a `Result`: a renewal that left
    /// the old id valid must not pass for done.
    ///
    /// # Errors
    /// [`SessionError`] if no new id can be drawn or the old one can't be revoked (the session
    /// is left as it was), or on a detached session. Two errors come after the fact: when the
    /// shared store did not confirm the old id's revocation in time (a `503`), the renewal is
    /// done and the old id refused here; when the session was logged out meanwhile, or its old
    /// id's revocation folded into a cutoff that ends it too (a `401`), it is purged: see
    /// [`RequestSession::renew`].
    #[doc(alias = "cycle_id")]
    #[must_use = "a renewal can fail (the old id not revoked): handle the error"]
    pub async fn renew(&self) -> Result<(), SessionError> {
        self.confirming(RequestSession::record_renew).await
    }

    /// Records a new authentication of the session's user: call it after checking the password
    /// (or a second factor) again, for instance before "sign out my other devices". The
    /// session keeps its values and gets a new id, an authentication stamp fresher than every
    /// other session of the user this instance knows of, and a new absolute window; the old id
    /// is revoked. Returns `false`, changing nothing, if no subject is set. See
    /// [`RequestSession::reauthenticate`].
    ///
    /// # Errors
    /// [`SessionError`] as for [`Session::renew`].
    #[must_use = "a re-authentication can fail: handle the error"]
    pub async fn reauthenticate(&self) -> Result<bool, SessionError> {
        self.confirming(RequestSession::record_reauthenticate).await
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
    pub async fn sign_in(&self, subject: impl Into<String>) -> Result<(), SessionError> {
        self.confirming(|s| s.record_sign_in(subject)).await
    }

    /// Logs out: revokes the session server-side (a copy of the cookie stops working), forgets
    /// its data and removes the cookie from the browser.
    ///
    /// Unlike actix-session's and tower-sessions', this returns a `Result`: a logout that could
    /// not be recorded is an error, never a silent success.
    ///
    /// While it waits for the shared store's confirmation, the session is not locked: other
    /// handlers of the request may use it. A revoking call one of them makes meanwhile (a
    /// second `purge`, a `sign_in`, ...) waits for the same confirmation and gets the same
    /// answer (or for a later one of its own, which covers it), so none claims a logout the
    /// store hasn't confirmed.
    ///
    /// # Errors
    /// [`SessionError`] (a `503` as a response) if the revocation could not be recorded or
    /// confirmed: the session is left as it was, so answer "try again" rather than claim the
    /// logout; it still holds on this instance. If another handler of the request changed the
    /// session while this logout waited (wrote a value, renewed, signed in), those changes win
    /// instead, as they would had the logout been confirmed: the session is the new one they
    /// made (never the logged-out one again), and the response sets its cookie (or, if they
    /// ended it too, leaves the cookie as it is). A `500` on a detached session.
    #[doc(alias = "flush")]
    #[doc(alias = "logout")]
    #[must_use = "a logout can fail (the revocation not recorded): handle the error"]
    pub async fn purge(&self) -> Result<(), SessionError> {
        self.confirming(RequestSession::record_purge).await
    }

    /// Logs out every session of the current subject ("log out everywhere"), this one
    /// included, whatever instance signed it in and whatever a renewal or a sign-out-others
    /// kept: the subject's cutoff rises above every authentication stamp issued so far. Never
    /// refused for lack of room. Returns `false`, changing nothing, if no subject is set.
    ///
    /// # Errors
    /// As [`Session::purge`].
    #[must_use = "a logout can fail: handle the error"]
    pub async fn purge_subject(&self) -> Result<bool, SessionError> {
        self.confirming(RequestSession::record_purge_subject).await
    }

    /// Logs out every session of the current subject authenticated before this one, and
    /// keeps this one, renewed (a new id; the same authentication stamp and absolute
    /// deadline): call it after a password change ("sign out my other devices"). Sessions
    /// authenticated after this one are never ended, so a stolen copy of an older cookie can't
    /// end the owner's newer session; to make this session the freshest, check the password
    /// again and [`Session::reauthenticate`] first. Returns `false`, changing nothing, if no
    /// subject is set. A "log out everywhere" that came first wins: this session is then purged
    /// and the error says so (a `401`).
    ///
    /// # Errors
    /// [`SessionError`]: see [`RequestSession::purge_other_sessions`].
    #[must_use = "a logout can fail: handle the error"]
    pub async fn purge_other_sessions(&self) -> Result<bool, SessionError> {
        self.confirming(RequestSession::record_purge_other_sessions)
            .await
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
    /// [`SessionInsertError::SubjectTooLong`] or [`SessionInsertError::TooLarge`] if the
    /// subject doesn't fit, [`SessionInsertError::SubjectControlCharacter`] if it holds a line
    /// break or another control character, [`SessionInsertError::MissingMiddleware`] on a
    /// detached or finished session.
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

/// The response a session's cookies go into (see [`Session::pending_response`]): finished once,
/// or, dropped unfinished, the session's writes end.
#[derive(Debug)]
#[must_use = "finish it to write the session's cookies; dropped, it writes none"]
pub struct PendingResponse {
    session: Option<Session>,
}

impl PendingResponse {
    /// Decides the response's cookies: [`Session::finish`].
    ///
    /// # Errors
    /// As [`Session::finish`].
    pub fn finish(mut self) -> Result<ResponseCookies, SealError> {
        match self.session.take() {
            Some(session) => session.finish(),
            None => Ok(ResponseCookies {
                update: CookieUpdate::None,
                chunks: Vec::new(),
                legacy_removal: None,
            }),
        }
    }
}

impl Drop for PendingResponse {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            session.abandon();
        }
    }
}

/// The session, even if a handler panicked while holding it: the lifecycle's operations leave
/// it consistent (a refused change is undone before returning), so the poison flag carries
/// nothing to act on.
fn lock(shared: &Shared) -> MutexGuard<'_, RequestSession> {
    shared
        .session
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.shared {
            Some(shared) => lock(shared).fmt(f),
            None => f.write_str("Session(detached: no session middleware)"),
        }
    }
}
