//! Tampered, truncated, renamed, re-keyed, mode-swapped and revoked cookies are refused.

use sealed_session::adapter::CookieUpdate;
use sealed_session::codec::{Codec, SessionState};
use sealed_session::revocation::{Generation, Subject};
use sealed_session::{IncomingCookie, KeyRing, Mode, OpenError, SessionId};
use time::Duration;

use crate::{
    MODES, T0, at, b64, builder, codec, decode, encode, lifecycle_builder, overhead, session,
    sessions, set_value,
};

/// What opening an envelope whose byte `index` was changed from `original` to `flipped` must
/// return: the header's own errors for header bytes, `Forged` for everything after.
fn expected_error(mode: Mode, envelope: &[u8], index: usize) -> OpenError {
    match index {
        0 => OpenError::UnsupportedVersion {
            version: envelope[0],
        },
        1 => match envelope[1] {
            1 | 2 => OpenError::ModeMismatch,
            _ => OpenError::Malformed,
        },
        2..=5 => {
            let key_id = Codec::peek_header(&encode(envelope))
                .expect("the header parses")
                .key_id;
            assert_eq!(&key_id.as_bytes()[..], &envelope[2..6]);
            OpenError::UnknownKey { key_id }
        }
        _ if envelope.len() < overhead(mode) => OpenError::Malformed,
        _ => OpenError::Forged,
    }
}

/// Every single-bit flip of the decoded envelope is refused, with the error its position calls
/// for; the unflipped cookie still opens.
#[test]
fn every_bit_flip_of_the_envelope_is_refused_with_the_right_error() {
    for mode in MODES {
        let codec = codec(1, mode);
        // One cookie with data and subject, one empty (shortest body).
        let empty = SessionState::with_id(SessionId::from_bytes([9; 16]), at(T0));
        for state in [session(1, T0), empty] {
            let cookie = codec.seal(&state).expect("fits");
            let envelope = decode(&cookie);
            for bit in 0..envelope.len() * 8 {
                let mut flipped = envelope.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                let expected = expected_error(mode, &flipped, bit / 8);
                assert_eq!(
                    crate::open(&codec, &encode(&flipped)),
                    Err(expected),
                    "{mode}: bit {bit} of {}",
                    envelope.len()
                );
            }
            assert_eq!(crate::open(&codec, &cookie).expect("opens"), state);
        }
    }
}

/// A single bit flip of a mode byte never yields the other mode (1 and 2 differ in two bits),
/// so a two-bit change is needed to try a downgrade, and that is `ModeMismatch`.
#[test]
fn changing_the_mode_byte_to_the_other_mode_is_a_mode_mismatch() {
    for mode in MODES {
        let codec = codec(1, mode);
        let mut envelope = decode(&codec.seal(&session(1, T0)).expect("fits"));
        envelope[1] ^= 0b11;
        assert_eq!(
            crate::open(&codec, &encode(&envelope)),
            Err(OpenError::ModeMismatch),
            "{mode}"
        );
    }
}

/// Every single-bit flip of every character of the cookie string is refused (most are no
/// longer base64url, the rest decode to another envelope).
#[test]
fn every_bit_flip_of_the_cookie_string_is_refused() {
    for mode in MODES {
        let codec = codec(1, mode);
        let cookie = codec.seal(&session(1, T0)).expect("fits");
        for bit in 0..cookie.len() * 8 {
            let mut bytes = cookie.clone().into_bytes();
            bytes[bit / 8] ^= 1 << (bit % 8);
            // Flipping bit 7 makes the byte non-UTF-8: it then reaches `open` as U+FFFD.
            let flipped = String::from_utf8_lossy(&bytes);
            let result = crate::open(&codec, &flipped);
            assert!(result.is_err(), "{mode}: bit {bit} flipped and accepted");
        }
    }
}

