#!/usr/bin/env bash
# Run a command with a private, throwaway redis-server on a free loopback port.
#
# Usage: scripts/with-redis.sh <command> [args...]
#
# - Installs Debian's redis-server package if `redis-server` is not on PATH
#   (non-interactive; needs root or passwordless sudo). Package service start-up
#   is suppressed via policy-rc.d where possible; a system-wide redis, if one is
#   running anyway, is never touched.
# - Starts `redis-server` bound to 127.0.0.1 on a free port, no persistence,
#   data dir in a fresh temp dir, and waits (max ~10s) for PING -> PONG.
# - Exports to the command:
#     REDIS_URL=redis://127.0.0.1:<port>/
#     REDIS_PORT=<port>
#     REDIS_SERVER_BIN=<absolute path of redis-server>  (to start extra instances)
#     REDIS_CLI_BIN=<absolute path of redis-cli>
# - Also starts a second, TLS-only redis-server (`--port 0 --tls-port <free port>`) with a
#   throwaway CA and server certificate made by openssl in the temp dir, and exports:
#     REDIS_TLS_URL=rediss://localhost:<port>/   (the certificate names localhost, 127.0.0.1)
#     REDIS_TLS_CA=<path of the CA certificate, PEM>
#     REDIS_TLS_WRONG_CA=<path of another CA's certificate, which did not sign the server's>
# - On exit (normal, INT, TERM) kills exactly the redis PID it started and
#   removes the temp dir. Exits with the command's exit status.
# shellcheck disable=SC2317  # cleanup/on_signal are invoked via trap
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 <command> [args...]" >&2
    exit 2
fi

log() { echo "with-redis: $*" >&2; }

install_redis() {
    local sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo -n)
        else
            log "redis-server not found and not running as root (no sudo); install redis-server first"
            exit 1
        fi
    fi
    local apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    # Prevent the package's init script / systemd unit from starting a
    # system-wide redis: policy-rc.d exit 101 = "action forbidden".
    # Only create (and later remove) it if none exists already.
    local created_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        if "${sudo[@]}" sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'; then
            created_policy=1
        fi
    fi
    log "installing redis-server via apt-get ..."
    local rc=0
    {
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update -q &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -q \
            --no-install-recommends redis-server redis-tools
    } </dev/null >&2 || rc=$?
    if [[ $created_policy -eq 1 ]]; then
        "${sudo[@]}" rm -f /usr/sbin/policy-rc.d || true
    fi
    if [[ $rc -ne 0 ]]; then
        log "apt-get failed (exit $rc)"
        exit "$rc"
    fi
    hash -r
}

# Debian installs redis-server in /usr/bin; be robust if PATH lacks it.
if ! command -v redis-server >/dev/null 2>&1; then
    if [[ -x /usr/bin/redis-server ]]; then
        PATH="/usr/bin:$PATH"
    else
        install_redis
    fi
fi

REDIS_SERVER_BIN="$(command -v redis-server)"
REDIS_CLI_BIN="$(command -v redis-cli || true)"
if [[ -z "$REDIS_SERVER_BIN" ]]; then
    log "redis-server still not found after install"
    exit 1
fi

pick_port() {
    python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

redis_ping() {
    if [[ -n "$REDIS_CLI_BIN" ]]; then
        "$REDIS_CLI_BIN" -h 127.0.0.1 -p "$1" ping 2>/dev/null || true
    else
        # Fallback without redis-cli: raw RESP PING over TCP.
        python3 - "$1" <<'PY' 2>/dev/null || true
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"PING\r\n")
print(s.recv(64).decode().strip().lstrip("+"))
PY
    fi
}

