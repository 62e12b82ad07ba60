#!/usr/bin/env bash
# Memory growth of the login example (`examples/login.rs`, memory revocation store) per request,
# in steady state, over HTTP. For each workload a fresh server is started on a free loopback
# port; the client (scripts/session_load.py, one keep-alive connection) warms up with W
# requests, reads the server's RSS (/proc/<pid>/smaps_rollup), runs N more, reads it again:
# (rss_after - rss_before) / N bytes per request. Target (issue 8): at most 4 bytes per request.
#
# Workloads:
#   login, 1 user       POST /login for one user, carrying the cookie of its previous login (each
#                       login revokes the previous signed-in session)
#   login, 1,000 users  the same, cycling over 1,000 users, each with its own previous cookie
#                       (W is larger so every user passes the 32-session fold first)
#   anonymous           POST /counter without a cookie (fresh anonymous session), then
#                       POST /logout with it (2 requests per session)
#
#   scripts/measure-revocation-growth.sh
#   W=20000 N=50000 W_USERS=50000 scripts/measure-revocation-growth.sh
set -euo pipefail
cd "$(dirname "$0")/.."

W=${W:-20000}
N=${N:-50000}
USERS=${USERS:-1000}
W_USERS=${W_USERS:-50000}
OUT=${OUT:-target/revocation-growth}
mkdir -p "$OUT"

. scripts/login-server.sh
trap stop_server EXIT INT TERM
build_login

RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
run() {
  local label=$1; shift
  start_server "$OUT/server-$label.log"
  python3 scripts/session_load.py growth --port "$SERVER_PORT" --pid "$SERVER_PID" "$@" \
    | tee -a "$RESULTS" >&2
  stop_server
}
run login-1 --workload login --users 1 --warmup "$W" --count "$N"
run "login-$USERS" --workload login --users "$USERS" --warmup "$W_USERS" --count "$N"
run anonymous --workload anonymous --warmup "$W" --count "$N"

echo
echo "Command: W=$W N=$N USERS=$USERS W_USERS=$W_USERS scripts/measure-revocation-growth.sh"
echo "($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores)"
echo
python3 - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
mib = lambda b: f"{b // 1024:,} KiB"
print("| workload | warm-up W | measured N | client req/s | RSS start | RSS after W | RSS after W+N | bytes per request | target <= 4 |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
for r in rows:
    ok = "met" if r["bytes_per_request"] <= 4 else "**missed**"
    print(f"| {r['workload']} | {r['warmup']:,} | {r['requests']:,} | {r['req_per_s']:,.0f} "
          f"| {mib(r['rss_start'])} | {mib(r['rss_before'])} | {mib(r['rss_after'])} "
          f"| {r['bytes_per_request']:.2f} | {ok} |")
odd = [r for r in rows if r["refused_checks"] or r["reconnects"]]
for r in odd:
    print(f"\nnote: {r['workload']}: {r['refused_checks']} of {r['checks']} latest cookies no "
          f"longer signed in; {r['reconnects']} reconnects")
PY
