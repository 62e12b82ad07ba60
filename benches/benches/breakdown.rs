//! Criterion benchmark: where the time of sealing and opening the typical session goes, step by
//! step (randomness, HChaCha20, ring's ChaCha20-Poly1305, base64, postcard, clock), next to our
//! codec with the random nonce taken out (`DangerousCodec::seal_with_nonce`), and opening with
//! the system clock read (`ours_open`, as a request pays it) and with a fixed `now`.
//!
//! A diagnostic companion of `codec.rs`, not part of `run.sh`. Run from the workspace root:
//! `cargo bench -p sealed-session-benches --bench breakdown -- --noplot` (about a minute and a
//! half; thread CPU time, or `BENCH_CLOCK=wall` for wall time).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::measurement::Measurement;
use criterion::{Criterion, criterion_main};
use rand::{Rng as _, TryRng as _};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use sealed_session::clock::{Clock as _, SystemClock};
use sealed_session::codec::{Codec, NONCE_LEN};
use sealed_session::{KeyRing, SecretKey};
use sealed_session_benches::{Floor, typical_session};
use serde::Deserialize;

mod common;

/// The codec's body layout, owned, for decoding (as `codec.rs`'s `floor_postcard`).
#[derive(Deserialize)]
#[allow(dead_code)] // only decoded, never read
struct OwnedBody {
    id: [u8; 16],
    created: u64,
    active_for: u64,
    subject: Option<(String, u64)>,
    data: BTreeMap<String, serde_bytes::ByteBuf>,
}

fn breakdown<M: Measurement>(c: &mut Criterion<M>) {
    let codec = Codec::new(KeyRing::new(SecretKey::generate()));
    let fixture = typical_session(&codec);
    let state = &fixture.state;
    let body = &fixture.body;
    let nonce = [7u8; NONCE_LEN];
    let value = codec.seal(state).expect("seals");
    let now = SystemClock.now();
    let key = [9u8; 32];
    let aad = [1u8; 9];
    let floor = Floor::new();
    let floor_value = floor.seal(body);
    let mut g = c.benchmark_group("breakdown");

    g.bench_function("ours_seal", |b| b.iter(|| codec.seal(black_box(state))));
    g.bench_function("ours_seal_fixed_nonce", |b| {
        b.iter(|| codec.dangerous().seal_with_nonce(black_box(state), &nonce))
    });
    g.bench_function("floor_seal", |b| b.iter(|| floor.seal(black_box(body))));
    g.bench_function("floor_seal_fixed_nonce", |b| {
        b.iter(|| floor.seal_with_nonce(black_box(body), &nonce))
    });
    g.bench_function("floor_open", |b| {
        b.iter(|| floor.open(black_box(&floor_value)))
    });
    g.bench_function("ours_open", |b| {
        b.iter(|| codec.open_at(black_box(&value), SystemClock.now()))
    });
    g.bench_function("ours_open_at_fixed_now", |b| {
        b.iter(|| codec.open_at(black_box(&value), now))
    });
    g.bench_function("clock_now", |b| b.iter(|| SystemClock.now()));

    g.bench_function("os_rng_24", |b| {
        b.iter(|| {
            let mut n = [0u8; NONCE_LEN];
            rand::rngs::SysRng.try_fill_bytes(&mut n).expect("OS rng");
            n
        })
    });
    g.bench_function("os_rng_240", |b| {
        b.iter(|| {
            let mut n = [0u8; 240];
            rand::rngs::SysRng.try_fill_bytes(&mut n).expect("OS rng");
            n
        })
    });
    g.bench_function("getpid", |b| b.iter(std::process::id));
    g.bench_function("thread_rng_24", |b| {
        let mut rng = rand::rng();
        b.iter(|| {
            let mut n = [0u8; NONCE_LEN];
            rng.fill_bytes(&mut n);
            n
        })
    });

    g.bench_function("hchacha20", |b| {
        let input = [3u8; 16];
        b.iter(|| chacha20::hchacha::<chacha20::R20>((&key).into(), black_box(&input).into()))
    });
    let ring_key =
        || LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &key).expect("32-byte key"));
    g.bench_function("ring_key_new", |b| b.iter(ring_key));
    let sealed = {
        let mut buf = body.clone();
        let tag = ring_key()
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key([0; 12]),
                Aad::from(aad),
                &mut buf,
            )
            .expect("short");
        buf.extend_from_slice(tag.as_ref());
        buf
    };
    g.bench_function("ring_seal_body", |b| {
        let k = ring_key();
        b.iter(|| {
            let mut buf = black_box(body).clone();
            let tag = k
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key([0; 12]),
                    Aad::from(aad),
                    &mut buf,
                )
                .expect("short");
            buf.extend_from_slice(tag.as_ref());
            buf
        })
    });
    g.bench_function("ring_open_body", |b| {
        let k = ring_key();
        b.iter(|| {
            let mut buf = black_box(&sealed).clone();
            k.open_in_place(
                Nonce::assume_unique_for_key([0; 12]),
                Aad::from(aad),
                &mut buf,
            )
            .expect("opens")
            .len()
        })
    });

    let envelope = URL_SAFE_NO_PAD.decode(&value).expect("base64url");
    g.bench_function("base64_encode", |b| {
        b.iter(|| URL_SAFE_NO_PAD.encode(black_box(&envelope)))
    });
    g.bench_function("base64_decode", |b| {
        b.iter(|| {
            URL_SAFE_NO_PAD
                .decode(black_box(&value))
                .expect("base64url")
        })
    });
    g.bench_function("postcard_decode_body", |b| {
        b.iter(|| postcard::from_bytes::<OwnedBody>(black_box(body)).expect("decodes"))
    });
    g.bench_function("state_clone", |b| b.iter(|| black_box(state).clone()));
    g.finish();
}

/// What `criterion_group!` would generate, written out so that it can carry a doc comment, and
/// pick the clock (`BENCH_CLOCK`, see `common/mod.rs`).
fn benches() {
    fn run<M: Measurement>(c: Criterion<M>) {
        let mut c = c
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .configure_from_args();
        breakdown(&mut c);
    }
    if common::wall_clock() {
        run(Criterion::default());
    } else {
        run(Criterion::default().with_measurement(common::ThreadCpuTime::new()));
    }
}

criterion_main!(benches);
