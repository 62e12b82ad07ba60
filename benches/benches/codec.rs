//! Criterion benchmark: our codec against the raw XChaCha20-Poly1305 floor and actix-session's
//! cookie path, all in one run so the ratios compare like with like.
//!
//! Run from the workspace root with `bash benches/run.sh` (bench + table of medians + cookie
//! sizes), or just `cargo bench -p sealed-session-benches --bench codec -- --noplot`.
//!
//! Groups are the two sessions (`typical`, `2KB`); ids are `<contender>/<op>`, op being
//! `seal`, `open` and `seal_open` (our `open` is `Codec::open_at` with a read of the system
//! clock, as a request pays it: the lifecycle reads the clock once per request):
//! - `ours_encrypted`: `Codec::new(KeyRing::new(SecretKey::generate()))` (XChaCha20-Poly1305);
//! - `ours_signed`: the same with `Mode::Signed` (HMAC-SHA256);
//! - `ours_postcard_values`: `ours_encrypted` on the same session with its values postcard-
//!   encoded, as they were before they became MessagePack (the comparator of that choice);
//! - `floor`: the same postcard bytes through XChaCha20-Poly1305 + base64url, nothing else;
//! - `floor_postcard`: the floor plus postcard encoding / decoding of the same body, to split
//!   our overhead between serialization and everything else;
//! - `pure_rust`: the floor with RustCrypto's `chacha20poly1305` in place of HChaCha20 + ring
//!   (what the codec's `pure-rust` feature uses): the contender of the `ring` backend;
//! - `actix_session`: actix-session 0.11's `CookieSessionStore` in a `cookie` private jar.
//!
//! Medians land in `target/criterion/<group>/<contender>/<op>/new/estimates.json`, in ns of the
//! benchmark thread's CPU time by default, or of wall time with `BENCH_CLOCK=wall` (see
//! `common/mod.rs` for why CPU time on a shared machine).

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{BenchmarkId, Criterion, criterion_main};
use sealed_session::clock::{Clock as _, SystemClock};
use sealed_session::codec::Codec;
use sealed_session::{KeyRing, Mode, SecretKey};
use sealed_session_benches::{
    ActixCookie, CartItem, Fixture, Floor, PureRustFloor, body_bytes, large_session,
    postcard_bytes, signed_body, typical_session,
};
use serde::{Deserialize, Serialize};

mod common;

/// The floor_postcard body: the codec's body layout, owned, for decoding.
#[derive(Serialize, Deserialize)]
struct OwnedBody {
    id: [u8; 16],
    created: u64,
    active_for: u64,
    /// Name and revocation generation.
    subject: Option<(String, u64)>,
    data: BTreeMap<String, serde_bytes::ByteBuf>,
}

fn owned_body(fixture: &Fixture) -> OwnedBody {
    let s = &fixture.state;
    OwnedBody {
        id: *s.id().as_bytes(),
        created: s.created_unix().secs(),
        active_for: s.last_active_unix().secs() - s.created_unix().secs(),
        subject: s
            .subject_generation()
            .map(|s| (s.name().to_owned(), s.generation().get())),
        data: s
            .keys()
            .map(|k| {
                let raw = s.get_raw(k).unwrap_or_default().to_vec();
                (k.to_owned(), serde_bytes::ByteBuf::from(raw))
            })
            .collect(),
    }
}

struct Contenders {
    encrypted: Codec,
    signed: Codec,
    floor: Floor,
    pure_rust: PureRustFloor,
    actix: ActixCookie,
}

