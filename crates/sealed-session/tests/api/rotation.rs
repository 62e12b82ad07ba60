//! Key rotation: fallback keys open and ask for a re-seal, staged `open-only:` keys open
//! without sealing.

use sealed_session::adapter::CookieUpdate;
use sealed_session::codec::Codec;
use sealed_session::keys::{KeyRole, OPEN_ONLY_PREFIX};
use sealed_session::{KeyRing, Mode, SessionManager};

use crate::{MODES, T0, at, b64, secret, session, sessions, set_value};

const NEW: u8 = 10;
const OLD: u8 = 20;

fn codec(config: &str, mode: Mode) -> Codec {
    Codec::builder(KeyRing::from_config(config).expect("valid key list"))
        .mode(mode)
        .build()
        .expect("valid settings")
}

/// Step 2 of a rotation: "new,old" opens what "old" sealed, says to re-seal it, and the
/// re-sealed cookie carries the new key's id and no longer needs re-sealing.
#[test]
fn fallback_key_opens_and_asks_for_a_reseal() {
    for mode in MODES {
        let old = codec(&b64(OLD), mode);
        let rotated = codec(&format!("{},{}", b64(NEW), b64(OLD)), mode);
        let old_id = old.key_ring().primary_id();
        let new_id = rotated.key_ring().primary_id();
        assert_ne!(old_id, new_id);
        assert_eq!(rotated.key_ring().ids(), vec![new_id, old_id]);

        let state = session(1, T0);
        let cookie = old.seal(&state).expect("fits");
        assert_eq!(Codec::peek_header(&cookie).expect("header").key_id, old_id);

        let opened = rotated
            .open_at(&cookie, at(T0))
            .expect("the fallback key opens");
        assert!(opened.should_reseal(), "{mode}");
        assert_eq!(opened.key_role(), KeyRole::Fallback);
        assert_eq!(opened.key_id(), old_id);
        assert_eq!(opened.state(), &state);

        let resealed = rotated.seal(opened.state()).expect("fits");
        let header = Codec::peek_header(&resealed).expect("header");
        assert_eq!(header.key_id, new_id, "{mode}");
        assert_eq!(header.mode, mode);
        assert_eq!(header.version, 1);
        let reopened = rotated
            .open_at(&resealed, at(T0))
            .expect("the primary opens");
        assert!(!reopened.should_reseal());
        assert_eq!(reopened.key_role(), KeyRole::Primary);
        assert_eq!(reopened.key_id(), new_id);
        assert_eq!(reopened.into_state(), state);

        // Instances still on "old" can't open the re-sealed cookie: that is why step 1 exists.
        assert!(old.open_at(&resealed, at(T0)).is_err());
    }
}

/// Step 1 of a rotation: "open-only:new,old" still seals with old, and opens cookies that
/// instances already on "new,old" sealed, without asking for a re-seal.
#[test]
fn staged_key_opens_without_sealing() {
    for mode in MODES {
        let staged = codec(
            &format!("{OPEN_ONLY_PREFIX}{},{}", b64(NEW), b64(OLD)),
            mode,
        );
        let promoted = codec(&format!("{},{}", b64(NEW), b64(OLD)), mode);
        let old = codec(&b64(OLD), mode);
        let (new_id, old_id) = (
            promoted.key_ring().primary_id(),
            old.key_ring().primary_id(),
        );
        assert_eq!(staged.key_ring().primary_id(), old_id);
        assert_eq!(staged.key_ring().role_of(new_id), Some(KeyRole::OpenOnly));
        assert_eq!(staged.key_ring().role_of(old_id), Some(KeyRole::Primary));

        let state = session(2, T0);
        let from_staged = staged.seal(&state).expect("fits");
        assert_eq!(
            Codec::peek_header(&from_staged).expect("header").key_id,
            old_id,
            "{mode}: a staged key sealed"
        );
        // Every step opens what the staged instance sealed.
        for (codec, role) in [
            (&staged, KeyRole::Primary),
            (&promoted, KeyRole::Fallback),
            (&old, KeyRole::Primary),
        ] {
            let opened = codec.open_at(&from_staged, at(T0)).expect("opens");
            assert_eq!(opened.key_role(), role);
            assert_eq!(opened.state(), &state);
        }

        let from_promoted = promoted.seal(&state).expect("fits");
        let opened = staged
            .open_at(&from_promoted, at(T0))
            .expect("the staged key opens");
        assert!(!opened.should_reseal(), "{mode}");
        assert_eq!(opened.key_role(), KeyRole::OpenOnly);
        assert_eq!(opened.key_id(), new_id);
        assert_eq!(opened.into_state(), state);
    }
}