/// Every prefix of the cookie string, and of its decoded envelope, is refused without a panic.
#[test]
fn every_truncation_is_refused() {
    for mode in MODES {
        let codec = codec(1, mode);
        let cookie = codec.seal(&session(1, T0)).expect("fits");
        for len in 0..cookie.len() {
            let result = crate::open(&codec, &cookie[..len]);
            assert!(
                result.is_err(),
                "{mode}: prefix of {len} characters accepted"
            );
            if len < 8 {
                // Not even a header (6 bytes take 8 characters).
                assert_eq!(result, Err(OpenError::Malformed));
            }
        }
        let envelope = decode(&cookie);
        for len in 0..envelope.len() {
            let expected = if len < overhead(mode) {
                OpenError::Malformed
            } else {
                OpenError::Forged
            };
            assert_eq!(
                crate::open(&codec, &encode(&envelope[..len])),
                Err(expected),
                "{mode}: prefix of {len} bytes"
            );
        }
        // Longer is no better: an extra byte, or characters appended to the string.
        let mut longer = envelope.clone();
        longer.push(0);
        assert_eq!(
            crate::open(&codec, &encode(&longer)),
            Err(OpenError::Forged)
        );
        for extra in ["A", "AA", "AAA", "AAAA", "_"] {
            let result = crate::open(&codec, &format!("{cookie}{extra}"));
            // Not base64url any more (a lone trailing character), or a longer envelope.
            assert!(
                matches!(result, Err(OpenError::Malformed | OpenError::Forged)),
                "{mode}: {extra:?} appended: {result:?}"
            );
        }
    }
}

/// The cookie name is authenticated: under another name, the same value is forged.
#[test]
fn wrong_cookie_name_is_forged() {
    for mode in MODES {
        let sealer = builder(1, mode)
            .cookie_name("session")
            .build()
            .expect("valid");
        let cookie = sealer.seal(&session(1, T0)).expect("fits");
        for name in ["id", "Session", "session2", "sessio", "__Host-session"] {
            let opener = builder(1, mode).cookie_name(name).build().expect("valid");
            assert_eq!(
                crate::open(&opener, &cookie),
                Err(OpenError::Forged),
                "{mode}: opened under {name}"
            );
        }
        assert!(crate::open(&sealer, &cookie).is_ok());
    }
}

/// A codec with another key does not know the cookie's key id.
#[test]
fn another_key_is_an_unknown_key() {
    for mode in MODES {
        let sealer = codec(1, mode);
        let cookie = sealer.seal(&session(1, T0)).expect("fits");
        let other = codec(2, mode);
        assert_ne!(
            other.key_ring().primary_id(),
            sealer.key_ring().primary_id()
        );
        assert_eq!(
            crate::open(&other, &cookie),
            Err(OpenError::UnknownKey {
                key_id: sealer.key_ring().primary_id()
            }),
            "{mode}"
        );
    }
}

/// Once the key that sealed a cookie is removed from the ring, the cookie's key is unknown.
#[test]
fn removed_sealing_key_is_an_unknown_key() {
    for mode in MODES {
        let ring = KeyRing::from_config(&format!("{},{}", b64(1), b64(2))).expect("valid");
        let sealer = Codec::builder(ring).mode(mode).build().expect("valid");
        let cookie = sealer.seal(&session(1, T0)).expect("fits");
        let sealed_by = sealer.key_ring().primary_id();
        assert!(sealer.open_at(&cookie, at(T0)).is_ok());

        let without = KeyRing::from_config(&b64(2)).expect("valid");
        let opener = Codec::builder(without).mode(mode).build().expect("valid");
        assert_eq!(
            crate::open(&opener, &cookie),
            Err(OpenError::UnknownKey { key_id: sealed_by }),
            "{mode}"
        );
    }
}

/// A signed cookie is refused where encrypted ones are expected, and the reverse.
#[test]
fn swapped_mode_is_a_mode_mismatch() {
    let encrypted = codec(1, Mode::Encrypted);
    let signed = codec(1, Mode::Signed);
    let state = session(1, T0);
    let (enc_cookie, sig_cookie) = (
        encrypted.seal(&state).expect("fits"),
        signed.seal(&state).expect("fits"),
    );
    assert_eq!(
        crate::open(&encrypted, &sig_cookie),
        Err(OpenError::ModeMismatch)
    );
    assert_eq!(
        crate::open(&signed, &enc_cookie),
        Err(OpenError::ModeMismatch)
    );
    // Even from a key the codec doesn't have: the mode is checked first.
    assert_eq!(
        crate::open(&codec(2, Mode::Encrypted), &sig_cookie),
        Err(OpenError::ModeMismatch)
    );
}

/// A signed cookie's envelope, relabelled as encrypted (mode byte changed), is refused: as a
/// mode mismatch by a signed codec, as forged by an encrypted one.
#[test]
fn relabelled_mode_is_refused() {
    let signed = codec(1, Mode::Signed);
    let mut envelope = decode(&signed.seal(&session(1, T0)).expect("fits"));
    envelope[1] = 1;
    let relabelled = encode(&envelope);
    assert_eq!(
        crate::open(&signed, &relabelled),
        Err(OpenError::ModeMismatch)
    );
    assert_eq!(
        crate::open(&codec(1, Mode::Encrypted), &relabelled),
        Err(OpenError::Forged)
    );
}

