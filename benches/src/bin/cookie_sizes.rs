//! Prints the cookie value lengths of the typical session (user id, role, 3-item cart) for our
//! encrypted and signed codecs and for actix-session's private-jar cookie, all named `id`, with
//! the ratios ours / actix-session; where our bytes go; the typical cookie with its values in
//! four encodings (postcard, MessagePack positional and named, JSON); then the 2 KB session.
//!
//! Run from the workspace root: `cargo run --release -p sealed-session-benches --bin
//! cookie_sizes` (`bash benches/run.sh` runs it after the benchmark).

use std::collections::HashMap;

use sealed_session::clock::{Clock as _, SystemClock};
use sealed_session::codec::Codec;
use sealed_session::{KeyRing, Mode, SecretKey};
use sealed_session_benches::{
    ActixCookie, CartItem, Fixture, large_session, large_value, signed_body, typical_session,
    with_values,
};
use serde::Serialize;

/// One of the value encodings the table compares.
type Encode = fn(&dyn ErasedValue) -> Vec<u8>;

/// One value, encodable each way the table compares.
trait ErasedValue {
    fn postcard(&self) -> Vec<u8>;
    fn messagepack_positional(&self) -> Vec<u8>;
    fn messagepack_named(&self) -> Vec<u8>;
    fn json(&self) -> Vec<u8>;
}

impl<T: Serialize> ErasedValue for T {
    fn postcard(&self) -> Vec<u8> {
        sealed_session_benches::postcard_bytes(self)
    }
    fn messagepack_positional(&self) -> Vec<u8> {
        rmp_serde::to_vec(self).expect("encodes")
    }
    fn messagepack_named(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).expect("encodes")
    }
    fn json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("encodes")
    }
}

#[allow(clippy::cast_precision_loss)] // lengths of a few KB
fn ratio(a: usize, b: usize) -> f64 {
    a as f64 / b as f64
}

fn report(label: &str, fixture: &Fixture, encrypted: &Codec, signed: &Codec, actix: &ActixCookie) {
    let ours_enc = encrypted.seal(&fixture.state).expect("seals").len();
    let ours_sig = signed.seal(&fixture.state).expect("seals").len();
    let actix_value = actix.seal(&fixture.actix_map);
    let theirs = actix_value.len();
    let theirs_sent = ActixCookie::encoded_len(&actix_value);
    println!(
        "{label}: app values {} B, app map {} B, postcard body {} B, actix JSON {} B",
        fixture.app_value_bytes,
        fixture.app_map_bytes,
        fixture.body.len(),
        serde_json::to_string(&fixture.actix_map)
            .expect("JSON-encodes")
            .len(),
    );
    println!("  ours encrypted value   {ours_enc:>5} B");
    println!("  ours signed value      {ours_sig:>5} B");
    println!("  actix-session value    {theirs:>5} B ({theirs_sent} B percent-encoded as sent)");
    println!(
        "  ours/actix  encrypted {:.3} (vs sent {:.3}), signed {:.3} (vs sent {:.3})",
        ratio(ours_enc, theirs),
        ratio(ours_enc, theirs_sent),
        ratio(ours_sig, theirs),
        ratio(ours_sig, theirs_sent),
    );
}

fn main() {
    let ring = KeyRing::new(SecretKey::generate());
    let encrypted = Codec::new(ring.clone());
    let signed = Codec::builder(ring)
        .mode(Mode::Signed)
        .build()
        .expect("valid");
    let actix = ActixCookie::new();

    let typical = typical_session(&encrypted);
    report("typical", &typical, &encrypted, &signed, &actix);
    let theirs_typical = actix.seal(&typical.actix_map).len();

    // Where our typical cookie's bytes go (base64 adds a third on top of the raw envelope).
    let empty = encrypted
        .new_session(SystemClock.now())
        .expect("session id");
    let fixed_body = signed_body(&signed.seal(&empty).expect("seals")).len();
    let value = encrypted.seal(&typical.state).expect("seals");
    let raw = value.len() * 3 / 4;
    println!(
        "  ours encrypted breakdown: envelope overhead {} (header 6 + nonce 24 + tag 16) + body {} \
         (id 16, times and subject {}, app map {}) = {raw} B raw, {} B base64url",
        raw - typical.body.len(),
        typical.body.len(),
        fixed_body - 16 - 1,
        typical.app_map_bytes,
        value.len(),
    );

    // The value encodings against each other: the same session, id and times, each value
    // encoded another way (ours is MessagePack with named fields).
    let cart: Vec<CartItem> = typical.state.get("cart").expect("a cart").expect("a cart");
    let encodings: [(&str, Encode); 4] = [
        ("postcard (before; not self-describing)", |v| v.postcard()),
        ("MessagePack, positional structs", |v| {
            v.messagepack_positional()
        }),
        ("MessagePack, named fields (ours)", |v| {
            v.messagepack_named()
        }),
        ("JSON text", |v| v.json()),
    ];
    println!("  typical cookie by value encoding (encrypted; actix-session {theirs_typical} B):");
    for (name, encode) in encodings {
        let values: [(&str, &dyn ErasedValue); 3] = [
            ("user_id", &1_234_567u64),
            ("role", &"admin"),
            ("cart", &cart),
        ];
        let state = with_values(&typical.state, values.map(|(k, v)| (k, encode(v))));
        let len = encrypted.seal(&state).expect("seals").len();
        println!(
            "    {name:40} {len:>4} B, ratio {:.3}",
            ratio(len, theirs_typical)
        );
    }

    // Sensitivity: the cart as (sku, qty) tuples instead of structs (no field names to carry,
    // in actix-session's JSON or in our MessagePack).
    let tuple_cart: Vec<(String, u32)> = (0..3).map(|i| (format!("sku-12{}", i + 3), 2)).collect();
    let mut tuples: HashMap<String, String> = typical.actix_map.clone();
    tuples.insert(
        "cart".to_owned(),
        serde_json::to_string(&tuple_cart).expect("JSON"),
    );
    let theirs = actix.seal(&tuples).len();
    let mut ours_tuples = typical.state.clone();
    ours_tuples.insert("cart", &tuple_cart).expect("encodes");
    let ours = encrypted.seal(&ours_tuples).expect("seals").len();
    println!(
        "  (cart as tuples instead of structs: actix {theirs} B, ours {ours} B, ours/actix {:.3})",
        ratio(ours, theirs)
    );

    let large = large_session(&encrypted);
    report("2KB", &large, &encrypted, &signed, &actix);
    let as_bytes = serde_json::to_string(&large_value().into_bytes())
        .expect("JSON")
        .len();
    println!(
        "  (the same 2000 bytes as a Vec<u8> would be {as_bytes} B of JSON in actix-session, \
         over its 4064-byte session key limit)"
    );
}
