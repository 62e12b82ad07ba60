//! Opens arbitrary input as a cookie value in both modes: it must never panic, and whatever
//! opens must agree with the public header.
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use sealed_session::{Codec, KeyRole, OpenError};
use sealed_session_fuzz::codecs;

fuzz_target!(|data: &[u8]| {
    // Non-UTF-8 input is read lossily (U+FFFD), which a base64 decoder must refuse as well.
    let value = String::from_utf8_lossy(data);
    let mut opened_in = None;
    for codec in codecs() {
        let result = codec.open(&value);
        // Same input, same answer.
        assert_eq!(
            result
                .as_ref()
                .map(|o| o.state().clone())
                .map_err(Clone::clone),
            codec.open(&value).map(|o| o.into_state())
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
                // What opened re-seals, and the re-sealed cookie opens to the same state.
                let again = codec.seal(opened.state()).expect("an opened state fits");
                assert_eq!(
                    codec.open(&again).map(|o| o.into_state()),
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