/// `with_open_only` stages a key exactly like the `open-only:` prefix.
#[test]
fn with_open_only_matches_the_config_prefix() {
    let from_config = KeyRing::from_config(&format!("{OPEN_ONLY_PREFIX}{},{}", b64(NEW), b64(OLD)))
        .expect("valid");
    let built = KeyRing::new(secret(OLD))
        .with_open_only(secret(NEW))
        .expect("distinct keys");
    assert_eq!(built.ids(), from_config.ids());
    assert_eq!(built.primary_id(), from_config.primary_id());
    for id in built.ids() {
        assert_eq!(built.role_of(id), from_config.role_of(id));
    }
    assert!(
        KeyRing::new(secret(OLD))
            .with_open_only(secret(OLD))
            .is_err(),
        "the same key twice"
    );
}

/// A full rotation, old -> staged -> promoted -> retired, logs no one out who was active in
/// every phase, and cookies move to the new key on their first request after promotion.
#[test]
fn full_rotation_keeps_active_sessions() {
    for mode in MODES {
        let phases = [
            codec(&b64(OLD), mode),
            codec(
                &format!("{OPEN_ONLY_PREFIX}{},{}", b64(NEW), b64(OLD)),
                mode,
            ),
            codec(&format!("{},{}", b64(NEW), b64(OLD)), mode),
            codec(&b64(NEW), mode),
        ];
        let state = session(3, T0);
        let mut cookie = phases[0].seal(&state).expect("fits");
        for codec in &phases {
            let opened = codec
                .open_at(&cookie, at(T0))
                .expect("an active session survives every phase");
            if opened.should_reseal() {
                cookie = codec.seal(opened.state()).expect("fits");
            }
            assert_eq!(opened.into_state(), state);
        }
        assert_eq!(
            Codec::peek_header(&cookie).expect("header").key_id,
            phases[3].key_ring().primary_id()
        );
    }
}

/// Through the lifecycle, a cookie opened by a fallback key is re-sealed with the primary on
/// its first request even when the request changes nothing; one opened by a staged key, or by
/// the primary within the refresh interval, is left alone.
#[test]
fn the_lifecycle_moves_cookies_to_the_primary_key() {
    for mode in MODES {
        let lifecycle = |config: &str| {
            sessions(
                SessionManager::builder(KeyRing::from_config(config).expect("valid")).mode(mode),
            )
        };
        let old = lifecycle(&b64(OLD));
        let staged = lifecycle(&format!("{OPEN_ONLY_PREFIX}{},{}", b64(NEW), b64(OLD)));
        let promoted = lifecycle(&format!("{},{}", b64(NEW), b64(OLD)));
        let state = session(4, T0);

        let from_old = old.seal(&state);
        let mut request = promoted.request(Some(&from_old));
        assert_eq!(request.state(), Some(&state), "{mode}");
        let update = request.finish().expect("sealed");
        assert!(
            matches!(update, CookieUpdate::Refresh(_)),
            "{mode}: {update:?}"
        );
        let moved = set_value(&update);
        assert_eq!(
            Codec::peek_header(&moved).expect("header").key_id,
            promoted.lifecycle.codec().key_ring().primary_id()
        );
        let mut again = promoted.request(Some(&moved));
        assert_eq!(again.state().map(|s| s.id()), Some(state.id()));
        assert_eq!(again.finish().expect("nothing to seal"), CookieUpdate::None);

        // A staged key opens what the promoted instance sealed, and leaves it as it is.
        let mut request = staged.request(Some(&moved));
        assert_eq!(request.refusal(), None, "{mode}");
        assert_eq!(
            request.finish().expect("nothing to seal"),
            CookieUpdate::None
        );
    }
}
