//! Load-robust cross-check of the criterion ratios: times seal+open of every contender in short
//! interleaved slices (about 0.5 ms each, the contenders in rotating order within every round),
//! so that all of them see the same machine load, then prints per contender the fastest and the
//! median slice (ns per seal+open) and, per round, the median of the ratios ours / floor,
//! ours / pure_rust, ours / actix-session and floor / pure_rust (ring against pure Rust).
//!
//! On a shared machine criterion measures the contenders one after the other, minutes apart,
//! and another job starting in between skews the ratio; here it hits all of them alike.
//!
//! Run from the workspace root: `cargo run --release -p sealed-session-benches --bin paired`
//! (about 10 seconds; `bash benches/run.sh` runs it after the benchmark). An optional argument
//! sets the number of rounds (default 1500).

use std::hint::black_box;
use std::time::{Duration, Instant};

use sealed_session::clock::{Clock as _, SystemClock};
use sealed_session::codec::Codec;
use sealed_session::{KeyRing, Mode, SecretKey};
use sealed_session_benches::{
    ActixCookie, Fixture, Floor, PureRustFloor, large_session, typical_session,
};

/// Target length of one slice.
const SLICE: Duration = Duration::from_micros(500);

type Op<'a> = Box<dyn Fn() + 'a>;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[allow(clippy::cast_precision_loss)] // iteration counts and nanoseconds of a slice
fn per_iter(op: &dyn Fn(), iters: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        op();
    }
    start.elapsed().as_nanos() as f64 / f64::from(iters)
}

fn run(label: &str, fixture: &Fixture, rounds: usize) {
    let ring = KeyRing::new(SecretKey::generate());
    let encrypted = Codec::new(ring.clone());
    let signed = Codec::builder(ring)
        .mode(Mode::Signed)
        .build()
        .expect("valid settings");
    let floor = Floor::new();
    let pure_rust = PureRustFloor::new();
    let actix = ActixCookie::new();
    let (state, body, map) = (&fixture.state, &fixture.body, &fixture.actix_map);

    let contenders: Vec<(&str, Op<'_>)> = vec![
        (
            "ours_encrypted",
            Box::new(|| {
                let v = encrypted.seal(black_box(state)).expect("seals");
                black_box(encrypted.open_at(&v, SystemClock.now()).expect("opens"));
            }),
        ),
        (
            "ours_signed",
            Box::new(|| {
                let v = signed.seal(black_box(state)).expect("seals");
                black_box(signed.open_at(&v, SystemClock.now()).expect("opens"));
            }),
        ),
        (
            "floor",
            Box::new(|| {
                let v = floor.seal(black_box(body));
                black_box(floor.open(&v).expect("opens"));
            }),
        ),
        (
            "pure_rust",
            Box::new(|| {
                let v = pure_rust.seal(black_box(body));
                black_box(pure_rust.open(&v).expect("opens"));
            }),
        ),
        (
            "actix_session",
            Box::new(|| {
                let v = actix.seal(black_box(map));
                black_box(actix.open(&v).expect("opens"));
            }),
        ),
    ];

    // Calibrate: iterations per slice for each contender, after a short warm-up.
    let iters: Vec<u32> = contenders
        .iter()
        .map(|(_, op)| {
            per_iter(op.as_ref(), 200);
            let ns = per_iter(op.as_ref(), 500).max(1.0);
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let n = (SLICE.as_nanos() as f64 / ns).ceil() as u32;
            n.max(1)
        })
        .collect();

    let n = contenders.len();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (round + k) % n;
            times[i].push(per_iter(contenders[i].1.as_ref(), iters[i]));
        }
    }

    let index = |name: &str| {
        contenders
            .iter()
            .position(|(c, _)| *c == name)
            .expect("contender")
    };
    let ratios = |a: usize, b: usize| {
        let mut r: Vec<f64> = times[a].iter().zip(&times[b]).map(|(x, y)| x / y).collect();
        median(&mut r)
    };
    println!("{label}: seal+open, ns per iteration over {rounds} interleaved rounds");
    for (i, (name, _)) in contenders.iter().enumerate() {
        let mut t = times[i].clone();
        let min = t.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "  {name:<16} fastest {min:>7.0}   median {:>7.0}",
            median(&mut t)
        );
    }
    let (floor_i, pure_i, actix_i) = (index("floor"), index("pure_rust"), index("actix_session"));
    println!(
        "  {:<16} median per-round ratio: /pure_rust {:.2}x (the ring backend against pure Rust)",
        "floor",
        ratios(floor_i, pure_i),
    );
    for ours in ["ours_encrypted", "ours_signed"] {
        let o = index(ours);
        println!(
            "  {ours:<16} median per-round ratio: /floor {:.2}x   /pure_rust {:.2}x   \
             /actix_session {:.2}x",
            ratios(o, floor_i),
            ratios(o, pure_i),
            ratios(o, actix_i),
        );
    }
}

fn main() {
    let rounds = std::env::args()
        .nth(1)
        .map_or(1500, |a| a.parse().expect("rounds: a number"));
    let codec = Codec::new(KeyRing::new(SecretKey::generate()));
    run("typical", &typical_session(&codec), rounds);
    run("2KB", &large_session(&codec), rounds / 5);
}
