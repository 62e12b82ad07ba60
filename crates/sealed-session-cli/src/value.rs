//! Display of session values, whose types only the application knows.
//!
//! Values are MessagePack, which carries its types (`docs/format.md`, "Values"), so a value is
//! shown as the JSON it reads as: `"alice" (string)`, `42 (integer)`, `{"sku":"a"} (map)`.
//! What JSON can't hold (raw bytes, maps with non-string keys, bytes that are no value) is
//! shown in hex.

use sealed_session::SessionValue;
use serde_json::{Value as Json, json};

/// What a value reads as.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decoded {
    /// Anything JSON can hold.
    Json(Json),
    /// Raw bytes, or a shape JSON can't hold.
    Opaque,
}

impl Decoded {
    /// Reads `value` as JSON, if it can be.
    pub(crate) fn of(value: &SessionValue) -> Self {
        value.decode::<Json>().map_or(Self::Opaque, Self::Json)
    }

    /// The JSON type's name: `string`, `integer`, `float`, `bool`, `null`, `array`, `map`.
    fn type_name(&self) -> &'static str {
        match self {
            Self::Json(Json::String(_)) => "string",
            Self::Json(Json::Number(n)) if n.is_f64() => "float",
            Self::Json(Json::Number(_)) => "integer",
            Self::Json(Json::Bool(_)) => "bool",
            Self::Json(Json::Null) => "null",
            Self::Json(Json::Array(_)) => "array",
            Self::Json(Json::Object(_)) => "map",
            Self::Opaque => "bytes",
        }
    }

    /// `"alice" (string)`, `42 (integer)`, `hex 0a0b`; escaped for the terminal.
    pub(crate) fn describe(&self, bytes: &[u8]) -> String {
        match self {
            Self::Json(value) => format!(
                "{} ({})",
                terminal_safe(&value.to_string()),
                self.type_name()
            ),
            Self::Opaque => format!("hex {}", hex::encode(bytes)),
        }
    }

    /// The JSON form: `type` and `value` (`null` for bytes, which `hex` beside it shows).
    pub(crate) fn to_json(&self) -> Json {
        let value = match self {
            Self::Json(value) => value.clone(),
            Self::Opaque => Json::Null,
        };
        json!({ "type": self.type_name(), "value": value })
    }
}

/// JSON text with what a terminal would act on (escape sequences, bidirectional overrides)
/// escaped as Rust does in `{:?}`; JSON has already escaped quotes and control characters.
fn terminal_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' | '\'' => c.to_string(),
            c => c.escape_debug().to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use sealed_session::codec::SessionState;

    use super::*;

    fn shown<T: serde::Serialize + ?Sized>(value: &T) -> String {
        let mut state = SessionState::new(time::OffsetDateTime::UNIX_EPOCH).unwrap();
        state.insert("k", value).unwrap();
        let value = state.remove("k").unwrap();
        Decoded::of(&value).describe(value.as_bytes())
    }

    #[test]
    fn values_show_as_the_json_they_read_as() {
        assert_eq!(shown("alice"), "\"alice\" (string)");
        assert_eq!(shown(&300u64), "300 (integer)");
        assert_eq!(shown(&-3i64), "-3 (integer)");
        assert_eq!(shown(&1.5f64), "1.5 (float)");
        assert_eq!(shown(&true), "true (bool)");
        assert_eq!(shown(&None::<u8>), "null (null)");
        assert_eq!(shown(&(1u8, Some(2u8))), "[1,2] (array)");
        assert_eq!(
            shown(&std::collections::BTreeMap::from([("sku", "a")])),
            "{\"sku\":\"a\"} (map)"
        );
        // Raw bytes are no JSON.
        assert_eq!(shown(&serde_bytes::Bytes::new(&[1, 2])), "hex c4020102");
    }

    #[test]
    fn strings_are_escaped_for_the_terminal() {
        assert_eq!(shown("\u{1b}[31mred"), "\"\\u001b[31mred\" (string)");
        assert_eq!(shown("a\u{202e}b"), "\"a\\u{202e}b\" (string)");
    }
}
