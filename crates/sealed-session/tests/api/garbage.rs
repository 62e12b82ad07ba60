//! Input that is no cookie at all: always an `OpenError`, never a panic; `Malformed` where the
//! input is not even a well-formed envelope.

use sealed_session::codec::Codec;
use sealed_session::{Mode, OpenError};

use crate::{MODES, T0, codec, decode, encode, overhead, session};

/// SplitMix64: a tiny seeded generator, so every run tests the same inputs.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64().to_le_bytes()[0]).collect()
    }
}

fn open(codec: &Codec, value: &str) -> Result<(), OpenError> {
    crate::open(codec, value).map(|_| ())
}

#[test]
fn empty_whitespace_and_huge_input_are_malformed() {
    let huge = "A".repeat(1 << 20);
    let just_too_long = "A".repeat(8_193);
    for mode in MODES {
        let codec = codec(1, mode);
        for value in [
            "",
            " ",
            "  ",
            "\t",
            "\n",
            "\r\n",
            " \t\n ",
            &huge,
            &just_too_long,
        ] {
            assert_eq!(
                open(&codec, value),
                Err(OpenError::Malformed),
                "{:?}",
                value.get(..20)
            );
            assert_eq!(Codec::peek_header(value), Err(OpenError::Malformed));
        }
    }
}

