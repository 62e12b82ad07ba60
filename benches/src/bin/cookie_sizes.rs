//! Prints the cookie value lengths of the typical session (user id, role, 3-item cart) for our
//! encrypted and signed codecs and for actix-session's private-jar cookie, all named `id`, with
//! the ratios ours / actix-session; then the same for the 2 KB session and a breakdown of where
//! our bytes go.
//!
//! Run from the workspace root: `cargo run --release -p sealed-session-benches --bin
//! cookie_sizes` (`bash benches/run.sh` runs it after the benchmark).

use std::collections::HashMap;

use sealed_session::{Clock as _, Codec, KeyRing, Mode, SecretKey, SystemClock};
use sealed_session_benches::{
    ActixCookie, Fixture, large_session, large_value, signed_body, typical_session,
};

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

    // Sensitivity: the cart as (sku, qty) tuples instead of structs, which only shrinks JSON.
    let cart: Vec<(String, u32)> = (0..3).map(|i| (format!("sku-12{}", i + 3), 2)).collect();
    let mut tuples: HashMap<String, String> = typical.actix_map.clone();
    tuples.insert(
        "cart".to_owned(),
        serde_json::to_string(&cart).expect("JSON"),
    );
    let theirs = actix.seal(&tuples).len();
    let ours = encrypted.seal(&typical.state).expect("seals").len();
    println!(
        "  (cart as tuples in actix instead of structs: actix {theirs} B, ours/actix {:.3}; ours \
         is the same either way)",
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
