//! Tampered, truncated, renamed, re-keyed, mode-swapped and revoked cookies are refused.

use std::sync::Arc;

use sealed_session::{
    Codec, KeyRing, ManualClock, MemoryRevocationStore, Mode, OpenError, SessionId, SessionState,
};
use time::Duration;

use crate::{MODES, T0, at, b64, builder, codec, decode, encode, overhead, session};

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
                    codec.open(&encode(&flipped)).map(|o| o.into_state()),
                    Err(expected),
                    "{mode}: bit {bit} of {}",
                    envelope.len()
                );
            }
            assert_eq!(codec.open(&cookie).expect("opens").into_state(), state);
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
            codec.open(&encode(&envelope)).map(|o| o.into_state()),
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
            let result = codec.open(&flipped);
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
            let result = codec.open(&cookie[..len]);
            assert!(
                result.is_err(),
                "{mode}: prefix of {len} characters accepted"
            );
            if len < 8 {
                // Not even a header (6 bytes take 8 characters).
                assert_eq!(result.map(|o| o.into_state()), Err(OpenError::Malformed));
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
                codec
                    .open(&encode(&envelope[..len]))
                    .map(|o| o.into_state()),
                Err(expected),
                "{mode}: prefix of {len} bytes"
            );
        }
        // Longer is no better: an extra byte, or characters appended to the string.
        let mut longer = envelope.clone();
        longer.push(0);
        assert_eq!(
            codec.open(&encode(&longer)).map(|o| o.into_state()),
            Err(OpenError::Forged)
        );
        for extra in ["A", "AA", "AAA", "AAAA", "_"] {
            let result = codec
                .open(&format!("{cookie}{extra}"))
                .map(|o| o.into_state());
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
                opener.open(&cookie).map(|o| o.into_state()),
                Err(OpenError::Forged),
                "{mode}: opened under {name}"
            );
        }
        assert!(sealer.open(&cookie).is_ok());
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
            other.open(&cookie).map(|o| o.into_state()),
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
            opener.open_at(&cookie, at(T0)).map(|o| o.into_state()),
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
        encrypted.open(&sig_cookie).map(|o| o.into_state()),
        Err(OpenError::ModeMismatch)
    );
    assert_eq!(
        signed.open(&enc_cookie).map(|o| o.into_state()),
        Err(OpenError::ModeMismatch)
    );
    // Even from a key the codec doesn't have: the mode is checked first.
    assert_eq!(
        codec(2, Mode::Encrypted)
            .open(&sig_cookie)
            .map(|o| o.into_state()),
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
        signed.open(&relabelled).map(|o| o.into_state()),
        Err(OpenError::ModeMismatch)
    );
    assert_eq!(
        codec(1, Mode::Encrypted)
            .open(&relabelled)
            .map(|o| o.into_state()),
        Err(OpenError::Forged)
    );
}

/// `revoke` refuses that session (and only it) from then on; without a store it does nothing.
#[test]
fn revoked_session_is_refused() {
    for mode in MODES {
        let codec = codec(1, mode);
        let (kept, revoked) = (session(1, T0), session(2, T0));
        let kept_cookie = codec.seal(&kept).expect("fits");
        let revoked_cookie = codec.seal(&revoked).expect("fits");
        assert!(codec.open(&revoked_cookie).is_ok());

        assert!(codec.revoke(&revoked));
        assert_eq!(
            codec.open(&revoked_cookie).map(|o| o.into_state()),
            Err(OpenError::Revoked),
            "{mode}"
        );
        // Re-sealed with fresh activity, or its data changed: still the same id, still revoked.
        let mut touched = revoked.clone();
        touched.touch(at(T0 + 10));
        touched.insert("n", &1u8).expect("encodes");
        let touched_cookie = codec.seal(&touched).expect("fits");
        assert_eq!(
            codec
                .open_at(&touched_cookie, at(T0 + 20))
                .map(|o| o.into_state()),
            Err(OpenError::Revoked)
        );
        // The same data under a new id is a new session.
        let mut renewed = revoked.clone();
        renewed.renew(SessionId::from_bytes([3; 16]), codec.now());
        assert!(codec.open(&codec.seal(&renewed).expect("fits")).is_ok());
        assert_eq!(codec.open(&kept_cookie).expect("opens").into_state(), kept);

        let no_store = builder(1, mode).build().expect("valid");
        assert!(!no_store.revoke(&kept));
        assert!(!no_store.revoke_subject("alice"));
        assert!(no_store.revocation_store().is_none());
        assert!(no_store.open(&revoked_cookie).is_ok());
    }
}

