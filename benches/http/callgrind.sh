#!/usr/bin/env bash
# Instructions the bench server executes per request, counted by callgrind: deterministic where
# wall-clock figures on a shared machine swing by tens of percent. For each kind and route, the
# server (`target/release/bench-server`, one actix worker, loopback) runs under callgrind; after
# W warm-up requests the counters are zeroed, N sequential keep-alive requests with the seeded
# cookie are sent, and the dump's total (all threads) is divided by N.
#
# The seeded cookie is what a browser sends back after `POST /seed` (which must answer 200):
# every Set-Cookie's `name=value`, joined by `; ` (a session over several cookies sets one per
# chunk). For the `ours-<n>-cookie(s)` kinds the script checks it is n cookies. With `ours` among
# the kinds, a second table gives each kind against it: the ratio, and the instructions each
# added byte of Cookie header costs. With TOP=n, each run's n functions of highest self cost
# follow (per request: the dump's own cost lines summed by function, since callgrind_annotate
# 3.19 charges these dumps, zeroed mid-run, wholly to the thread's entry function).
#
#   benches/http/callgrind.sh                          # kinds none ours ours-subject actix-session
#   KINDS="none ours" ROUTES=read N=5000 benches/http/callgrind.sh
#   BIN=axum-bench-server KINDS="none ours tower-sessions" benches/http/callgrind.sh   # on axum
#   KINDS="none ours ours-2-cookies ours-3-cookies" N=1000 benches/http/callgrind.sh  # issue 21
#   KINDS="none ours actix-session ours-actix-session" benches/http/callgrind.sh      # issue 20
#   BIN=axum-bench-server KINDS="none ours tower-sessions ours-tower-sessions" \
#     benches/http/callgrind.sh                                                       # issue 20
#   TOP=8 KINDS="ours-3-cookies" ROUTES=read N=1000 benches/http/callgrind.sh
#
# To compare two commits, run it in a worktree of each (same machine, same build profile).
set -euo pipefail
cd "$(dirname "$0")/../.."

W=${W:-200}
N=${N:-2000}
KINDS=${KINDS:-none ours ours-subject actix-session}
ROUTES=${ROUTES:-read write}
TOP=${TOP:-0}
OUT=${OUT:-target/http-callgrind-${BIN:-bench-server}}
mkdir -p "$OUT"

command -v valgrind >/dev/null || {
  echo "installing valgrind (Debian package)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends valgrind </dev/null >/dev/null
}
BIN=${BIN:-bench-server}
cargo build --release --quiet -p sealed-session-http-bench --bin "$BIN"
SERVER=$(realpath "${CARGO_TARGET_DIR:-target}")/release/$BIN
# The target directory may be shared with other worktrees: a build there must not swap the
# binary in the middle of the run unnoticed.
BUILT=$(md5sum <"$SERVER")

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

# Seeds a session on port $1 and prints "<cookies>\t<Cookie header>": what a browser sends back,
# every Set-Cookie's name=value (a removal, Max-Age=0, is not sent back); fails unless 200.
seed() {
  python3 - "$1" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=120)
c.request("POST", "/seed", headers={"Content-Length": "0"})
r = c.getresponse()
r.read()
if r.status != 200:
    sys.exit(f"seed: status {r.status}")
pairs = [v.split(";", 1)[0].strip() for v in r.headers.get_all("Set-Cookie") or []
         if "max-age=0" not in (a.strip().lower() for a in v.split(";")[1:])]
print(f"{len(pairs)}\t{'; '.join(pairs)}")
PY
}

# The TOP functions of highest self cost in dump $1, per request.
top() {
  python3 - "$1" "$N" "$TOP" <<'PY'
import collections, re, sys
path, n, top = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names, cost, fn, call = {}, collections.Counter(), None, False
def name(ref):
    m = re.match(r"\((\d+)\)(?: (.*))?", ref)
    if not m:
        return ref
    if m.group(2):
        names[m.group(1)] = m.group(2)
    return names.get(m.group(1), m.group(1))
for line in open(path):
    if line.startswith("fn="):
        fn = name(line[3:].strip())
    elif line.startswith("cfn="):
        name(line[4:].strip())
    elif line.startswith("calls="):
        call = True  # the next cost line is the call's inclusive cost
    elif line[:1].isdigit() or line[:1] in "+-*":
        if call:
            call = False
        elif fn is not None and len(line.split()) > 1:
            cost[fn] += int(line.split()[1])
for f, c in cost.most_common(top):
    print(f"{c / n:12,.0f}  {f[:120]}")
PY
}

PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null || true' EXIT INT TERM
ROWS="$OUT/rows.tsv"
: >"$ROWS"
printf '| route | kind | cookies | Cookie header (bytes) | instructions per request |\n'
printf '|---|---|---:|---:|---:|\n'
for route in $ROUTES; do
  for kind in $KINDS; do
    file="$OUT/$kind-$route"
    rm -f "$file".*
    port=$(free_port)
    valgrind --tool=callgrind --collect-atstart=yes --callgrind-out-file="$file.cg" \
      "$SERVER" "$kind" "$port" >"$file.log" 2>&1 &
    PID=$!
    for _ in $(seq 300); do curl -sf -o /dev/null -m 5 "http://127.0.0.1:$port/read" && break; sleep 0.2; done
    seeded=$(seed "$port")
    cookies=${seeded%%$'\t'*}
    cookie=${seeded#*$'\t'}
    case "$kind" in
      ours-*-cookie | ours-*-cookies)
        want=${kind#ours-}
        want=${want%%-*}
        if [ "$cookies" != "$want" ]; then
          echo "$kind: /seed set $cookies cookies, not $want" >&2
          exit 1
        fi ;;
    esac
    send "$port" "$route" "$W" "$cookie"
    callgrind_control -z "$PID" >/dev/null 2>&1
    send "$port" "$route" "$N" "$cookie"
    callgrind_control -d "$PID" >/dev/null 2>&1
    kill -TERM "$PID"; wait "$PID" || true
    PID=
    dump=$(ls "$file".cg.* | sort -V | tail -n1)
    ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p;s/^totals: \([0-9]*\).*/\1/p' "$dump" | head -n1)
    printf '%s\t%s\t%s\t%s\t%s\n' "$route" "$kind" "$cookies" "${#cookie}" "$ir" >>"$ROWS"
    printf '| %s | %s | %s | %s | %s |\n' "$route" "$kind" "$cookies" "${#cookie}" \
      "$(python3 -c "print(f'{$ir/$N:,.0f}')")"
    if [ "$TOP" -gt 0 ]; then top "$dump" >"$file.top"; fi
  done
done
if [ "$TOP" -gt 0 ]; then
  for route in $ROUTES; do
    for kind in $KINDS; do
      echo
      echo "$route $kind: self cost per request, top $TOP functions"
      cat "$OUT/$kind-$route.top"
    done
  done
fi
if [ "$(md5sum <"$SERVER")" != "$BUILT" ]; then
  echo "$SERVER changed during the run (a build in another worktree?): run again" >&2
  exit 1
fi

python3 - "$ROWS" "$N" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
n = int(sys.argv[2])
ir = {(r[0], r[1]): int(r[4]) / n for r in rows}
size = {(r[0], r[1]): int(r[3]) for r in rows}
if not any(kind == "ours" for _, kind in ir):
    sys.exit(0)
print()
print("Against `ours` (the typical session, 1 cookie): x ours = instructions / ours'; "
      "per added byte = (instructions - ours') / (Cookie header bytes - ours').")
print("| route | kind | x ours | added over none | added over none, x ours | per added byte |")
print("|---|---|---:|---:|---:|---:|")
for (route, kind), x in ir.items():
    if kind == "none":
        continue
    ours = ir[route, "ours"]
    bare = ir.get((route, "none"))
    added = f"{x - bare:,.0f}" if bare is not None else "-"
    added_ratio = f"{(x - bare) / (ours - bare):.2f}" if bare is not None and ours != bare else "-"
    extra = size[route, kind] - size[route, "ours"]
    per_byte = f"{(x - ours) / extra:.2f}" if extra > 0 else "-"
    print(f"| {route} | {kind} | {x / ours:.3f} | {added} | {added_ratio} | {per_byte} |")
PY
