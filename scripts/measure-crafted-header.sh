#!/usr/bin/env bash
# Server CPU per request for a Cookie header stuffed with forged values of the session cookie,
# against a same-size header under another name and a plain request with one valid cookie.
# Starts the login example (`examples/login.rs`) on a free loopback port; the client
# (scripts/session_load.py, one keep-alive connection) sends R `GET /whoami` of each kind per
# round, the kinds alternating (order rotated each round) so machine noise hits all alike. CPU =
# the server's utime+stime (/proc/<pid>/stat, all threads) over the batch / R. Target (issue 8):
# forged / other-name <= 2.5x.
#
# MODE=forged (the default): forged values of the session cookie, a real cookie from POST
# /counter with 4 characters of its tag changed, all distinct, each well-formed (it reaches the
# tag check). As many as fit actix-web's request head limit (131,072 bytes, actix-http h1
# decoder `MAX_BUFFER_SIZE`; past it: 431), up to VALUES. The server's sessions are in one
# cookie (COOKIE_CHUNKS unset).
#
# MODE=chunk-names (issue 21): the server's sessions span up to 3 cookies (COOKIE_CHUNKS=3 in its
# environment, read by the login example), and the header is flooded with chunk names: the
# real chunks `id-1`, `id-2` of a session over 3 cookies, 3 forged first chunks (each joined and
# refused at the tag check), then `id-1`..`id-9` again, `id-99`, `id-10`, malformed names
# (`id-01`, `id-0`, `id-1a`, `id-`, ...) and more `id` values, with values of every size up to
# 4,181 characters, as many pairs as fit the head limit (up to VALUES); against the same pairs
# under a name of the same length that is not ours (`xx`, `xx-1`, ...), and one valid session
# over 3 cookies. The script stops, without measuring, if the example does not split sessions
# (no POST /big sets 3 cookies): an example that does not read COOKIE_CHUNKS. Same target.
#
#   scripts/measure-crafted-header.sh
#   R=5000 ROUNDS=5 scripts/measure-crafted-header.sh
#   MODE=chunk-names scripts/measure-crafted-header.sh
set -euo pipefail
cd "$(dirname "$0")/.."

R=${R:-2500}
ROUNDS=${ROUNDS:-3}
VALUES=${VALUES:-1800}
MODE=${MODE:-forged}
OUT=${OUT:-target/crafted-header}
mkdir -p "$OUT"
case "$MODE" in
  forged) unset COOKIE_CHUNKS; RESULT=$OUT/result.json ;;
  chunk-names) export COOKIE_CHUNKS=3; RESULT=$OUT/result-chunk-names.json ;;
  *) echo "MODE must be forged or chunk-names, got \`$MODE\`" >&2; exit 2 ;;
esac

. scripts/login-server.sh
trap stop_server EXIT INT TERM
build_login

start_server "$OUT/server.log"
python3 scripts/session_load.py crafted --flood "$MODE" --port "$SERVER_PORT" --pid "$SERVER_PID" \
  --requests "$R" --rounds "$ROUNDS" --values "$VALUES" >"$RESULT"
stop_server

echo
echo "Command: MODE=$MODE R=$R ROUNDS=$ROUNDS VALUES=$VALUES scripts/measure-crafted-header.sh"
echo "($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores)"
echo
python3 - "$RESULT" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{r['summary']} R = {r['requests']:,} requests per kind and round, {r['rounds']} rounds, "
      f"CLK_TCK {r['hz']}.")
print()
print("| request | Cookie header | server CPU per request (median) | min - max over rounds | client req/s |")
print("|---|---:|---:|---:|---:|")
for k in r["kinds"]:
    m = r[k]
    print(f"| {m['label']} | {m['cookie_header_bytes']:,} B | {m['median_us']:.1f} us "
          f"| {m['min_us']:.1f} - {m['max_us']:.1f} us | {m['median_req_per_s']:,.0f} |")
ratio = r["ratio_of_medians"]
print()
print(f"{r['attack']} / other-name: **{ratio:.2f}x** (median of per-round ratios "
      f"{r['ratio_median_of_rounds']:.2f}x); target <= 2.5x: {'met' if ratio <= 2.5 else 'MISSED'}")
PY
