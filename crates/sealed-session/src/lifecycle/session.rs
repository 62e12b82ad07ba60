//! [`RequestSession`]: one request's session and what the request did to it.

use futures_util::FutureExt;
use futures_util::future::Shared;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::doors::{Ended, Ending};
use super::{CookieUpdate, LOG_TARGET, SessionManager};
use crate::error::{InsertError, OpenError, RenewError, SealError, UpdateError, ValueError};
use crate::revocation::{
    Confirmation, Generation, KeptSession, MAX_SUBJECT_LEN, NotDurableReason, RevokeError,
};
use crate::state::{SessionId, SessionState};
use crate::unix::UnixTime;
use crate::value::SessionValue;

/// What a request did to its session; decides what the response writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionStatus {
    /// Not modified by this request.
    Unchanged,
    /// Modified: the response seals it again.
    Changed,
    /// Given a new id: the response seals it again.
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
    /// The request had no session cookie that opened, but another library's cookie that the
    /// [`LegacyReader`](crate::adapter::LegacyReader) migrated: the session holds its values, and
    /// the response sets the new cookie and removes the old one.
    Migrated,
}

/// The session of one request, from [`SessionManager::open`] to [`RequestSession::finish`].
///
/// Every operation uses the request's one clock reading. Writes are checked at once (a value
/// that would make the cookie too large is refused by [`RequestSession::insert`] and leaves the
/// session as it was); logouts are recorded in the revocation store before they return `Ok`.
///
/// ```
/// use sealed_session::adapter::RequestInfo;
/// use sealed_session::{KeyRing, SecretKey, SessionManager, SessionStatus};
///
/// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
/// let mut session = sessions.open([], RequestInfo::new("/counter"));
/// let n = session.get::<u64>("counter")?.unwrap_or(0) + 1;
/// session.insert("counter", &n)?;
/// assert_eq!(session.status(), SessionStatus::Changed);
/// assert!(session.finish()?.header().is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RequestSession {
    lifecycle: SessionManager,
    now: OffsetDateTime,
    /// `None` until the session holds something: a session nobody wrote sets no cookie.
    state: Option<SessionState>,
    status: SessionStatus,
    incoming: IncomingCookie,
    /// An older key opened the cookie: re-seal it with the primary even if unchanged.
    reseal: bool,
    /// A refused cookie is not removed: values of our name were left untried.
    keep_refused: bool,
    /// The `Set-Cookie` that removes the request's old cookie (legacy reader).
    legacy_removal: Option<String>,
    /// The session a cookie that authenticated holds, while the store can't tell yet whether
    /// it is revoked ([`OpenError::RevocationUnknown`]): the handler doesn't see it, but a
    /// logout made with it is recorded, and no write replaces its cookie.
    unverified: Option<SessionState>,
    /// The session a cookie that authenticated but was refused holds, for a logout made with
    /// it (the handler sees no session, and writes start a new one): idle too long (a copy kept
    /// active elsewhere may still be in force with the same id, which the logout revokes), or
    /// revoked (perhaps only by this instance's coarser state, a cutoff other instances and the
    /// shared store don't hold: the logout records the session's own revocation all the same).
    refused_held: Option<SessionState>,
    /// The chunk cookies (index 1 and up) the request sent, a bit per index, for a session that
    /// may span several cookies: those the response's session no longer uses are removed.
    chunks_sent: u16,
    /// The `Set-Cookie` headers [`RequestSession::finish`] decided besides its own: the
    /// session's other chunks, and the removals of chunks it no longer uses.
    chunk_headers: Vec<String>,
    /// How many times this request changed the session (its values, id, subject or status):
    /// a logout whose confirmation doesn't come is undone only if this count is still what the
    /// logout left, so that no write, renewal or sign-in made after it is lost.
    changes: u64,
    /// The shared store's confirmation the revoking calls asked for, not handed out yet.
    unconfirmed: Option<Unconfirmed>,
    /// Inside [`RequestSession::without_blocking`]: revoking calls leave their confirmation
    /// to await rather than block for it.
    deferring: bool,
    /// The confirmation handed out to await and not applied yet, with the logout it would
    /// undo. Every revoking call made while it is awaited (another handler of the request)
    /// awaits it too, or a later one that covers it. If the response is decided meanwhile (the
    /// awaiting futures were dropped, or ran on a task the response did not wait for), the
    /// logout counts as not confirmed.
    in_flight: Option<InFlight>,
    /// How many confirmations were handed out: numbers them, so that an answer applies to its
    /// own.
    handed_out: u64,
    /// The latest confirmation of this request that failed, until a later one succeeds (which
    /// covers it): a `purge` made meanwhile asks the store again, so that it never answers
    /// `Ok` while a logout of this request is not durable.
    failed: Option<u64>,
    /// How many times this request recorded a revocation and asked for its confirmation: a
    /// confirmation covers every one recorded before it was asked for (the store's `settle`).
    recorded: u64,
    /// Every revocation up to this one is confirmed durable: a logout among them is never taken
    /// back, whatever a later confirmation says.
    durable_upto: u64,
    /// The sessions this request's logouts ended, with their revocations' numbers (the latest
    /// [`MAX_ENDED`]): a session held again (taken back by a failure) is logged out again once
    /// a confirmation covering one of them comes, rather than set as a cookie the store holds
    /// as revoked.
    ended: Vec<(SessionId, u64)>,
    /// A `settle` asked for by the revoking call running now came at once: everything recorded
    /// is durable, and the call answers without awaiting a confirmation still in flight.
    settled_at_once: bool,
}

/// The most logouts of one request [`RequestSession::ended`] remembers: a request makes a
/// handful; past it, the oldest is forgotten (a session it ended and a failure took back is
/// then set as a cookie the next request refuses, not logged out again here).
const MAX_ENDED: usize = 16;

/// Revocations a request recorded, waiting for the shared store's confirmation, and the logout
/// to undo if it doesn't come.
struct Unconfirmed {
    durable: Confirmation,
    before: Option<Before>,
    /// The revocations it covers: up to this one ([`RequestSession::recorded`]).
    covers: u64,
}

/// A confirmation handed out to await ([`RequestSession::take_confirmation`]), and the logout
/// to undo if it doesn't come.
struct InFlight {
    /// Awaited by every revoking call that waits for it; the first to poll it drives it.
    wait: Shared<Confirmation>,
    /// Which confirmation of the request this is.
    number: u64,
    before: Option<Before>,
    covers: u64,
}

/// What a logout changes in a [`RequestSession`], and when: the session is taken back to it
/// only while nothing changed it after the logout (`changes` still `left_at`).
#[derive(Clone)]
struct Before {
    state: Option<SessionState>,
    unverified: Option<SessionState>,
    refused_held: Option<SessionState>,
    status: SessionStatus,
    /// The session's change count when the logout began.
    at: u64,
    /// Its change count once the call that logged out returned (`None` until then).
    left_at: Option<u64>,
    /// Its revocation ([`RequestSession::recorded`]; for two merged, the earlier's): once a
    /// confirmation covering it succeeded, the logout is never taken back.
    seq: u64,
    /// For logouts merged ([`Before::merge`]): the later one's, to go back to instead if this
    /// one is durable and it is not.
    after: Option<Box<Before>>,
}

/// A confirmation to await, handed out by [`RequestSession::take_confirmation`]: several
/// revoking calls of one request may await the same one, each getting its answer.
pub(super) struct PendingConfirmation {
    wait: Shared<Confirmation>,
    number: u64,
    covers: u64,
}

/// The store's answer to a [`PendingConfirmation`], for [`RequestSession::confirmed`].
pub(super) struct Confirmed {
    number: u64,
    covers: u64,
    outcome: Result<(), RevokeError>,
}

