//! Best-effort display of session values, whose types only the application knows.
//!
//! Values are postcard-encoded. Guesses are tried in this order, each only if it decodes the
//! whole value: a non-empty UTF-8 string (length varint + bytes), an integer (a varint, shown
//! unsigned, and zigzag-signed as an alternative; `0`/`1` are also `false`/`true`), a single
//! byte (`u8`/`i8`, which postcard writes raw). Anything else is shown in hex.

use serde_json::{Value as Json, json};

/// What a value's bytes decode as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A postcard `String` (also what a `Vec<u8>` of UTF-8 bytes looks like).
    Text(String),
    /// A varint: `u16` to `u64` as is, `i16` to `i64` zigzag-encoded, `bool` for 0 and 1.
    Integer {
        unsigned: u64,
        signed: i64,
        boolean: Option<bool>,
    },
    /// One raw byte that is no varint (128 to 255): a `u8` or an `i8`.
    Byte(u8),
    /// None of the above.
    Opaque,
}

impl Decoded {
    /// Guesses what `bytes` hold.
    pub(crate) fn guess(bytes: &[u8]) -> Self {
        // An empty string is the single byte 0, which is likelier a zero or `false`.
        if let Some(text) = whole::<String>(bytes).filter(|t| !t.is_empty()) {
            return Self::Text(text);
        }
        if let (Some(unsigned), Some(signed)) = (whole::<u64>(bytes), whole::<i64>(bytes)) {
            return Self::Integer {
                unsigned,
                signed,
                boolean: whole::<bool>(bytes),
            };
        }
        match bytes {
            [byte] => Self::Byte(*byte),
            _ => Self::Opaque,
        }
    }

    /// `"alice" (string)`, `1 (integer; -1 if signed, true if bool)`, `hex 0a0b`.
    pub(crate) fn describe(&self, bytes: &[u8]) -> String {
        match self {
            Self::Text(text) => format!("{text:?} (string)"),
            Self::Integer {
                unsigned,
                signed,
                boolean,
            } => {
                let mut also = Vec::new();
                if i128::from(*signed) != i128::from(*unsigned) {
                    also.push(format!("{signed} if signed"));
                }
                if let Some(b) = boolean {
                    also.push(format!("{b} if bool"));
                }
                if also.is_empty() {
                    format!("{unsigned} (integer)")
                } else {
                    format!("{unsigned} (integer; {})", also.join(", "))
                }
            }
            Self::Byte(byte) => format!("{byte} (byte; {} if signed)", i8::from_ne_bytes([*byte])),
            Self::Opaque => format!("hex {}", hex(bytes)),
        }
    }

    /// The JSON form: `type`, `value` and the alternative readings.
    pub(crate) fn to_json(&self) -> Json {
        match self {
            Self::Text(text) => json!({ "type": "string", "value": text }),
            Self::Integer {
                unsigned,
                signed,
                boolean,
            } => json!({
                "type": "integer",
                "value": unsigned,
                "as_signed": signed,
                "as_bool": boolean,
            }),
            Self::Byte(byte) => json!({
                "type": "byte",
                "value": byte,
                "as_signed": i8::from_ne_bytes([*byte]),
            }),
            Self::Opaque => json!({ "type": "bytes", "value": null }),
        }
    }
}

/// Decodes `bytes` as a `T` only if nothing is left over.
fn whole<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Some(value),
        _ => None,
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
        postcard::to_stdvec(value).unwrap()
    }

    #[test]
    fn guesses_common_types() {
        assert_eq!(Decoded::guess(&enc("alice")), Decoded::Text("alice".into()));
        assert_eq!(
            Decoded::guess(&enc(&300u64)).describe(&enc(&300u64)),
            "300 (integer; 150 if signed)"
        );
        assert_eq!(
            Decoded::guess(&enc(&-3i64)).describe(&enc(&-3i64)),
            "5 (integer; -3 if signed)"
        );
        assert_eq!(
            Decoded::guess(&enc(&true)).describe(&enc(&true)),
            "1 (integer; -1 if signed, true if bool)"
        );
        assert_eq!(
            Decoded::guess(&enc(&0u32)).describe(&enc(&0u32)),
            "0 (integer; false if bool)"
        );
        assert_eq!(
            Decoded::guess(&enc(&200u8)).describe(&enc(&200u8)),
            "200 (byte; -56 if signed)"
        );
        let pair = enc(&(1u8, Some(2u8)));
        assert_eq!(Decoded::guess(&pair).describe(&pair), "hex 010102");
    }

    #[test]
    fn strings_are_escaped_for_the_terminal() {
        let value = enc("\u{1b}[31mred");
        assert_eq!(
            Decoded::guess(&value).describe(&value),
            "\"\\u{1b}[31mred\" (string)"
        );
    }
}
