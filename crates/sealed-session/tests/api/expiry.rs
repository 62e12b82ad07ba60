//! Absolute, idle, clock-skew and not-before boundaries, one second either side, and the
//! documented order of the checks when a cookie breaks several rules at once.

use sealed_session::codec::{Codec, SessionState};
use sealed_session::revocation::{Revocation, RevocationStore};
use sealed_session::{Mode, OpenError, SessionId};
use time::Duration;

use crate::{MODES, T0, at, builder, lifecycle_builder, sessions, set_value};

const IDLE: i64 = 600;
const ABSOLUTE: i64 = 3_600;
const SKEW: i64 = 30;
/// The "not before" time of [`codec`].
const NB: i64 = T0 - 1_000;

/// Idle 10 minutes, absolute 1 hour, skew 30 seconds, not before `NB`.
fn codec(mode: Mode) -> Codec {
    builder(1, mode)
        .idle_timeout(Duration::seconds(IDLE))
        .absolute_timeout(Duration::seconds(ABSOLUTE))
        .clock_skew(Duration::seconds(SKEW))
        .not_before(at(NB))
        .build()
        .expect("valid settings")
}

fn state(created: i64, last_active: i64) -> SessionState {
    let mut state = SessionState::with_id(SessionId::from_bytes([7; 16]), at(created));
    state.touch(at(last_active));
    state
}

/// Opens a cookie for `state` at `now`, keeping only the error.
fn open(codec: &Codec, state: &SessionState, now: i64) -> Result<(), OpenError> {
    let cookie = codec.seal(state).expect("fits");
    codec.open_at(&cookie, at(now)).map(|opened| {
        assert_eq!(opened.state(), state);
    })
}

#[test]
fn absolute_timeout_boundary() {
    for mode in MODES {
        let codec = codec(mode);
        // Active a moment ago, so only the absolute deadline can end it.
        let end = T0 + ABSOLUTE;
        let s = state(T0, end - 2);
        assert_eq!(open(&codec, &s, end - 1), Ok(()), "{mode}");
        assert_eq!(
            open(&codec, &s, end),
            Err(OpenError::ExpiredAbsolute),
            "{mode}"
        );
        assert_eq!(
            open(&codec, &s, end + 1),
            Err(OpenError::ExpiredAbsolute),
            "{mode}"
        );
        assert_eq!(codec.absolute_timeout(), Duration::seconds(ABSOLUTE));
    }
}

#[test]
fn idle_timeout_boundary() {
    for mode in MODES {
        let codec = codec(mode);
        let last = T0 + 100;
        let s = state(T0, last);
        assert_eq!(open(&codec, &s, last + IDLE - 1), Ok(()), "{mode}");
        assert_eq!(
            open(&codec, &s, last + IDLE),
            Err(OpenError::ExpiredIdle),
            "{mode}"
        );
        assert_eq!(
            open(&codec, &s, last + IDLE + 1),
            Err(OpenError::ExpiredIdle),
            "{mode}"
        );
        assert_eq!(codec.idle_timeout(), Duration::seconds(IDLE));
    }
}

/// Touching and re-sealing at every request slides the idle deadline but never the absolute
/// one: `created` survives every re-seal.
#[test]
fn activity_does_not_extend_the_absolute_deadline() {
    for mode in MODES {
        let codec = builder(1, mode)
            .idle_timeout(Duration::seconds(IDLE))
            .absolute_timeout(Duration::seconds(ABSOLUTE))
            .build()
            .expect("valid");
        let mut cookie = codec
            .seal(&codec.new_session(at(T0)).expect("randomness"))
            .expect("fits");
        let mut now = T0;
        loop {
            // Each request comes just before the idle deadline.
            now += IDLE - 1;
            let opened = codec.open_at(&cookie, at(now));
            if now >= T0 + ABSOLUTE {
                assert_eq!(
                    opened.map(|o| o.into_state()),
                    Err(OpenError::ExpiredAbsolute)
                );
                break;
            }
            let mut state = opened.expect("active and young").into_state();
            assert_eq!(
                state.created_unix().secs(),
                u64::try_from(T0).expect("positive")
            );
            state.touch(at(now));
            cookie = codec.seal(&state).expect("fits");
        }
        // The last request before the deadline worked, the first one after did not.
        assert!(now - (IDLE - 1) < T0 + ABSOLUTE, "{mode}");
    }
}

