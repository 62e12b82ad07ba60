#!/usr/bin/env bash
# Instructions the bench server executes per request, counted by callgrind: deterministic where
# wall-clock figures on a shared machine swing by tens of percent. For each kind and route, the
# server (`target/release/bench-server`, one actix worker, loopback) runs under callgrind; after
# W warm-up requests the counters are zeroed, N sequential keep-alive requests with the seeded
# cookie are sent, and the dump's total (all threads) is divided by N.
#
#   benches/http/callgrind.sh                          # kinds none ours ours-subject actix-session
#   KINDS="none ours" ROUTES=read N=5000 benches/http/callgrind.sh
#   BIN=axum-bench-server KINDS="none ours tower-sessions" benches/http/callgrind.sh   # on axum
#
# To compare two commits, run it in a worktree of each (same machine, same build profile).
set -euo pipefail
cd "$(dirname "$0")/../.."

W=${W:-200}
N=${N:-2000}
KINDS=${KINDS:-none ours ours-subject actix-session}
ROUTES=${ROUTES:-read write}
OUT=${OUT:-target/http-callgrind-${BIN:-bench-server}}
mkdir -p "$OUT"

command -v valgrind >/dev/null || {
  echo "installing valgrind (Debian package)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends valgrind </dev/null >/dev/null
}
BIN=${BIN:-bench-server}
cargo build --release --quiet -p sealed-session-http-bench --bin "$BIN"
SERVER=$(realpath "${CARGO_TARGET_DIR:-target}")/release/$BIN

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Sends $3 sequential requests for route $2 to port $1 with cookie $4; fails on any non-200.
send() {
  python3 - "$@" <<'PY'
import http.client, sys
port, route, n, cookie = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
method = "GET" if route == "read" else "POST"
headers = {"Cookie": cookie} if cookie else {}
if method == "POST":
    headers["Content-Length"] = "0"
c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
for i in range(n):
    c.request(method, "/" + route, headers=headers)
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"{route} #{i}: status {r.status}")
c.close()
PY
}

PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null || true' EXIT INT TERM
printf '| route | kind | instructions per request |\n|---|---|---:|\n'
for route in $ROUTES; do
  for kind in $KINDS; do
    file="$OUT/$kind-$route"
    rm -f "$file".*
    port=$(free_port)
    valgrind --tool=callgrind --collect-atstart=yes --callgrind-out-file="$file.cg" \
      "$SERVER" "$kind" "$port" >"$file.log" 2>&1 &
    PID=$!
    for _ in $(seq 300); do curl -sf -o /dev/null -m 5 "http://127.0.0.1:$port/read" && break; sleep 0.2; done
    cookie=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$port/seed" \
      | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -n1)
    send "$port" "$route" "$W" "$cookie"
    callgrind_control -z "$PID" >/dev/null 2>&1
    send "$port" "$route" "$N" "$cookie"
    callgrind_control -d "$PID" >/dev/null 2>&1
    kill -TERM "$PID"; wait "$PID" || true
    PID=
    dump=$(ls "$file".cg.* | sort -V | tail -n1)
    ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p;s/^totals: \([0-9]*\).*/\1/p' "$dump" | head -n1)
    printf '| %s | %s | %s |\n' "$route" "$kind" "$(python3 -c "print(f'{$ir/$N:,.0f}')")"
  done
done