TMPDIR_REDIS="$(mktemp -d "${TMPDIR:-/tmp}/with-redis.XXXXXX")"
REDIS_PID=""
REDIS_TLS_PID=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$REDIS_TLS_PID" ]] && kill -0 "$REDIS_TLS_PID" 2>/dev/null; then
        kill -TERM "$REDIS_TLS_PID" 2>/dev/null || true
        wait "$REDIS_TLS_PID" 2>/dev/null || true
    fi
    if [[ -n "$REDIS_PID" ]] && kill -0 "$REDIS_PID" 2>/dev/null; then
        kill -TERM "$REDIS_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$REDIS_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$REDIS_PID" 2>/dev/null; then
            kill -KILL "$REDIS_PID" 2>/dev/null || true
        fi
        wait "$REDIS_PID" 2>/dev/null || true
    fi
    rm -rf "$TMPDIR_REDIS"
    exit "$status"
}
CMD_PID=""
on_signal() {
    # $1 = exit status to use (128 + signal number).
    if [[ -n "$CMD_PID" ]] && kill -0 "$CMD_PID" 2>/dev/null; then
        kill -TERM "$CMD_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$CMD_PID" 2>/dev/null || break
            sleep 0.1
        done
    fi
    exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

start_redis() {
    local port=$1
    "$REDIS_SERVER_BIN" \
        --bind 127.0.0.1 \
        --port "$port" \
        --save '' \
        --appendonly no \
        --daemonize no \
        --protected-mode yes \
        --dir "$TMPDIR_REDIS" \
        --logfile "$TMPDIR_REDIS/redis.log" \
        </dev/null &
    REDIS_PID=$!
}

# Retry a few times in case the chosen port gets taken between pick and bind.
started=0
for attempt in 1 2 3; do
    PORT="$(pick_port)"
    start_redis "$PORT"
    # Bounded wait: 100 * 0.1s = ~10s.
    for _ in $(seq 1 100); do
        if ! kill -0 "$REDIS_PID" 2>/dev/null; then
            break
        fi
        if [[ "$(redis_ping "$PORT")" == "PONG" ]]; then
            started=1
            break
        fi
        sleep 0.1
    done
    [[ $started -eq 1 ]] && break
    if kill -0 "$REDIS_PID" 2>/dev/null; then
        # Alive but not answering within 10s: give up.
        log "redis-server (pid $REDIS_PID, port $PORT) did not answer PING within 10s; log:"
        cat "$TMPDIR_REDIS/redis.log" >&2 2>/dev/null || true
        exit 1
    fi
    wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=""
    log "redis-server exited during start-up on port $PORT (attempt $attempt); log:"
    cat "$TMPDIR_REDIS/redis.log" >&2 2>/dev/null || true
done
if [[ $started -ne 1 ]]; then
    log "could not start redis-server"
    exit 1
fi

log "redis-server pid $REDIS_PID listening on 127.0.0.1:$PORT"

# The TLS server: a CA, a server certificate it signs (v3, with the names rustls checks), and
# a second CA that signed nothing, for the wrong-CA test.
start_tls_redis() {
    local dir="$TMPDIR_REDIS/tls"
    mkdir -p "$dir"
    (
        cd "$dir"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
            -subj "/CN=sealed-session test CA" 2>/dev/null
        openssl req -x509 -newkey rsa:2048 -nodes -keyout wrong-ca.key -out wrong-ca.crt \
            -days 2 -subj "/CN=sealed-session wrong CA" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
            -subj "/CN=localhost" 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out server.crt -days 2 -extfile server.ext 2>/dev/null
    ) || { log "openssl could not make the test certificates"; exit 1; }
    local port attempt
    for attempt in 1 2 3; do
        port="$(pick_port)"
        "$REDIS_SERVER_BIN" \
            --bind 127.0.0.1 \
            --port 0 \
            --tls-port "$port" \
            --tls-cert-file "$dir/server.crt" \
            --tls-key-file "$dir/server.key" \
            --tls-ca-cert-file "$dir/ca.crt" \
            --tls-auth-clients no \
            --save '' \
            --appendonly no \
            --daemonize no \
            --dir "$dir" \
            --logfile "$dir/redis.log" \
            </dev/null &
        REDIS_TLS_PID=$!
        for _ in $(seq 1 100); do
            kill -0 "$REDIS_TLS_PID" 2>/dev/null || break
            if grep -q "Ready to accept connections" "$dir/redis.log" 2>/dev/null; then
                export REDIS_TLS_URL="rediss://localhost:$port/"
                export REDIS_TLS_CA="$dir/ca.crt"
                export REDIS_TLS_WRONG_CA="$dir/wrong-ca.crt"
                log "TLS redis-server pid $REDIS_TLS_PID listening on 127.0.0.1:$port"
                return 0
            fi
            sleep 0.1
        done
        kill -TERM "$REDIS_TLS_PID" 2>/dev/null || true
        wait "$REDIS_TLS_PID" 2>/dev/null || true
        REDIS_TLS_PID=""
        log "TLS redis-server did not start on port $port (attempt $attempt); log:"
        cat "$dir/redis.log" >&2 2>/dev/null || true
    done
    log "could not start the TLS redis-server (does this redis-server support TLS?)"
    exit 1
}
start_tls_redis

export REDIS_URL="redis://127.0.0.1:$PORT/"
export REDIS_PORT="$PORT"
export REDIS_SERVER_BIN
export REDIS_CLI_BIN

# Run the command as a child (not exec) so the trap can clean up afterwards.
# It runs asynchronously + `wait` so INT/TERM sent to this script are handled
# immediately (and forwarded) instead of after the command finishes; stdin is
# passed through explicitly (async commands would otherwise get /dev/null).
set +e
"$@" <&0 &
CMD_PID=$!
wait "$CMD_PID"
cmd_status=$?
set -e
exit "$cmd_status"
