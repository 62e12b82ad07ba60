//! What a [`RequestSession`](super::RequestSession) asks of its lifecycle, through methods: new
//! ids and sessions, the size check, the revocations (and the shared store's confirmation of
//! them, asked for here, in one place) and the cookie for a state. The request session never reads the lifecycle's settings itself.

use time::OffsetDateTime;

use super::{CookieUpdate, LOG_TARGET, RefreshPolicy, SessionManager, chunking};
use crate::chunks::{MAX_COOKIES, chunk_name};
use crate::envelope::CookieName;
use crate::error::SealError;
use crate::revocation::{
    Confirmation, Cutoff, Generation, KeptSession, Revocation, RevokeError, Subject,
};
use crate::state::{SessionId, SessionState};
use crate::unix::UnixTime;

/// What recording a session's end came to, and the wait for it to be durable.
pub(super) struct Ending {
    /// What was recorded.
    pub(super) ended: Ended,
    /// The shared store's confirmation, to await: `Err(RevokeError::NotDurable)` if it does
    /// not come in time (the end holds on this instance all the same).
    pub(super) durable: Confirmation,
}

/// What a session's end recorded.
pub(super) enum Ended {
    /// The end was recorded now.
    Now,
    /// The session had ended before (perhaps by a revocation not confirmed then): the store's
    /// `Superseded` error.
    Already(RevokeError),
    /// Not revocable (an anonymous session, when those are not revoked): nothing to record.
    NotRevocable,
}

impl SessionManager {
    /// A new session id, from the codec's random source.
    pub(super) fn new_id(&self) -> Result<SessionId, SealError> {
        self.inner.codec.new_id()
    }

    /// A new, empty session created at `now`.
    pub(super) fn new_session(&self, now: OffsetDateTime) -> Result<SessionState, SealError> {
        self.inner.codec.new_session(now)
    }

    /// Whether `state` still fits in the cookie, or in the most cookies the session may span
    /// within the `Cookie` header's budget.
    pub(super) fn check_size(&self, state: &SessionState) -> Result<(), SealError> {
        let s = &self.inner;
        let worst = s.codec.check_size(state)?;
        match &s.chunking {
            None => Ok(()),
            Some(chunking) => chunking
                .parts(worst - s.codec.cookie_name().as_str().len())
                .map(drop),
        }
    }

    /// Whether `state`'s session is refused as revoked at `now`.
    pub(super) fn is_revoked(&self, state: &SessionState, now: UnixTime) -> bool {
        self.inner
            .store
            .is_revoked(state.id(), state.subject_generation(), now)
    }

    /// The cutoff of `subject` as this instance knows it.
    pub(super) fn cutoff(&self, subject: Option<&str>) -> Generation {
        subject.map_or(Generation::ZERO, |s| self.inner.store.generation(s))
    }

    /// Records the end of `state`'s session at `now`, with the confirmation that it is durable
    /// to await: the one place a request's revocation is recorded and its confirmation asked
    /// for. A session that had ended already (`Superseded`) is waited for too: what was asked
    /// for holds once the store has it.
    ///
    /// # Errors
    /// The store's error if nothing was recorded: the session is still in force.
    pub(super) fn end_session(
        &self,
        state: &SessionState,
        now: UnixTime,
    ) -> Result<Ending, RevokeError> {
        let ended = match self.record_end(state, now) {
            Ok(Some(_)) => Ended::Now,
            Ok(None) => Ended::NotRevocable,
            Err(err @ RevokeError::Superseded { .. }) => Ended::Already(err),
            Err(err) => return Err(err),
        };
        let durable = match ended {
            Ended::NotRevocable => Confirmation::ready(Ok(())),
            Ended::Now | Ended::Already(_) => self.settle(),
        };
        Ok(Ending { ended, durable })
    }

    /// Raises `subject`'s cutoff to `kept`'s stamp ("sign out my other devices") at `now`, if
    /// `kept` is still in force; not yet durable (the renewal that follows settles it).
    pub(super) fn end_older_sessions(
        &self,
        subject: &str,
        kept: KeptSession,
        now: UnixTime,
    ) -> Result<(), RevokeError> {
        self.inner
            .store
            .advance(subject, Cutoff::OlderThan(kept), self.horizon(now), now)
            .map(drop)
    }

    /// The shared store's confirmation of what this instance recorded so far.
    pub(super) fn settle(&self) -> Confirmation {
        self.inner.store.settle()
    }