impl PendingConfirmation {
    /// Awaits the store's answer; holds no thread (and no lock: the caller released the
    /// session's).
    pub(super) async fn wait(self) -> Confirmed {
        Confirmed {
            outcome: self.wait.await,
            number: self.number,
            covers: self.covers,
        }
    }

    /// Blocks this thread for the store's answer: the synchronous methods of
    /// [`RequestSession`].
    fn wait_blocking(self) -> Confirmed {
        Confirmed {
            outcome: Confirmation::waiting((), self.wait).wait(),
            number: self.number,
            covers: self.covers,
        }
    }
}

impl Before {
    /// The logout to undo when a confirmation covers two: back to before both if nothing
    /// changed the session between them (`later` began where `earlier` left it), else back to
    /// before the later one only; a call that undoes nothing (`later` is `None`, a renewal)
    /// leaves `earlier`'s, which its own change makes stale.
    fn push_after(&mut self, later: Self) {
        match &mut self.after {
            Some(after) => after.push_after(later),
            None => self.after = Some(Box::new(later)),
        }
    }

    /// The earliest of the merged logouts that is not durable (its revocation after
    /// `durable_upto`), if any: what a failure takes the session back to.
    fn first_not_durable(self, durable_upto: u64) -> Option<Self> {
        if self.seq > durable_upto {
            return Some(self);
        }
        self.after
            .and_then(|after| after.first_not_durable(durable_upto))
    }

    fn merge(earlier: Option<Self>, later: Option<Self>) -> Option<Self> {
        match (earlier, later) {
            (Some(earlier), Some(later))
                if earlier.left_at.is_none_or(|left_at| left_at == later.at) =>
            {
                // Back to before both; or, if the earlier one is durable, to before the later.
                let mut merged = Self {
                    left_at: later.left_at,
                    ..earlier
                };
                merged.push_after(later);
                Some(merged)
            }
            (earlier, None) => earlier,
            (_, later) => later,
        }
    }
}

impl RequestSession {
    pub(super) fn new(
        lifecycle: SessionManager,
        now: OffsetDateTime,
        state: Option<SessionState>,
        incoming: IncomingCookie,
        reseal: bool,
    ) -> Self {
        Self {
            lifecycle,
            now,
            state,
            status: SessionStatus::Unchanged,
            incoming,
            reseal,
            keep_refused: false,
            legacy_removal: None,
            unverified: None,
            refused_held: None,
            chunks_sent: 0,
            chunk_headers: Vec::new(),
            changes: 0,
            unconfirmed: None,
            deferring: false,
            in_flight: None,
            handed_out: 0,
            failed: None,
            recorded: 0,
            durable_upto: 0,
            ended: Vec::new(),
            settled_at_once: false,
        }
    }

    /// A request whose cookie authenticated as `held` but whose revocation the store can't
    /// check yet: refused for now, its cookie kept, and `held` set aside for a logout.
    pub(super) fn unverified(
        lifecycle: SessionManager,
        now: OffsetDateTime,
        held: SessionState,
    ) -> Self {
        let mut session = Self::new(
            lifecycle,
            now,
            None,
            IncomingCookie::Refused(OpenError::RevocationUnknown),
            false,
        );
        session.keep_refused = true;
        session.unverified = Some(held);
        session
    }

    /// The session another library's cookie held, which the response seals as a new one and
    /// whose old cookie `removal` removes.
    pub(super) fn migrated(
        lifecycle: SessionManager,
        now: OffsetDateTime,
        state: SessionState,
        removal: String,
    ) -> Self {
        let mut session = Self::new(lifecycle, now, Some(state), IncomingCookie::Migrated, false);
        session.status = SessionStatus::Changed;
        session.legacy_removal = Some(removal);
        session
    }

    /// Records which chunk cookies the request sent (a bit per index, 1 and up).
    pub(super) fn chunks_sent(&mut self, sent: u16) {
        self.chunks_sent = sent;
    }

    /// Keeps the session of a cookie refused as idle too long or revoked, for a logout made
    /// with it.
    pub(super) fn hold_refused(&mut self, held: SessionState) {
        self.refused_held = Some(held);
    }

    pub(super) fn keep_refused_cookie(&mut self) {
        self.keep_refused = true;
    }

    pub(super) fn keeps_refused_cookie(&self) -> bool {
        self.keep_refused
    }

    pub(super) fn remove_legacy_cookie(&mut self, removal: String) {
        self.legacy_removal = Some(removal);
    }