/// `revoke_subject` ends the sessions of that subject created up to now, not those of other
/// subjects, nor sessions without a subject, nor those created later.
#[test]
fn revoke_subject_ends_earlier_sessions_of_that_subject_only() {
    for mode in MODES {
        let clock = Arc::new(ManualClock::new(at(T0)));
        let codec = builder(1, mode)
            .clock(clock.clone())
            .revocation_store(Arc::new(MemoryRevocationStore::new()))
            .build()
            .expect("valid");
        let with_subject = |id: u8, created: i64, subject: Option<&str>| {
            let mut state = SessionState::with_id(SessionId::from_bytes([id; 16]), at(created));
            state.set_subject(subject.map(str::to_owned));
            codec.seal(&state).expect("fits")
        };
        let alice_old = with_subject(1, T0 - 600, Some("alice"));
        let alice_now = with_subject(2, T0, Some("alice"));
        let bob = with_subject(3, T0 - 600, Some("bob"));
        let alice_prefix = with_subject(4, T0 - 600, Some("alic"));
        let nobody = with_subject(5, T0 - 600, None);

        assert!(codec.revoke_subject("alice"));
        for cookie in [&alice_old, &alice_now] {
            assert_eq!(
                codec.open(cookie).map(|o| o.into_state()),
                Err(OpenError::Revoked),
                "{mode}"
            );
        }
        for cookie in [&bob, &alice_prefix, &nobody] {
            assert!(codec.open(cookie).is_ok(), "{mode}");
        }
        // A session of alice's created after the log-out-everywhere is valid. The cutoff is the
        // second after the call, so "after" starts one second later.
        clock.advance(Duration::seconds(1));
        let alice_later = with_subject(6, T0 + 1, Some("alice"));
        assert!(codec.open(&alice_later).is_ok(), "{mode}");
        // Earlier ones stay revoked until they would have expired anyway.
        assert_eq!(
            codec.open(&alice_old).map(|o| o.into_state()),
            Err(OpenError::Revoked)
        );
    }
}

/// Timestamps are whole seconds, so `revoke_subject` can't tell a session created just before
/// the call from one created just after it in the same second: it ends both (the cutoff is the
/// next second). This pins that choice: a "log out everywhere, then sign in again" within one
/// second yields a session that is refused at once.
#[test]
fn revoke_subject_also_ends_sessions_created_later_in_the_same_second() {
    let codec = codec(1, Mode::Encrypted);
    assert!(codec.revoke_subject("alice"));
    let mut fresh = codec.new_session().expect("randomness");
    fresh.set_subject(Some("alice".to_owned()));
    let cookie = codec.seal(&fresh).expect("fits");
    assert_eq!(
        codec.open(&cookie).map(|o| o.into_state()),
        Err(OpenError::Revoked)
    );
    assert!(codec.open_at(&cookie, at(T0 + 1)).is_err());
}

/// Signing in after a "log out everywhere" must work: an anonymous session created before the
/// cutoff and renewed at sign-in (new id, new creation time) is a new session the cutoff does
/// not cover.
#[test]
fn signing_in_after_revoke_subject_is_not_revoked() {
    for mode in MODES {
        let clock = Arc::new(ManualClock::new(at(T0)));
        let codec = builder(1, mode)
            .clock(clock.clone())
            .revocation_store(Arc::new(MemoryRevocationStore::new()))
            .build()
            .expect("valid");
        // An anonymous visitor (e.g. a shopping cart) on one browser...
        let mut anonymous = codec.new_session().expect("randomness");
        anonymous.insert("cart", &vec![1u8, 2, 3]).expect("encodes");
        // ...while alice signs out everywhere from another device a minute later...
        clock.advance(Duration::seconds(60));
        assert!(codec.revoke_subject("alice"));
        // ...and signs in on the first browser ten minutes after that.
        clock.advance(Duration::seconds(600));
        let mut signed_in = anonymous;
        signed_in.set_subject(Some("alice".to_owned()));
        signed_in.renew(SessionId::from_bytes([0x51; 16]), codec.now());
        let cookie = codec.seal(&signed_in).expect("fits");
        assert_eq!(
            codec.open(&cookie).map(|o| o.into_state()),
            Ok(signed_in),
            "{mode}: a sign-in after the cutoff is refused"
        );
    }
}
