#!/usr/bin/env bash
# HTTP benchmark of the session middlewares, all in one run:
#   none          - the same routes with no session middleware (the floor)
#   ours          - sealed-session's CookieSessionMiddleware (defaults: encrypted), anonymous
#                   session: the revocation check has no subject to look up
#   ours-subject  - the same, with the session signed in as a subject that has a generation, in a
#                   store holding 10,001 subjects: the revocation check compares the generation
#   actix-session - actix-session 0.11's SessionMiddleware with CookieSessionStore
# Each server runs one actix worker pinned to CPU 0; wrk runs on CPU 1; loopback only. The kinds
# alternate within each round so machine noise spreads over all of them. For each run the
# server's CPU time (utime+stime from /proc) is divided by the requests wrk completed.
#
# The report gives medians, the round-to-round spread ((max - min) / median) of CPU per request,
# and the generation check's cost: ours-subject against ours on each route.
#
# With STACK=axum, the same run on axum (`axum-bench-server`, one single-threaded tokio runtime):
#   none           - bare axum
#   ours           - sealed-session-tower's CookieSessionLayer (defaults: encrypted), anonymous
#   tower-sessions - tower-sessions 0.15's SessionManagerLayer over its MemoryStore
# and the report adds ours' added CPU against tower-sessions'.
#
# KINDS (space-separated) picks other kinds of the stack's server, e.g. the sessions over several
# cookies of issue 21 (`ours-1-cookie`, `ours-2-cookies`, `ours-3-cookies`: `.max_cookies(3)`,
# /seed's session spanning that many); the report then gives each `ours-*` kind against `ours`.
# Each kind's cookie is what a browser sends back after `POST /seed` (which must answer 200):
# every Set-Cookie's `name=value`, joined by `; `.
#
#   benches/http/run.sh                  # 3 rounds x 8 s per kind and route (~3.5 minutes)
#   ROUNDS=5 DURATION=10 benches/http/run.sh
#   STACK=axum benches/http/run.sh       # the axum run (~2.5 minutes)
#   KINDS="none ours ours-2-cookies ours-3-cookies" ROUNDS=3 DURATION=5 benches/http/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-16}
STACK=${STACK:-actix}
REQUESTED=${KINDS:-}
case "$STACK" in
  actix) KINDS=(none ours ours-subject actix-session); BIN=bench-server; NAME=http-bench ;;
  axum) KINDS=(none ours tower-sessions); BIN=axum-bench-server; NAME=http-bench-axum ;;
  *) echo "STACK must be actix or axum, got \`$STACK\`" >&2; exit 2 ;;
esac
if [ -n "$REQUESTED" ]; then
  read -ra KINDS <<<"$REQUESTED"
  case " ${KINDS[*]} " in
    *" none "*) ;;
    *) echo "KINDS must include none (the floor the report subtracts)" >&2; exit 2 ;;
  esac
fi
OUT=${OUT:-target/$NAME}
mkdir -p "$OUT"

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk </dev/null >/dev/null \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk </dev/null >/dev/null; }
fi
cargo build --release --quiet -p sealed-session-http-bench --bin "$BIN"
SERVER=${CARGO_TARGET_DIR:-target}/release/$BIN

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

