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

use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
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
    let value = T::deserialize(&mut deserializer).map_err(|e| {
        // The likely cause, when there is one to name (checked only on failure).
        if has_integer_string_keys(bytes) {
            ValueError::integer_string_keys(key, &e)
        } else {
            ValueError::decode(key, &e)
        }
    })?;
    match IgnoredAny::deserialize(&mut deserializer) {
        Err(rmp_serde::decode::Error::InvalidMarkerRead(e))
            if e.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            Ok(value)
        }
        _ => Err(ValueError::trailing(key)),
    }
}

/// Whether the encoded value holds a map with a key that is a string of an integer (`"7"`):
/// what a map with integer keys (`HashMap<u64, _>`) becomes through JSON, whose object keys are
/// strings, as in a value the legacy reader migrated from an actix-session cookie. Such a map is
/// read as a map with `String` keys, not as the integer-keyed map it was: telling the two apart
/// at migration would need the type `get` asks for, which the JSON doesn't carry (a
/// `HashMap<String, _>` with the keys `"1"`, `"2"` looks the same), so the failed read names
/// the cause instead.
fn has_integer_string_keys(bytes: &[u8]) -> bool {
    let mut deserializer = rmp_serde::Deserializer::from_read_ref(bytes);
    deserializer.set_max_depth(MAX_DEPTH);
    Probe { key: false }
        .deserialize(&mut deserializer)
        .unwrap_or(false)
}

/// Walks a value and answers whether a map key in it is a string of an integer; `key` is whether
/// the item walked is a map key.
#[derive(Clone, Copy)]
struct Probe {
    key: bool,
}

impl<'de> DeserializeSeed<'de> for Probe {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Probe {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any MessagePack value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_str<E>(self, text: &str) -> Result<bool, E> {
        Ok(self.key && text.parse::<i128>().is_ok())
    }

    fn visit_bytes<E>(self, _: &[u8]) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_none<E>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(inner) = seq.next_element_seed(Probe { key: false })? {
            found |= inner;
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key_seed(Probe { key: true })? {
            found |= key | map.next_value_seed(Probe { key: false })?;
        }
        Ok(found)
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

    /// Issue 20: a map with integer keys that went through JSON (as actix-session stored it)
    /// has string keys; reading it with its integer key type names that cause.
    #[test]
    fn a_map_with_integer_string_keys_read_with_integer_keys_names_the_cause() {
        use std::collections::{BTreeMap, HashMap};
        let through_json: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&HashMap::from([(7u64, "a")])).unwrap())
                .unwrap();
        let bytes = encode("scores", &through_json).unwrap();
        let err = decode::<HashMap<u64, String>>("scores", &bytes).unwrap_err();
        assert!(err.is_decode());
        let message = err.to_string();
        for needle in [
            "`scores`",
            "strings of integers",
            "JSON",
            "actix-session",
            "`String` keys",
        ] {
            assert!(message.contains(needle), "{needle}: {message}");
        }
        // As a map with string keys it reads, and stored again it reads with its own key type.
        let read = decode::<BTreeMap<String, String>>("scores", &bytes).unwrap();
        let parsed: HashMap<u64, String> = read
            .into_iter()
            .map(|(k, v)| (k.parse().unwrap(), v))
            .collect();
        let again = encode("scores", &parsed).unwrap();
        assert_eq!(
            decode::<HashMap<u64, String>>("scores", &again).unwrap(),
            parsed
        );
        // Nested, too; and other failures keep the plain message.
        let nested = encode("n", &serde_json::json!([{"x": {"12": true}}])).unwrap();
        assert!(has_integer_string_keys(&nested));
        for plain in [
            encode("k", &serde_json::json!({"a": 1, "12x": 2})).unwrap(),
            encode("k", &serde_json::json!(["7", {"b": "7"}])).unwrap(),
            encode("k", &HashMap::from([(7u64, "a")])).unwrap(),
        ] {
            assert!(!has_integer_string_keys(&plain));
            let message = decode::<bool>("k", &plain).unwrap_err().to_string();
            assert!(
                message.contains("read it with the type it was inserted with"),
                "{message}"
            );
        }
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
