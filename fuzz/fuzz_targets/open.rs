//! Opens arbitrary input as a cookie value in both modes: it must never panic, and whatever
//! opens must agree with the public header, and with the lifecycle (which adds revocation).
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use sealed_session::adapter::RequestInfo;
use sealed_session::codec::Codec;
use sealed_session::keys::KeyRole;
use sealed_session::{IncomingCookie, OpenError};
use sealed_session_fuzz::{COOKIE_NAME, codecs, lifecycle, now};

fuzz_target!(|data: &[u8]| {
    // Non-UTF-8 input is read lossily (U+FFFD), which a base64 decoder must refuse as well.
    let value = String::from_utf8_lossy(data);
    let mut opened_in = None;
    for codec in codecs() {
        let result = codec.open_at(&value, now());
        // Same input, same answer.
        assert_eq!(
            result
                .as_ref()
                .map(|o| o.state().clone())
                .map_err(Clone::clone),
            codec.open_at(&value, now()).map(|o| o.into_state())
        );
        match result {
            Ok(opened) => {
                assert!(opened_in.is_none(), "one cookie opened in both modes");
                opened_in = Some(codec.mode());
                let header = Codec::peek_header(&value).expect("an opened cookie has a header");
                assert_eq!(header.mode, codec.mode());
                assert_eq!(header.key_id, opened.key_id());
                let role = codec.key_ring().role_of(opened.key_id());
                assert_eq!(role, Some(opened.key_role()));
                assert_eq!(
                    opened.should_reseal(),
                    opened.key_role() == KeyRole::Fallback
                );
                // The lifecycle opens the same value (an opened one is base64url: the cookie
                // header carries it as it is) unless its store revokes the session.
                let lifecycle = lifecycle(codec.mode());
                let header = format!("{COOKIE_NAME}={value}");
                let request = lifecycle.open([header.as_bytes()], RequestInfo::new("/"));
                let state = opened.state();
                let revoked = lifecycle.revocation_store().is_revoked(
                    state.id(),
                    state.subject_generation(),
                    now().into(),
                );
                if revoked {
                    assert_eq!(request.refusal(), Some(OpenError::Revoked));
                } else {
                    assert_eq!(request.incoming(), &IncomingCookie::Valid);
                    assert_eq!(request.state(), Some(state));
                }
                // What opened re-seals, and the re-sealed cookie opens to the same state.
                let again = codec.seal(opened.state()).expect("an opened state fits");
                assert_eq!(
                    codec.open_at(&again, now()).map(|o| o.into_state()),
                    Ok(opened.into_state())
                );
            }
            Err(err) => {
                assert!(!err.to_string().is_empty());
                if err == OpenError::ModeMismatch {
                    let header = Codec::peek_header(&value).expect("mode comes from the header");
                    assert_ne!(header.mode, codec.mode());
                }
            }
        }
    }
});
