//! A revocation store that can't confirm (`RevokeError::NotDurable` from `settle`) or can't tell
//! yet (`revocations_known` false): what each revoking call leaves behind, and the retry.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sealed_session::{
    CookieUpdate, Generation, KeptSession, Lifecycle, MemoryRevocationStore, Mode, OpenError,
    RequestInfo, RequestSession, Revocation, RevocationStore, RevokeError, SessionId, Subject,
    UnixTime,
};

use crate::{T0, at, lifecycle_builder, set_value};

/// A memory store whose confirmation and knowledge the test switches.
#[derive(Debug, Default)]
struct Switchable {
    inner: MemoryRevocationStore,
    unconfirmed: AtomicBool,
    unknown: AtomicBool,
}

impl RevocationStore for Switchable {
    fn is_revoked(&self, id: SessionId, subject: Option<&Subject>, now: UnixTime) -> bool {
        self.inner.is_revoked(id, subject, now)
    }
    fn generation(&self, subject: &str) -> Generation {
        self.inner.generation(subject)
    }
    fn revoke(&self, r: Revocation, now: UnixTime) -> Result<Option<Revocation>, RevokeError> {
        self.inner.revoke(r, now)
    }
    fn advance(
        &self,
        subject: &str,
        keeping: Option<KeptSession>,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<Generation, RevokeError> {
        self.inner.advance(subject, keeping, until, now)
    }
    fn settle(&self) -> Result<(), RevokeError> {
        if self.unconfirmed.load(Ordering::SeqCst) {
            return Err(RevokeError::NotDurable {
                waited: Duration::from_millis(250),
                reason: "test",
            });
        }
        Ok(())
    }
    fn revocations_known(&self) -> bool {
        !self.unknown.load(Ordering::SeqCst)
    }
}

fn setup() -> (Lifecycle, Arc<Switchable>) {
    let store = Arc::new(Switchable::default());
    let clock = Arc::new(sealed_session::ManualClock::new(at(T0)));
    let lifecycle = lifecycle_builder(1, Mode::Encrypted)
        .clock(clock)
        .revocation_store(store.clone())
        .build()
        .unwrap();
    (lifecycle, store)
}

fn request(lifecycle: &Lifecycle, cookie: Option<&str>) -> RequestSession {
    let header = cookie.map(|v| format!("{}={v}", lifecycle.cookie_name()));
    lifecycle.open(header.iter().map(String::as_bytes), RequestInfo::new("/"))
}

fn signed_in(lifecycle: &Lifecycle, user: &str) -> String {
    let mut session = request(lifecycle, None);
    session.sign_in(user).unwrap();
    set_value(&session.finish().unwrap())
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
            .unwrap_err()
            .is_not_durable()
    );
}

#[test]
fn unconfirmed_renewals_are_done_and_say_so() {
    let (lifecycle, store) = setup();
    let cookie = signed_in(&lifecycle, "carol");
    store.unconfirmed.store(true, Ordering::SeqCst);

    // Sign out the other devices: this session is renewed with the new generation, so it
    // works; only the confirmation is missing, and the error says so.
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