/// The same through the lifecycle, which re-seals on its own: a cookie refreshed on every
/// request still ends at its absolute deadline.
#[test]
fn lifecycle_refreshes_do_not_extend_the_absolute_deadline() {
    for mode in MODES {
        let s = sessions(
            lifecycle_builder(1, mode)
                .idle_timeout(Duration::seconds(IDLE))
                .absolute_timeout(Duration::seconds(ABSOLUTE)),
        );
        let mut request = s.request(None);
        request.insert("n", &1u8).expect("fits");
        let mut cookie = set_value(&request.finish().expect("sealed"));
        let mut requests = 0;
        loop {
            s.clock.advance(Duration::seconds(IDLE - 1));
            let mut request = s.request(Some(&cookie));
            if let Some(refusal) = request.refusal() {
                assert_eq!(refusal, OpenError::ExpiredAbsolute, "{mode}");
                break;
            }
            requests += 1;
            cookie = set_value(&request.finish().expect("sealed"));
        }
        assert_eq!(requests, (ABSOLUTE - 1) / (IDLE - 1), "{mode}");
    }
}

#[test]
fn clock_skew_boundary() {
    for mode in MODES {
        let codec = codec(mode);
        // Created (and active) on a server whose clock runs ahead.
        assert_eq!(
            open(&codec, &state(T0 + SKEW, T0 + SKEW), T0),
            Ok(()),
            "{mode}"
        );
        assert_eq!(
            open(&codec, &state(T0 + SKEW + 1, T0 + SKEW + 1), T0),
            Err(OpenError::FromFuture),
            "{mode}"
        );
        // Last activity alone in the future counts too.
        assert_eq!(open(&codec, &state(T0, T0 + SKEW), T0), Ok(()), "{mode}");
        assert_eq!(
            open(&codec, &state(T0, T0 + SKEW + 1), T0),
            Err(OpenError::FromFuture),
            "{mode}"
        );
        // Zero skew allowed: one second ahead is too far.
        let strict = builder(1, mode)
            .clock_skew(Duration::ZERO)
            .build()
            .expect("valid");
        assert_eq!(open(&strict, &state(T0, T0), T0), Ok(()));
        assert_eq!(
            open(&strict, &state(T0 + 1, T0 + 1), T0),
            Err(OpenError::FromFuture)
        );
    }
}

#[test]
fn not_before_boundary() {
    for mode in MODES {
        let codec = codec(mode);
        // Created just before the switch, active now: refused. Created at it: fine.
        assert_eq!(
            open(&codec, &state(NB - 1, T0), T0),
            Err(OpenError::NotBefore),
            "{mode}"
        );
        assert_eq!(open(&codec, &state(NB, T0), T0), Ok(()), "{mode}");
        assert_eq!(open(&codec, &state(NB + 1, T0), T0), Ok(()), "{mode}");
    }
}