fn bench_session<M: Measurement>(
    c: &mut Criterion<M>,
    group_name: &str,
    make: fn(&Codec) -> Fixture,
    k: &Contenders,
) {
    let fixture = make(&k.encrypted);
    let state = &fixture.state;
    let body = &fixture.body;
    let map: &HashMap<String, String> = &fixture.actix_map;

    // Check every contender round-trips, and that the floor encrypts our exact plaintext.
    let ours_enc = k.encrypted.seal(state).expect("seals");
    let ours_sig = k.signed.seal(state).expect("seals");
    assert_eq!(&signed_body(&ours_sig), body);
    let now = SystemClock.now();
    assert_eq!(
        k.encrypted.open_at(&ours_enc, now).expect("opens").state(),
        state
    );
    assert_eq!(
        k.signed.open_at(&ours_sig, now).expect("opens").state(),
        state
    );
    let postcard_state = &fixture.postcard_state;
    let ours_postcard = k.encrypted.seal(postcard_state).expect("seals");
    assert_eq!(
        k.encrypted
            .open_at(&ours_postcard, now)
            .expect("opens")
            .state(),
        postcard_state
    );
    let floor_value = k.floor.seal(body);
    assert_eq!(k.floor.open(&floor_value).as_ref(), Some(body));
    let pure_value = k.pure_rust.seal(body);
    assert_eq!(k.pure_rust.open(&pure_value).as_ref(), Some(body));
    let actix_value = k.actix.seal(map);
    assert_eq!(k.actix.open(&actix_value).as_ref(), Some(map));
    let owned = owned_body(&fixture);
    if &postcard::to_stdvec(&owned).expect("encodes") != body || &body_bytes(state) != body {
        println!(
            "WARNING: the mirror of the codec's Body layout is out of date; floor_postcard \
             still times postcard on a body of the same shape, but not the exact bytes"
        );
    }

    println!(
        "{group_name}: app values {} B, app map {} B, postcard body {} B; cookie values: \
         ours encrypted {} B, ours signed {} B, ours with postcard values {} B, floor {} B, \
         actix-session {} B ({} B percent-encoded as sent)",
        fixture.app_value_bytes,
        fixture.app_map_bytes,
        body.len(),
        ours_enc.len(),
        ours_sig.len(),
        ours_postcard.len(),
        floor_value.len(),
        actix_value.len(),
        ActixCookie::encoded_len(&actix_value),
    );

    let mut g = c.benchmark_group(group_name);

    for (name, codec, state, value) in [
        ("ours_encrypted", &k.encrypted, state, &ours_enc),
        ("ours_signed", &k.signed, state, &ours_sig),
        (
            "ours_postcard_values",
            &k.encrypted,
            postcard_state,
            &ours_postcard,
        ),
    ] {
        g.bench_function(BenchmarkId::new(name, "seal"), |b| {
            b.iter(|| codec.seal(black_box(state)).expect("seals"));
        });
        g.bench_function(BenchmarkId::new(name, "open"), |b| {
            b.iter(|| {
                codec
                    .open_at(black_box(value), SystemClock.now())
                    .expect("opens")
            });
        });
        g.bench_function(BenchmarkId::new(name, "seal_open"), |b| {
            b.iter(|| {
                let v = codec.seal(black_box(state)).expect("seals");
                codec.open_at(&v, SystemClock.now()).expect("opens")
            });
        });
    }

    g.bench_function(BenchmarkId::new("floor", "seal"), |b| {
        b.iter(|| k.floor.seal(black_box(body)));
    });
    g.bench_function(BenchmarkId::new("floor", "open"), |b| {
        b.iter(|| k.floor.open(black_box(&floor_value)).expect("opens"));
    });
    g.bench_function(BenchmarkId::new("floor", "seal_open"), |b| {
        b.iter(|| {
            let v = k.floor.seal(black_box(body));
            k.floor.open(&v).expect("opens")
        });
    });

    g.bench_function(BenchmarkId::new("floor_postcard", "seal"), |b| {
        b.iter(|| {
            k.floor
                .seal(&postcard::to_stdvec(black_box(&owned)).expect("encodes"))
        });
    });
    g.bench_function(BenchmarkId::new("floor_postcard", "open"), |b| {
        b.iter(|| {
            let plain = k.floor.open(black_box(&floor_value)).expect("opens");
            postcard::from_bytes::<OwnedBody>(&plain).expect("decodes")
        });
    });
    g.bench_function(BenchmarkId::new("floor_postcard", "seal_open"), |b| {
        b.iter(|| {
            let v = k
                .floor
                .seal(&postcard::to_stdvec(black_box(&owned)).expect("encodes"));
            let plain = k.floor.open(&v).expect("opens");
            postcard::from_bytes::<OwnedBody>(&plain).expect("decodes")
        });
    });

    g.bench_function(BenchmarkId::new("pure_rust", "seal"), |b| {
        b.iter(|| k.pure_rust.seal(black_box(body)));
    });
    g.bench_function(BenchmarkId::new("pure_rust", "open"), |b| {
        b.iter(|| k.pure_rust.open(black_box(&pure_value)).expect("opens"));
    });
    g.bench_function(BenchmarkId::new("pure_rust", "seal_open"), |b| {
        b.iter(|| {
            let v = k.pure_rust.seal(black_box(body));
            k.pure_rust.open(&v).expect("opens")
        });
    });

    g.bench_function(BenchmarkId::new("actix_session", "seal"), |b| {
        b.iter(|| k.actix.seal(black_box(map)));
    });
    g.bench_function(BenchmarkId::new("actix_session", "open"), |b| {
        b.iter(|| k.actix.open(black_box(&actix_value)).expect("opens"));
    });
    g.bench_function(BenchmarkId::new("actix_session", "seal_open"), |b| {
        b.iter(|| {
            let v = k.actix.seal(black_box(map));
            k.actix.open(&v).expect("opens")
        });
    });

    g.finish();
}

