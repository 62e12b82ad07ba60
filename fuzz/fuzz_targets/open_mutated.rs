//! Takes a valid sealed cookie and applies the input to its decoded envelope as a mutation
//! (xor, truncation, extension), to reach past the header checks into authentication: any
//! cookie that still opens must be byte-for-byte the original.
#![no_main]
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use sealed_session::codec::{NONCE_LEN, SessionState};
use sealed_session::revocation::Generation;
use sealed_session::{Mode, OpenError, SessionId};
use sealed_session_fuzz::{codec, now};

/// Version, mode and key id.
const HEADER_LEN: usize = 6;

/// One valid envelope per mode (decoded), sealed deterministically (fixed id and nonce).
fn originals() -> &'static [(Mode, Vec<u8>); 2] {
    static ORIGINALS: OnceLock<[(Mode, Vec<u8>); 2]> = OnceLock::new();
    ORIGINALS.get_or_init(|| {
        [Mode::Encrypted, Mode::Signed].map(|mode| {
            let mut state = SessionState::with_id(SessionId::from_bytes([0x42; 16]), now());
            state.set_subject("alice", Generation::ZERO);
            state.insert("user_id", &42u64).expect("encodes");
            state
                .insert("cart", &vec!["apple".to_owned(), "pear".to_owned()])
                .expect("encodes");
            let cookie = codec(mode)
                .dangerous()
                .seal_with_nonce(&state, &[0x5a; NONCE_LEN])
                .expect("fits");
            assert!(
                codec(mode).open_at(&cookie, now()).is_ok(),
                "the original opens"
            );
            (mode, URL_SAFE_NO_PAD.decode(cookie).expect("base64url"))
        })
    })
}

fn xor_at(envelope: &mut [u8], offset: usize, mask: &[u8]) {
    for (byte, m) in envelope.iter_mut().skip(offset).zip(mask) {
        *byte ^= m;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&op, rest)) = data.split_first() else {
        return;
    };
    let (mode, original) = &originals()[usize::from(op & 1)];
    let mut envelope = original.clone();
    match (op >> 1) & 3 {
        // Xor the input over the envelope from its first byte.
        0 => xor_at(&mut envelope, 0, rest),
        // Xor from an offset (two bytes), so that deep bytes are reached with short inputs.
        1 => {
            if let [hi, lo, mask @ ..] = rest {
                let offset = usize::from(u16::from_be_bytes([*hi, *lo])) % envelope.len();
                xor_at(&mut envelope, offset, mask);
            }
        }
        // Truncate to a length, then xor.
        2 => {
            if let [len, mask @ ..] = rest {
                envelope.truncate(usize::from(*len) % (envelope.len() + 1));
                xor_at(&mut envelope, 0, mask);
            }
        }
        // Append the input.
        _ => envelope.extend_from_slice(rest),
    }
    let value = URL_SAFE_NO_PAD.encode(&envelope);
    let result = codec(*mode).open_at(&value, now());
    if &envelope == original {
        assert!(
            result.is_ok(),
            "the unmodified cookie is refused: {result:?}"
        );
    } else {
        let err = result.expect_err("a modified cookie opened");
        // Which refusal: decided by the first byte that differs (or the cut).
        let first_diff = envelope
            .iter()
            .zip(original)
            .position(|(a, b)| a != b)
            .unwrap_or(envelope.len().min(original.len()));
        if first_diff >= HEADER_LEN {
            // Header intact: only the length check and authentication are left to refuse it.
            let overhead = match mode {
                Mode::Signed => HEADER_LEN + 32,
                _ => HEADER_LEN + NONCE_LEN + 16,
            };
            let expected = if envelope.len() < overhead {
                OpenError::Malformed
            } else {
                OpenError::Forged
            };
            assert_eq!(err, expected, "{envelope:02x?}");
        } else {
            assert!(
                matches!(
                    err,
                    OpenError::Malformed
                        | OpenError::UnsupportedVersion { .. }
                        | OpenError::ModeMismatch
                        | OpenError::UnknownKey { .. }
                        | OpenError::Forged
                ),
                "{err:?}"
            );
        }
    }
});