    /// Decodes the value stored under `key`, or `None` if there is none.
    ///
    /// # Errors
    /// [`ValueError`] if the value does not decode as `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ValueError> {
        match &self.state {
            None => Ok(None),
            Some(state) => state.get(key),
        }
    }

    /// Whether a value is stored under `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.state
            .as_ref()
            .is_some_and(|s| s.get_raw(key).is_some())
    }

    /// The keys stored, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.state.iter().flat_map(SessionState::keys)
    }

    /// The values, in key order, still encoded: decode each with [`SessionValue::decode`].
    ///
    /// ```
    /// use sealed_session::adapter::RequestInfo;
    /// use sealed_session::{KeyRing, SecretKey, SessionManager};
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
    /// let mut session = sessions.open([], RequestInfo::new("/"));
    /// assert_eq!(session.values().count(), 0, "no session yet");
    /// session.insert("b", &2u64)?;
    /// session.insert("a", "one")?;
    /// let values: Vec<_> = session.values().collect();
    /// assert_eq!(values[0].key(), "a");
    /// assert_eq!(values[1].decode::<u64>()?, 2);
    /// assert!(values[1].decode::<String>().is_err(), "typed: another type is an error");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn values(&self) -> impl Iterator<Item = SessionValue> + '_ {
        self.state.iter().flat_map(SessionState::values)
    }

    /// The session as it stands, if it exists (it is created by the first write).
    pub fn state(&self) -> Option<&SessionState> {
        self.state.as_ref()
    }

    /// Stores `value` under `key`.
    ///
    /// The size is checked now, against the largest the session can grow by activity alone: if
    /// the session would no longer fit in the cookie, this returns [`InsertError::TooLarge`]
    /// and the session stays exactly as it was.
    ///
    /// # Errors
    /// [`InsertError::TooLarge`], [`InsertError::Encode`], or [`InsertError::Randomness`] when
    /// a new session needs an id and none can be drawn.
    pub fn insert<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), InsertError> {
        self.modify(|state| {
            let previous = state.insert(key, value)?;
            Ok(Undo::Value(key.to_owned(), previous))
        })
    }

    /// Replaces the value under `key` with what `updater` makes of it, if there is one, and
    /// returns whether there was: an absent key stays absent (see
    /// [`RequestSession::update_or`]). actix-session's `Session::update`, with its semantics.
    ///
    /// ```
    /// use sealed_session::adapter::{RequestInfo, UpdateError};
    /// use sealed_session::{KeyRing, SecretKey, SessionManager};
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
    /// let mut session = sessions.open([], RequestInfo::new("/"));
    /// assert!(!session.update("visits", |n: u64| n + 1)?); // absent: nothing stored
    /// session.insert("visits", &1u64)?;
    /// assert!(session.update("visits", |n: u64| n + 1)?);
    /// assert_eq!(session.get::<u64>("visits")?, Some(2));
    ///
    /// // Read with another type: an error, and the value stays as it was.
    /// let err = session.update("visits", |s: String| s + "!").unwrap_err();
    /// assert!(matches!(err, UpdateError::Decode(_)));
    /// assert_eq!(session.get::<u64>("visits")?, Some(2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`UpdateError::Decode`] if the stored value is not a `T` (`updater` is not called),
    /// [`UpdateError::Insert`] if the new value can't be stored (too large for the cookie, or
    /// its `Serialize` implementation failed). Either way the session is left as it was.
    pub fn update<T, F>(&mut self, key: &str, updater: F) -> Result<bool, UpdateError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(T) -> T,
    {
        let Some(value) = self.get::<T>(key).map_err(UpdateError::Decode)? else {
            return Ok(false);
        };
        self.insert(key, &updater(value))?;
        Ok(true)
    }

    /// [`RequestSession::update`], or stores `default` if `key` is absent (`updater` is then
    /// not called): actix-session's `Session::update_or`.
    ///
    /// ```
    /// use sealed_session::adapter::{InsertError, RequestInfo, UpdateError};
    /// use sealed_session::{KeyRing, SecretKey, SessionManager};
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate()))
    ///     .size_limit(300)
    ///     .build()?;
    /// let mut session = sessions.open([], RequestInfo::new("/"));
    /// session.update_or("visits", 1u64, |n| n + 1)?;
    /// session.update_or("visits", 1u64, |n| n + 1)?;
    /// assert_eq!(session.get::<u64>("visits")?, Some(2));
    ///
    /// // A default too large for the cookie is refused at once; nothing is stored.
    /// let err = session.update_or("blob", vec![0u8; 500], |v| v).unwrap_err();
    /// assert!(matches!(err, UpdateError::Insert(InsertError::TooLarge { .. })));
    /// assert!(!session.contains_key("blob"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`RequestSession::update`]; the session is left as it was.
    pub fn update_or<T, F>(&mut self, key: &str, default: T, updater: F) -> Result<(), UpdateError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(T) -> T,
    {
        if !self.update(key, updater)? {
            self.insert(key, &default)?;
        }
        Ok(())
    }

    /// Removes the value under `key`, returning it if there was one.
    pub fn remove(&mut self, key: &str) -> Option<SessionValue> {
        let removed = self.state.as_mut().and_then(|s| s.remove(key));
        if removed.is_some() {
            self.mark(SessionStatus::Changed);
        }
        removed
    }

    /// Removes the value under `key` and decodes it as a `T`: `None` if there was none,
    /// `Some(Err(value))` with the removed value, still encoded, if it is not a `T` (the
    /// reason is logged at `debug` and is one [`SessionValue::decode`] away). The shape of
    /// actix-session's `remove_as`; the adapters' `Session::remove_as` is this.
    pub fn remove_as<T: DeserializeOwned>(&mut self, key: &str) -> Option<Result<T, SessionValue>> {
        let value = self.remove(key)?;
        Some(value.decode().map_err(|err| {
            tracing::debug!(target: LOG_TARGET, "removed session value: {err}");
            value
        }))
    }

    /// Removes every value; the session itself (id, subject, times) goes on. To log out, use
    /// [`RequestSession::purge`].
    pub fn clear(&mut self) {
        if let Some(state) = self.state.as_mut()
            && !state.is_empty()
        {
            state.clear();
            self.mark(SessionStatus::Changed);
        }
    }

    /// Sets who the session belongs to (e.g. the user id), stamped with the subject's current
    /// revocation generation, so that all of a user's sessions can be logged out at once. At
    /// sign-in, prefer [`RequestSession::sign_in`], which also renews and clears the session.
    ///
    /// # Errors
    /// [`InsertError::TooLarge`] if the subject doesn't fit in the cookie,
    /// [`InsertError::SubjectTooLong`] past [`MAX_SUBJECT_LEN`] bytes,
    /// [`InsertError::SubjectControlCharacter`] for a subject holding a line break or another
    /// control character (nothing changes).
    pub fn set_subject(&mut self, subject: impl Into<String>) -> Result<(), InsertError> {
        let subject = subject.into();
        check_subject(
            &subject,
            |len, max| InsertError::SubjectTooLong { len, max },
            InsertError::SubjectControlCharacter,
        )?;
        // The same subject keeps the stamp the session carries: a new one would undo a
        // log-out-everywhere made since the session was opened, and make a session fresher
        // than its authentication. A new subject is an authentication: stamped above the
        // subject's cutoff.
        let generation = match self
            .state
            .as_ref()
            .and_then(SessionState::subject_generation)
        {
            Some(held) if held.name() == subject => held.generation(),
            _ => self.lifecycle.stamp(&subject, self.now),
        };
        self.modify(|state| {
            let previous = state.subject_generation().cloned();
            state.set_subject(subject, generation);
            Ok(Undo::Subject(previous))
        })
    }

    /// Gives the session a new id, keeping its data, its subject with its authentication
    /// stamp, and its absolute deadline, and revokes the old id if the session has a subject
    /// (or the lifecycle revokes anonymous sessions too): use it at privilege changes. The
    /// absolute deadline does not move (invariant 5 of [`crate::guide::security`]): only
    /// [`RequestSession::sign_in`] and [`RequestSession::reauthenticate`] start a new window.
    ///
    /// At sign-in use [`RequestSession::sign_in`] instead: `renew` keeps every value, including
    /// any a cookie planted before the sign-in carried.
    ///
    /// # Errors
    /// [`RenewError::Randomness`] if no new id can be drawn, [`RenewError::Revoke`] if the old
    /// id can't be revoked (the session is left as it was), or with
    /// [`RevokeError::Superseded`] if the session was logged out since the request opened it,
    /// or its revocation folded into a cutoff that ends it too (it is purged: a renewal never
    /// revives a logged-out session; the response removes the cookie once the shared store
    /// confirms that logout). With [`RevokeError::NotDurable`] the renewal is done and the old
    /// id refused here, only the shared store's confirmation of its revocation is missing; or,
    /// for a session found logged out, it is gone all the same and its cookie left as it is.
    pub fn renew(&mut self) -> Result<(), RenewError> {
        self.confirming(Self::record_renew)
    }

    /// [`RequestSession::renew`], without waiting for the shared store's confirmation: it waits in
    /// [`RequestSession::take_confirmation`] (the async [`Session`](crate::Session) awaits it).
    pub(super) fn record_renew(&mut self) -> Result<(), RenewError> {
        let new_id = self.lifecycle.new_id()?;
        let now = self.now;
        if self.state.is_none() && self.unverified.is_some() {
            // A fresh session would replace a signed-in cookie the store can't check yet.
            return Err(not_loaded().into());
        }
        let Some(state) = self.state.take() else {
            self.state = Some(SessionState::with_id(new_id, now));
            self.set_status(SessionStatus::Renewed);
            return Ok(());
        };
        self.replace_with(state, |state| state.renew(new_id, now))
    }

    /// Records a new authentication of the session's subject: call it after checking the
    /// user's password (or second factor) again, for instance before "sign out my other
    /// devices". The session gets a new id, a new authentication stamp (fresher than every
    /// other session of the subject this instance knows of) and a new absolute window, and
    /// keeps its data; the old id is revoked. Returns `false`, changing nothing, if no subject
    /// is set.
    ///
    /// ```
    /// use sealed_session::adapter::RequestInfo;
    /// use sealed_session::{KeyRing, SecretKey, SessionManager};
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
    /// let mut session = sessions.open([], RequestInfo::new("/login"));
    /// session.sign_in("alice")?;
    /// let before = session.state().unwrap().subject_generation().unwrap().generation();
    /// assert!(session.reauthenticate()?);
    /// let after = session.state().unwrap().subject_generation().unwrap().generation();
    /// assert!(after > before);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`RequestSession::renew`].
    pub fn reauthenticate(&mut self) -> Result<bool, RenewError> {
        self.confirming(Self::record_reauthenticate)
    }

    /// [`RequestSession::reauthenticate`], without waiting for the shared store's confirmation: it waits in
    /// [`RequestSession::take_confirmation`] (the async [`Session`](crate::Session) awaits it).
    pub(super) fn record_reauthenticate(&mut self) -> Result<bool, RenewError> {
        let Some(subject) = self
            .state
            .as_ref()
            .and_then(|s| s.subject_generation().cloned())
        else {
            return Ok(false);
        };
        let new_id = self.lifecycle.new_id()?;
        let now = self.now;
        // Above the subject's cutoff and above this session's own stamp: fresher than a copy of
        // this very cookie.
        // (Not given to the store as the time: this session's stamp may come from another
        // instance's cutoff, which this store's next stamps must not build on.)
        let stamp = self
            .lifecycle
            .stamp(subject.name(), now)
            .max(subject.generation().next());
        let Some(state) = self.state.take() else {
            return Ok(false);
        };
        self.replace_with(state, |state| {
            state.renew(new_id, now);
            state.authenticated(now);
            state.set_subject(subject.name(), stamp);
        })?;
        Ok(true)
    }

    /// Signs `subject` in: the session becomes a new one (new id, new lifetime) that holds no value
    /// from before and belongs to `subject`, stamped as a new authentication (above the subject's
    /// cutoff: see [`Generation`]). The session it replaces is revoked as
    /// [`RequestSession::renew`] would.
    ///
    /// This is the login step: a cookie planted by someone who can set cookies for the site (a
    /// sibling subdomain, without the `__Host-` prefix) carries none of its values, nor its id,
    /// into the signed-in session.
    ///
    /// # Errors
    /// As [`RequestSession::renew`], [`RenewError::TooLarge`] if the subject alone doesn't fit
    /// in the cookie, [`RenewError::SubjectTooLong`] past [`MAX_SUBJECT_LEN`] bytes,
    /// [`RenewError::SubjectControlCharacter`] for a subject holding a line break or another
    /// control character; the session
    /// is left as it was.
    pub fn sign_in(&mut self, subject: impl Into<String>) -> Result<(), RenewError> {
        self.confirming(|s| s.record_sign_in(subject))
    }

    /// [`RequestSession::sign_in`], without waiting for the shared store's confirmation: it waits in
    /// [`RequestSession::take_confirmation`] (the async [`Session`](crate::Session) awaits it).
    pub(super) fn record_sign_in(&mut self, subject: impl Into<String>) -> Result<(), RenewError> {
        let subject = subject.into();
        check_subject(
            &subject,
            |len, max| RenewError::SubjectTooLong { len, max },
            RenewError::SubjectControlCharacter,
        )?;
        let mut fresh = self.lifecycle.new_session(self.now)?;
        // Checked before anything is revoked, so a subject that doesn't fit changes nothing.
        fresh.set_subject(subject.as_str(), Generation::ZERO);
        self.lifecycle.check_size(&fresh)?;
        // The session this one replaces, even one whose revocation can't be checked yet.
        if let Some(previous) = self.state.as_ref().or(self.unverified.as_ref()) {
            match self.lifecycle.end_session(previous, self.write_time()) {
                // Ended now or already (perhaps by a revocation not confirmed yet): either way
                // the sign-in answers once the store has it. An anonymous pre-login session's
                // confirmation doesn't hold up a sign-in, for the same reason as below. If it
                // does not come, the sign-in is done all the same: only the error says so.
                Ok(ending) => {
                    if previous.subject().is_some() {
                        self.expect_confirmation(ending.durable, None);
                    }
                }
                // The fresh id is what defeats fixation: an anonymous pre-login session that
                // can't be listed (a full list) doesn't stop the sign-in.
                Err(err) if previous.subject().is_none() => tracing::debug!(
                    target: LOG_TARGET,
                    "the pre-login session could not be revoked, signing in anyway: {err}"
                ),
                Err(err) => return Err(err.into()),
            }
        }
        let stamp = self.lifecycle.stamp(&subject, self.now);
        fresh.set_subject(subject, stamp);
        self.state = Some(fresh);
        self.unverified = None;
        self.keep_refused = false;
        self.set_status(SessionStatus::Renewed);
        Ok(())
    }

    /// Logs out: revokes the session server-side (a copy of the cookie stops working), forgets
    /// its data and removes the cookie. A session without a subject is not listed unless the
    /// lifecycle revokes anonymous sessions: it is forgotten and its cookie removed.
    ///
    /// Called again for a cookie the store refuses as revoked (a retry after
    /// [`RevokeError::NotDurable`]), it waits for the store to confirm what it holds. Called
    /// with a cookie that authenticated while the store could not check revocations yet
    /// ([`OpenError::RevocationUnknown`]), or that authenticated but was idle too long (a copy
    /// kept active elsewhere may still be in force with its id), it records the logout of that
    /// session all the same (invariants 1 and 2 of [`crate::guide::security`]).
    ///
    /// # Errors
    /// [`RevokeError`] if the revocation can't be recorded, or
    /// [`RevokeError::NotDurable`] if it holds here but the shared store did not confirm it in
    /// time; the session is then left as it was (the cookie is not removed), so the
    /// application can say "try again" rather than claim a logout that a copy of the cookie
    /// would outlive.
    pub fn purge(&mut self) -> Result<(), RevokeError> {
        self.confirming(Self::record_purge)
    }

    /// [`RequestSession::purge`], without waiting for the shared store's confirmation: it waits in
    /// [`RequestSession::take_confirmation`] (the async [`Session`](crate::Session) awaits it).
    pub(super) fn record_purge(&mut self) -> Result<(), RevokeError> {
        let before = self.before_logout();
        self.settle_refused(&before);
        if self.failed.is_some() {
            // A logout of this request was not confirmed: whatever this call finds to end, its
            // answer waits for the store to confirm what it holds.
            self.settle_again(&before);
        }
        let held = self
            .state
            .as_ref()
            .or(self.unverified.as_ref())
            .or(self.refused_held.as_ref());
        if held.is_none() && self.status == SessionStatus::Purged {
            // Logged out in this request already (by another handler, perhaps still waiting
            // for its confirmation): nothing changes, and the answer waits for that logout's
            // confirmation (`take_confirmation`).
            return Ok(());
        }
        if let Some(state) = held {
            let id = state.id();
            // Ended now or already (perhaps by a revocation not confirmed then): what was asked
            // for holds once the store has it. Not recorded: the cookie stays, refused or not,
            // so that the retry comes with it (and so if the confirmation doesn't come).
            match self.lifecycle.end_session(state, self.write_time()) {
                // Nothing recorded: nothing to confirm, but the answer still waits for a logout
                // of the request in flight, and its failure takes this one back too.
                Ok(ending) if matches!(ending.ended, Ended::NotRevocable) => {
                    self.nothing_to_confirm(before);
                }
                Ok(ending) => {
                    self.expect_confirmation(ending.durable, Some(before));
                    self.note_ended(id);
                }
                Err(err) => {
                    self.keep_refused = true;
                    return Err(err);
                }
            }
        }
        self.state = None;
        self.unverified = None;
        self.refused_held = None;
        self.keep_refused = false;
        self.set_status(SessionStatus::Purged);
        Ok(())
    }

    /// Logs out every session of the current subject ("log out everywhere"), this one
    /// included: raises the subject's cutoff above every authentication stamp issued so far,
    /// so every session of the subject is refused, wherever and whenever it was created, and
    /// whatever a renewal or a sign-out-others kept (invariant 4 of
    /// [`crate::guide::security`]). Costs one entry per subject and is never refused for
    /// lack of room. Returns `false`, changing nothing, if no subject is set.
    ///
    /// # Errors
    /// [`RevokeError::NotDurable`] if it holds here but the shared store did not confirm it in
    /// time (the session is left as it was; a retry with its cookie waits again), or, recording
    /// nothing, while the store can't check the request's signed-in cookie yet (it may be
    /// logged out already: a dead copy must not log its owner out everywhere; retry).
    pub fn purge_subject(&mut self) -> Result<bool, RevokeError> {
        self.confirming(Self::record_purge_subject)
    }

    /// [`RequestSession::purge_subject`], without waiting for the shared store's confirmation: it waits in
    /// [`RequestSession::take_confirmation`] (the async [`Session`](crate::Session) awaits it).
    pub(super) fn record_purge_subject(&mut self) -> Result<bool, RevokeError> {
        let before = self.before_logout();
        self.settle_refused(&before);
        if self.state.is_none()
            && self
                .unverified
                .as_ref()
                .is_some_and(|s| s.subject().is_some())
        {
            // A cookie the store can't check yet may be logged out already: acting for it would
            // let a dead copy log its owner out everywhere (invariant 7). Nothing is recorded;
            // the retry, once the store knows, is checked.
            return Err(not_loaded());
        }
        let Some(subject) = self.subject().map(str::to_owned) else {
            return Ok(false);
        };
        let now = self.now.max(self.lifecycle.now());
        let durable = self.lifecycle.log_out_everywhere(&subject, now)?;
        self.expect_confirmation(durable, Some(before));
        if let Some(id) = self.state.as_ref().map(SessionState::id) {
            self.note_ended(id);
        }
        self.state = None;
        self.unverified = None;
        self.keep_refused = false;
        self.set_status(SessionStatus::Purged);
        Ok(true)
    }

    /// Logs out every session of the current subject authenticated before this one ("sign out
    /// my other devices"), and renews this one (a new id, so copies of this very cookie end
    /// too; the same authentication stamp and absolute deadline). Returns `false`, changing
    /// nothing, if no subject is set.
    ///
    /// It raises the subject's cutoff to this session's authentication stamp, in one store
    /// operation with the check that this session is still in force: sessions authenticated
    /// after this one are never touched, so a stolen copy of an older cookie can't end the
    /// owner's newer session, however often it calls this (invariant 3 of
    /// [`crate::guide::security`]). Ask for the password again and call
    /// [`RequestSession::reauthenticate`] first, so this session is the freshest.
    ///
    /// # Errors
    /// [`RenewError::Randomness`] if no new id can be drawn (nothing changes),
    /// [`RenewError::Revoke`] with [`RevokeError::Superseded`] if this session was logged out
    /// meanwhile (it is purged; the cookie is removed once the shared store confirms what it
    /// holds, as for [`RequestSession::purge`]), with [`RevokeError::NotDurable`] if the cutoff
    /// holds here but
    /// the shared store did not confirm it in time (call it again) or, recording nothing, while
    /// the store can't check the request's signed-in cookie yet, or another [`RevokeError`]
    /// (nothing changes).
    pub fn purge_other_sessions(&mut self) -> Result<bool, RenewError> {
        self.confirming(Self::record_purge_other_sessions)
    }

    /// [`RequestSession::purge_other_sessions`], without waiting for the shared store's confirmation: it waits in
    /// [`RequestSession::take_confirmation`] (the async [`Session`](crate::Session) awaits it).
    pub(super) fn record_purge_other_sessions(&mut self) -> Result<bool, RenewError> {
        let before = self.before_logout();
        self.settle_refused(&before);
        if self.state.is_none()
            && self
                .unverified
                .as_ref()
                .is_some_and(|s| s.subject().is_some())
        {
            // As in `purge_subject`: a cookie the store can't check yet ends nothing but itself.
            return Err(not_loaded().into());
        }
        let Some(held) = self.state.as_ref() else {
            return Ok(false);
        };
        let Some(subject) = held.subject_generation().cloned() else {
            return Ok(false);
        };
        let new_id = self.lifecycle.new_id()?;
        let now = self.write_time();
        let kept = KeptSession::new(held.id(), subject.generation());
        match self.lifecycle.end_older_sessions(subject.name(), kept, now) {
            Ok(_) => {}
            Err(err @ RevokeError::Superseded { .. }) => {
                // Logged out meanwhile (perhaps by this request, taken back), as a renewal finds
                // it: gone from the request either way, and its cookie removed once the store
                // confirms what it holds; if that doesn't come, the cookie is left as it is.
                let id = held.id();
                let before = Before {
                    state: None,
                    ..before
                };
                self.settle_again(&before);
                self.note_ended(id);
                self.state = None;
                self.unverified = None;
                self.keep_refused = false;
                self.set_status(SessionStatus::Purged);
                return Err(err.into());
            }
            Err(err) => return Err(err.into()),
        }
        let request_now = self.now;
        let Some(state) = self.state.take() else {
            return Ok(false);
        };
        // The renewal makes the raised cutoff durable with the old id's revocation.
        self.replace_with(state, |state| state.renew(new_id, request_now))?;
        Ok(true)
    }

    /// The session id, if the session exists (it is created by the first write).
    pub fn id(&self) -> Option<SessionId> {
        self.state.as_ref().map(SessionState::id)
    }

    /// Whose session this is, if set.
    pub fn subject(&self) -> Option<&str> {
        self.state.as_ref().and_then(SessionState::subject)
    }

    /// What this request did to the session so far.
    pub fn status(&self) -> SessionStatus {
        self.status
    }

    /// What the request's cookie was: missing, valid, or refused and why.
    pub fn incoming(&self) -> &IncomingCookie {
        &self.incoming
    }

    /// Why the request's cookie was refused, if it was (e.g. to tell the user "your session
    /// expired, please sign in again").
    pub fn refusal(&self) -> Option<OpenError> {
        match &self.incoming {
            IncomingCookie::Refused(err) => Some(err.clone()),
            _ => None,
        }
    }

    /// The time this request runs at (its one clock reading).
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// Decides what the response's cookie must be, and seals the session when it must be set:
    ///
    /// - a session nobody wrote sets no cookie;
    /// - a changed or renewed session is sealed again; an unchanged one only when an older key
    ///   opened it (rotation) or per the [`RefreshPolicy`](crate::RefreshPolicy);
    /// - a purged session and a refused cookie get a removal cookie with the same name, `Path`
    ///   and `Domain` (a refused cookie not, if values of its name were left untried).
    ///
    /// `Max-Age` is what is left of the session's life (at most 400 days), computed with
    /// saturating arithmetic whatever the configured timeouts.
    ///
    /// # Errors
    /// [`SealError::Randomness`] if no nonce can be drawn (sizes were checked when the session
    /// was written, so `TooLarge` can't happen for a change; a refresh of a session past limits
    /// lowered since its cookie was written keeps that cookie instead). Logged under
    /// [`LOG_TARGET`]; the client keeps its previous cookie.
    pub fn finish(&mut self) -> Result<CookieUpdate, SealError> {
        if let Some(in_flight) = self.in_flight.take() {
            // Never a removal cookie for a logout whose confirmation nobody saw: it is undone
            // as when the confirmation does not come (the cookie stays for the retry, or the
            // changes made after it stand).
            tracing::warn!(
                target: LOG_TARGET,
                "the response was decided while a revocation's confirmation was still awaited \
                 (the handler's future dropped, or a task the response did not wait for): \
                 answered as not confirmed, no removal cookie"
            );
            self.undo_logout(in_flight.before);
        }
        let refused = matches!(self.incoming, IncomingCookie::Refused(_)) && !self.keep_refused;
        let (update, others) = match self.state.as_mut() {
            None if self.status == SessionStatus::Purged || refused => {
                self.lifecycle.removal(self.chunks_sent)
            }
            // No session, and none refused: chunks sent without a first cookie are removed
            // (unless values of our name were left untried: the real session may be there).
            None if self.keep_refused => (CookieUpdate::None, Vec::new()),
            None => (
                CookieUpdate::None,
                self.lifecycle
                    .chunk_removals(self.chunks_sent, crate::codec::MAX_COOKIES, 1),
            ),
            Some(_) if self.status == SessionStatus::Purged => {
                self.lifecycle.removal(self.chunks_sent)
            }
            Some(state) => {
                let changed =
                    matches!(self.status, SessionStatus::Changed | SessionStatus::Renewed);
                self.lifecycle.cookie_for(
                    state,
                    self.now,
                    changed,
                    self.reseal,
                    self.chunks_sent,
                )?
            }
        };
        self.chunk_headers = others;
        Ok(update)
    }

    /// [`RequestSession::finish`] for an adapter that writes the cookie itself and needs only
    /// its value (actix-session's `SessionStore` returns it as the session key): the session
    /// sealed now, its activity touched to the request's time, or `None` when there is no
    /// session to set (nothing was written, or it was purged). One cookie's value, whatever
    /// [`max_cookies`](crate::SessionBuilder::max_cookies) says.
    ///
    /// ```
    /// use sealed_session::adapter::RequestInfo;
    /// use sealed_session::{KeyRing, SecretKey, SessionManager};
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
    /// let mut session = sessions.open([], RequestInfo::new("/"));
    /// assert_eq!(session.sealed_value()?, None, "nothing written");
    /// session.insert("n", &1u8)?;
    /// let value = session.sealed_value()?.unwrap();
    /// assert_eq!(sessions.open_value(&value, RequestInfo::new("/")).get::<u8>("n")?, Some(1));
    /// session.purge()?;
    /// assert_eq!(session.sealed_value()?, None, "logged out");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`SealError::Randomness`] if no nonce can be drawn, [`SealError::TooLarge`] if the
    /// session no longer fits (limits lowered since its cookie was written). Logged under
    /// [`LOG_TARGET`].
    pub fn sealed_value(&mut self) -> Result<Option<String>, SealError> {
        match self.state.as_mut() {
            Some(state) if self.status != SessionStatus::Purged => {
                self.lifecycle.seal_value(state, self.now).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The `Set-Cookie` headers the response carries besides [`RequestSession::finish`]'s, for a
    /// session that may span several cookies
    /// ([`SessionBuilder::max_cookies`](crate::SessionBuilder::max_cookies)): the session's
    /// other chunks, in order, and the removals of the chunks the request sent that the session
    /// no longer uses. Empty for a session in one cookie. Decided by `finish`; adapters append
    /// them after its header (the shared [`Session`](crate::Session) does it for them:
    /// [`ResponseCookies::headers`](crate::adapter::ResponseCookies::headers)).
    pub fn chunk_headers(&self) -> &[String] {
        &self.chunk_headers
    }

    /// The `Set-Cookie` header value that removes the request's old cookie, if the response
    /// must send one besides [`RequestSession::finish`]'s: the old cookie was migrated, or came
    /// beside a session cookie that opened (always `None` without a
    /// [`LegacyReader`](crate::adapter::LegacyReader)). Adapters append both headers.
    ///
    /// ```
    /// use sealed_session::adapter::RequestInfo;
    /// use sealed_session::{KeyRing, SecretKey, SessionManager};
    ///
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
    /// let mut session = sessions.open([], RequestInfo::new("/"));
    /// let update = session.finish()?;
    /// // What an adapter writes: every header, in this order.
    /// let headers: Vec<&str> = update.header().into_iter().chain(session.legacy_removal()).collect();
    /// assert!(headers.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn legacy_removal(&self) -> Option<&str> {
        self.legacy_removal.as_deref()
    }

    /// Applies `change`, then checks the size; undoes the change if it doesn't fit.
    fn modify(
        &mut self,
        change: impl FnOnce(&mut SessionState) -> Result<Undo, InsertError>,
    ) -> Result<(), InsertError> {
        if self.state.is_none() && self.unverified.is_some() {
            // A signed-in cookie the store can't check yet: a write would replace it with an
            // anonymous session (invariant 2).
            return Err(InsertError::RevocationsUnknown);
        }
        let created_here = self.state.is_none();
        let state = match self.state.as_mut() {
            Some(state) => state,
            None => self.state.insert(self.lifecycle.new_session(self.now)?),
        };
        let result = change(state).and_then(|undo| match self.lifecycle.check_size(state) {
            Ok(_) => Ok(()),
            Err(err) => {
                undo.apply(state);
                Err(err.into())
            }
        });
        match result {
            Ok(()) => {
                self.mark(SessionStatus::Changed);
                Ok(())
            }
            Err(err) => {
                if created_here {
                    self.state = None;
                }
                Err(err)
            }
        }
    }

    /// For a request whose cookie the store refused as revoked: asks for the store's
    /// confirmation of what it holds, so that a logout retried after
    /// [`RevokeError::NotDurable`] is answered only once it is durable. If it does not come,
    /// the session goes back to `before` and the refused cookie is kept, so the next retry
    /// comes with it again.
    fn settle_refused(&mut self, before: &Before) {
        // Once a confirmation covered everything this request recorded (the refused cookie's
        // revocation, recorded before it, included), there is nothing left to ask for.
        let confirmed_all = self.recorded > 0 && self.durable_upto >= self.recorded;
        if self.incoming == IncomingCookie::Refused(OpenError::Revoked)
            && (!confirmed_all || self.failed.is_some())
        {
            self.settle_again(before);
        }
    }

    /// Asks the store to confirm everything it holds: confirmed at once, every revocation this
    /// request recorded is durable ([`RequestSession::settled_now`]); otherwise the caller
    /// awaits it, and `before` is taken back if it doesn't come.
    ///
    /// It records nothing: it covers what the request recorded so far, and no more, so a
    /// confirmation that covered those already makes its error no error. The request's first
    /// ask stands for what was recorded before the request (a refused cookie's revocation).
    fn settle_again(&mut self, before: &Before) {
        let durable = self.lifecycle.settle();
        self.recorded = self.recorded.max(1);
        self.await_store(durable, Some(before.clone()));
    }

    /// The store confirmed everything recorded so far (a `settle` that came at once): no
    /// logout of this request fails any more, and one taken back meanwhile is made again.
    fn settled_now(&mut self) {
        self.failed = None;
        self.durable_upto = self.recorded;
        self.settled_at_once = true;
        self.redo_durable_logout();
    }

    /// What a logout changes, to go back to if the store does not confirm it.
    fn before_logout(&self) -> Before {
        Before {
            state: self.state.clone(),
            unverified: self.unverified.clone(),
            refused_held: self.refused_held.clone(),
            status: self.status,
            at: self.changes,
            left_at: None,
            seq: 0,
            after: None,
        }
    }

    /// Keeps `durable` for the caller to await ([`RequestSession::take_confirmation`]); with
    /// `before`, the session goes back to it if the confirmation doesn't come. A later
    /// confirmation covers every revocation an earlier one did (the store's `settle`).
    fn expect_confirmation(&mut self, durable: Confirmation, before: Option<Before>) {
        self.recorded += 1;
        self.await_store(durable, before);
    }

    /// Keeps `durable`, covering every revocation recorded so far, for the caller to await
    /// ([`RequestSession::expect_confirmation`]).
    fn await_store(&mut self, durable: Confirmation, before: Option<Before>) {
        let covers = self.recorded;
        let before = before.map(|before| Before {
            seq: covers,
            ..before
        });
        if durable.is_confirmed() {
            // A `settle` that came at once (`expect_confirmation` is only given the store's
            // `settle`, or, for a session that was not revocable, nothing to confirm): every
            // revocation recorded so far is durable.
            if let Some(earlier) = self.unconfirmed.take() {
                // Covered: it no longer needs awaiting.
                drop(earlier);
            }
            self.settled_now();
            return;
        }
        let (durable, before, covers) = match self.unconfirmed.take() {
            // Confirmed at once (nothing shared was recorded): the earlier wait, or its
            // error, still stands, for what it covers.
            Some(earlier) if durable.is_confirmed() => (
                earlier.durable,
                Before::merge(earlier.before, before),
                earlier.covers,
            ),
            Some(earlier) => (durable, Before::merge(earlier.before, before), covers),
            None => (durable, before, covers),
        };
        self.unconfirmed = Some(Unconfirmed {
            durable,
            before,
            covers,
        });
    }

    /// Notes that the revocation just recorded and asked to be confirmed (the latest
    /// [`RequestSession::recorded`]) ended the session `id`.
    fn note_ended(&mut self, id: SessionId) {
        if self.ended.iter().any(|&(ended, _)| ended == id) {
            // Its earliest revocation is kept: once that one is durable, so is the logout.
            return;
        }
        if self.ended.len() == MAX_ENDED {
            self.ended.remove(0);
        }
        self.ended.push((id, self.recorded));
    }

    /// A logout that recorded nothing (a session that is not revocable): no confirmation of
    /// its own, but taken back with the logout of the request it followed if that one's
    /// confirmation doesn't come.
    fn nothing_to_confirm(&mut self, before: Before) {
        let before = Some(Before {
            seq: self.recorded,
            ..before
        });
        let (durable, before, covers) = match self.unconfirmed.take() {
            Some(earlier) => (
                earlier.durable,
                Before::merge(earlier.before, before),
                earlier.covers,
            ),
            None => (Confirmation::ready(Ok(())), before, self.recorded),
        };
        self.unconfirmed = Some(Unconfirmed {
            durable,
            before,
            covers,
        });
    }

    /// Marks where the revoking call that just returned left the session: its logout is
    /// undone only while nothing changed the session since.
    fn logout_returned(&mut self) {
        let changes = self.changes;
        if let Some(before) = self.unconfirmed.as_mut().and_then(|u| u.before.as_mut()) {
            before.left_at.get_or_insert(changes);
        }
    }

    /// The confirmation the revoking call that just returned must await, if it needs one: the
    /// async [`Session`](crate::Session) awaits it with the session unlocked, then hands the
    /// outcome to [`RequestSession::confirmed`]. A call that asked for none (nothing shared
    /// recorded, or nothing to end: the session was logged out by another handler of the
    /// request) awaits the one in flight, if any, so that it never answers before a logout of
    /// this request is confirmed; a new one covers the one in flight.
    pub(super) fn take_confirmation(&mut self) -> Option<PendingConfirmation> {
        self.logout_returned();
        if std::mem::take(&mut self.settled_at_once) && self.unconfirmed.is_none() {
            // Everything recorded is durable: nothing to await, not even one in flight.
            return None;
        }
        let own = self.unconfirmed.take();
        let (wait, number, before, covers) = match (own, self.in_flight.take()) {
            (Some(own), in_flight) if !own.durable.is_confirmed() => {
                self.handed_out += 1;
                let before = Before::merge(in_flight.and_then(|f| f.before), own.before);
                (own.durable.shared(), self.handed_out, before, own.covers)
            }
            (own, Some(in_flight)) => {
                let before = Before::merge(in_flight.before, own.and_then(|own| own.before));
                (in_flight.wait, in_flight.number, before, in_flight.covers)
            }
            (_, None) => return None,
        };
        self.in_flight = Some(InFlight {
            wait: wait.clone(),
            number,
            before,
            covers,
        });
        Some(PendingConfirmation {
            wait,
            number,
            covers,
        })
    }

    /// Applies the store's answer to a confirmation: `Ok`, or its error, after which a logout
    /// that was not confirmed is undone here if nothing changed the session since (see
    /// [`RequestSession::undo_logout`]). The answer to a confirmation that a later one
    /// replaced changes nothing: the later one's does.
    ///
    /// # Errors
    /// The store's [`RevokeError`].
    pub(super) fn confirmed(&mut self, confirmed: Confirmed) -> Result<(), RevokeError> {
        let Confirmed {
            number,
            covers,
            outcome,
        } = confirmed;
        let outcome = match outcome {
            // Covered by a confirmation that came: nothing of it failed.
            Err(_) if covers <= self.durable_upto => Ok(()),
            outcome => outcome,
        };
        match &outcome {
            Err(_) => self.failed = Some(self.failed.map_or(number, |n| n.max(number))),
            Ok(()) => {
                self.durable_upto = self.durable_upto.max(covers);
                if self.failed.is_some_and(|n| n < number) {
                    self.failed = None;
                }
                self.redo_durable_logout();
            }
        }
        if let Some(in_flight) = self.in_flight.take_if(|f| f.number == number)
            && outcome.is_err()
        {
            self.undo_logout(in_flight.before);
        }
        outcome
    }

    /// Takes back, in this request, a logout whose confirmation did not come: the session as
    /// it was before it (`before`; nothing for a renewal or a sign-in, which stay done), and
    /// the cookie kept so the retry comes with it. The revocation holds on this instance.
    ///
    /// Only while nothing changed the session after the logout (another handler of the
    /// request wrote to it, renewed it, signed in): then the later changes win, as they would
    /// have had the logout been confirmed. The session is theirs, never the logged-out one
    /// again, and its cookie is set rather than removed; the logout's error still says it
    /// was not confirmed. If they left no session (it ended again, e.g. a renewal found the
    /// new one logged out elsewhere), the cookie is left as it is: no logout of the request was
    /// confirmed, so none removes it.
    fn undo_logout(&mut self, before: Option<Before>) {
        let Some(before) = before else {
            return;
        };
        let left_at = before.left_at;
        // A logout another confirmation of the request covered stands; of merged ones, the
        // session goes back to before the first that is not durable.
        let Some(before) = before.first_not_durable(self.durable_upto) else {
            return;
        };
        let before = Before { left_at, ..before };
        if before.left_at != Some(self.changes) {
            tracing::debug!(
                target: LOG_TARGET,
                "a logout was not confirmed, and the session changed after it: kept as changed"
            );
            if self.state.is_none() && self.status == SessionStatus::Purged {
                self.keep_refused = true;
                self.set_status(SessionStatus::Unchanged);
            }
            return;
        }
        self.state = before.state;
        self.unverified = before.unverified;
        self.refused_held = before.refused_held;
        self.keep_refused = true;
        self.set_status(before.status);
        // What it brings back may be a session a covered logout ended: logged out again.
        self.redo_durable_logout();
    }

    /// Logs out again a session held although a logout of this request ended it, once a
    /// confirmation covering that logout came (it was durable; a failure of another
    /// confirmation took it back meanwhile): the response then removes the cookie rather than
    /// set a session the store holds as logged out. What was written to it is lost either way
    /// (its cookie would be refused).
    fn redo_durable_logout(&mut self) {
        let durable_upto = self.durable_upto;
        let ended = &self.ended;
        let ended_durably = |held: &Option<SessionState>| {
            held.as_ref().is_some_and(|held| {
                ended
                    .iter()
                    .any(|&(id, seq)| id == held.id() && seq <= durable_upto)
            })
        };
        let (state, unverified, refused_held) = (
            ended_durably(&self.state),
            ended_durably(&self.unverified),
            ended_durably(&self.refused_held),
        );
        if state || (self.state.is_none() && (unverified || refused_held)) {
            self.state = None;
            self.unverified = None;
            self.refused_held = None;
            self.keep_refused = false;
            self.set_status(SessionStatus::Purged);
            return;
        }
        // A session written since (a new one) stays, and its cookie is set; only the ended
        // session held aside for a logout goes.
        if unverified {
            self.unverified = None;
        }
        if refused_held {
            self.refused_held = None;
        }
    }

    /// Runs a revoking call, then blocks this thread for the store's confirmation: the
    /// synchronous methods of this type (unless inside [`RequestSession::without_blocking`],
    /// which awaits it instead). The confirmation's error comes first: as before, what was
    /// asked for isn't done until the store has it.
    fn confirming<T, E: From<RevokeError>>(
        &mut self,
        call: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Result<T, E> {
        let result = call(self);
        if self.deferring {
            self.logout_returned();
            return result;
        }
        if let Some(pending) = self.take_confirmation() {
            let confirmed = pending.wait_blocking();
            self.confirmed(confirmed)?;
        }
        result
    }

    /// Runs `call`, whose revoking methods of this type (`renew`, `reauthenticate`, `sign_in`,
    /// `purge`, `purge_subject`, `purge_other_sessions`) then don't block their thread for the
    /// shared store's confirmation: it is awaited here, once `call` returned, and its error is
    /// the result's (with what a logout that wasn't confirmed undoes, as the blocking methods
    /// do). What an adapter built on this type uses in async code (the shared
    /// [`Session`](crate::Session) handle does the same for handlers).
    ///
    /// As on the shared handle: a write `call` makes after a logout it made (a new session) is
    /// kept if the confirmation doesn't come, instead of the logout being undone; and a logout
    /// after one whose `without_blocking` future was dropped while it waited waits for that
    /// confirmation too.
    ///
    /// ```
    /// use sealed_session::adapter::RequestInfo;
    /// use sealed_session::{KeyRing, RevokeError, SecretKey, SessionManager};
    ///
    /// # pollster::block_on(async {
    /// let sessions = SessionManager::builder(KeyRing::new(SecretKey::generate())).build()?;
    /// let mut session = sessions.open([], RequestInfo::new("/logout"));
    /// session.sign_in("alice")?;
    /// // In async code: the logout's confirmation by Redis holds no thread.
    /// session
    ///     .without_blocking(|s| s.purge())
    ///     .await?;
    /// assert_eq!(session.subject(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// `call`'s, or the confirmation's [`RevokeError`] (e.g. `NotDurable`).
    pub async fn without_blocking<T, E: From<RevokeError>>(
        &mut self,
        call: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Result<T, E> {
        let deferring = std::mem::replace(&mut self.deferring, true);
        let result = call(self);
        self.deferring = deferring;
        if deferring {
            return result;
        }
        if let Some(pending) = self.take_confirmation() {
            let confirmed = pending.wait().await;
            self.confirmed(confirmed)?;
        }
        result
    }

    /// The time revocations are recorded at: the request's clock reading, or the clock's now if
    /// the request has been running for a while, so that deadlines are never computed from a
    /// time already past.
    fn write_time(&self) -> UnixTime {
        UnixTime::from(self.now.max(self.lifecycle.now()))
    }

    /// Replaces the session `state` with what `change` makes of it (a new id, and for a
    /// re-authentication a new stamp), revoking the old id first. The change happens only if
    /// the revocation does; a revocation that ends the new session too (folded into a cutoff
    /// above its stamp) purges it.
    fn replace_with(
        &mut self,
        mut state: SessionState,
        change: impl FnOnce(&mut SessionState),
    ) -> Result<(), RenewError> {
        let old_id = state.id();
        // If the store does not confirm a logout this finds (below), the session is not set
        // again (it ended) but its cookie is kept: the client retries with it.
        let before = self.before_logout();
        match self.lifecycle.end_session(&state, self.write_time()) {
            Ok(Ending {
                ended: Ended::Already(err),
                durable,
            }) => {
                // Logged out meanwhile: a renewal must not turn it into a fresh session. The
                // logout (perhaps this request's, taken back) removes the cookie only once the
                // store confirms it; if that doesn't come, the cookie is left as it is.
                self.expect_confirmation(durable, Some(before));
                self.note_ended(old_id);
                self.set_status(SessionStatus::Purged);
                return Err(err.into());
            }
            // The old id is refused here already: only the shared store's confirmation is left,
            // whose error, if it comes, is the call's.
            Ok(ending) if matches!(ending.ended, Ended::NotRevocable) => {}
            Ok(ending) => {
                self.expect_confirmation(ending.durable, None);
                self.note_ended(old_id);
            }
            Err(err) => {
                self.state = Some(state);
                return Err(err.into());
            }
        };
        change(&mut state);
        if self.lifecycle.is_revoked(&state, self.write_time()) {
            // The old id's revocation folded into a cutoff that covers this session too: a
            // logout, whose removal cookie waits for the store's confirmation as any other's.
            self.settle_again(&before);
            self.set_status(SessionStatus::Purged);
            return Err(RevokeError::Superseded {
                current: self.lifecycle.cutoff(state.subject()),
            }
            .into());
        }
        self.state = Some(state);
        self.set_status(SessionStatus::Renewed);
        Ok(())
    }

    /// Records a change without downgrading a stronger status (renewed or purged).
    fn mark(&mut self, status: SessionStatus) {
        self.changes += 1;
        if self.status == SessionStatus::Unchanged {
            self.status = status;
        } else if self.status == SessionStatus::Purged && status == SessionStatus::Changed {
            // Writing after a purge starts a fresh session.
            self.status = SessionStatus::Renewed;
        }
    }

    /// Records a change that sets the status (a renewal, a sign-in, a logout, or its undoing).
    fn set_status(&mut self, status: SessionStatus) {
        self.changes += 1;
        self.status = status;
    }
}

impl std::fmt::Debug for RequestSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestSession")
            .field("state", &self.state)
            .field("status", &self.status)
            .field("incoming", &self.incoming)
            .field("legacy_removal", &self.legacy_removal.is_some())
            .finish_non_exhaustive()
    }
}

/// What a renewal answers while the store can't check revocations yet: "try again".
fn not_loaded() -> RevokeError {
    RevokeError::NotDurable {
        waited: std::time::Duration::ZERO,
        reason: NotDurableReason::RevocationsNotLoaded,
    }
}

/// How to take back a change that made the session too large.
enum Undo {
    Value(String, Option<SessionValue>),
    Subject(Option<crate::revocation::Subject>),
}

impl Undo {
    fn apply(self, state: &mut SessionState) {
        match self {
            Self::Value(key, Some(previous)) => {
                state.insert_raw(&key, previous.into_bytes());
            }
            Self::Value(key, None) => {
                state.remove(&key);
            }
            Self::Subject(Some(previous)) => {
                state.set_subject(previous.name(), previous.generation());
            }
            Self::Subject(None) => state.clear_subject(),
        }
    }
}

/// Refuses a subject before anything changes: too long for a revocation store (`too_long`, with
/// the length and the most accepted), or holding a control character (`char::is_control`:
/// C0, DEL and C1; `control`), which line-based logs, files and messages would read as the end
/// of a line or something else.
fn check_subject<E>(
    subject: &str,
    too_long: impl FnOnce(usize, usize) -> E,
    control: E,
) -> Result<(), E> {
    if subject.len() > MAX_SUBJECT_LEN {
        return Err(too_long(subject.len(), MAX_SUBJECT_LEN));
    }
    if subject.chars().any(char::is_control) {
        return Err(control);
    }
    Ok(())
}