#[test]
fn non_base64url_is_malformed() {
    for mode in MODES {
        let codec = codec(1, mode);
        let cookie = codec.seal(&session(1, T0)).expect("fits");
        let mut values: Vec<String> = [
            "!",
            "not a cookie",
            "AQI$",
            "AQIAAAAA*",
            "AQIA AAAA",
            "AQ==",
            "AQIAAA==",
            "AQIAAAAAAA=",
            "=",
            "====",
            "AQIAAAAA\0",
            "%41%51",
            "AQ%3D",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        // The cookie with padding, whitespace, or the standard alphabet's `+` and `/`.
        values.push(format!("{cookie}="));
        values.push(format!("{cookie}=="));
        values.push(format!(" {cookie}"));
        values.push(format!("{cookie} "));
        values.push(format!("{cookie}\n"));
        values.push(format!("\"{cookie}\""));
        let mid = cookie.len() / 2;
        values.push(format!("{}+{}", &cookie[..mid], &cookie[mid + 1..]));
        values.push(format!("{}/{}", &cookie[..mid], &cookie[mid + 1..]));
        values.push(format!("{} {}", &cookie[..mid], &cookie[mid..]));
        values.push(format!("{}.{}", &cookie[..mid], &cookie[mid..]));
        for value in &values {
            assert_eq!(
                open(&codec, value),
                Err(OpenError::Malformed),
                "{mode}: {value:?}"
            );
        }
        assert!(open(&codec, &cookie).is_ok());
    }
}

#[test]
fn unicode_is_malformed() {
    for mode in MODES {
        let codec = codec(1, mode);
        let cookie = codec.seal(&session(1, T0)).expect("fits");
        let mid = cookie.len() / 2;
        let spliced = [
            format!("{}é{}", &cookie[..mid], &cookie[mid + 1..]),
            format!("{cookie}\u{200b}"),
            format!("\u{feff}{cookie}"),
            // Fullwidth "A", which some normalisations fold into ASCII.
            format!("{}\u{ff21}{}", &cookie[..mid], &cookie[mid + 1..]),
        ];
        for value in [
            "é",
            "🍪",
            "\u{0}",
            "\u{fffd}",
            "ＡＱＩＡ",
            "АQIAAAAA",
            "\u{202e}AQIA",
        ]
        .iter()
        .copied()
        .chain(spliced.iter().map(String::as_str))
        {
            assert_eq!(
                open(&codec, value),
                Err(OpenError::Malformed),
                "{mode}: {value:?}"
            );
        }
        // Thousands of multi-byte characters: within the character count, over the byte limit.
        assert_eq!(open(&codec, &"é".repeat(4_097)), Err(OpenError::Malformed));
    }
}

/// Valid base64url of random bytes of every length from 0 to 199: random, then with a valid
/// version and mode, then with the codec's own key id too. Each is refused with the error its
/// first bad byte calls for.
#[test]
fn random_envelopes_of_every_length_are_refused() {
    let mut rng = SplitMix64(0x5ea1_ed00_0000_0001);
    for mode in MODES {
        let codec = codec(1, mode);
        let mode_byte = decode(&codec.seal(&session(1, T0)).expect("fits"))[1];
        let key_id = *codec.key_ring().primary_id().as_bytes();
        for len in 0..200 {
            let random = rng.bytes(len);
            let result = open(&codec, &encode(&random));
            assert!(result.is_err(), "{mode}: random {len} bytes opened");
            if len < 6 {
                assert_eq!(result, Err(OpenError::Malformed), "{mode}: {len} bytes");
            } else if random[0] != 1 {
                assert_eq!(
                    result,
                    Err(OpenError::UnsupportedVersion { version: random[0] })
                );
            }
            if len < 6 {
                continue;
            }
            let mut versioned = random.clone();
            versioned[0] = 1;
            versioned[1] = mode_byte;
            let result = open(&codec, &encode(&versioned));
            let expected = if len < overhead(mode) {
                OpenError::Malformed
            } else {
                OpenError::UnknownKey {
                    key_id: Codec::peek_header(&encode(&versioned))
                        .expect("header")
                        .key_id,
                }
            };
            assert_eq!(result, Err(expected), "{mode}: {len} bytes");

            let mut keyed = versioned;
            keyed[2..6].copy_from_slice(&key_id);
            let expected = if len < overhead(mode) {
                OpenError::Malformed
            } else {
                OpenError::Forged
            };
            assert_eq!(
                open(&codec, &encode(&keyed)),
                Err(expected),
                "{mode}: {len} bytes"
            );
        }
    }
}

/// An envelope of the other mode's minimum length: long enough for a signed header check, too
/// short for an encrypted one.
#[test]
fn length_is_checked_against_the_header_mode() {
    let encrypted = codec(1, Mode::Encrypted);
    let key_id = *encrypted.key_ring().primary_id().as_bytes();
    let mut envelope = vec![1, 1];
    envelope.extend_from_slice(&key_id);
    envelope.resize(overhead(Mode::Encrypted) - 1, 0);
    assert_eq!(
        open(&encrypted, &encode(&envelope)),
        Err(OpenError::Malformed)
    );
    envelope.push(0);
    // Empty ciphertext, all-zero tag: long enough, so authentication decides.
    assert_eq!(open(&encrypted, &encode(&envelope)), Err(OpenError::Forged));
}

/// `peek_header` never panics either, and agrees with `open` on what it can tell.
#[test]
fn peek_header_of_garbage() {
    let mut rng = SplitMix64(7);
    for len in 0..100 {
        let bytes = rng.bytes(len);
        let value = encode(&bytes);
        let header = Codec::peek_header(&value);
        match (len, bytes.first()) {
            (0..6, _) => assert_eq!(header, Err(OpenError::Malformed)),
            (_, Some(&v)) if v != 1 => {
                assert_eq!(header, Err(OpenError::UnsupportedVersion { version: v }));
            }
            _ => {}
        }
    }
    assert_eq!(Codec::peek_header("***"), Err(OpenError::Malformed));
    assert_eq!(Codec::peek_header("é"), Err(OpenError::Malformed));
    assert_eq!(Codec::peek_header(""), Err(OpenError::Malformed));
}

/// A session id's text form is exactly 32 lowercase hex digits, as `Display` writes it: no
/// sign ("+a+a..." must not parse as "0a0a..."), no uppercase, so one id has one text form.
#[test]
fn session_id_parses_only_hex_digits() {
    use sealed_session::SessionId;

    let id = SessionId::from_bytes([0x0a; 16]);
    assert_eq!(id.to_string().parse::<SessionId>(), Ok(id));
    for bad in [
        "+a".repeat(16),
        format!("+a{}", "0a".repeat(15)),
        "-0".repeat(16),
        " a".repeat(16),
        "0x".repeat(16),
        "0A".repeat(16),
        format!("{}F", "0".repeat(31)),
        "é".repeat(16),
        "0".repeat(31),
        "0".repeat(33),
        String::new(),
    ] {
        assert!(bad.parse::<SessionId>().is_err(), "{bad:?} parsed");
    }
}
