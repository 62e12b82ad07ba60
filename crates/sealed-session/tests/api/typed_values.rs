//! Values keep their type through a sealed cookie: the 13 reads of issue 10's probe, each
//! inserted, sealed, opened and read back through the public API. A read with another type is
//! an error or the same number, never another value; shapes that need a self-describing
//! encoding read back.

use std::collections::BTreeMap;

use sealed_session::codec::{Codec, SessionState};
use sealed_session::{KeyRing, SecretKey, ValueError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::T0;

/// `value` stored under `v`, through a sealed cookie, read back as a `U`.
fn through_cookie<T: Serialize + ?Sized, U: DeserializeOwned>(value: &T) -> Result<U, ValueError> {
    let now = OffsetDateTime::from_unix_timestamp(T0).unwrap();
    let codec = Codec::new(KeyRing::new(SecretKey::generate()));
    let mut state = SessionState::new(now).unwrap();
    state.insert("v", value).unwrap();
    let cookie = codec.seal(&state).unwrap();
    let opened = codec.open_at(&cookie, now).unwrap();
    opened.state().get::<U>("v").map(|v| v.expect("present"))
}

#[test]
fn numbers_read_as_another_type_are_the_same_number_or_an_error() {
    // Postcard gave 14, -4, 7, 0 and 2 for these.
    assert_eq!(through_cookie::<_, u64>(&7i32), Ok(7));
    assert_eq!(through_cookie::<_, i64>(&7u32), Ok(7));
    assert!(through_cookie::<_, u64>(&-4i64).unwrap_err().is_decode());
    assert!(through_cookie::<_, u64>(&1.5f64).is_err());
    assert!(through_cookie::<_, u64>("42").is_err());
    assert!(through_cookie::<_, u8>(&300u16).is_err());
    assert!(through_cookie::<_, bool>(&1u8).is_err());
}

#[test]
fn self_describing_shapes_read_back() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(untagged)]
    enum Untagged {
        Id { id: u64 },
        Name { name: String },
    }
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(tag = "kind")]
    enum Tagged {
        Guest,
        Member { id: u64 },
    }
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Prefs {
        #[serde(skip_serializing_if = "Option::is_none")]
        theme: Option<String>,
        lang: String,
    }
    #[derive(Serialize)]
    struct CartV1 {
        items: Vec<String>,
        total: u32,
    }
    #[derive(Deserialize, Debug, PartialEq)]
    struct CartV2 {
        items: Vec<String>,
        #[serde(default)]
        coupon: Option<String>,
        total: u32,
    }

    let json = serde_json::json!({ "a": [1, -2, 2.5, "s", null, true], "b": { "c": {} } });
    assert_eq!(through_cookie::<_, serde_json::Value>(&json), Ok(json));
    let name = Untagged::Name { name: "ann".into() };
    assert_eq!(through_cookie::<_, Untagged>(&name), Ok(name));
    let member = Tagged::Member { id: 9 };
    assert_eq!(through_cookie::<_, Tagged>(&member), Ok(member));
    assert_eq!(
        through_cookie::<_, Tagged>(&Tagged::Guest),
        Ok(Tagged::Guest)
    );
    let prefs = Prefs {
        theme: None,
        lang: "fr".into(),
    };
    assert_eq!(through_cookie::<_, Prefs>(&prefs), Ok(prefs));
    // A struct that gained a defaulted field in the middle reads the cookies already out there.
    let old = CartV1 {
        items: vec!["sku-1".into()],
        total: 5,
    };
    assert_eq!(
        through_cookie::<_, CartV2>(&old),
        Ok(CartV2 {
            items: vec!["sku-1".into()],
            coupon: None,
            total: 5
        })
    );
    // A map read as the struct it is not: an error naming nothing else.
    let map = BTreeMap::from([("lang", 1u8)]);
    assert!(through_cookie::<_, Prefs>(&map).is_err());
}