    /// Records the end of `state`'s session, if it is revocable.
    fn record_end(
        &self,
        state: &SessionState,
        now: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError> {
        let s = &self.inner;
        let revocation = match state.subject_generation() {
            // Kept as long as a cutoff raised in its place must be: see `Revocation`.
            Some(subject) => Revocation::Session {
                id: state.id(),
                subject: Some(Subject::clone(subject)),
                until: self.horizon(now),
            },
            None if s.revoke_anonymous => Revocation::Session {
                id: state.id(),
                subject: None,
                until: s.codec.lifetime_end(state.created_unix()),
            },
            None => return Ok(None),
        };
        s.store.revoke(revocation, now)
    }

    /// The `Set-Cookie` that removes the session cookie (same name, `Path` and `Domain`), and
    /// those that remove every chunk of it (`sent`: the chunk names the request sent, a bit per
    /// index).
    pub(super) fn removal(&self, sent: u16) -> (CookieUpdate, Vec<String>) {
        let s = &self.inner;
        let update = CookieUpdate::Remove(s.attributes.set_cookie(s.codec.cookie_name(), "", None));
        (update, self.chunk_removals(sent, 1, 1))
    }

    /// The removals of the chunk cookies no session of this response uses: every index from
    /// `always` up to `max_cookies` (a concurrent response may have set one that this request
    /// did not send, and a chunk left beside a smaller session would refuse it), and every
    /// index from `sent_from` on that the request sent (chunks a larger `max_cookies` set before,
    /// or chunks without a first cookie). Empty, without allocating, for a session in one cookie
    /// whose request sent no chunk name.
    pub(super) fn chunk_removals(&self, sent: u16, always: usize, sent_from: usize) -> Vec<String> {
        let s = &self.inner;
        let max = s.chunking.as_ref().map_or(1, chunking::Chunking::max);
        // The common case, a request that sent no chunk name and nothing always removed: no
        // loop (this runs on every response).
        if always >= max && sent >> sent_from.min(15) == 0 {
            return Vec::new();
        }
        (1..MAX_COOKIES)
            .filter(|&index| {
                (index >= always && index < max) || (index >= sent_from && sent & (1 << index) != 0)
            })
            .filter_map(|index| {
                let header = match &s.chunking {
                    Some(chunking) if index < chunking.max() => {
                        s.attributes.set_cookie(chunking.name(index), "", None)
                    }
                    _ => {
                        let base = s.codec.cookie_name().as_str();
                        let name = CookieName::new(chunk_name(base, index)).ok()?;
                        s.attributes.set_cookie(&name, "", None)
                    }
                };
                Some(header)
            })
            .collect()
    }

    /// `state` sealed into one cookie's value at `now`, its activity touched.
    pub(super) fn seal_value(
        &self,
        state: &mut SessionState,
        now: OffsetDateTime,
    ) -> Result<String, SealError> {
        state.touch(now);
        self.inner.codec.seal(state).inspect_err(|err| {
            tracing::error!(target: LOG_TARGET, "session could not be sealed: {err}");
        })
    }

    /// The cookie for `state` at `now`: set when `changed`, refreshed when `reseal` (an older
    /// key opened it) or the refresh policy says so, nothing otherwise. Touches `state` when it
    /// seals it. With the session's other chunks' headers, and the removals of the chunks the
    /// request sent (`sent`) that it no longer uses.
    pub(super) fn cookie_for(
        &self,
        state: &mut SessionState,
        now: OffsetDateTime,
        changed: bool,
        reseal: bool,
        sent: u16,
    ) -> Result<(CookieUpdate, Vec<String>), SealError> {
        let s = &self.inner;
        let refresh = !changed
            && (reseal
                || match s.refresh {
                    RefreshPolicy::EveryRequest => true,
                    RefreshPolicy::Interval(interval) => now - state.last_active() >= interval,
                });
        let max = s.chunking.as_ref().map_or(1, chunking::Chunking::max);
        // Nothing to write: only chunk names a larger `max_cookies` left are removed.
        let unchanged = || {
            (
                CookieUpdate::None,
                self.chunk_removals(sent, MAX_COOKIES, max),
            )
        };
        if !changed && !refresh {
            return Ok(unchanged());
        }
        state.touch(now);
        let expires = s.codec.expires_at(state);
        let life = expires.secs().saturating_sub(UnixTime::from(now).secs());
        let life = time::Duration::seconds(i64::try_from(life).unwrap_or(i64::MAX));
        let sealed = |parts| {
            s.codec.seal_chunked(state, parts).inspect_err(|err| {
                tracing::error!(target: LOG_TARGET, "session could not be sealed: {err}");
            })
        };
        // A refresh of a session past today's limits (lowered since its cookie was written) keeps
        // that cookie: the session is still valid, and a refresh is no write to refuse.
        let parts = match &s.chunking {
            None if !changed && s.codec.check_size(state).is_err() => return Ok(unchanged()),
            None => 1,
            Some(chunking) => {
                let name_len = s.codec.cookie_name().as_str().len();
                match chunking.parts(s.codec.sealed_len(state) - name_len) {
                    Ok(parts) => parts,
                    Err(_) if !changed => return Ok(unchanged()),
                    Err(err) => return Err(err),
                }
            }
        };
        let (header, others) = match &s.chunking {
            None => {
                let value = sealed(1)?;
                let header = s
                    .attributes
                    .set_cookie(s.codec.cookie_name(), &value, Some(life));
                (header, self.chunk_removals(sent, 1, 1))
            }
            Some(chunking) => {
                let values = chunking.cut(&sealed(parts)?, parts);
                let mut headers = values.iter().enumerate().map(|(index, value)| {
                    s.attributes
                        .set_cookie(chunking.name(index), value, Some(life))
                });
                let first = headers.next().unwrap_or_default();
                let mut others: Vec<String> = headers.collect();
                let unused = usize::from(parts);
                others.extend(self.chunk_removals(sent, unused, unused));
                (first, others)
            }
        };
        let update = if changed {
            CookieUpdate::Set(header)
        } else {
            CookieUpdate::Refresh(header)
        };
        Ok((update, others))
    }
}
