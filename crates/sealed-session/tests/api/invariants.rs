//! The logout invariants of `docs/security.md` through the public API, one scenario each (the
//! simulation explores their interleavings): the attacker who signs out other devices first,
//! deadlines that renewals can't move, and a renewal racing a logout.

use std::sync::{Arc, Barrier};

use sealed_session::adapter::CookieUpdate;
use sealed_session::codec::SessionState;
use sealed_session::revocation::{
    Generation, MemoryRevocationStore, RevocationStore as _, Subject,
};
use sealed_session::{IncomingCookie, Mode, OpenError};
use time::Duration;

use crate::{Sessions, lifecycle_builder, sessions, set_value};

/// Signs `user` in with no cookie; the new cookie.
fn sign_in(s: &Sessions, user: &str) -> String {
    let mut session = s.request(None);
    session.sign_in(user).expect("signed in");
    set_value(&session.finish().expect("sealed"))
}

/// The cookie a request with `cookie` got back from `act`, or `cookie` if none was set.
fn act(
    s: &Sessions,
    cookie: &str,
    act: impl FnOnce(&mut sealed_session::adapter::RequestSession),
) -> String {
    let mut session = s.request(Some(cookie));
    act(&mut session);
    match session.finish().expect("sealed") {
        update @ (CookieUpdate::Set(_) | CookieUpdate::Refresh(_)) => set_value(&update),
        _ => cookie.to_owned(),
    }
}

fn state_of(s: &Sessions, cookie: &str) -> SessionState {
    s.lifecycle
        .codec()
        .open_at(cookie, s.lifecycle.now())
        .expect("opens")
        .into_state()
}

#[test]
fn the_attacker_signing_out_others_first_never_locks_the_owner_out() {
    // Issue 17: an attacker with a copy of the victim's cookie signs out other devices first,
    // and again between each of the victim's steps. Every interleaving of a short round.
    for round in 0..64u32 {
        let s = sessions(lifecycle_builder(1, Mode::Encrypted));
        let stolen = sign_in(&s, "victim");
        let mut attacker = stolen.clone();
        let attack = |s: &Sessions, attacker: &mut String, n: u32| {
            if round & (1 << (n % 6)) != 0 {
                *attacker = act(s, attacker, |session| {
                    let _ = session.purge_other_sessions();
                });
            }
            s.clock.advance(Duration::milliseconds(100));
        };
        attack(&s, &mut attacker, 0);
        // The victim signs in again (their browser may still send the old cookie).
        let mut session = s.request(Some(&stolen));
        session
            .sign_in("victim")
            .expect("the victim can always sign in");
        let victim = set_value(&session.finish().expect("sealed"));
        attack(&s, &mut attacker, 1);
        assert_eq!(
            s.refusal_at(&victim, s.lifecycle.now()),
            None,
            "round {round}: the attacker ended the victim's fresher session"
        );
        attack(&s, &mut attacker, 2);
        let mut session = s.request(Some(&victim));
        assert_eq!(session.incoming(), &IncomingCookie::Valid, "round {round}");
        assert!(session.purge_subject().expect("recorded"), "round {round}");
        attack(&s, &mut attacker, 3);
        assert_eq!(
            s.refusal_at(&attacker, s.lifecycle.now()),
            Some(OpenError::Revoked),
            "round {round}: the attacker outlived log-out-everywhere"
        );
        // And the victim signs in again at once.
        let again = sign_in(&s, "victim");
        attack(&s, &mut attacker, 4);
        assert_eq!(
            s.refusal_at(&again, s.lifecycle.now()),
            None,
            "round {round}"
        );
    }
}

#[test]
fn renewals_and_sign_out_others_keep_the_absolute_deadline() {
    // Default timeouts: idle 1 h, absolute 24 h.
    let s = sessions(lifecycle_builder(1, Mode::Encrypted));
    let signed_in = sign_in(&s, "alice");
    let created = state_of(&s, &signed_in).created();
    let stamp = state_of(&s, &signed_in)
        .subject_generation()
        .map(Subject::generation);
    let mut cookie = signed_in.clone();
    for hour in 0..30 {
        s.clock.advance(Duration::minutes(50));
        let refused = s.refusal_at(&cookie, s.lifecycle.now());
        if s.lifecycle.now() >= created + Duration::hours(24) {
            assert_eq!(refused, Some(OpenError::ExpiredAbsolute), "hour {hour}");
            return;
        }
        assert_eq!(refused, None, "hour {hour}");
        cookie = act(&s, &cookie, |session| match hour % 3 {
            0 => session.renew().expect("renewed"),
            1 => assert!(session.purge_other_sessions().expect("recorded")),
            _ => session.insert("n", &hour).expect("written"),
        });
        let state = state_of(&s, &cookie);
        assert_eq!(state.created(), created, "hour {hour}: the deadline moved");
        assert_eq!(
            state.subject_generation().map(Subject::generation),
            stamp,
            "hour {hour}: the stamp moved without an authentication"
        );
    }
    panic!("never reached the absolute deadline");
}