/// Revocation is the lifecycle's check, made after the codec's: a purged session (and only
/// it) is refused from then on, whatever its cookie carries; an anonymous session is listed only
/// when the lifecycle revokes anonymous sessions.
#[test]
fn revoked_session_is_refused() {
    for mode in MODES {
        let s = sessions(lifecycle_builder(1, mode));
        let (kept, revoked) = (session(1, T0), session(2, T0));
        let kept_cookie = s.seal(&kept);
        let revoked_cookie = s.seal(&revoked);

        let mut request = s.request(Some(&revoked_cookie));
        assert_eq!(request.incoming(), &IncomingCookie::Valid, "{mode}");
        request.purge().expect("recorded");
        assert!(matches!(request.finish(), Ok(CookieUpdate::Remove(_))));
        assert_eq!(
            s.refusal_at(&revoked_cookie, at(T0)),
            Some(OpenError::Revoked),
            "{mode}"
        );
        // The codec alone still opens it: revocation is not part of the format.
        assert_eq!(
            crate::open(s.lifecycle.codec(), &revoked_cookie).as_ref(),
            Ok(&revoked)
        );
        // Re-sealed with fresh activity, or its data changed: still the same id, still revoked.
        let mut touched = revoked.clone();
        touched.touch(at(T0 + 10));
        touched.insert("n", &1u8).expect("encodes");
        assert_eq!(
            s.refusal_at(&s.seal(&touched), at(T0 + 20)),
            Some(OpenError::Revoked)
        );
        // The same data under a new id is a new session.
        let mut renewed = revoked.clone();
        renewed.renew(SessionId::from_bytes([3; 16]), at(T0));
        assert_eq!(s.refusal_at(&s.seal(&renewed), at(T0)), None);
        let request = s.request(Some(&kept_cookie));
        assert_eq!(request.refusal(), None);
        assert_eq!(request.state(), Some(&kept));

        // Anonymous sessions are not listed by default: a copy of a purged one still opens.
        let mut anonymous = session(4, T0);
        anonymous.clear_subject();
        let anonymous_cookie = s.seal(&anonymous);
        let len = s.store.len();
        s.request(Some(&anonymous_cookie))
            .purge()
            .expect("nothing to record");
        assert_eq!(s.store.len(), len);
        assert_eq!(s.refusal_at(&anonymous_cookie, at(T0)), None);
        // A lifecycle that revokes them lists it.
        let strict = sessions(lifecycle_builder(1, mode).revoke_anonymous_sessions(true));
        let anonymous_cookie = strict.seal(&anonymous);
        strict
            .request(Some(&anonymous_cookie))
            .purge()
            .expect("recorded");
        assert_eq!(
            strict.refusal_at(&anonymous_cookie, at(T0)),
            Some(OpenError::Revoked)
        );
    }
}

