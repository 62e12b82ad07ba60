//! [`RequestSession`]: one request's session and what the request did to it.

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::{CookieUpdate, LOG_TARGET, Lifecycle, RefreshPolicy};
use crate::error::{InsertError, OpenError, RenewError, SealError, UpdateError, ValueError};
use crate::revocation::{KeptSession, MAX_SUBJECT_LEN, Revocation, RevokeError};
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
    /// The request had no session cookie that opened, but an actix-session cookie the legacy
    /// reader migrated (feature `actix-session-legacy`): the session holds its values, and the
    /// response sets the new cookie and removes the old one.
    Migrated,
}

/// The session of one request, from [`Lifecycle::open`] to [`RequestSession::finish`].
///
/// Every operation uses the request's one clock reading. Writes are checked at once (a value
/// that would make the cookie too large is refused by [`RequestSession::insert`] and leaves the
/// session as it was); logouts are recorded in the revocation store before they return `Ok`.
///
/// ```
/// use sealed_session::{KeyRing, Lifecycle, RequestInfo, SecretKey, SessionStatus};
///
/// let sessions = Lifecycle::builder(KeyRing::new(SecretKey::generate())).build()?;
/// let mut session = sessions.open([], RequestInfo::new("/counter"));
/// let n = session.get::<u64>("counter")?.unwrap_or(0) + 1;
/// session.insert("counter", &n)?;
/// assert_eq!(session.status(), SessionStatus::Changed);
/// assert!(session.finish()?.header().is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RequestSession {
    lifecycle: Lifecycle,
    now: OffsetDateTime,
    /// `None` until the session holds something: a session nobody wrote sets no cookie.
    state: Option<SessionState>,
    status: SessionStatus,
    incoming: IncomingCookie,
    /// An older key opened the cookie: re-seal it with the primary even if unchanged.
    reseal: bool,
    /// A refused cookie is not removed: values of our name were left untried.
    keep_refused: bool,
    /// The `Set-Cookie` that removes the request's actix-session cookie (legacy reader).
    legacy_removal: Option<String>,
}