/// Checks run in the documented order (absolute, idle, future, not before, then the
/// lifecycle's revoked), so a
/// cookie breaking two rules gets the error of the first.
#[test]
fn a_cookie_breaking_two_rules_gets_the_first_error() {
    for mode in MODES {
        let codec = codec(mode);
        // Absolute and idle.
        let s = state(NB, NB);
        assert_eq!(
            open(&codec, &s, NB + ABSOLUTE),
            Err(OpenError::ExpiredAbsolute),
            "{mode}"
        );
        // Absolute and not-before.
        let s = state(NB - 1, NB + ABSOLUTE - 2);
        assert_eq!(
            open(&codec, &s, NB - 1 + ABSOLUTE),
            Err(OpenError::ExpiredAbsolute)
        );
        // Idle and not-before.
        let s = state(NB - 1, T0);
        assert_eq!(open(&codec, &s, T0 + IDLE), Err(OpenError::ExpiredIdle));
        // From the future and before not-before: with a "not before" in the future.
        let ahead = builder(1, mode)
            .clock_skew(Duration::seconds(SKEW))
            .not_before(at(T0 + 10_000))
            .build()
            .expect("valid");
        let s = state(T0 + SKEW + 1, T0 + SKEW + 1);
        assert_eq!(open(&ahead, &s, T0), Err(OpenError::FromFuture));
        // Expired, not-before and revoked: the codec's time checks come before the lifecycle's
        // revocation check.
        let lc = sessions(
            lifecycle_builder(1, mode)
                .idle_timeout(Duration::seconds(IDLE))
                .absolute_timeout(Duration::seconds(ABSOLUTE))
                .clock_skew(Duration::seconds(SKEW))
                .not_before(at(NB)),
        );
        let revoke = |state: &SessionState| {
            let revocation = Revocation::Session {
                id: state.id(),
                subject: None,
                until: at(T0 + 10 * ABSOLUTE).into(),
            };
            lc.store
                .revoke(revocation, at(NB - 1).into())
                .expect("recorded");
        };
        let st = state(NB - 1, NB - 1);
        revoke(&st);
        let cookie = lc.seal(&st);
        assert_eq!(
            lc.refusal_at(&cookie, at(NB - 1 + IDLE)),
            Some(OpenError::ExpiredIdle)
        );
        assert_eq!(
            lc.refusal_at(&cookie, at(NB + 10)),
            Some(OpenError::NotBefore)
        );
        let mut st = state(T0, T0);
        st.renew(SessionId::from_bytes([8; 16]), at(T0));
        revoke(&st);
        let cookie = lc.seal(&st);
        assert_eq!(
            lc.refusal_at(&cookie, at(T0 + IDLE)),
            Some(OpenError::ExpiredIdle)
        );
        assert_eq!(lc.refusal_at(&cookie, at(T0 + 1)), Some(OpenError::Revoked));
        // Authentication before any time check: an expired cookie that was tampered with is
        // forged, one of another key unknown, one of another mode a mismatch.
        let cookie = codec.seal(&state(NB, NB)).expect("fits");
        let mut envelope = crate::decode(&cookie);
        let last = envelope.len() - 1;
        envelope[last] ^= 1;
        let late = at(NB + 10 * ABSOLUTE);
        assert_eq!(
            codec
                .open_at(&crate::encode(&envelope), late)
                .map(|o| o.into_state()),
            Err(OpenError::Forged)
        );
        let other_key = crate::codec(2, mode);
        assert!(matches!(
            other_key.open_at(&cookie, late),
            Err(OpenError::UnknownKey { .. })
        ));
        let other_mode = crate::codec(
            1,
            if mode == Mode::Signed {
                Mode::Encrypted
            } else {
                Mode::Signed
            },
        );
        assert_eq!(
            other_mode.open_at(&cookie, late).map(|o| o.into_state()),
            Err(OpenError::ModeMismatch)
        );
        // The version is read before the mode.
        let mut envelope = crate::decode(&cookie);
        envelope[0] = 2;
        envelope[1] = 9;
        assert_eq!(
            codec
                .open_at(&crate::encode(&envelope), late)
                .map(|o| o.into_state()),
            Err(OpenError::UnsupportedVersion { version: 2 })
        );
    }
}

/// `SessionManager::open` reads the lifecycle's clock: moving the clock expires the session.
#[test]
fn lifecycle_open_reads_its_clock() {
    for mode in MODES {
        let s = sessions(
            lifecycle_builder(1, mode)
                .idle_timeout(Duration::seconds(IDLE))
                .absolute_timeout(Duration::seconds(ABSOLUTE)),
        );
        let state = s
            .lifecycle
            .codec()
            .new_session(s.lifecycle.now())
            .expect("randomness");
        assert_eq!(state.created(), at(T0));
        let cookie = s.seal(&state);
        s.clock.set(at(T0 + IDLE - 1));
        let request = s.request(Some(&cookie));
        assert_eq!(request.refusal(), None, "{mode}");
        assert_eq!(request.now(), at(T0 + IDLE - 1));
        s.clock.advance(Duration::seconds(1));
        assert_eq!(
            s.request(Some(&cookie)).refusal(),
            Some(OpenError::ExpiredIdle),
            "{mode}"
        );
    }
}