/// `SessionManager::revoke_subject` ("log out everywhere") ends every session of that subject
/// signed in before it, whenever it was created, and no session of other subjects, nor sessions
/// without a subject, nor those signed in after it.
#[test]
fn revoke_subject_ends_earlier_sessions_of_that_subject_only() {
    for mode in MODES {
        let s = sessions(lifecycle_builder(1, mode));
        let with_subject = |id: u8, created: i64, subject: Option<(&str, Generation)>| {
            let mut state = SessionState::with_id(SessionId::from_bytes([id; 16]), at(created));
            if let Some((name, generation)) = subject {
                state.set_subject(name, generation);
            }
            s.seal(&state)
        };
        let zero = Generation::ZERO;
        let alice_old = with_subject(1, T0 - 600, Some(("alice", zero)));
        let alice_now = with_subject(2, T0, Some(("alice", zero)));
        let bob = with_subject(3, T0 - 600, Some(("bob", zero)));
        let alice_prefix = with_subject(4, T0 - 600, Some(("alic", zero)));
        let nobody = with_subject(5, T0 - 600, None);

        let generation = s
            .lifecycle
            .revoke_subject("alice")
            .wait()
            .expect("recorded");
        assert!(generation > zero);
        for cookie in [&alice_old, &alice_now] {
            assert_eq!(
                s.refusal_at(cookie, at(T0)),
                Some(OpenError::Revoked),
                "{mode}"
            );
        }
        for cookie in [&bob, &alice_prefix, &nobody] {
            assert_eq!(s.refusal_at(cookie, at(T0)), None, "{mode}");
        }
        // A session of alice's signed in after the log-out-everywhere is stamped just above the
        // new cutoff and is valid, in the same second as it or later.
        let mut request = s.request(None);
        request.sign_in("alice").expect("signed in");
        let signed_in = set_value(&request.finish().expect("sealed"));
        assert_eq!(
            s.request(Some(&signed_in))
                .state()
                .and_then(SessionState::subject_generation)
                .map(Subject::generation),
            Some(generation.next())
        );
        for later in [T0, T0 + 1, T0 + 600] {
            assert_eq!(s.refusal_at(&signed_in, at(later)), None, "{mode}");
        }
        // Earlier ones stay revoked until they would have expired anyway; the generation, not
        // the creation time, decides: a session created later with the old one is refused.
        s.clock.advance(Duration::seconds(600));
        assert_eq!(
            s.refusal_at(&alice_old, at(T0 + 600)),
            Some(OpenError::Revoked)
        );
        let stale = with_subject(6, T0 + 600, Some(("alice", zero)));
        assert_eq!(s.refusal_at(&stale, at(T0 + 600)), Some(OpenError::Revoked));
    }
}

/// Timestamps are whole seconds, but revocation of a subject compares generations, not times:
/// a "log out everywhere, then sign in again" within one second yields a session that works,
/// while every session signed in before the log-out, in that same second too, is refused. This
/// pins that choice (a cutoff time could only refuse both or neither).
#[test]
fn revoke_subject_and_a_sign_in_in_the_same_second_are_told_apart() {
    let s = sessions(lifecycle_builder(1, Mode::Encrypted));
    let mut before = s.request(None);
    before.sign_in("alice").expect("signed in");
    let before = set_value(&before.finish().expect("sealed"));
    s.lifecycle
        .revoke_subject("alice")
        .wait()
        .expect("recorded");
    let mut after = s.request(None);
    after.sign_in("alice").expect("signed in");
    let after = set_value(&after.finish().expect("sealed"));
    assert_eq!(s.refusal_at(&before, at(T0)), Some(OpenError::Revoked));
    assert_eq!(s.refusal_at(&after, at(T0)), None);
    assert_eq!(s.refusal_at(&before, at(T0 + 1)), Some(OpenError::Revoked));
    assert_eq!(s.refusal_at(&after, at(T0 + 1)), None);
}

/// Signing in after a "log out everywhere" must work: an anonymous session created before it
/// and signed in afterwards (new id, new creation time, the subject's current generation) is a
/// new session the log-out does not cover, whether it is signed in with `sign_in` (values
/// dropped) or with `set_subject` then `renew` (values kept).
#[test]
fn signing_in_after_revoke_subject_is_not_revoked() {
    for mode in MODES {
        for keep_values in [false, true] {
            let s = sessions(lifecycle_builder(1, mode));
            // An anonymous visitor (e.g. a shopping cart) on one browser...
            let mut request = s.request(None);
            request.insert("cart", &vec![1u8, 2, 3]).expect("fits");
            let anonymous = set_value(&request.finish().expect("sealed"));
            // ...while alice signs out everywhere from another device a minute later...
            s.clock.advance(Duration::seconds(60));
            s.lifecycle
                .revoke_subject("alice")
                .wait()
                .expect("recorded");
            // ...and signs in on the first browser ten minutes after that.
            s.clock.advance(Duration::seconds(600));
            let mut request = s.request(Some(&anonymous));
            assert_eq!(request.refusal(), None);
            let anonymous_id = request.id();
            if keep_values {
                request.set_subject("alice").expect("fits");
                request.renew().expect("renewed");
            } else {
                request.sign_in("alice").expect("signed in");
            }
            assert_ne!(request.id(), anonymous_id);
            let signed_in = set_value(&request.finish().expect("sealed"));
            let request = s.request(Some(&signed_in));
            assert_eq!(
                request.refusal(),
                None,
                "{mode}: a sign-in after the log-out is refused"
            );
            assert_eq!(request.subject(), Some("alice"));
            let cart = request.get::<Vec<u8>>("cart").expect("decodes");
            assert_eq!(cart, keep_values.then(|| vec![1, 2, 3]), "{mode}");
        }
    }
}
