#!/usr/bin/env bash
# Client-side sealed cookies against server-side Redis sessions, everything in one run
# (docs/comparison.md shows its output):
#   1. throughput: req/s, p99 and CPU per request of GET /read and POST /write for
#        none              no session middleware (the floor)
#        ours              sealed-session, in-memory revocations
#        ours-redis        sealed-session, revocations shared through sealed-session-redis
#        ours-4k           sealed-session with the largest session that fits its 4096-byte cookie
#        server-store      actix-session 0.11 SessionMiddleware + RedisSessionStore
#        server-store-10k  the same with a 10 KB session
#      Each server runs one actix worker pinned to CPU 0, wrk runs on CPU 1, Redis is not pinned.
#      The workloads alternate within each round (order rotated every round), so machine noise
#      spreads over all of them; the report quotes medians and per-round ratios to `ours`.
#   2. bytes per request: Cookie / Set-Cookie header lines of real responses (curl -D), and the
#      app <-> Redis traffic per request (Redis INFO counters around 100 requests).
#   3. behaviour, performed and printed: a 10 KB session, logout then replay of a copied cookie,
#      three instances, server restart, Redis outage (on a second redis-server of our own).
#
# Run from anywhere (just under 6 minutes once built; every wait in it is bounded):
#   scripts/with-redis.sh benches/http/compare.sh
#   ROUNDS=4 DURATION=4 CONNECTIONS=16 scripts/with-redis.sh benches/http/compare.sh
# Needs REDIS_URL, REDIS_SERVER_BIN, REDIS_CLI_BIN (set by scripts/with-redis.sh), wrk, curl,
# taskset, python3. Writes target/http-bench/compare/ and docs/comparison/throughput.svg.
# Binds 127.0.0.1 only; stops exactly the processes it started.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-4}
DURATION=${DURATION:-4}
CONNECTIONS=${CONNECTIONS:-16}
OUT=${OUT:-target/http-bench/compare}
SVG=${SVG:-docs/comparison/throughput.svg}
BIG=10240
# The sealed-cookie servers sign the seeded session in, as a login does: a logout then revokes
# it. (An anonymous session's logout only gives it a fresh id; see docs/security.md.)
export SIGN_IN=user-42
: "${REDIS_URL:?run through scripts/with-redis.sh, which starts a private redis-server}"
: "${REDIS_SERVER_BIN:?run through scripts/with-redis.sh}"
: "${REDIS_CLI_BIN:?run through scripts/with-redis.sh}"
mkdir -p "$OUT" "$(dirname "$SVG")"
rm -f "$OUT"/*.txt "$OUT"/*.tsv "$OUT"/*.log

for tool in wrk curl taskset python3; do
  command -v "$tool" >/dev/null || { echo "compare.sh needs $tool" >&2; exit 1; }
done
cargo build --release --quiet -p sealed-session-http-bench
SERVER=${CARGO_TARGET_DIR:-target}/release/bench-server
DEMO="$OUT/demos.txt"

# --- processes: every PID we start, stopped by PID on exit ---------------------------------------
PIDS=()
OUTAGE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/compare-redis.XXXXXX")
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$OUTAGE_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start NAME KIND PORT [VAR=value...]: a bench-server on CPU 0; sets STARTED to its PID.
start() {
  local name=$1 kind=$2 port=$3
  shift 3
  env "$@" taskset -c 0 "$SERVER" "$kind" "$port" >>"$OUT/server-$name.log" 2>&1 &
  STARTED=$!
  PIDS+=("$STARTED")
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/read")" != 000 ] && return 0
    kill -0 "$STARTED" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench-server $name ($kind) did not start on port $port:" >&2
  cat "$OUT/server-$name.log" >&2
  exit 1
}

# stop PID: SIGTERM (actix shuts down gracefully), SIGKILL after 10 s; then forget the PID.
stop() {
  local pid=$1 kept=() p
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  PIDS=("${kept[@]}")
}

set_cookie() { tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -n1; }
# seed PORT: a new typical session (user id, role, 3-item cart); prints its cookie.
seed() { curl -s --max-time 10 -D - -o /dev/null -X POST "http://127.0.0.1:$1/seed" | set_cookie || true; }
# call METHOD PORT PATH [COOKIE]: prints "HTTP <status> <body> (<ms> ms)"; 000 = no response
# within CALL_TIMEOUT seconds (default 10).
call() {
  local method=$1 port=$2 path=$3 cookie=${4:-} header=() out
  [ -n "$cookie" ] && header=(-H "Cookie: $cookie")
  rm -f "$OUT/body.txt"
  out=$(curl -s --max-time "${CALL_TIMEOUT:-10}" -o "$OUT/body.txt" -w '%{http_code} %{time_total}' -X "$method" \
    "${header[@]}" "http://127.0.0.1:$port$path" || true)
  printf 'HTTP %s %s (%.1f ms)' "${out% *}" "$(head -c 120 "$OUT/body.txt" 2>/dev/null)" \
    "$(python3 -c "print(${out#* } * 1000)")"
}
say() { echo "$*" | tee -a "$DEMO"; }
redis_info() { "$REDIS_CLI_BIN" -u "$REDIS_URL" info "$1" | tr -d '\r'; }
redis_cpu() { redis_info cpu | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.6f", s }'; }
redis_net() { redis_info stats | awk -F: '/^total_net_(input|output)_bytes:/ { printf "%s ", $2 }'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Keys that every instance of a model shares, as in production (and across restarts).
SESSION_KEYS=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
SERVER_STORE_KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(64)).decode())')
export SESSION_KEYS SERVER_STORE_KEY

{
  echo "# compare.sh run $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "redis-server: $("$REDIS_SERVER_BIN" --version)"
  echo "actix-session: $(grep -A1 '^name = "actix-session"' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p')"
  echo "actix-web: $(grep -A1 '^name = "actix-web"' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p')"
  echo "rustc: $(rustc -V)"
  echo "wrk: $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)"
  echo "cpu: $(nproc) x $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rounds: $ROUNDS x ${DURATION}s per workload and route, $CONNECTIONS connections"
} | tee "$OUT/versions.txt" >&2

# --- 1. throughput -------------------------------------------------------------------------------
declare -A PORT PID COOKIE SRV
for kind in none ours ours-redis server-store; do
  PORT[$kind]=$(free_port)
  start "$kind" "$kind" "${PORT[$kind]}"
  PID[$kind]=$STARTED
done
WORKLOADS=(none ours ours-redis ours-4k server-store server-store-10k)
for w in "${WORKLOADS[@]}"; do SRV[$w]=${w%-4k}; SRV[$w]=${SRV[$w]%-10k}; done
COOKIE[none]=""
for kind in ours ours-redis server-store; do COOKIE[$kind]=$(seed "${PORT[$kind]}"); done
# The 10 KB session: the typical one plus 10,240 bytes of text (the store takes it).
c=$(seed "${PORT[server-store]}")
COOKIE[server-store-10k]=$(curl -s --max-time 10 -D - -o /dev/null -X POST -H "Cookie: $c" \
  "http://127.0.0.1:${PORT[server-store]}/big?bytes=$BIG" | set_cookie)
# The largest session the sealed cookie holds with room left for the write route's counter: the
# typical one plus as much text as fits, in steps of 25 bytes.
c=$(seed "${PORT[ours]}")
for n in $(seq 3000 -25 1000); do
  big=$(curl -s --max-time 10 -D - -o /dev/null -X POST -H "Cookie: $c" \
    "http://127.0.0.1:${PORT[ours]}/big?bytes=$n" | set_cookie)
  [ -n "$big" ] || continue
  status=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -X POST -H "Cookie: $big" \
    "http://127.0.0.1:${PORT[ours]}/write")
  if [ "$status" = 200 ]; then COOKIE[ours-4k]=$big; OURS_MAX_EXTRA=$n; break; fi
done
[ -n "${OURS_MAX_EXTRA:-}" ] || { echo "no extra payload fits in the sealed cookie" >&2; exit 1; }
for w in "${WORKLOADS[@]}"; do
  [ "$w" = none ] || [ -n "${COOKIE[$w]}" ] || { echo "no cookie for $w" >&2; exit 1; }
  echo "$w: cookie ${#COOKIE[$w]} bytes (name=value)" >&2
done

printf 'wrk.method = "POST"\n' >"$OUT/post.lua"
HZ=$(getconf CLK_TCK)
RESULTS="$OUT/results.tsv"
printf 'round\tworkload\troute\trequests\treq_per_s\tp99_us\tserver_cpu_us\tredis_cpu_us\n' >"$RESULTS"
n=${#WORKLOADS[@]}
for round in $(seq "$ROUNDS"); do
  shift_by=$(( (round - 1) % n ))
  order=("${WORKLOADS[@]:$shift_by}" "${WORKLOADS[@]:0:$shift_by}")
  for route in read write; do
    for w in "${order[@]}"; do
      script=()
      [ "$route" = write ] && script=(-s "$OUT/post.lua")
      header=()
      [ -n "${COOKIE[$w]}" ] && header=(-H "Cookie: ${COOKIE[$w]}")
      pid=${PID[${SRV[$w]}]}
      before=$(ticks "$pid"); redis_before=$(redis_cpu)
      taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s --latency "${script[@]}" \
        "${header[@]}" "http://127.0.0.1:${PORT[${SRV[$w]}]}/$route" >"$OUT/wrk-$round-$w-$route.txt"
      after=$(ticks "$pid"); redis_after=$(redis_cpu)
      python3 - "$OUT/wrk-$round-$w-$route.txt" "$round" "$w" "$route" "$((after - before))" "$HZ" \
        "$redis_before" "$redis_after" >>"$RESULTS" <<'PY'
import re, sys
path, rnd, workload, route, ticks, hz, r0, r1 = sys.argv[1:]
text = open(path).read()
reqs = int(re.search(r"(\d+) requests in", text).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
p99 = float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
for pattern in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: (.*)"):
    bad = re.search(pattern, text)
    if bad:
        sys.exit(f"{workload} {route}: {bad.group(0)}")
server_us = int(ticks) / int(hz) * 1e6 / reqs
redis_us = (float(r1) - float(r0)) * 1e6 / reqs
print(f"{rnd}\t{workload}\t{route}\t{reqs}\t{rps:.0f}\t{p99:.0f}\t{server_us:.2f}\t{redis_us:.2f}")
PY
      tail -n1 "$RESULTS" >&2
    done
  done
done

# --- 2. bytes per request ------------------------------------------------------------------------
BYTES="$OUT/bytes.tsv"
printf 'session\troute\tcookie\trequest_header\tresponse_header\tredis_in\tredis_out\n' >"$BYTES"
# bytes_rows LABEL PORT COOKIE: header lines exactly as on the wire (CRLF included), and the
# Redis traffic per request over 100 requests, less the INFO command's own.
bytes_rows() {
  local label=$1 port=$2 cookie=$3 route method resp a b calib redis_in redis_out
  for route in read write; do
    method=GET; [ "$route" = write ] && method=POST
    resp=$(curl -s --max-time 10 -D - -o /dev/null -X "$method" -H "Cookie: $cookie" \
      "http://127.0.0.1:$port/$route" | { grep -ai '^set-cookie:' || true; } | wc -c)
    a=$(redis_net); b=$(redis_net); calib="$a $b"
    a=$(redis_net)
    # shellcheck disable=SC2046  # one curl, 100 requests on one keep-alive connection
    curl -s --max-time 30 -X "$method" -H "Cookie: $cookie" \
      $(yes "http://127.0.0.1:$port/$route" | head -n 100) >/dev/null
    b=$(redis_net)
    # shellcheck disable=SC2086  # the counters, split on purpose
    read -r redis_in redis_out <<<"$(python3 -c '
import sys
c0i, c0o, c1i, c1o, ai, ao, bi, bo = map(int, sys.argv[1:])
print(round(((bi - ai) - (c1i - c0i)) / 100), round(((bo - ao) - (c1o - c0o)) / 100))' $calib $a $b)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$route" "${#cookie}" \
      "$(( ${#cookie} + 10 ))" "$resp" "$redis_in" "$redis_out" >>"$BYTES"
  done
}
bytes_rows "sealed cookie, typical" "${PORT[ours]}" "${COOKIE[ours]}"
bytes_rows "sealed cookie + Redis revocations, typical" "${PORT[ours-redis]}" "${COOKIE[ours-redis]}"
bytes_rows "sealed cookie, largest (+$OURS_MAX_EXTRA bytes)" "${PORT[ours]}" "${COOKIE[ours-4k]}"
bytes_rows "actix-session + Redis, typical" "${PORT[server-store]}" "${COOKIE[server-store]}"
bytes_rows "actix-session + Redis, 10 KB" "${PORT[server-store]}" "${COOKIE[server-store-10k]}"

# --- 3. behaviour ----------------------------------------------------------------------------------
: >"$DEMO"
say "== cookie sizes over 20 fresh typical sessions (name=value bytes) =="
for kind in ours server-store; do
  sizes=$(for _ in $(seq 20); do c=$(seed "${PORT[$kind]}"); echo "${#c}"; done | sort -n | uniq -c | awk '{ printf "%s%s x %s", sep, $1, $2; sep = ", " }')
  say "$kind: $sizes"
done
say ""
say "== a 10 KB session (the typical session plus $BIG bytes of text) =="
c=$(seed "${PORT[ours]}")
say "sealed cookie: POST /big?bytes=$BIG -> $(call POST "${PORT[ours]}" "/big?bytes=$BIG" "$c")"
say "  (refused at insert; the session is unchanged. Largest that fits: +$OURS_MAX_EXTRA bytes, a ${#COOKIE[ours-4k]}-byte cookie)"
c=$(seed "${PORT[server-store]}")
say "actix-session + Redis: POST /big?bytes=$BIG -> $(call POST "${PORT[server-store]}" "/big?bytes=$BIG" "$c")"
biggest=0
for key in $("$REDIS_CLI_BIN" -u "$REDIS_URL" --scan --pattern 'sealed-session-bench:session:*'); do
  len=$("$REDIS_CLI_BIN" -u "$REDIS_URL" strlen "$key")
  [ "$len" -gt "$biggest" ] && biggest=$len
done
say "  (stored: largest Redis value now $biggest bytes; the cookie stays ${#COOKIE[server-store]} bytes)"

say ""
say "== logout, then replay of a copied cookie on the same instance =="
for kind in ours ours-redis server-store; do
  c=$(seed "${PORT[$kind]}")
  say "$kind: read -> $(call GET "${PORT[$kind]}" /read "$c"); logout -> $(call POST "${PORT[$kind]}" /logout "$c"); replay copy -> $(call GET "${PORT[$kind]}" /read "$c")"
done
# The throughput servers are done with.
for kind in none ours ours-redis server-store; do stop "${PID[$kind]}"; done

say ""
say "== three instances, no load balancer, no sticky sessions (same keys on each) =="
declare -A IPORT IPID
for kind in ours ours-redis server-store; do
  for i in 1 2 3; do
    IPORT[$kind$i]=$(free_port)
    start "$kind-$i" "$kind" "${IPORT[$kind$i]}"
    IPID[$kind$i]=$STARTED
  done
done
for kind in ours ours-redis server-store; do
  c=$(seed "${IPORT[${kind}1]}")
  say "$kind: session made on 1; read on 2 -> $(call GET "${IPORT[${kind}2]}" /read "$c"); on 3 -> $(call GET "${IPORT[${kind}3]}" /read "$c")"
  say "  logout on 1 -> $(call POST "${IPORT[${kind}1]}" /logout "$c")"
  say "  replay copy at once: on 1 -> $(call GET "${IPORT[${kind}1]}" /read "$c"); on 2 -> $(call GET "${IPORT[${kind}2]}" /read "$c"); on 3 -> $(call GET "${IPORT[${kind}3]}" /read "$c")"
  if [ "$kind" = ours ]; then trials=5 window=1; else trials=30 window=2; fi
  say "  replay.py (logout on 1, copy replayed back to back on 2; $trials trials, ${window} s window):"
  say "    $(python3 benches/http/replay.py "${IPORT[${kind}1]}" "${IPORT[${kind}2]}" "$trials" "$window")"
  if [ "$kind" = ours ]; then say "    (the copy's Max-Age: $(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:${IPORT[ours1]}/seed" | tr -d '\r' | grep -io 'max-age=[0-9]*'), idle timeout 1 h, absolute 24 h)"; fi
done

say ""
say "== server restart (same keys), with one live and one logged-out session =="
# Instance 1 starts afresh first, signing its sessions in as a subject of their own: ours-redis
# holds 32 listed logouts of user-42 by now (the scenarios above), and a subject's 33rd folds
# them into a generation advance (RevocationLimits::per_subject), logging the live session out.
for kind in ours ours-redis server-store; do
  port=${IPORT[${kind}1]}
  stop "${IPID[${kind}1]}"
  start "$kind-1" "$kind" "$port" SIGN_IN=user-43
  IPID[${kind}1]=$STARTED
  live=$(seed "$port"); gone=$(seed "$port")
  call POST "$port" /logout "$gone" >/dev/null
  stop "${IPID[${kind}1]}"
  start "$kind-1" "$kind" "$port" SIGN_IN=user-43
  IPID[${kind}1]=$STARTED
  say "$kind: after restart: live -> $(call GET "$port" /read "$live"); logged out -> $(call GET "$port" /read "$gone")"
  if [ "$kind" = ours ]; then
    stop "${IPID[ours1]}"
    start "ours-1" ours "$port" SESSION_KEYS="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
    IPID[ours1]=$STARTED
    say "  restarted with a new key instead: live -> $(call GET "$port" /read "$live")"
  fi
  if [ "$kind" = server-store ]; then
    stop "${IPID[server-store1]}"
    start "server-store-1" server-store "$port" SERVER_STORE_KEY="$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(64)).decode())')"
    IPID[server-store1]=$STARTED
    say "  restarted with a new cookie key instead: live -> $(call GET "$port" /read "$live")"
  fi
done
for pid in "${IPID[@]}"; do stop "$pid"; done

say ""
say "== Redis outage (a second redis-server of our own, stopped, then started empty) =="
OPORT=$(free_port)
start_outage_redis() {
  "$REDIS_SERVER_BIN" --bind 127.0.0.1 --port "$OPORT" --save '' --appendonly no \
    --dir "$OUTAGE_DIR" --logfile "$OUTAGE_DIR/redis.log" </dev/null &
  OUTAGE_PID=$!
  PIDS+=("$OUTAGE_PID")
  for _ in $(seq 100); do
    [ "$("$REDIS_CLI_BIN" -p "$OPORT" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "outage redis-server did not start" >&2
  exit 1
}
start_outage_redis
OURL="redis://127.0.0.1:$OPORT/"
declare -A OP OC
for kind in ours-redis server-store; do
  OP[$kind]=$(free_port)
  start "outage-$kind" "$kind" "${OP[$kind]}" REDIS_URL="$OURL"
  OC[$kind]=$(seed "${OP[$kind]}")
  say "$kind before: read -> $(call GET "${OP[$kind]}" /read "${OC[$kind]}"); write -> $(call POST "${OP[$kind]}" /write "${OC[$kind]}")"
done
stop "$OUTAGE_PID"
say "-- redis-server stopped --"
p=${OP[ours-redis]}
say "ours-redis during: read -> $(call GET "$p" /read "${OC[ours-redis]}"); write -> $(call POST "$p" /write "${OC[ours-redis]}"); new login -> $(call POST "$p" /seed)"
c=$(seed "$p")
say "  logout of a new session -> $(call POST "$p" /logout "$c"); replay copy -> $(call GET "$p" /read "$c")"
p=${OP[server-store]}
say "server-store during: read -> $(CALL_TIMEOUT=10 call GET "$p" /read "${OC[server-store]}"); write -> $(CALL_TIMEOUT=3 call POST "$p" /write "${OC[server-store]}"); new login -> $(CALL_TIMEOUT=3 call POST "$p" /seed); no cookie -> $(CALL_TIMEOUT=3 call GET "$p" /read)"
say "  (HTTP 000 = no response within curl's --max-time)"
start_outage_redis
sleep 2
say "-- redis-server started again, empty (no persistence); 2 s later --"
say "revocation entries in Redis: $("$REDIS_CLI_BIN" -p "$OPORT" --scan --pattern 'sealed-session-bench:rev:id:*' | wc -l) (the logout made during the outage, written once Redis was back)"
p=${OP[ours-redis]}
say "ours-redis after: read -> $(call GET "$p" /read "${OC[ours-redis]}"); read again -> $(call GET "$p" /read "${OC[ours-redis]}")"
# actix-session's store reconnects on its own schedule: poll, 30 tries of up to 2 s each (about
# 70 s in all with curl's start-up per try).
p=${OP[server-store]}
back=$(date +%s.%N)
answer=""
for _ in $(seq 30); do
  answer=$(CALL_TIMEOUT=2 call GET "$p" /read "${OC[server-store]}")
  case $answer in "HTTP 000"*) answer="" ;; *) break ;; esac
done
waited=$(python3 -c "import time; print(f'{time.time() - $back:.1f}')")
if [ -n "$answer" ]; then
  say "server-store after: first answer to a read with the old cookie ${waited} s after Redis was back: $answer; read again -> $(call GET "$p" /read "${OC[server-store]}")"
else
  say "server-store after: no answer to reads with the old cookie for ${waited} s after Redis was back (2 s per try)"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/versions.txt" >&2

# --- report ----------------------------------------------------------------------------------------
echo
cat "$OUT/versions.txt"
echo
python3 benches/http/report.py "$OUT" "$SVG" \
  "$(date -u '+%Y-%m-%d'), $(nproc) cores shared with other jobs, $ROUNDS rounds x ${DURATION} s, redis-server $("$REDIS_SERVER_BIN" --version | sed 's/.*v=\([^ ]*\).*/\1/')" \
  | tee "$OUT/summary.md"
echo
echo "### Behaviour"
echo
cat "$DEMO"