impl RequestSession {
    pub(super) fn new(
        lifecycle: Lifecycle,
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
        }
    }

    /// The session an actix-session cookie held, which the response seals as a new one and
    /// whose old cookie `removal` removes.
    #[cfg(feature = "actix-session-legacy")]
    pub(super) fn migrated(
        lifecycle: Lifecycle,
        now: OffsetDateTime,
        state: SessionState,
        removal: String,
    ) -> Self {
        let mut session = Self::new(lifecycle, now, Some(state), IncomingCookie::Migrated, false);
        session.status = SessionStatus::Changed;
        session.legacy_removal = Some(removal);
        session
    }

    pub(super) fn keep_refused_cookie(&mut self) {
        self.keep_refused = true;
    }

    #[cfg(feature = "actix-session-legacy")]
    pub(super) fn keeps_refused_cookie(&self) -> bool {
        self.keep_refused
    }

    #[cfg(feature = "actix-session-legacy")]
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
    /// use sealed_session::{KeyRing, Lifecycle, RequestInfo, SecretKey};
    ///
    /// let sessions = Lifecycle::builder(KeyRing::new(SecretKey::generate())).build()?;
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
    /// use sealed_session::{KeyRing, Lifecycle, RequestInfo, SecretKey, UpdateError};
    ///
    /// let sessions = Lifecycle::builder(KeyRing::new(SecretKey::generate())).build()?;
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
    /// use sealed_session::{KeyRing, Lifecycle, RequestInfo, SecretKey, UpdateError};
    ///
    /// let sessions = Lifecycle::builder(KeyRing::new(SecretKey::generate()))
    ///     .size_limit(300)
    ///     .build()?;
    /// let mut session = sessions.open([], RequestInfo::new("/"));
    /// session.update_or("visits", 1u64, |n| n + 1)?;
    /// session.update_or("visits", 1u64, |n| n + 1)?;
    /// assert_eq!(session.get::<u64>("visits")?, Some(2));
    ///
    /// // A default too large for the cookie is refused at once; nothing is stored.
    /// let err = session.update_or("blob", vec![0u8; 500], |v| v).unwrap_err();
    /// assert!(matches!(err, UpdateError::Insert(sealed_session::InsertError::TooLarge { .. })));
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
    /// [`InsertError::SubjectTooLong`] past [`MAX_SUBJECT_LEN`] bytes (nothing changes).
    pub fn set_subject(&mut self, subject: impl Into<String>) -> Result<(), InsertError> {
        let subject = subject.into();
        if subject.len() > MAX_SUBJECT_LEN {
            return Err(InsertError::SubjectTooLong {
                len: subject.len(),
                max: MAX_SUBJECT_LEN,
            });
        }
        // The same subject keeps the generation the session carries: restamping it with the
        // store's current one would undo a log-out-everywhere made since the session was opened.
        let generation = match self
            .state
            .as_ref()
            .and_then(SessionState::subject_generation)
        {
            Some(held) if held.name() == subject => held.generation(),
            _ => self.lifecycle.inner.store.generation(&subject),
        };
        self.modify(|state| {
            let previous = state.subject_generation().cloned();
            state.set_subject(subject, generation);
            Ok(Undo::Subject(previous))
        })
    }

    /// Gives the session a new id and a new lifetime, keeping its data, its subject and the
    /// generation it carries, and revokes the old id if the session has a subject (or the
    /// lifecycle revokes anonymous sessions too). The absolute timeout counts from here.
    ///
    /// At sign-in use [`RequestSession::sign_in`] instead: `renew` keeps every value, including
    /// any a cookie planted before the sign-in carried.
    ///
    /// # Errors
    /// [`RenewError::Randomness`] if no new id can be drawn, [`RenewError::Revoke`] if the old
    /// id can't be revoked (the session is left as it was), or with
    /// [`RevokeError::Superseded`] if the session was logged out since the request opened it
    /// (it is purged: a renewal never revives a logged-out session). With
    /// [`RevokeError::NotDurable`] the renewal is done and the old id refused here; only the
    /// shared store's confirmation of its revocation is missing.
    pub fn renew(&mut self) -> Result<(), RenewError> {
        let new_id = SessionId::random()?;
        let now = self.now;
        let Some(mut state) = self.state.take() else {
            self.state = Some(SessionState::with_id(new_id, now));
            self.status = SessionStatus::Renewed;
            return Ok(());
        };
        let recorded = match self.revoke_current(&state) {
            Ok(recorded) => recorded,
            Err(err @ RevokeError::Superseded { .. }) => {
                // Logged out meanwhile: a renewal must not turn it into a fresh session.
                self.status = SessionStatus::Purged;
                return Err(err.into());
            }
            Err(err) => {
                self.state = Some(state);
                return Err(err.into());
            }
        };
        state.renew(new_id, now);
        let revoked = recorded.is_some();
        // The renewed session keeps the generation it was opened with, unless revoking the old
        // id folded the subject into a new one (its own logout of the other sessions): a
        // log-out-everywhere made meanwhile still refuses it.
        if let Some(Revocation::Subject {
            subject,
            generation,
            ..
        }) = recorded
        {
            state.set_subject(subject, generation);
        }
        self.state = Some(state);
        self.status = SessionStatus::Renewed;
        // The old id is refused here already: only the shared store's confirmation is left.
        if revoked {
            self.lifecycle.inner.store.settle()?;
        }
        Ok(())
    }

    /// Signs `subject` in: the session becomes a new one (new id, new lifetime) that holds no
    /// value from before and belongs to `subject`, at its current generation. The session it
    /// replaces is revoked as [`RequestSession::renew`] would.
    ///
    /// This is the login step: a cookie planted by someone who can set cookies for the site (a
    /// sibling subdomain, without the `__Host-` prefix) carries none of its values, nor its id,
    /// into the signed-in session.
    ///
    /// # Errors
    /// As [`RequestSession::renew`], [`RenewError::TooLarge`] if the subject alone doesn't fit
    /// in the cookie, [`RenewError::SubjectTooLong`] past [`MAX_SUBJECT_LEN`] bytes; the session
    /// is left as it was.
    pub fn sign_in(&mut self, subject: impl Into<String>) -> Result<(), RenewError> {
        let subject = subject.into();
        if subject.len() > MAX_SUBJECT_LEN {
            return Err(RenewError::SubjectTooLong {
                len: subject.len(),
                max: MAX_SUBJECT_LEN,
            });
        }
        let mut fresh = SessionState::new(self.now)?;
        // Checked before anything is revoked, so a subject that doesn't fit changes nothing.
        fresh.set_subject(subject.as_str(), crate::Generation::ZERO);
        self.lifecycle.inner.codec.check_size(&fresh)?;
        let mut unsettled = None;
        if let Some(previous) = &self.state {
            match self.revoke_current(previous) {
                Ok(Some(_)) => {
                    // An anonymous pre-login session's confirmation doesn't hold up a sign-in,
                    // for the same reason as below.
                    unsettled = self
                        .lifecycle
                        .inner
                        .store
                        .settle()
                        .err()
                        .filter(|_| previous.subject().is_some());
                }
                Ok(None) | Err(RevokeError::Superseded { .. }) => {}
                // The fresh id is what defeats fixation: an anonymous pre-login session that
                // can't be listed (a full list) doesn't stop the sign-in.
                Err(err) if previous.subject().is_none() => tracing::debug!(
                    target: LOG_TARGET,
                    "the pre-login session could not be revoked, signing in anyway: {err}"
                ),
                Err(err) => return Err(err.into()),
            }
        }
        let generation = self.lifecycle.inner.store.generation(&subject);
        fresh.set_subject(subject, generation);
        self.state = Some(fresh);
        self.status = SessionStatus::Renewed;
        match unsettled {
            Some(err) => Err(err.into()),
            None => Ok(()),
        }
    }

    /// Logs out: revokes the session server-side (a copy of the cookie stops working), forgets
    /// its data and removes the cookie. A session without a subject is not listed unless the
    /// lifecycle revokes anonymous sessions: it is forgotten and its cookie removed.
    ///
    /// Called again for a cookie the store refuses as revoked (a retry after
    /// [`RevokeError::NotDurable`]), it waits for the store to confirm what it holds.
    ///
    /// # Errors
    /// [`RevokeError`] if the revocation can't be recorded, or
    /// [`RevokeError::NotDurable`] if it holds here but the shared store did not confirm it in
    /// time; the session is then left as it was (the cookie is not removed), so the
    /// application can say "try again" rather than claim a logout that a copy of the cookie
    /// would outlive.
    pub fn purge(&mut self) -> Result<(), RevokeError> {
        self.settle_refused()?;
        if let Some(state) = &self.state {
            match self.revoke_current(state) {
                Ok(None) => {}
                // Logged out already (perhaps by a revocation not confirmed yet): what was
                // asked for holds once the store has it.
                Ok(Some(_)) | Err(RevokeError::Superseded { .. }) => {
                    self.lifecycle.inner.store.settle()?;
                }
                Err(err) => return Err(err),
            }
        }
        self.state = None;
        self.status = SessionStatus::Purged;
        Ok(())
    }

    /// Logs out every session of the current subject ("log out everywhere"), this one
    /// included: advances the subject's generation, so every session that carries the old one
    /// is refused, wherever and whenever it was created. Returns `false`, changing nothing, if
    /// no subject is set.
    ///
    /// # Errors
    /// [`RevokeError`] if the revocation can't be recorded (nothing changes), or
    /// [`RevokeError::NotDurable`] if it holds here but the shared store did not confirm it in
    /// time (the session is left as it was; a retry with its cookie waits again).
    pub fn purge_subject(&mut self) -> Result<bool, RevokeError> {
        self.settle_refused()?;
        let Some(subject) = self.subject().map(str::to_owned) else {
            return Ok(false);
        };
        let now = self.write_time();
        let store = &self.lifecycle.inner.store;
        store.advance(&subject, None, self.lifecycle.horizon(now), now)?;
        store.settle()?;
        self.state = None;
        self.status = SessionStatus::Purged;
        Ok(true)
    }

    /// Logs out every other session of the current subject and keeps this one, renewed: call
    /// it after a password change ("sign out my other devices"). Returns `false`, changing
    /// nothing, if no subject is set.
    ///
    /// The subject's generation advances as one compare-and-set from the generation this
    /// session carries, and only this session receives the new one. If the session was itself
    /// logged out meanwhile (a "log out everywhere" the store has seen), the advance fails, the
    /// session is purged and the error says so: on one store, a sign-out-others never outlives
    /// a log-out-everywhere. Across instances of a shared store, see the store's consistency
    /// bound ([`crate::guide::revocation`]).
    ///
    /// # Errors
    /// [`RenewError::Randomness`] if no new id can be drawn (nothing changes),
    /// [`RenewError::Revoke`] with [`RevokeError::Superseded`] if this session was logged out
    /// meanwhile (it is purged), with [`RevokeError::NotDurable`] if the advance holds here and
    /// this session is renewed but the shared store did not confirm it in time (call it again),
    /// or another [`RevokeError`] (nothing changes).
    pub fn purge_other_sessions(&mut self) -> Result<bool, RenewError> {
        self.settle_refused()?;
        let Some(state) = &self.state else {
            return Ok(false);
        };
        let Some(subject) = state.subject_generation().cloned() else {
            return Ok(false);
        };
        let new_id = SessionId::random()?;
        let now = self.write_time();
        let kept = KeptSession::new(state.id(), subject.generation());
        let advanced = self.lifecycle.inner.store.advance(
            subject.name(),
            Some(kept),
            self.lifecycle.horizon(now),
            now,
        );
        match advanced {
            Ok(generation) => {
                let now = self.now;
                if let Some(state) = self.state.as_mut() {
                    state.renew(new_id, now);
                    state.set_subject(subject.name(), generation);
                }
                self.status = SessionStatus::Renewed;
                self.lifecycle.inner.store.settle()?;
                Ok(true)
            }
            Err(err @ RevokeError::Superseded { .. }) => {
                self.state = None;
                self.status = SessionStatus::Purged;
                Err(err.into())
            }
            Err(err) => Err(err.into()),
        }
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
    ///   opened it (rotation) or per the [`RefreshPolicy`];
    /// - a purged session and a refused cookie get a removal cookie with the same name, `Path`
    ///   and `Domain` (a refused cookie not, if values of its name were left untried).
    ///
    /// `Max-Age` is what is left of the session's life (at most 400 days), computed with
    /// saturating arithmetic whatever the configured timeouts.
    ///
    /// # Errors
    /// [`SealError::Randomness`] if no nonce can be drawn (sizes were checked when the session
    /// was written, so `TooLarge` can't happen here). Logged under [`LOG_TARGET`]; the client
    /// keeps its previous cookie.
    pub fn finish(&mut self) -> Result<CookieUpdate, SealError> {
        let settings = &self.lifecycle.inner;
        let name = settings.codec.cookie_name();
        let refused = matches!(self.incoming, IncomingCookie::Refused(_)) && !self.keep_refused;
        let Some(state) = self.state.as_mut() else {
            let removes = self.status == SessionStatus::Purged || refused;
            return Ok(if removes {
                CookieUpdate::Remove(settings.attributes.set_cookie(name, "", None))
            } else {
                CookieUpdate::None
            });
        };
        let changed = match self.status {
            SessionStatus::Changed | SessionStatus::Renewed => true,
            SessionStatus::Purged => {
                return Ok(CookieUpdate::Remove(
                    settings.attributes.set_cookie(name, "", None),
                ));
            }
            SessionStatus::Unchanged => false,
        };
        let refresh = !changed
            && (self.reseal
                || match settings.refresh {
                    RefreshPolicy::EveryRequest => true,
                    RefreshPolicy::Interval(interval) => self.now - state.last_active() >= interval,
                });
        if !changed && !refresh {
            return Ok(CookieUpdate::None);
        }
        state.touch(self.now);
        let value = settings.codec.seal(state).inspect_err(|err| {
            tracing::error!(target: LOG_TARGET, "session could not be sealed: {err}");
        })?;
        let expires = settings.codec.expires_at(state);
        let life = expires
            .secs()
            .saturating_sub(UnixTime::from(self.now).secs());
        let life = time::Duration::seconds(i64::try_from(life).unwrap_or(i64::MAX));
        let header = settings.attributes.set_cookie(name, &value, Some(life));
        Ok(if changed {
            CookieUpdate::Set(header)
        } else {
            CookieUpdate::Refresh(header)
        })
    }

    /// The `Set-Cookie` header value that removes the request's actix-session cookie, if the
    /// response must send one besides [`RequestSession::finish`]'s: the old cookie was
    /// migrated, or came beside a session cookie that opened (feature `actix-session-legacy`;
    /// always `None` without it). Adapters append both headers.
    ///
    /// ```
    /// use sealed_session::{KeyRing, Lifecycle, RequestInfo, SecretKey};
    ///
    /// let sessions = Lifecycle::builder(KeyRing::new(SecretKey::generate())).build()?;
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
        let codec = &self.lifecycle.inner.codec;
        let created_here = self.state.is_none();
        let state = match self.state.as_mut() {
            Some(state) => state,
            None => self.state.insert(SessionState::new(self.now)?),
        };
        let result = change(state).and_then(|undo| match codec.check_size(state) {
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

    /// For a request whose cookie the store refused as revoked: waits for the store to confirm
    /// what it holds, so that a logout retried after [`RevokeError::NotDurable`] is answered
    /// only once it is durable. If it is not, the refused cookie is kept, so the next retry
    /// comes with it again.
    fn settle_refused(&mut self) -> Result<(), RevokeError> {
        if self.incoming != IncomingCookie::Refused(OpenError::Revoked) {
            return Ok(());
        }
        self.lifecycle.inner.store.settle().inspect_err(|_| {
            self.keep_refused = true;
        })
    }

    /// The time revocations are recorded at: the request's clock reading, or the clock's now if
    /// the request has been running for a while, so that deadlines are never computed from a
    /// time already past.
    fn write_time(&self) -> UnixTime {
        UnixTime::from(self.now.max(self.lifecycle.now()))
    }

    /// Revokes the session `state` is, per the lifecycle's policy, and returns what the store
    /// recorded; records nothing for an anonymous session unless anonymous sessions are revoked
    /// too.
    ///
    /// # Errors
    /// [`RevokeError::Superseded`] if the session was revoked since it was opened (so that no
    /// caller carries on with it), or the store's error.
    fn revoke_current(&self, state: &SessionState) -> Result<Option<Revocation>, RevokeError> {
        let settings = &self.lifecycle.inner;
        let now = self.write_time();
        if settings
            .store
            .is_revoked(state.id(), state.subject_generation(), now)
        {
            return Err(RevokeError::Superseded {
                current: state
                    .subject()
                    .map_or(crate::Generation::ZERO, |s| settings.store.generation(s)),
            });
        }
        let revocation = match state.subject_generation() {
            // Kept as long as a generation advanced in its place must be: see `Revocation`.
            Some(subject) => Revocation::Session {
                id: state.id(),
                subject: Some(subject.clone()),
                until: self.lifecycle.horizon(now),
            },
            None if settings.revoke_anonymous => Revocation::Session {
                id: state.id(),
                subject: None,
                until: settings.codec.lifetime_end(state.created_unix()),
            },
            None => return Ok(None),
        };
        settings.store.revoke(revocation, now)
    }

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