declare -A PID PORT COOKIE
cleanup() { for k in "${KINDS[@]}"; do [ -n "${PID[$k]:-}" ] && kill "${PID[$k]}" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

for k in "${KINDS[@]}"; do
  PORT[$k]=$(free_port)
  taskset -c 0 "$SERVER" "$k" "${PORT[$k]}" >"$OUT/server-$k.log" 2>&1 &
  PID[$k]=$!
done
for k in "${KINDS[@]}"; do
  for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:${PORT[$k]}/read" && break; sleep 0.1; done
  # The typical session (user id, role, 3-item cart), as each middleware seals it; every
  # Set-Cookie's name=value (one per chunk of a session over several cookies; a removal,
  # Max-Age=0, is not sent back).
  COOKIE[$k]=$(python3 - "${PORT[$k]}" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("POST", "/seed", headers={"Content-Length": "0"})
r = c.getresponse()
r.read()
if r.status != 200:
    sys.exit(f"seed: status {r.status}")
print("; ".join(v.split(";", 1)[0].strip() for v in r.headers.get_all("Set-Cookie") or []
                if "max-age=0" not in (a.strip().lower() for a in v.split(";")[1:])))
PY
)
  echo "$k: Cookie header ${#COOKIE[$k]} bytes" >&2
done

cat >"$OUT/post.lua" <<'LUA'
wrk.method = "POST"
LUA

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
RESULTS="$OUT/results.tsv"
printf 'round\tkind\troute\trequests\treq_per_s\tp99_us\tcpu_us_per_req\n' >"$RESULTS"

for round in $(seq "$ROUNDS"); do
  # Rotate the order each round.
  shift=$(( (round - 1) % ${#KINDS[@]} ))
  order=("${KINDS[@]:$shift}" "${KINDS[@]:0:$shift}")
  for route in read write; do
    for k in "${order[@]}"; do
      script=()
      [ "$route" = write ] && script=(-s "$OUT/post.lua")
      header=()
      [ -n "${COOKIE[$k]}" ] && header=(-H "Cookie: ${COOKIE[$k]}")
      before=$(ticks "${PID[$k]}")
      taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${script[@]}" "${header[@]}" \
        "http://127.0.0.1:${PORT[$k]}/$route" >"$OUT/wrk-$round-$k-$route.txt"
      after=$(ticks "${PID[$k]}")
      python3 - "$OUT/wrk-$round-$k-$route.txt" "$round" "$k" "$route" "$((after - before))" "$HZ" >>"$RESULTS" <<'PY'
import re, sys
path, rnd, kind, route, ticks, hz = sys.argv[1:]
text = open(path).read()
reqs = int(re.search(r"(\d+) requests in", text).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
p99 = float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.exit(f"{kind} {route}: {errors.group(1)} error responses")
cpu_us = int(ticks) / int(hz) * 1e6 / reqs
print(f"{rnd}\t{kind}\t{route}\t{reqs}\t{rps:.0f}\t{p99:.0f}\t{cpu_us:.2f}")
PY
      tail -n1 "$RESULTS" >&2
    done
  done
done

python3 - "$RESULTS" "${KINDS[@]}" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
kinds = sys.argv[2:]
routes = ("read", "write")
med, spread = {}, {}
for kind in kinds:
    for route in routes:
        sel = [r for r in rows if r["kind"] == kind and r["route"] == route]
        med[kind, route] = {k: statistics.median(float(r[k]) for r in sel)
                            for k in ("req_per_s", "p99_us", "cpu_us_per_req")}
        cpu = [float(r["cpu_us_per_req"]) for r in sel]
        spread[kind, route] = (max(cpu) - min(cpu)) / statistics.median(cpu)
rounds = len({r["round"] for r in rows})
print()
print(f"medians of {rounds} rounds; CPU = server CPU time per request; added = minus 'none'; "
      "spread = (max - min) / median of CPU/req over the rounds")
print("| route | server | req/s | x bare | p99 (us) | CPU/req (us) | added CPU/req (us) | spread |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for route in routes:
    bare = med["none", route]
    for kind in kinds:
        m = med[kind, route]
        print(f"| {route} | {kind} | {m['req_per_s']:.0f} | {m['req_per_s'] / bare['req_per_s']:.2f} "
              f"| {m['p99_us']:.0f} | {m['cpu_us_per_req']:.2f} "
              f"| {m['cpu_us_per_req'] - bare['cpu_us_per_req']:.2f} | {spread[kind, route]:.0%} |")
if "tower-sessions" in kinds:
    print()
    print("ours against tower-sessions (added CPU/req, minus bare axum):")
    for route in routes:
        o, t, b = (med[k, route]["cpu_us_per_req"] for k in ("ours", "tower-sessions", "none"))
        print(f"  {route}: ours {o - b:.2f} us, tower-sessions {t - b:.2f} us, "
              f"ratio {(o - b) / (t - b):.2f}x")
        # The same ratio within each round, where the three ran minutes apart at most.
        cpu = {(r["round"], r["kind"]): float(r["cpu_us_per_req"]) for r in rows if r["route"] == route}
        per_round = []
        for n in sorted({r["round"] for r in rows}, key=int):
            o, t, b = (cpu.get((n, k)) for k in ("ours", "tower-sessions", "none"))
            if None not in (o, t, b) and t != b:
                per_round.append((o - b, t - b))
        print(f"  {route}: per round, added us ours/tower-sessions "
              + " ".join(f"{x:.2f}/{y:.2f}" for x, y in per_round))
chunked = [k for k in kinds if k.startswith("ours-") and k.endswith(("-cookie", "-cookies"))]
if chunked and "ours" in kinds:
    print()
    print("sessions over several cookies (issue 21) against ours (CPU/req; added = minus none):")
    for route in routes:
        o, b = (med[k, route]["cpu_us_per_req"] for k in ("ours", "none"))
        cpu = {(r["round"], r["kind"]): float(r["cpu_us_per_req"]) for r in rows if r["route"] == route}
        for kind in chunked:
            c = med[kind, route]["cpu_us_per_req"]
            per_round = [cpu[n, kind] / cpu[n, "ours"] for n in sorted({r["round"] for r in rows}, key=int)
                         if (n, kind) in cpu and (n, "ours") in cpu]
            print(f"  {route} {kind}: CPU/req {c:.2f} / {o:.2f} us = {c / o:.2f}x; "
                  f"added {c - b:.2f} / {o - b:.2f} us = {(c - b) / (o - b):.2f}x; "
                  f"per-round CPU/req ratios {' '.join(f'{x:.2f}' for x in per_round)}, "
                  f"median {statistics.median(per_round):.2f}x")
if "ours-subject" in kinds and "ours" in kinds:
    print()
    print("generation check (ours-subject vs ours):")
    for route in routes:
        o, s, b = (med[k, route]["cpu_us_per_req"] for k in ("ours", "ours-subject", "none"))
        print(f"  {route}: CPU/req {s:.2f} / {o:.2f} us = {s / o:.3f}x; "
              f"added {s - b:.2f} / {o - b:.2f} us = {(s - b) / (o - b):.3f}x; "
              f"req/s {med['ours-subject', route]['req_per_s'] / med['ours', route]['req_per_s']:.3f}x")
        cpu = {(r["round"], r["kind"]): float(r["cpu_us_per_req"]) for r in rows if r["route"] == route}
        per_round = [cpu[n, "ours-subject"] / cpu[n, "ours"] for n in sorted({r["round"] for r in rows})
                     if (n, "ours-subject") in cpu and (n, "ours") in cpu]
        print(f"  {route}: per-round CPU/req ratios {' '.join(f'{x:.3f}' for x in per_round)}, "
              f"median {statistics.median(per_round):.3f}x")
PY
