#!/usr/bin/env bash
# Runs the codec benchmark (ours vs the XChaCha20-Poly1305 floor vs actix-session's cookie path,
# all in one run), then prints a table of criterion medians with the ratios ours/floor and
# ours/actix_session for seal+open, a load-robust paired cross-check of those ratios
# (src/bin/paired.rs) and the cookie sizes of the typical session (src/bin/cookie_sizes.rs).
#
# Usage, from anywhere: bash benches/run.sh [extra criterion args, e.g. --measurement-time 5]
# The clock is the benchmark thread's CPU time, less sensitive to other jobs on a shared machine;
# set BENCH_CLOCK=wall for criterion's wall clock (see benches/benches/common/mod.rs).
# About 2-3 minutes on 2 cores once built (the first release build takes a few more).
# Needs cargo and python3. The table reads
# target/criterion/<group>/<contender>/<op>/new/estimates.json ("median" point estimate, ns).
set -euo pipefail

cd "$(dirname "$0")/.."

# Sizes first: quick, and printed at the end under the table.
sizes="$(cargo run -q --release -p sealed-session-benches --bin cookie_sizes)"
cargo bench -p sealed-session-benches --bench codec -- --noplot "$@"
# Cross-check of the ratios with the contenders interleaved (see src/bin/paired.rs).
paired="$(cargo run -q --release -p sealed-session-benches --bin paired)"

target_dir="${CARGO_TARGET_DIR:-target}"

python3 - "$target_dir/criterion" <<'EOF'
import json
import os
import sys

root = sys.argv[1]
groups = ["typical", "2KB"]
contenders = ["ours_encrypted", "ours_signed", "floor", "floor_postcard", "pure_rust", "actix_session"]
ops = ["seal", "open", "seal_open"]


def median(group, contender, op):
    path = os.path.join(root, group, contender, op, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def ns(v):
    return "-" if v is None else f"{v:,.0f}"


def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


print()
wall = os.environ.get("BENCH_CLOCK", "").lower() == "wall"
clock = "wall time" if wall else "thread CPU time"
print(f"Criterion medians, ns of {clock} (lower is better)")
for group in groups:
    print()
    print(f"{group:<16}{'seal':>10}{'open':>10}{'seal_open':>11}")
    for c in contenders:
        row = [median(group, c, op) for op in ops]
        print(f"{c:<16}" + f"{ns(row[0]):>10}{ns(row[1]):>10}{ns(row[2]):>11}")

print()
print("Ratios, median seal_open: ours/floor  ours/pure_rust  ours/actix_session")
for group in groups:
    floor = median(group, "floor", "seal_open")
    pure = median(group, "pure_rust", "seal_open")
    actix = median(group, "actix_session", "seal_open")
    for c in ["ours_encrypted", "ours_signed"]:
        ours = median(group, c, "seal_open")
        print(f"  {group + '/' + c:<24}{ratio(ours, floor):>10}{ratio(ours, pure):>16}"
              f"{ratio(ours, actix):>20}")
    print(f"  {group + '/floor (ring) / pure_rust':<24}{ratio(floor, pure):>26}")
EOF

echo
echo "Paired cross-check (wall clock, contenders interleaved in 0.5 ms slices)"
echo "$paired"
echo
echo "Cookie sizes (cookie name \"id\" for all; value lengths)"
echo "$sizes"