#[test]
fn reauthentication_starts_a_new_window_and_a_fresher_stamp() {
    let s = sessions(lifecycle_builder(1, Mode::Encrypted));
    let stolen = sign_in(&s, "alice");
    s.clock.advance(Duration::minutes(50));
    let fresh = act(&s, &stolen, |session| {
        assert!(session.reauthenticate().expect("reauthenticated"));
    });
    let (old, new) = (state_of(&s, &stolen), state_of(&s, &fresh));
    assert_eq!(new.created(), s.lifecycle.now(), "a new absolute window");
    assert!(
        new.subject_generation().map(Subject::generation)
            > old.subject_generation().map(Subject::generation)
    );
    // The old id is revoked; the re-authenticated session's sign-out-others ends any other copy
    // of the old sign-in too.
    assert_eq!(
        s.refusal_at(&stolen, s.lifecycle.now()),
        Some(OpenError::Revoked)
    );
    let other_device = {
        let mut state = SessionState::new(s.lifecycle.now()).expect("id");
        state.set_subject(
            "alice",
            old.subject_generation().expect("subject").generation(),
        );
        s.seal(&state)
    };
    assert_eq!(s.refusal_at(&other_device, s.lifecycle.now()), None);
    act(&s, &fresh, |session| {
        assert!(session.purge_other_sessions().expect("recorded"));
    });
    assert_eq!(
        s.refusal_at(&other_device, s.lifecycle.now()),
        Some(OpenError::Revoked)
    );
}

#[test]
fn a_renewal_racing_a_logout_never_revives_it() {
    // Threads against one store: for each pair, one renews and one logs out the same session at
    // once. Whichever order the store sees, the logged-out cookie is refused, and a renewal that
    // came second is refused and purged rather than revived.
    for round in 0..200 {
        let s = sessions(lifecycle_builder(1, Mode::Encrypted));
        let cookie = sign_in(&s, "alice");
        let barrier = Barrier::new(2);
        let (renewed, logged_out) = std::thread::scope(|scope| {
            let renew = scope.spawn(|| {
                let mut session = s.request(Some(&cookie));
                barrier.wait();
                let result = session.renew();
                let update = session.finish().expect("sealed");
                (result, update)
            });
            let logout = scope.spawn(|| {
                let mut session = s.request(Some(&cookie));
                barrier.wait();
                session.purge()
            });
            (
                renew.join().expect("no panic"),
                logout.join().expect("no panic"),
            )
        });
        let now = s.lifecycle.now();
        assert_eq!(
            s.refusal_at(&cookie, now),
            Some(OpenError::Revoked),
            "round {round}"
        );
        let (renewal, update) = renewed;
        logged_out.unwrap_or_else(|err| panic!("round {round}: the logout failed: {err}"));
        match renewal {
            // The renewal reached the store first: the logout then found the old id refused
            // (and answers Ok: its cookie is logged out); the renewed cookie is a new session
            // the logout did not know of (invariant 1's bound).
            Ok(()) => assert_eq!(
                s.refusal_at(&set_value(&update), now),
                None,
                "round {round}"
            ),
            // The logout came first: the renewal's own revocation of the old id was refused, in
            // the same store operation, and the session is purged, never revived.
            Err(err) => {
                assert!(
                    err.to_string().contains("logged out"),
                    "round {round}: {err}"
                );
                assert!(matches!(update, CookieUpdate::Remove(_)), "round {round}");
            }
        }
    }
}

#[test]
fn a_fold_never_touches_a_fresher_session_and_log_out_everywhere_beats_it() {
    let store = Arc::new(MemoryRevocationStore::with_limits(
        sealed_session::revocation::RevocationLimits::new().per_subject(2),
    ));
    let clock = Arc::new(sealed_session::clock::ManualClock::new(crate::at(
        crate::T0,
    )));
    let s = Sessions {
        lifecycle: lifecycle_builder(1, Mode::Encrypted)
            .clock(clock.clone())
            .revocation_store(store.clone())
            .build()
            .expect("valid settings"),
        clock,
        store: store.clone(),
    };
    let old = sign_in(&s, "alice");
    s.clock.advance(Duration::seconds(1));
    let fresh = sign_in(&s, "alice");
    // The old session renews until its revocations fold: the fold ends it (and the sessions
    // authenticated with or before it), never the fresher one.
    let mut cookie = old;
    let mut folded = false;
    for _ in 0..5 {
        let mut session = s.request(Some(&cookie));
        if session.state().is_none() {
            folded = true;
            break;
        }
        let result = session.renew();
        let update = session.finish().expect("sealed");
        match result {
            Ok(()) => cookie = set_value(&update),
            Err(err) => {
                assert!(err.to_string().contains("logged out"), "{err}");
                folded = true;
                break;
            }
        }
    }
    assert!(folded && store.folds() > 0, "the per-subject limit folded");
    assert_eq!(s.refusal_at(&fresh, s.lifecycle.now()), None);
    assert!(s.store.generation("alice") > Generation::ZERO);
    act(&s, &fresh, |session| {
        assert!(session.purge_subject().expect("recorded"));
    });
    assert_eq!(
        s.refusal_at(&fresh, s.lifecycle.now()),
        Some(OpenError::Revoked)
    );
}

#[test]
fn sign_ins_right_after_a_log_out_everywhere_stay_ordered() {
    // The cutoff of a log-out-everywhere is ahead of the clock by the skew allowance; sign-ins
    // in that minute are still stamped in order, so the later one's sign-out-others ends the
    // earlier one (issue 17: found over HTTP).
    let s = sessions(lifecycle_builder(1, Mode::Encrypted));
    let first = sign_in(&s, "alice");
    act(&s, &first, |session| {
        assert!(session.purge_subject().expect("recorded"));
    });
    s.clock.advance(Duration::seconds(10));
    let other = sign_in(&s, "alice");
    s.clock.advance(Duration::seconds(10));
    let owner = sign_in(&s, "alice");
    let stamp = |cookie: &str| {
        state_of(&s, cookie)
            .subject_generation()
            .map(Subject::generation)
            .expect("signed in")
    };
    assert!(stamp(&owner) > stamp(&other));
    let owner = act(&s, &owner, |session| {
        assert!(session.purge_other_sessions().expect("recorded"));
    });
    assert_eq!(
        s.refusal_at(&other, s.lifecycle.now()),
        Some(OpenError::Revoked)
    );
    assert_eq!(s.refusal_at(&owner, s.lifecycle.now()), None);
}