fn codec_benches<M: Measurement>(c: &mut Criterion<M>) {
    let ring = KeyRing::new(SecretKey::generate());
    let k = Contenders {
        encrypted: Codec::new(ring.clone()),
        signed: Codec::builder(ring)
            .mode(Mode::Signed)
            .build()
            .expect("valid"),
        floor: Floor::new(),
        pure_rust: PureRustFloor::new(),
        actix: ActixCookie::new(),
    };
    bench_session(c, "typical", typical_session, &k);
    bench_session(c, "2KB", large_session, &k);
    bench_values(c, &k);
}

/// What a handler pays for the typical session's values apart from sealing: store the three
/// values and read them back with their types, in our encoding (MessagePack with named fields,
/// through `SessionState::insert`/`get`) and in postcard (through `insert_raw` and
/// `postcard::from_bytes`, the same `Entries` underneath).
fn bench_values<M: Measurement>(c: &mut Criterion<M>, k: &Contenders) {
    let fixture = typical_session(&k.encrypted);
    let cart: Vec<CartItem> = fixture.state.get("cart").expect("a cart").expect("a cart");
    let mut g = c.benchmark_group("typical_values");
    g.bench_function(BenchmarkId::new("ours_messagepack", "insert_get"), |b| {
        b.iter(|| {
            let mut s = fixture.state.clone();
            s.insert("user_id", black_box(&1_234_567u64))
                .expect("encodes");
            s.insert("role", black_box("admin")).expect("encodes");
            s.insert("cart", black_box(&cart)).expect("encodes");
            let user: u64 = s.get("user_id").expect("decodes").expect("present");
            let role: String = s.get("role").expect("decodes").expect("present");
            let items: Vec<CartItem> = s.get("cart").expect("decodes").expect("present");
            (user, role, items)
        });
    });
    g.bench_function(BenchmarkId::new("postcard", "insert_get"), |b| {
        b.iter(|| {
            let mut s = fixture.postcard_state.clone();
            s.insert_raw("user_id", postcard_bytes(black_box(&1_234_567u64)));
            s.insert_raw("role", postcard_bytes(black_box("admin")));
            s.insert_raw("cart", postcard_bytes(black_box(&cart)));
            let user: u64 =
                postcard::from_bytes(s.get_raw("user_id").expect("present")).expect("decodes");
            let role: String =
                postcard::from_bytes(s.get_raw("role").expect("present")).expect("decodes");
            let items: Vec<CartItem> =
                postcard::from_bytes(s.get_raw("cart").expect("present")).expect("decodes");
            (user, role, items)
        });
    });
    g.finish();
}

/// 44 benchmarks x (1 s warm-up + 2.5 s measurement + analysis) is about 3 minutes on 2 cores.
/// `--warm-up-time` / `--measurement-time` on the command line still override these.
fn config<M: Measurement>(c: Criterion<M>) -> Criterion<M> {
    c.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(100)
        .configure_from_args()
}

/// What `criterion_group!` would generate, written out so that it can carry a doc comment
/// (the workspace warns on missing docs and clippy runs with `-D warnings`), and pick the clock.
fn benches() {
    if common::wall_clock() {
        println!("clock: wall time (BENCH_CLOCK=wall)");
        codec_benches(&mut config(Criterion::default()));
    } else {
        println!("clock: thread CPU time (BENCH_CLOCK=wall for wall time)");
        codec_benches(&mut config(
            Criterion::default().with_measurement(common::ThreadCpuTime::new()),
        ));
    }
}

criterion_main!(benches);
