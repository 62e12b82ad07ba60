#!/usr/bin/env bash
# A slow Redis must slow the logouts that wait for it, never the reads (issue 18, invariant 8 of
# docs/security.md). For each stack (the example app on actix-web, `examples/login.rs`, and on
# axum, `examples/axum_login.rs`), against a redis-server of its own behind a proxy that delays
# every reply (benches/http/delay_proxy.py), three conditions alternate within each round:
#   healthy  - no delay, RATE paced logouts a second
#   slow     - replies delayed DELAY_MS, RATE logouts a second
#   storm    - replies delayed DELAY_MS, STORM logouts a second
# Reads: wrk on `GET /whoami` with a signed-in cookie for DURATION seconds; logouts: a pacer
# (benches/http/logout_pacer.py) that logs a fresh user in and out, on threads of its own. The app
# runs pinned to CPU 0 (so one actix worker, one tokio worker); wrk, the pacer, the proxy and
# Redis on CPU 1. Loopback only; everything this script starts is stopped by PID at exit.
#
# The report gives, per stack and condition, the medians of reads/s and read p99 and their
# ratios against the same run's healthy median, and the logouts' statuses and latency.
#
#   benches/http/slow-redis.sh                    # 3 rounds x 3 conditions x 8 s, both stacks
#   STACKS=axum ROUNDS=5 DELAY_MS=300 benches/http/slow-redis.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
DELAY_MS=${DELAY_MS:-200}
RATE=${RATE:-4}
STORM=${STORM:-20}
CONNECTIONS=${CONNECTIONS:-16}
read -ra STACK_LIST <<<"${STACKS:-actix axum}"
OUT=${OUT:-target/slow-redis}
TARGET=${CARGO_TARGET_DIR:-target}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd) # absolute: redis-server changes into its --dir before opening its log
rm -f "$OUT"/*.json "$OUT"/*.txt "$OUT"/*.wrk "$OUT"/*.pacer

for tool in wrk redis-server; do
  if ! command -v "$tool" >/dev/null; then
    pkg=$tool; [ "$tool" = redis-server ] && pkg=redis-server
    echo "installing $pkg (Debian package)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" </dev/null >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" </dev/null >/dev/null; }
  fi
done
cargo build --release --quiet -p sealed-session-examples --example login --example axum_login

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

REDIS_PORT=$(free_port)
taskset -c 1 redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
  --dir "$OUT" --logfile "$OUT/redis.log" &
PIDS+=($!)
CONTROL=$OUT/delay_ms
echo 0 >"$CONTROL"
PROXY_PORT=$(free_port)
taskset -c 1 python3 benches/http/delay_proxy.py "$PROXY_PORT" "$REDIS_PORT" "$CONTROL" &
PIDS+=($!)
# Redis answers, through the proxy too, before anything starts.
for _ in $(seq 100); do
  python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),1); s.sendall(b"PING\r\n"); sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)' "$PROXY_PORT" 2>/dev/null && break
  sleep 0.1
done

SESSION_KEYS=$(openssl rand -base64 32)
export SESSION_KEYS

# Runs one condition: wrk and the pacer together; writes $OUT/<stack>-<condition>-<round>.json.
measure() {
  local stack=$1 port=$2 cookie=$3 condition=$4 round=$5 delay rate
  case "$condition" in
    healthy) delay=0; rate=$RATE ;;
    slow) delay=$DELAY_MS; rate=$RATE ;;
    storm) delay=$DELAY_MS; rate=$STORM ;;
  esac
  echo "$delay" >"$CONTROL"
  sleep 0.3
  local base="$OUT/$stack-$condition-$round"
  taskset -c 1 python3 benches/http/logout_pacer.py "http://127.0.0.1:$port" "$rate" "$DURATION" \
    >"$base.pacer" &
  local pacer=$!
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Cookie: $cookie" \
    "http://127.0.0.1:$port/whoami" >"$base.wrk"
  wait "$pacer"
  python3 - "$base" "$stack" "$condition" "$round" <<'PY'
import json, re, sys
base, stack, condition, round_ = sys.argv[1:]
wrk = open(base + ".wrk").read()
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", wrk, re.M).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)
pacer = json.loads(open(base + ".pacer").read())
json.dump({"stack": stack, "condition": condition, "round": int(round_), "reads_per_s": rps,
           "read_p99_ms": p99, "read_errors": int(non2xx.group(1)) if non2xx else 0,
           **pacer}, open(base + ".json", "w"))
PY
}

CONDITIONS=(healthy slow storm)
for stack in "${STACK_LIST[@]}"; do
  case "$stack" in
    actix) bin=$TARGET/release/examples/login ;;
    axum) bin=$TARGET/release/examples/axum_login ;;
    *) echo "STACKS holds actix and/or axum, got \`$stack\`" >&2; exit 2 ;;
  esac
  port=$(free_port)
  RUST_LOG=warn PORT=$port COOKIE_SECURE=false REDIS_URL="redis://127.0.0.1:$PROXY_PORT/" \
    taskset -c 0 "$bin" >"$OUT/$stack.log" 2>&1 &
  app=$!
  PIDS+=("$app")
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/whoami" && break
    kill -0 "$app" 2>/dev/null || { cat "$OUT/$stack.log" >&2; exit 1; }
    sleep 0.1
  done
  cookie=$(curl -s -i -X POST -d user=reader "http://127.0.0.1:$port/login" \
    | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | paste -sd ';' | sed 's/;/; /g')
  [ -n "$cookie" ] || { echo "$stack: login set no cookie" >&2; exit 1; }
  # A logout must be confirmed while Redis is healthy, or the run measures nothing.
  echo 0 >"$CONTROL"
  probe=$(python3 benches/http/logout_pacer.py "http://127.0.0.1:$port" 2 1)
  case "$probe" in
    *'"200": 2'*) ;;
    *) echo "$stack: logouts are not confirmed with Redis healthy: $probe" >&2
       tail -5 "$OUT/$stack.log" >&2; exit 1 ;;
  esac
  for round in $(seq "$ROUNDS"); do
    # Rotate the order, so drift over the run spreads over every condition.
    for i in 0 1 2; do
      condition=${CONDITIONS[$(((i + round) % 3))]}
      echo "== $stack round $round: $condition" >&2
      measure "$stack" "$port" "$cookie" "$condition" "$round"
    done
  done
  kill "$app"; wait "$app" 2>/dev/null || true
done

python3 - "$OUT" "$DELAY_MS" "$RATE" "$STORM" <<'PY' | tee "$OUT/report.txt"
import glob, json, statistics, sys
out, delay, rate, storm = sys.argv[1:]
runs = [json.load(open(p)) for p in sorted(glob.glob(out + "/*.json"))]
print(f"slow Redis: replies delayed {delay} ms; logouts {rate}/s (healthy, slow), {storm}/s (storm)")
print(f"{'stack':6} {'condition':8} {'reads/s':>9} {'x healthy':>9} {'read p99':>9} {'x healthy':>9}"
      f" {'logouts':>8} {'statuses':>22} {'logout p50/p99 ms':>18}")
for stack in sorted({r["stack"] for r in runs}):
    base = {}
    for condition in ("healthy", "slow", "storm"):
        rs = [r for r in runs if r["stack"] == stack and r["condition"] == condition]
        if not rs:
            continue
        rps = statistics.median(r["reads_per_s"] for r in rs)
        p99 = statistics.median(r["read_p99_ms"] for r in rs)
        base.setdefault("rps", rps); base.setdefault("p99", p99)
        statuses = {}
        for r in rs:
            for k, v in r["statuses"].items():
                statuses[k] = statuses.get(k, 0) + v
        lp50 = statistics.median(r["p50_ms"] or 0 for r in rs)
        lp99 = statistics.median(r["p99_ms"] or 0 for r in rs)
        errors = sum(r["read_errors"] for r in rs)
        print(f"{stack:6} {condition:8} {rps:9.0f} {rps / base['rps']:9.2f} {p99:8.2f}ms"
              f" {p99 / base['p99']:9.2f} {sum(r['logouts'] for r in rs):8}"
              f" {json.dumps(statuses, sort_keys=True):>22} {lp50:8.1f}/{lp99:<8.1f}"
              + (f" read errors: {errors}" if errors else ""))
PY
