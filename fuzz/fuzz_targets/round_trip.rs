//! Seals arbitrary sessions in both modes: whatever fits the size budget opens to an equal
//! state, and whatever doesn't is `TooLarge` with the exact size `sealed_len` predicted.
#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use sealed_session::codec::SessionState;
use sealed_session::revocation::Generation;
use sealed_session::{Mode, SealError, SessionId};
use sealed_session_fuzz::{codec, now};

/// Session id, subject with its generation, and values stored with `insert_raw`.
type Input = ([u8; 16], Option<(String, u64)>, Vec<(String, Vec<u8>)>);

fuzz_target!(|input: Input| {
    let (id, subject, values) = input;
    let mut state = SessionState::with_id(SessionId::from_bytes(id), now());
    if let Some((name, generation)) = subject {
        state.set_subject(name, Generation::new(generation));
    }
    for (key, bytes) in values {
        state.insert_raw(&key, bytes);
    }
    for mode in [Mode::Encrypted, Mode::Signed] {
        let codec = codec(mode);
        let predicted = codec.sealed_len(&state);
        match codec.seal(&state) {
            Ok(cookie) => {
                assert!(predicted <= codec.size_limit());
                assert_eq!(predicted, codec.cookie_name().as_str().len() + cookie.len());
                // `check_size` measures the largest size activity can reach: not less.
                match codec.check_size(&state) {
                    Ok(worst) => assert!(predicted <= worst && worst <= codec.size_limit()),
                    Err(SealError::TooLarge { size, limit }) => {
                        assert!(size >= predicted && size > limit);
                    }
                    Err(other) => panic!("{other:?}"),
                }
                let opened = codec
                    .open_at(&cookie, now())
                    .expect("a sealed cookie opens");
                assert_eq!(opened.state(), &state);
            }
            Err(err) => {
                assert!(predicted > codec.size_limit());
                let expected = SealError::TooLarge {
                    size: predicted,
                    limit: codec.size_limit(),
                };
                assert_eq!(err, expected);
                assert!(matches!(
                    codec.check_size(&state),
                    Err(SealError::TooLarge { size, .. }) if size >= predicted
                ));
            }
        }
    }
});
