//! A revocation store that can't confirm (`RevokeError::NotDurable` from `settle`) or can't tell
//! yet (`revocations_known` false): what each revoking call leaves behind, and the retry.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sealed_session::NotDurableReason;
use sealed_session::adapter::{CookieUpdate, InsertError, RequestInfo, RequestSession};
use sealed_session::codec::UnixTime;
use sealed_session::revocation::{
    Confirmation, Cutoff, Generation, MemoryRevocationStore, Revocation, RevocationStore, Subject,
};
use sealed_session::{Mode, OpenError, RevokeError, SessionId, SessionManager};

use crate::{T0, at, lifecycle_builder, set_value};

/// A memory store whose confirmation and knowledge the test switches: confirmations refused
/// (`unconfirmed`), or answered by the test after the call (`deferred`).
#[derive(Debug, Default)]
struct Switchable {
    inner: MemoryRevocationStore,
    unconfirmed: AtomicBool,
    deferred: AtomicBool,
    unknown: AtomicBool,
    answer: Arc<Mutex<Answer>>,
}

impl RevocationStore for Switchable {
    fn is_revoked(&self, id: SessionId, subject: Option<&Subject>, now: UnixTime) -> bool {
        self.inner.is_revoked(id, subject, now)
    }
    fn generation(&self, subject: &str) -> Generation {
        self.inner.generation(subject)
    }
    fn authentication_stamp(&self, subject: &str, at: Generation) -> Generation {
        self.inner.authentication_stamp(subject, at)
    }
    fn revoke(&self, r: Revocation, now: UnixTime) -> Result<Option<Revocation>, RevokeError> {
        self.inner.revoke(r, now)
    }
    fn advance(
        &self,
        subject: &str,
        cutoff: Cutoff,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<Option<Revocation>, RevokeError> {
        self.inner.advance(subject, cutoff, until, now)
    }
    fn settle(&self) -> Confirmation {
        if self.deferred.load(Ordering::SeqCst) {
            return self.deferred_confirmation();
        }
        Confirmation::ready(if self.unconfirmed.load(Ordering::SeqCst) {
            Err(RevokeError::NotDurable {
                waited: Duration::from_millis(250),
                reason: NotDurableReason::RedisTimedOut,
            })
        } else {
            Ok(())
        })
    }
    fn revocations_known(&self) -> bool {
        !self.unknown.load(Ordering::SeqCst)
    }
}

fn setup() -> (SessionManager, Arc<Switchable>) {
    let store = Arc::new(Switchable::default());
    let clock = Arc::new(sealed_session::clock::ManualClock::new(at(T0)));
    let lifecycle = lifecycle_builder(1, Mode::Encrypted)
        .clock(clock)
        .revocation_store(store.clone())
        .build()
        .unwrap();
    (lifecycle, store)
}

fn request(lifecycle: &SessionManager, cookie: Option<&str>) -> RequestSession {
    let header = cookie.map(|v| format!("{}={v}", lifecycle.cookie_name()));
    lifecycle.open(header.iter().map(String::as_bytes), RequestInfo::new("/"))
}

fn signed_in(lifecycle: &SessionManager, user: &str) -> String {
    let mut session = request(lifecycle, None);
    session.sign_in(user).unwrap();
    set_value(&session.finish().unwrap())
}

/// A store whose confirmations the test answers (`Switchable::deferred`), and a cookie signed
/// in as `user`, refused as revoked if `revoked` (another request logged the user out
/// everywhere): a purge made with it asks the store to confirm.
fn waiting(user: &str, revoked: bool) -> (SessionManager, Arc<Switchable>, String) {
    let (lifecycle, store) = setup();
    let cookie = signed_in(&lifecycle, user);
    if revoked {
        drop(lifecycle.revoke_subject(user));
    }
    store.deferred.store(true, Ordering::SeqCst);
    (lifecycle, store, cookie)
}

/// Polls `future` once, with a waker that does nothing: the test drives every step.
fn poll<F: Future + ?Sized>(future: &mut Pin<Box<F>>) -> Poll<F::Output> {
    future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn an_unconfirmed_logout_keeps_the_cookie_and_its_retry_waits_for_the_confirmation() {
    let (lifecycle, store) = setup();
    let cookie = signed_in(&lifecycle, "alice");
    store.unconfirmed.store(true, Ordering::SeqCst);

    let mut session = request(&lifecycle, Some(&cookie));
    let err = session.purge().unwrap_err();
    assert!(err.is_not_durable(), "{err}");
    assert!(err.to_string().contains("try again"), "{err}");
    assert!(
        !matches!(session.finish().unwrap(), CookieUpdate::Remove(_)),
        "the cookie stays for the retry"
    );
    // It holds here already.
    assert_eq!(
        request(&lifecycle, Some(&cookie)).refusal(),
        Some(OpenError::Revoked)
    );

    // The retry comes with the refused cookie: not done while unconfirmed, cookie kept again.
    let mut retry = request(&lifecycle, Some(&cookie));
    assert!(retry.purge().unwrap_err().is_not_durable());
    assert_eq!(retry.finish().unwrap(), CookieUpdate::None);
    // The same for the other logouts of a refused cookie.
    let mut retry = request(&lifecycle, Some(&cookie));
    assert!(retry.purge_subject().unwrap_err().is_not_durable());
    let mut retry = request(&lifecycle, Some(&cookie));
    assert!(retry.purge_other_sessions().is_err());

    store.unconfirmed.store(false, Ordering::SeqCst);
    let mut retry = request(&lifecycle, Some(&cookie));
    retry.purge().unwrap();
    assert!(matches!(retry.finish().unwrap(), CookieUpdate::Remove(_)));
    // A request without a cookie has nothing to confirm.
    store.unconfirmed.store(true, Ordering::SeqCst);
    request(&lifecycle, None).purge().unwrap();
}

#[test]
fn an_unconfirmed_log_out_everywhere_leaves_the_session_for_the_retry() {
    let (lifecycle, store) = setup();
    let cookie = signed_in(&lifecycle, "bob");
    store.unconfirmed.store(true, Ordering::SeqCst);
    let mut session = request(&lifecycle, Some(&cookie));
    assert!(session.purge_subject().unwrap_err().is_not_durable());
    assert_eq!(session.subject(), Some("bob"), "left as it was");
    assert!(!matches!(
        session.finish().unwrap(),
        CookieUpdate::Remove(_)
    ));
    assert_eq!(
        request(&lifecycle, Some(&cookie)).refusal(),
        Some(OpenError::Revoked)
    );
    assert!(
        lifecycle
            .revoke_subject("bob")
            .wait()
            .unwrap_err()
            .is_not_durable()
    );
}

#[test]
fn unconfirmed_renewals_are_done_and_say_so() {
    let (lifecycle, store) = setup();
    let cookie = signed_in(&lifecycle, "carol");
    store.unconfirmed.store(true, Ordering::SeqCst);

    // Sign out the other devices: this session is renewed (same stamp, new id), so it works;
    // only the confirmation is missing, and the error says so.
    let mut session = request(&lifecycle, Some(&cookie));
    let err = session.purge_other_sessions().unwrap_err();
    assert!(err.to_string().contains("did not confirm"), "{err}");
    let kept = set_value(&session.finish().unwrap());
    assert_eq!(
        request(&lifecycle, Some(&cookie)).refusal(),
        Some(OpenError::Revoked)
    );
    assert_eq!(request(&lifecycle, Some(&kept)).refusal(), None);

    // A renewal: the new id is set, the old one refused here.
    let mut session = request(&lifecycle, Some(&kept));
    assert!(session.renew().is_err());
    let renewed = set_value(&session.finish().unwrap());
    assert_eq!(
        request(&lifecycle, Some(&kept)).refusal(),
        Some(OpenError::Revoked)
    );
    assert_eq!(request(&lifecycle, Some(&renewed)).refusal(), None);
    // A sign-in over a signed-in session, the same.
    let mut session = request(&lifecycle, Some(&renewed));
    assert!(session.sign_in("dave").is_err());
    assert_eq!(session.subject(), Some("dave"));
}

#[test]
fn until_revocations_are_known_signed_in_sessions_are_refused_and_keep_their_cookie() {
    let (lifecycle, store) = setup();
    let cookie = signed_in(&lifecycle, "erin");
    let mut anonymous = request(&lifecycle, None);
    anonymous.insert("n", &1).unwrap();
    let anonymous = set_value(&anonymous.finish().unwrap());
    store.unknown.store(true, Ordering::SeqCst);

    let mut session = request(&lifecycle, Some(&cookie));
    assert_eq!(session.refusal(), Some(OpenError::RevocationUnknown));
    assert_eq!(
        session.finish().unwrap(),
        CookieUpdate::None,
        "no removal cookie"
    );
    assert_eq!(
        request(&lifecycle, Some(&anonymous)).refusal(),
        None,
        "not listed: served"
    );

    store.unknown.store(false, Ordering::SeqCst);
    assert_eq!(request(&lifecycle, Some(&cookie)).refusal(), None);
}

#[test]
fn a_logout_before_the_first_load_is_recorded_and_answered_once_durable() {
    let (lifecycle, store) = setup();
    let cookie = signed_in(&lifecycle, "frank");
    // The store restarted: it can't check revocations, and can't confirm anything yet.
    store.unknown.store(true, Ordering::SeqCst);
    store.unconfirmed.store(true, Ordering::SeqCst);

    let mut session = request(&lifecycle, Some(&cookie));
    assert_eq!(session.refusal(), Some(OpenError::RevocationUnknown));
    assert!(
        session.purge().unwrap_err().is_not_durable(),
        "never a silent 200"
    );
    assert_eq!(session.finish().unwrap(), CookieUpdate::None, "cookie kept");
    // Recorded all the same: once the store knows its revocations, the copy is refused.
    store.unknown.store(false, Ordering::SeqCst);
    assert_eq!(
        request(&lifecycle, Some(&cookie)).refusal(),
        Some(OpenError::Revoked)
    );
    // The retry is answered once durable, and removes the cookie.
    let mut retry = request(&lifecycle, Some(&cookie));
    assert!(retry.purge().unwrap_err().is_not_durable());
    store.unconfirmed.store(false, Ordering::SeqCst);
    let mut retry = request(&lifecycle, Some(&cookie));
    retry.purge().unwrap();
    assert!(matches!(retry.finish().unwrap(), CookieUpdate::Remove(_)));

    // Log out everywhere and sign out other devices in that window: the cookie may be a dead
    // copy, so nothing is recorded; "try again", the cookie kept, and the retry once the store
    // knows is checked and recorded.
    let other = signed_in(&lifecycle, "grace");
    store.unknown.store(true, Ordering::SeqCst);
    let mut session = request(&lifecycle, Some(&other));
    assert!(session.purge_subject().unwrap_err().is_not_durable());
    assert!(session.purge_other_sessions().is_err());
    assert_eq!(session.finish().unwrap(), CookieUpdate::None, "cookie kept");
    store.unknown.store(false, Ordering::SeqCst);
    assert_eq!(
        request(&lifecycle, Some(&other)).refusal(),
        None,
        "nothing recorded"
    );
    let mut retry = request(&lifecycle, Some(&other));
    assert!(retry.purge_subject().unwrap());
    assert!(matches!(retry.finish().unwrap(), CookieUpdate::Remove(_)));
    assert_eq!(
        request(&lifecycle, Some(&other)).refusal(),
        Some(OpenError::Revoked)
    );
}

#[test]
fn a_logout_with_an_idle_expired_cookie_ends_a_copy_kept_active() {
    // Issue 17 review: the owner's cookie idles out while an attacker keeps a copy active (a
    // refresh keeps the id); the owner's logout with the expired cookie ends the copy too.
    let (lifecycle, _store) = setup();
    let cookie = signed_in(&lifecycle, "ivan");
    let open_at = |value: &str, now| {
        let header = format!("{}={value}", lifecycle.cookie_name());
        lifecycle.open_at([header.as_bytes()], RequestInfo::new("/"), now)
    };
    // The default idle timeout is an hour; the copy is used every 40 minutes.
    let mut copy = cookie.clone();
    let mut now = at(T0);
    for _ in 0..3 {
        now += time::Duration::minutes(40);
        let mut session = open_at(&copy, now);
        assert_eq!(session.refusal(), None);
        session.insert("seen", &1u8).unwrap();
        copy = set_value(&session.finish().unwrap());
    }
    let mut owner = open_at(&cookie, now);
    assert_eq!(owner.refusal(), Some(OpenError::ExpiredIdle));
    owner.purge().unwrap();
    assert!(matches!(owner.finish().unwrap(), CookieUpdate::Remove(_)));
    assert_eq!(
        open_at(&copy, now).refusal(),
        Some(OpenError::Revoked),
        "the copy kept active shares the id, and is logged out with it"
    );
}

#[test]
fn a_write_before_the_first_load_never_replaces_a_signed_in_cookie() {
    let (lifecycle, store) = setup();
    let cookie = signed_in(&lifecycle, "heidi");
    store.unknown.store(true, Ordering::SeqCst);

    let mut session = request(&lifecycle, Some(&cookie));
    assert_eq!(
        session.insert("counter", &1u64),
        Err(InsertError::RevocationsUnknown)
    );
    assert!(session.set_subject("mallory").is_err());
    assert!(session.renew().is_err(), "it would replace the cookie too");
    assert_eq!(session.finish().unwrap(), CookieUpdate::None, "cookie kept");
    // The one write that goes through is a sign-in, which revokes the session it replaces.
    let mut session = request(&lifecycle, Some(&cookie));
    session.insert("counter", &1u64).unwrap_err();
    assert_eq!(session.finish().unwrap(), CookieUpdate::None, "cookie kept");

    let mut session = request(&lifecycle, Some(&cookie));
    session.sign_in("heidi").unwrap();
    let fresh = set_value(&session.finish().unwrap());
    store.unknown.store(false, Ordering::SeqCst);
    assert_eq!(
        request(&lifecycle, Some(&cookie)).refusal(),
        Some(OpenError::Revoked),
        "the session the sign-in replaced is logged out"
    );
    assert_eq!(request(&lifecycle, Some(&fresh)).refusal(), None);
}

/// The confirmation the test has not answered yet (with [`Switchable::deferred`]), and the
/// waker of whoever awaits it.
#[derive(Debug, Default)]
struct Answer {
    result: Option<Result<(), RevokeError>>,
    waker: Option<Waker>,
    asked: usize,
}

impl Switchable {
    /// Answers the confirmation a deferred `settle` returned.
    fn answer(&self, result: Result<(), RevokeError>) {
        let mut answer = self.answer.lock().unwrap();
        answer.result = Some(result);
        if let Some(waker) = answer.waker.take() {
            waker.wake();
        }
    }

    /// A confirmation the test answers later ([`Switchable::answer`]).
    fn deferred_confirmation(&self) -> Confirmation {
        let answer = Arc::clone(&self.answer);
        answer.lock().unwrap().asked += 1;
        Confirmation::waiting(
            (),
            std::future::poll_fn(move |cx| {
                let mut answer = answer.lock().unwrap();
                match answer.result.take() {
                    Some(result) => Poll::Ready(result),
                    None => {
                        answer.waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                }
            }),
        )
    }
}

/// Whether another thread can read `session` within the bound: `false` if its lock is held.
fn readable_elsewhere(session: &sealed_session::Session) -> bool {
    let session = session.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(session.subject());
    });
    rx.recv_timeout(Duration::from_secs(10)).is_ok()
}

/// The async handle's logout (invariant 8 of the security guide): the revocation holds at once,
/// the wait for the store's confirmation holds neither the thread (the future is pending, and
/// the caller's runtime goes on) nor the session's lock (the same request reads it meanwhile);
/// a confirmation that doesn't come undoes the logout in the request (the session as it was,
/// the cookie kept for the retry) and is the call's error; one that comes removes the cookie.
#[test]
fn the_async_logout_awaits_the_confirmation_without_holding_the_session() {
    let (lifecycle, store, cookie) = waiting("alice", false);
    let attach = || {
        let header = format!("{}={cookie}", lifecycle.cookie_name());
        lifecycle.attach([header.as_bytes()], RequestInfo::new("/logout"))
    };

    // Not confirmed: undone here, the cookie kept, the error the handler answers with.
    let session = attach();
    let mut logout = Box::pin(session.purge());
    assert!(poll(&mut logout).is_pending(), "it waits");
    assert_eq!(store.answer.lock().unwrap().asked, 1);
    assert!(
        readable_elsewhere(&session),
        "the lock is not held while it waits"
    );
    assert_eq!(
        request(&lifecycle, Some(&cookie)).refusal(),
        Some(OpenError::Revoked),
        "the revocation holds here before the confirmation"
    );
    store.answer(Err(RevokeError::NotDurable {
        waited: Duration::from_millis(250),
        reason: NotDurableReason::RedisTimedOut,
    }));
    let Poll::Ready(Err(err)) = poll(&mut logout) else {
        panic!("the store's error is the call's");
    };
    assert_eq!(err.http_status(), 503, "{err}");
    assert_eq!(
        session.subject().as_deref(),
        Some("alice"),
        "left as it was"
    );
    let cookies = session.finish().unwrap();
    assert!(
        !matches!(cookies.update(), CookieUpdate::Remove(_)),
        "the cookie stays for the retry"
    );

    // A logout whose future is dropped while it waits (a timeout layer, a client gone): the
    // response decided then keeps the cookie, as for a confirmation that didn't come.
    let session = attach();
    let mut dropped = Box::pin(session.purge());
    assert!(poll(&mut dropped).is_pending());
    drop(dropped);
    assert!(
        !matches!(session.finish().unwrap().update(), CookieUpdate::Remove(_)),
        "no removal cookie for a logout nobody saw confirmed"
    );

    // The retry, with the refused cookie: answered once confirmed, the cookie removed.
    let session = attach();
    let mut retry = Box::pin(session.purge());
    assert!(poll(&mut retry).is_pending());
    store.answer(Ok(()));
    assert!(matches!(poll(&mut retry), Poll::Ready(Ok(()))));
    assert!(matches!(
        session.finish().unwrap().update(),
        CookieUpdate::Remove(_)
    ));
}

/// The store's answer the tests give when a confirmation doesn't come.
fn timed_out() -> RevokeError {
    RevokeError::NotDurable {
        waited: Duration::from_millis(250),
        reason: NotDurableReason::RedisTimedOut,
    }
}

/// A request with `cookie`, on the shared `Session` handle.
fn attach(lifecycle: &SessionManager, cookie: &str) -> sealed_session::Session {
    let header = format!("{}={cookie}", lifecycle.cookie_name());
    lifecycle.attach([header.as_bytes()], RequestInfo::new("/logout"))
}

/// A write another handler of the same request makes while a logout's confirmation is awaited
/// (security guide, invariant 8): it lands in a new session, and a confirmation that doesn't
/// come does not take the session back over it. The logout's error stands; the response sets
/// the new session's cookie (never a removal, never the logged-out session again).
#[test]
fn a_write_made_while_a_logout_waits_is_kept_when_the_confirmation_fails() {
    let (lifecycle, store, cookie) = waiting("alice", false);

    let session = attach(&lifecycle, &cookie);
    let mut logout = Box::pin(session.purge());
    assert!(poll(&mut logout).is_pending());
    // Another handler of the request (`tokio::join!`, a spawned task with a clone).
    session.insert("cart", 3u8).unwrap();
    store.answer(Err(timed_out()));
    let Poll::Ready(Err(err)) = poll(&mut logout) else {
        panic!("the store's error is the logout's");
    };
    assert_eq!(err.http_status(), 503, "{err}");
    assert_eq!(
        session.get::<u8>("cart").unwrap(),
        Some(3),
        "the write is kept"
    );
    assert_eq!(
        session.subject(),
        None,
        "the logged-out session is not taken back"
    );
    let cookies = session.finish().unwrap();
    let value = set_value(cookies.update());
    let next = request(&lifecycle, Some(&value));
    assert_eq!(next.get::<u8>("cart").unwrap(), Some(3));
    assert_eq!(next.subject(), None);
    // The revocation holds here all the same.
    assert_eq!(
        request(&lifecycle, Some(&cookie)).refusal(),
        Some(OpenError::Revoked)
    );
}

/// A sign-in another handler makes while a logout waits: it waits for the same confirmation
/// (the session it replaces is the one being logged out), and it stays done when the
/// confirmation fails, as a sign-in whose own confirmation fails does.
#[test]
fn a_sign_in_made_while_a_logout_waits_stays_done_when_the_confirmation_fails() {
    let (lifecycle, store, cookie) = waiting("alice", false);

    let session = attach(&lifecycle, &cookie);
    let mut logout = Box::pin(session.purge());
    assert!(poll(&mut logout).is_pending());
    let mut sign_in = Box::pin(session.sign_in("bob"));
    assert!(
        poll(&mut sign_in).is_pending(),
        "it waits for the logout it follows"
    );
    store.answer(Err(timed_out()));
    assert!(matches!(poll(&mut logout), Poll::Ready(Err(_))));
    let Poll::Ready(Err(err)) = poll(&mut sign_in) else {
        panic!("the same confirmation, the same answer");
    };
    assert_eq!(err.http_status(), 503, "{err}");
    assert_eq!(
        session.subject().as_deref(),
        Some("bob"),
        "signed in all the same"
    );
    let value = set_value(session.finish().unwrap().update());
    assert_eq!(request(&lifecycle, Some(&value)).subject(), Some("bob"));
}

/// Two handlers of the same request log out at once: the second finds the session logged out
/// by the first, whose confirmation is still awaited, and waits for that same confirmation
/// (asked of the store once), so neither answers before the store does, and both get its
/// answer. Not confirmed: both `NotDurable`, the session as it was and the cookie kept for the
/// retry; confirmed: both `Ok`, the cookie removed.
#[test]
fn two_logouts_of_one_request_both_wait_for_the_confirmation() {
    let (lifecycle, store) = setup();
    let cookie = signed_in(&lifecycle, "alice");
    let other = signed_in(&lifecycle, "bob");
    store.deferred.store(true, Ordering::SeqCst);

    // Not confirmed.
    let session = attach(&lifecycle, &cookie);
    let mut first = Box::pin(session.purge());
    let mut second = Box::pin(session.purge());
    assert!(poll(&mut first).is_pending());
    assert!(
        poll(&mut second).is_pending(),
        "the second logout waits too"
    );
    assert_eq!(store.answer.lock().unwrap().asked, 1, "one confirmation");
    store.answer(Err(timed_out()));
    for logout in [&mut first, &mut second] {
        let Poll::Ready(Err(err)) = poll(logout) else {
            panic!("both get the store's error");
        };
        assert_eq!(err.http_status(), 503, "{err}");
    }
    assert_eq!(
        session.subject().as_deref(),
        Some("alice"),
        "left as it was"
    );
    assert!(
        !matches!(session.finish().unwrap().update(), CookieUpdate::Remove(_)),
        "the cookie stays for the retry"
    );

    // Confirmed (another user's request; the second one logs out everywhere).
    let session = attach(&lifecycle, &other);
    let mut first = Box::pin(session.purge());
    let mut second = Box::pin(session.purge_subject());
    assert!(poll(&mut first).is_pending());
    assert!(poll(&mut second).is_pending());
    store.answer(Ok(()));
    assert!(matches!(poll(&mut first), Poll::Ready(Ok(()))));
    assert!(matches!(poll(&mut second), Poll::Ready(Ok(_))));
    assert!(matches!(
        session.finish().unwrap().update(),
        CookieUpdate::Remove(_)
    ));
}

/// The first logout's future dropped (a timeout layer) while a second one waits for its
/// confirmation: the second still gets the store's answer, and a confirmed logout removes
/// the cookie.
#[test]
fn a_logout_waiting_on_another_gets_the_answer_when_the_other_is_dropped() {
    let (lifecycle, store, cookie) = waiting("alice", false);

    let session = attach(&lifecycle, &cookie);
    let mut first = Box::pin(session.purge());
    assert!(poll(&mut first).is_pending());
    let mut second = Box::pin(session.purge());
    assert!(poll(&mut second).is_pending());
    drop(first);
    store.answer(Ok(()));
    assert!(matches!(poll(&mut second), Poll::Ready(Ok(()))));
    assert!(matches!(
        session.finish().unwrap().update(),
        CookieUpdate::Remove(_)
    ));
}

/// A write, then a logout of what it wrote, both while a first logout waits: the session the
/// write made is what a failed confirmation goes back to (the write is not lost, and the first
/// logout's session is not taken back over it), never a removal cookie.
#[test]
fn a_write_then_a_logout_while_a_logout_waits_go_back_to_the_write() {
    let (lifecycle, store, cookie) = waiting("alice", false);

    let session = attach(&lifecycle, &cookie);
    let mut first = Box::pin(session.purge());
    assert!(poll(&mut first).is_pending());
    session.insert("cart", 3u8).unwrap();
    let mut second = Box::pin(session.purge());
    assert!(poll(&mut second).is_pending());
    store.answer(Err(timed_out()));
    assert!(matches!(poll(&mut second), Poll::Ready(Err(_))));
    assert!(matches!(poll(&mut first), Poll::Ready(Err(_))));
    assert_eq!(session.get::<u8>("cart").unwrap(), Some(3));
    assert_eq!(session.subject(), None);
    let value = set_value(session.finish().unwrap().update());
    assert_eq!(
        request(&lifecycle, Some(&value)).get::<u8>("cart").unwrap(),
        Some(3)
    );
}

/// `RequestSession::without_blocking`: a logout after one whose future was dropped while it
/// waited waits for that confirmation too; and a write made after a logout in the same call is
/// kept when the confirmation fails (the rule of the shared handle).
#[test]
fn without_blocking_logouts_wait_for_the_confirmation_and_keep_later_writes() {
    let (lifecycle, store, cookie) = waiting("alice", false);

    let mut session = request(&lifecycle, Some(&cookie));
    let mut dropped = Box::pin(session.without_blocking(RequestSession::purge));
    assert!(poll(&mut dropped).is_pending());
    drop(dropped);
    let mut retry = Box::pin(session.without_blocking(RequestSession::purge));
    assert!(poll(&mut retry).is_pending(), "it waits");
    store.answer(Err(timed_out()));
    assert!(matches!(
        poll(&mut retry),
        Poll::Ready(Err(RevokeError::NotDurable { .. }))
    ));
    drop(retry);
    assert_eq!(session.subject(), Some("alice"), "left as it was");
    assert!(!matches!(
        session.finish().unwrap(),
        CookieUpdate::Remove(_)
    ));

    let mut session = request(&lifecycle, Some(&cookie));
    let mut logout = Box::pin(session.without_blocking(|s| {
        s.purge()?;
        s.insert("cart", &3u8).map_err(|_| timed_out())
    }));
    assert!(poll(&mut logout).is_pending());
    store.answer(Err(timed_out()));
    assert!(matches!(poll(&mut logout), Poll::Ready(Err(_))));
    drop(logout);
    assert_eq!(
        session.get::<u8>("cart").unwrap(),
        Some(3),
        "the write is kept"
    );
    assert_eq!(session.subject(), None);
}

/// Changes made while a logout waits that end in no session again without a logout of their
/// own to undo (here a sign-in whose session a log-out-everywhere from elsewhere ends, found by
/// a renewal): a confirmation that doesn't come leaves them, and the response still removes no
/// cookie, since no logout of the request was confirmed.
#[test]
fn changes_that_end_the_session_while_a_logout_waits_remove_no_cookie_when_it_fails() {
    let (lifecycle, store, cookie) = waiting("alice", false);

    let session = attach(&lifecycle, &cookie);
    let mut logout = Box::pin(session.purge());
    assert!(poll(&mut logout).is_pending());
    let mut sign_in = Box::pin(session.sign_in("bob"));
    assert!(poll(&mut sign_in).is_pending());
    drop(lifecycle.revoke_subject("bob")); // recorded here at once
    let mut renew = Box::pin(session.renew());
    assert!(poll(&mut renew).is_pending());
    store.answer(Err(timed_out()));
    let answers = [poll(&mut logout), poll(&mut sign_in), {
        // The renewal found bob logged out: it asked the store anew, and fails too.
        store.answer(Err(timed_out()));
        poll(&mut renew)
    }];
    for answer in answers {
        let Poll::Ready(Err(err)) = answer else {
            panic!("the store's error");
        };
        assert_eq!(err.http_status(), 503, "{err}");
    }
    assert_eq!(session.subject(), None, "bob's session ended");
    assert_eq!(session.finish().unwrap().update(), &CookieUpdate::None);
}

/// After a logout whose confirmation failed and whose session later changes ended (nothing
/// left to take back), a retried `purge` in the same request still waits for the store: it is
/// answered `Ok`, with a removal cookie, only once the store confirms; before, it found nothing
/// to end and answered `Ok` at once, removing the cookie of a logout Redis never had.
#[test]
fn a_purge_retried_after_an_unconfirmed_logout_waits_for_the_store() {
    for confirmed in [false, true] {
        let (lifecycle, store, cookie) = waiting("alice", false);

        let session = attach(&lifecycle, &cookie);
        let mut logout = Box::pin(session.purge());
        assert!(poll(&mut logout).is_pending());
        let mut sign_in = Box::pin(session.sign_in("bob"));
        assert!(poll(&mut sign_in).is_pending());
        drop(lifecycle.revoke_subject("bob"));
        let mut renew = Box::pin(session.renew());
        assert!(poll(&mut renew).is_pending());
        store.answer(Err(timed_out()));
        assert!(matches!(poll(&mut logout), Poll::Ready(Err(_))));
        assert!(matches!(poll(&mut sign_in), Poll::Ready(Err(_))));
        store.answer(Err(timed_out()));
        assert!(matches!(poll(&mut renew), Poll::Ready(Err(_))));

        // The retry: the store now answers at once, one way or the other.
        store.deferred.store(false, Ordering::SeqCst);
        store.unconfirmed.store(!confirmed, Ordering::SeqCst);
        let mut retry = Box::pin(session.purge());
        let answer = poll(&mut retry);
        let update = session.finish().unwrap().update().clone();
        if confirmed {
            assert!(matches!(answer, Poll::Ready(Ok(()))), "{answer:?}");
            assert!(matches!(update, CookieUpdate::Remove(_)), "{update:?}");
        } else {
            assert!(matches!(answer, Poll::Ready(Err(_))), "{answer:?}");
            assert_eq!(
                update,
                CookieUpdate::None,
                "the cookie is kept for the retry"
            );
        }
    }
}

/// A logout confirmed `Ok` is not taken back by a later `purge` of the same request whose own
/// confirmation failed at once (the store turned unhealthy in between): the later one answers
/// its error, and the session stays logged out, its cookie removed, since the first logout is
/// durable.
#[test]
fn a_later_purge_failing_at_once_does_not_undo_a_confirmed_logout() {
    // A cookie the store refuses as revoked: its purge asks the store to confirm.
    let (lifecycle, store, cookie) = waiting("carol", true);

    let session = attach(&lifecycle, &cookie);
    let mut sign_in = Box::pin(session.sign_in("bob"));
    let signed_in = poll(&mut sign_in);
    assert!(matches!(signed_in, Poll::Ready(Ok(_))), "{signed_in:?}");
    let mut first = Box::pin(session.purge());
    assert!(poll(&mut first).is_pending());
    store.deferred.store(false, Ordering::SeqCst);
    store.unconfirmed.store(true, Ordering::SeqCst);
    let mut second = Box::pin(session.purge());
    assert!(matches!(poll(&mut second), Poll::Ready(Err(_))));
    store.answer(Ok(()));
    assert!(matches!(poll(&mut first), Poll::Ready(Ok(()))));
    assert_eq!(session.subject(), None, "bob's logout was confirmed");
    assert!(matches!(
        session.finish().unwrap().update(),
        CookieUpdate::Remove(_)
    ));
}

/// A purge refused at once while a first one waits, then a retry that waits too, then every
/// confirmation fails (or the retry's future is dropped): alice's logout never reached the
/// store, so the response must not remove her cookie.
#[test]
fn no_removal_cookie_after_a_refused_purge_and_a_retry_that_both_fail() {
    for dropped in [false, true] {
        let (lifecycle, store, cookie) = waiting("alice", false);
        let session = attach(&lifecycle, &cookie);
        let mut logout = Box::pin(session.purge());
        assert!(poll(&mut logout).is_pending());
        let mut sign_in = Box::pin(session.sign_in("bob"));
        assert!(poll(&mut sign_in).is_pending());
        store.deferred.store(false, Ordering::SeqCst);
        store.unconfirmed.store(true, Ordering::SeqCst);
        let mut second = Box::pin(session.purge());
        assert!(matches!(poll(&mut second), Poll::Ready(Err(_))));
        store.unconfirmed.store(false, Ordering::SeqCst);
        store.deferred.store(true, Ordering::SeqCst);
        let mut retry = Box::pin(session.purge());
        assert!(poll(&mut retry).is_pending());
        if !dropped {
            store.answer(Err(timed_out()));
            let r = poll(&mut retry);
            let l = poll(&mut logout);
            store.answer(Err(timed_out()));
            let r = if r.is_pending() { poll(&mut retry) } else { r };
            let l = if l.is_pending() { poll(&mut logout) } else { l };
            assert!(matches!(r, Poll::Ready(Err(_))), "{r:?}");
            assert!(matches!(l, Poll::Ready(Err(_))), "{l:?}");
        }
        let update = session.finish().unwrap().update().clone();
        assert!(
            !matches!(update, CookieUpdate::Remove(_)),
            "dropped={dropped}: alice's logout was never confirmed, yet {update:?}"
        );
    }
}

/// A logout answered `Ok` is not taken back by a retry that asked the store again and whose
/// future is dropped: the response removes the cookie, never sets the logged-out session's.
#[test]
fn a_logout_confirmed_ok_is_not_taken_back_by_a_later_retry_that_fails() {
    let (lifecycle, store, cookie) = waiting("alice", false);
    let session = attach(&lifecycle, &cookie);
    session.insert("x", 1).unwrap();
    let mut first = Box::pin(session.purge());
    assert!(poll(&mut first).is_pending());
    store.answer(Err(timed_out()));
    assert!(matches!(poll(&mut first), Poll::Ready(Err(_))));
    assert_eq!(session.subject(), Some("alice".to_owned()));
    let mut logout = Box::pin(session.purge());
    assert!(poll(&mut logout).is_pending());
    let mut other = Box::pin(session.purge());
    assert!(poll(&mut other).is_pending());
    store.answer(Ok(()));
    let answered = poll(&mut logout);
    assert!(matches!(answered, Poll::Ready(Ok(()))), "{answered:?}");
    drop(other);
    let update = session.finish().unwrap().update().clone();
    assert!(
        matches!(update, CookieUpdate::Remove(_)),
        "the logout answered Ok (durable), yet the response: {update:?}"
    );
}

/// A retry whose confirmation comes at once clears the request's failed state: a later purge
/// of the (logged-out) session answers `Ok` at once, whatever the store says of other
/// requests' revocations.
#[test]
fn a_retry_confirmed_at_once_clears_the_failure() {
    let (lifecycle, store) = setup();
    let cookie = signed_in(&lifecycle, "alice");
    store.unconfirmed.store(true, Ordering::SeqCst);
    let session = attach(&lifecycle, &cookie);
    let mut first = Box::pin(session.purge());
    assert!(matches!(poll(&mut first), Poll::Ready(Err(_))));
    store.unconfirmed.store(false, Ordering::SeqCst);
    let mut retry = Box::pin(session.purge());
    assert!(matches!(poll(&mut retry), Poll::Ready(Ok(()))));
    // Other requests' revocations unwritten: this request has nothing left to confirm.
    store.unconfirmed.store(true, Ordering::SeqCst);
    let mut again = Box::pin(session.purge());
    let answer = poll(&mut again);
    assert!(matches!(answer, Poll::Ready(Ok(()))), "{answer:?}");
}

/// A settle confirmed at once covers every revocation recorded before it: a logout awaiting
/// an earlier confirmation that then fails is not taken back, and the response sets no cookie
/// of a session the store holds as logged out.
#[test]
fn a_settle_confirmed_at_once_is_a_confirmation_that_came() {
    let (lifecycle, store, cookie) = waiting("carol", true);
    let session = attach(&lifecycle, &cookie);
    let mut sign_in = Box::pin(session.sign_in("bob"));
    assert!(matches!(poll(&mut sign_in), Poll::Ready(Ok(_))));
    let mut first = Box::pin(session.purge());
    assert!(poll(&mut first).is_pending());
    // The store caught up: a settle now is confirmed at once (it covers bob's revocation).
    store.deferred.store(false, Ordering::SeqCst);
    let mut second = Box::pin(session.purge());
    let s = poll(&mut second);
    // The first wait's own answer: it timed out before the store caught up.
    store.answer(Err(timed_out()));
    let _ = poll(&mut first);
    if s.is_pending() {
        let _ = poll(&mut second);
    }
    let update = session.finish().unwrap().update().clone();
    assert!(
        !matches!(update, CookieUpdate::Set(_) | CookieUpdate::Refresh(_)),
        "a session cookie set although a confirmation covering bob's logout came: {update:?}"
    );
}

/// A logout merged with an earlier one that recorded nothing is durable only once its own
/// revocation is: the earlier one's `Ok` does not make the later's failure remove the cookie.
#[test]
fn a_later_logout_merged_into_a_no_op_is_not_made_durable_by_its_ok() {
    let (lifecycle, store, cookie) = waiting("carol", true);
    let session = attach(&lifecycle, &cookie);
    let mut everywhere = Box::pin(session.purge_subject());
    assert!(poll(&mut everywhere).is_pending());
    let mut logout = Box::pin(session.purge());
    assert!(poll(&mut logout).is_pending());
    store.answer(Ok(()));
    let e = poll(&mut everywhere);
    assert!(matches!(e, Poll::Ready(Ok(false))), "{e:?}");
    store.answer(Err(timed_out()));
    let l = poll(&mut logout);
    assert!(matches!(l, Poll::Ready(Err(_))), "{l:?}");
    let update = session.finish().unwrap().update().clone();
    assert!(
        !matches!(update, CookieUpdate::Remove(_)),
        "the purge answered {l:?} (try again, with the cookie), yet the response: {update:?}"
    );
}

/// a purge whose own revocation the store confirms at once (`end_session`'s
/// `settle` is `Ready(Ok)`) while a sign-in's confirmation is still awaited. That settle
/// covers every revocation recorded before it, bob's included; yet the purge awaits the
/// sign-in's confirmation, and when that one fails bob's logout is taken back: the purge
/// answers 503 and the response sets bob's cookie, which the store holds as revoked.
#[test]
fn a_purge_confirmed_at_once_while_a_sign_in_waits_is_not_taken_back() {
    for dropped in [true, false] {
        let (lifecycle, store, cookie) = waiting("alice", false);
        let session = attach(&lifecycle, &cookie);
        let mut sign_in = Box::pin(session.sign_in("bob"));
        assert!(poll(&mut sign_in).is_pending());
        // The store caught up: bob's revocation is confirmed at once.
        store.deferred.store(false, Ordering::SeqCst);
        let mut logout = Box::pin(session.purge());
        let l = poll(&mut logout);
        let mut answer = None;
        if dropped {
            // Both handlers' futures dropped (a timeout): the response is decided now.
            drop(sign_in);
            drop(logout);
        } else {
            // The sign-in's wait times out (it was asked before the store caught up).
            store.answer(Err(timed_out()));
            let _ = poll(&mut sign_in);
            answer = Some(if l.is_pending() { poll(&mut logout) } else { l });
        }
        let update = session.finish().unwrap().update().clone();
        let refusal = match &update {
            CookieUpdate::Set(_) => request(&lifecycle, Some(&set_value(&update))).refusal(),
            _ => None,
        };
        assert!(
            matches!(update, CookieUpdate::Remove(_)),
            "dropped={dropped}: bob's logout was confirmed at once, yet purge answered \
             {answer:?} and the response {update:?} (its cookie refused as {refusal:?})"
        );
    }
}

/// with a cookie refused as revoked, a second `purge` of the same request (another
/// handler, or a double logout) after the first was confirmed asks the store again and answers
/// its error: 503 for an empty session although everything this request recorded is durable
/// (the valid-cookie path answers `Ok`: `a_retry_confirmed_at_once_clears_the_failure`).
#[test]
fn a_second_purge_of_a_refused_cookie_after_a_confirmed_logout_is_ok() {
    let (lifecycle, store) = setup();
    let cookie = signed_in(&lifecycle, "carol");
    drop(lifecycle.revoke_subject("carol"));
    let session = attach(&lifecycle, &cookie);
    let mut first = Box::pin(session.purge());
    assert!(matches!(poll(&mut first), Poll::Ready(Ok(()))));
    // Other requests' revocations unwritten: this request has nothing left to confirm.
    store.unconfirmed.store(true, Ordering::SeqCst);
    let mut second = Box::pin(session.purge());
    let answer = poll(&mut second);
    let update = session.finish().unwrap().update().clone();
    assert!(
        matches!(answer, Poll::Ready(Ok(()))),
        "{answer:?} (the response: {update:?})"
    );
}

/// a confirmation that comes after a later one of the request already confirmed
/// everything it covers (`covers <= durable_upto`) is not recorded as a failure ("nothing of it
/// failed"), yet its error is still the call's answer: alice's logout answers 503 while the
/// response removes the cookie, both logouts durable.
#[test]
fn a_covered_confirmation_error_is_not_the_answer() {
    let (lifecycle, store, cookie) = waiting("alice", false);
    let session = attach(&lifecycle, &cookie);
    let mut first = Box::pin(session.purge());
    assert!(poll(&mut first).is_pending());
    let mut sign_in = Box::pin(session.sign_in("bob"));
    assert!(matches!(
        poll(&mut sign_in),
        Poll::Pending | Poll::Ready(Ok(()))
    ));
    let mut second = Box::pin(session.purge());
    assert!(poll(&mut second).is_pending());
    store.answer(Ok(()));
    let s = poll(&mut second);
    assert!(matches!(s, Poll::Ready(Ok(()))), "{s:?}");
    store.answer(Err(timed_out()));
    let f = poll(&mut first);
    let update = session.finish().unwrap().update().clone();
    assert!(matches!(update, CookieUpdate::Remove(_)), "{update:?}");
    assert!(
        matches!(f, Poll::Ready(Ok(()))),
        "alice's logout is durable (covered by the second confirmation), yet {f:?}"
    );
}

/// `restored` remembers one undone logout. After a failure, logout A asks the
/// store again (#2, covering alice's revocation); B's retry (#3) fails and takes A back; C's
/// retry (#4) fails and takes alice back again, overwriting `restored`; then #2 comes `Ok`.
/// A answers `Ok` (alice's logout is durable), but nothing redoes it: the response keeps
/// alice's cookie instead of removing it.
#[test]
fn a_logout_answered_ok_is_not_left_taken_back_by_a_later_failure() {
    let (lifecycle, store, cookie) = waiting("alice", false);
    let session = attach(&lifecycle, &cookie);
    let mut p0 = Box::pin(session.purge());
    assert!(poll(&mut p0).is_pending());
    store.answer(Err(timed_out()));
    assert!(matches!(poll(&mut p0), Poll::Ready(Err(_))));
    assert_eq!(session.subject(), Some("alice".to_owned()));
    let mut a = Box::pin(session.purge());
    assert!(poll(&mut a).is_pending());
    let mut b = Box::pin(session.purge());
    assert!(poll(&mut b).is_pending());
    store.answer(Err(timed_out()));
    assert!(matches!(poll(&mut b), Poll::Ready(Err(_))));
    assert_eq!(session.subject(), Some("alice".to_owned()));
    let mut c = Box::pin(session.purge());
    assert!(poll(&mut c).is_pending());
    store.answer(Err(timed_out()));
    assert!(matches!(poll(&mut c), Poll::Ready(Err(_))));
    store.answer(Ok(()));
    let answered = poll(&mut a);
    let subject = session.subject();
    let update = session.finish().unwrap().update().clone();
    assert!(
        !matches!(answered, Poll::Ready(Ok(()))) || matches!(update, CookieUpdate::Remove(_)),
        "A answered Ok (alice's logout durable), yet the session is {subject:?} and the \
         response {update:?}"
    );
}

/// A renewal (or a re-authentication, or a sign-out-others) that finds its session logged out
/// (by another request after this one opened it, or by this request's own logout that a
/// failure took back) ends it as a logout does: the cookie is removed only once the store
/// confirms, and a `purge` after it never answers `Ok` before that. Before, the renewal's
/// `Superseded` set the session purged without asking the store, and the `purge` answered `Ok`
/// at once with a removal cookie.
#[test]
fn a_renewal_that_finds_its_session_ended_removes_the_cookie_only_once_confirmed() {
    use sealed_session::RenewError;
    type Call = fn(&mut RequestSession) -> Result<(), RenewError>;
    let calls: [(&str, Call); 3] = [
        ("renew", RequestSession::renew),
        ("reauthenticate", |s| s.reauthenticate().map(drop)),
        ("purge_other_sessions", |s| {
            s.purge_other_sessions().map(drop)
        }),
    ];
    for ((name, call), confirmed, taken_back) in calls
        .into_iter()
        .flat_map(|call| [false, true].map(|confirmed| (call, confirmed)))
        .flat_map(|(call, confirmed)| [false, true].map(|back| (call, confirmed, back)))
    {
        let (lifecycle, store) = setup();
        let cookie = signed_in(&lifecycle, "alice");
        let mut session = request(&lifecycle, Some(&cookie));
        if taken_back {
            store.unconfirmed.store(true, Ordering::SeqCst);
            assert!(session.purge().is_err());
            assert_eq!(session.subject(), Some("alice"), "taken back");
        } else {
            drop(lifecycle.revoke_subject("alice"));
        }
        store.unconfirmed.store(!confirmed, Ordering::SeqCst);
        let case = format!("{name}: confirmed {confirmed}, taken back {taken_back}");
        match call(&mut session) {
            Err(RenewError::Revoke(RevokeError::Superseded { .. })) if confirmed => {}
            Err(RenewError::Revoke(RevokeError::NotDurable { .. })) if !confirmed => {}
            other => panic!("{case}: {other:?}"),
        }
        assert_eq!(session.subject(), None, "{case}: never renewed");
        assert_eq!(session.purge().is_ok(), confirmed, "{case}");
        let update = session.finish().unwrap();
        assert_eq!(
            matches!(update, CookieUpdate::Remove(_)),
            confirmed,
            "{case}: {update:?}"
        );
        if !confirmed {
            assert_eq!(update, CookieUpdate::None, "{case}: kept for the retry");
        }
    }
}

/// A second `purge` of a cookie refused as revoked, made while the first waits, asks the store
/// again although it records nothing new: it covers only what the first covered. The first's
/// confirmation comes `Ok` (the first purge answers `Ok`, the response removes the cookie);
/// the second's ask then fails, and that is no error: it answers `Ok` too. Before (review 6),
/// the ask counted as a revocation of its own, not covered by the first's `Ok`, and the
/// second handler was told "try again" for a logout that was confirmed.
#[test]
fn a_re_ask_that_records_nothing_is_covered_by_an_earlier_ok() {
    let (lifecycle, store, cookie) = waiting("carol", true);
    let session = attach(&lifecycle, &cookie);
    let mut first = Box::pin(session.purge());
    assert!(poll(&mut first).is_pending());
    let mut second = Box::pin(session.purge());
    assert!(poll(&mut second).is_pending());
    store.answer(Ok(()));
    let f = poll(&mut first);
    assert!(matches!(f, Poll::Ready(Ok(()))), "{f:?}");
    // The re-ask, which asked for nothing recorded since the first's, times out.
    store.answer(Err(timed_out()));
    let s = poll(&mut second);
    let update = session.finish().unwrap().update().clone();
    assert!(matches!(update, CookieUpdate::Remove(_)), "{update:?}");
    assert!(
        matches!(s, Poll::Ready(Ok(()))),
        "carol's logout is confirmed (the first purge answered Ok, the response removes the \
         cookie), yet the second purge answered {s:?}"
    );
}

/// A write after a logout was taken back is kept when a confirmation covering that logout
/// comes later (invariant 8: "a value written ... is kept"): with a cookie refused as revoked,
/// two purges wait; the second's confirmation fails first and takes the logout back (the
/// refused session is held aside again); a handler then writes, which starts a new, anonymous
/// session. The first's confirmation then comes `Ok`: the refused session is let go, the new
/// session stays and its cookie is set. Before (review 6), everything held was cleared, the
/// new session too, and the response removed the cookie.
#[test]
fn a_write_after_a_refused_cookies_logout_was_taken_back_survives_its_confirmation() {
    let (lifecycle, store, cookie) = waiting("carol", true);
    let session = attach(&lifecycle, &cookie);
    let mut first = Box::pin(session.purge());
    assert!(poll(&mut first).is_pending());
    let mut second = Box::pin(session.purge());
    assert!(poll(&mut second).is_pending());
    store.answer(Err(timed_out()));
    let s = poll(&mut second);
    assert!(matches!(s, Poll::Ready(Err(_))), "{s:?}");
    session.insert("cart", 3u8).unwrap();
    store.answer(Ok(()));
    let f = poll(&mut first);
    assert!(matches!(f, Poll::Ready(Ok(()))), "{f:?}");
    let cart = session.get::<u8>("cart").unwrap();
    let update = session.finish().unwrap().update().clone();
    assert_eq!(
        cart,
        Some(3),
        "the write is lost (the response: {update:?})"
    );
    assert!(matches!(update, CookieUpdate::Set(_)), "{update:?}");
}
