//! How one session value is encoded: MessagePack with named struct fields (`rmp-serde`).
//!
//! The envelope's body is postcard, which is compact but not self-describing: a value read
//! with another type than it was written with decodes as some other value (`7i32` read as a
//! `u64` is 14 in zigzag), and serde features that need to look at the data (untagged and
//! internally tagged enums, `serde_json::Value`, `skip_serializing_if`, a field added with
//! `#[serde(default)]`) can't be read back. Each value is therefore MessagePack: every item
//! carries its type and struct fields carry their names, so a read with the wrong type is an
//! error (or the same number, when it fits the type asked for), never another value. The
//! field names cost bytes; [`crate::guide::benchmarks`] ("Session values") measures the choice.

use std::fmt;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize as _, Serialize};

use crate::error::ValueError;

/// How deep a value may nest when decoded. Values only come from cookies this server sealed,
/// but the bound keeps a decode's stack use small whatever an application stored.
const MAX_DEPTH: usize = 128;

/// Encodes `value`, stored under `key`, as MessagePack with named fields.
pub(crate) fn encode<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Vec<u8>, ValueError> {
    let mut bytes = Vec::new();
    let mut serializer = rmp_serde::Serializer::new(&mut bytes).with_struct_map();
    value
        .serialize(&mut serializer)
        .map_err(|e| ValueError::encode(key, &e))?;
    Ok(bytes)
}

/// Decodes the value stored under `key` as a `T`, refusing bytes left over after it.
pub(crate) fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, ValueError> {
    // Borrowing from the slice (no copy of strings into a scratch buffer); rmp-serde doesn't
    // say how much it read, so a second item is looked for: it must fail at the end of input.
    let mut deserializer = rmp_serde::Deserializer::from_read_ref(bytes);
    deserializer.set_max_depth(MAX_DEPTH);
    let value = T::deserialize(&mut deserializer).map_err(|e| ValueError::decode(key, &e))?;
    match IgnoredAny::deserialize(&mut deserializer) {
        Err(rmp_serde::decode::Error::InvalidMarkerRead(e))
            if e.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            Ok(value)
        }
        _ => Err(ValueError::trailing(key)),
    }
}

/// A value taken out of a session ([`SessionState::remove`](crate::codec::SessionState::remove)),
/// still encoded: decode it with the type it was inserted with.
///
/// ```
/// use sealed_session::codec::SessionState;
/// use time::OffsetDateTime;
///
/// let mut session = SessionState::new(OffsetDateTime::now_utc())?;
/// session.insert("cart", &vec!["sku-1", "sku-2"])?;
/// let removed = session.remove("cart").expect("it was there");
/// assert_eq!(removed.key(), "cart");
/// assert_eq!(removed.decode::<Vec<String>>()?, ["sku-1", "sku-2"]);
/// // Another type is an error, never another value.
/// assert!(removed.decode::<u64>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SessionValue {
    key: String,
    bytes: Vec<u8>,
}

impl SessionValue {
    pub(crate) fn new(key: &str, bytes: Vec<u8>) -> Self {
        Self {
            key: key.to_owned(),
            bytes,
        }
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The key the value was stored under.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Decodes the value as a `T`.
    ///
    /// # Errors
    /// [`ValueError`] if the value is not a `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        decode(&self.key, &self.bytes)
    }

    /// The encoded bytes (MessagePack, [`crate::guide::format`]).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for SessionValue {
    /// The key and the size, never the value (it may hold personal data).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionValue")
            .field("key", &self.key)
            .field("len", &self.bytes.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    fn round<T: Serialize + ?Sized, U: DeserializeOwned>(value: &T) -> Result<U, ValueError> {
        decode("k", &encode("k", value).unwrap())
    }

    #[test]
    fn a_read_with_another_type_is_an_error_or_the_same_number() {
        assert_eq!(round::<_, u64>(&7i32), Ok(7));
        assert_eq!(round::<_, i64>(&7u32), Ok(7));
        assert!(round::<_, u64>(&-4i64).is_err());
        assert!(round::<_, u64>(&1.5f64).is_err());
        assert!(round::<_, u64>("42").is_err());
        assert!(round::<_, u8>(&300u32).is_err());
        assert!(round::<_, bool>(&1u8).is_err());
        assert!(round::<_, String>(&42u64).is_err());
    }

    #[test]
    fn serde_shapes_that_need_self_description_round_trip() {
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        #[serde(untagged)]
        enum Untagged {
            A { x: u32 },
            B { y: String },
        }
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        #[serde(tag = "type")]
        enum Internal {
            A { x: u32 },
            B { y: String },
        }
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct Skipping {
            #[serde(skip_serializing_if = "Option::is_none")]
            a: Option<u32>,
            b: u32,
        }
        #[derive(Serialize)]
        struct Before {
            a: u32,
            b: u32,
        }
        #[derive(Deserialize, Debug, PartialEq)]
        struct After {
            a: u32,
            #[serde(default)]
            added: u32,
            b: u32,
        }
        let json = serde_json::json!({"a": [1, -2, 1.5, "s", null, true, {"b": {}}]});
        assert_eq!(round::<_, serde_json::Value>(&json), Ok(json));
        let b = Untagged::B { y: "z".into() };
        assert_eq!(round::<_, Untagged>(&b), Ok(b));
        let b = Internal::B { y: "z".into() };
        assert_eq!(round::<_, Internal>(&b), Ok(b));
        let skip = Skipping { a: None, b: 2 };
        assert_eq!(round::<_, Skipping>(&skip), Ok(skip));
        assert_eq!(
            round::<_, After>(&Before { a: 1, b: 2 }),
            Ok(After {
                a: 1,
                added: 0,
                b: 2
            })
        );
    }

    #[test]
    fn bytes_after_the_value_are_refused() {
        let mut bytes = encode("k", &7u64).unwrap();
        bytes.push(0);
        assert_eq!(decode::<u64>("k", &bytes), Err(ValueError::trailing("k")));
    }

    #[test]
    fn nesting_past_the_depth_bound_is_an_error_not_a_stack_overflow() {
        let mut deep = serde_json::Value::Null;
        for _ in 0..MAX_DEPTH + 10 {
            deep = serde_json::Value::Array(vec![deep]);
        }
        let bytes = encode("k", &deep).unwrap();
        assert!(decode::<serde_json::Value>("k", &bytes).is_err());
    }

    #[test]
    fn debug_shows_the_key_and_size_never_the_value() {
        let value = SessionValue::new("email", encode("email", "a@example.com").unwrap());
        let shown = format!("{value:?}");
        assert!(shown.contains("email") && shown.contains("len"), "{shown}");
        assert!(!shown.contains("example.com"), "{shown}");
    }
}
