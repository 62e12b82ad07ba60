#!/usr/bin/env bash
# Does SIGSTOP on a replica hold replication back? (It does not; the failover test in
# tests/tests/redis/replicas.rs holds it back with a proxy instead.) A primary and a replica on
# free loopback ports, no persistence, in a temp dir; the replica is stopped (SIGSTOP), N keys
# are written to the primary, the primary is killed (SIGKILL) and the replica continued
# (SIGCONT): how many of the N keys does it hold? Both servers are this script's own children,
# killed by PID at the end.
#
#   scripts/with-redis.sh scripts/measure-sigstop-replication.sh
#   N=100 scripts/measure-sigstop-replication.sh
set -euo pipefail

N="${N:-20}"
SERVER="${REDIS_SERVER_BIN:-redis-server}"
CLI="${REDIS_CLI_BIN:-redis-cli}"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/sigstop-replication.XXXXXX")"
PRIMARY_PID=""
REPLICA_PID=""

cleanup() {
    for pid in "$REPLICA_PID" "$PRIMARY_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill -CONT "$pid" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$DIR"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() { # <what> <command...>: up to 10 s
    local what=$1
    shift
    for _ in $(seq 1 100); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "not within 10 s: $what" >&2
    exit 1
}

PRIMARY_PORT="$(free_port)"
REPLICA_PORT="$(free_port)"
common=(--bind 127.0.0.1 --save '' --appendonly no --dir "$DIR")
"$SERVER" "${common[@]}" --port "$PRIMARY_PORT" --repl-diskless-sync-delay 0 \
    --logfile "$DIR/primary.log" </dev/null &
PRIMARY_PID=$!
wait_for "the primary answers" "$CLI" -p "$PRIMARY_PORT" ping
"$SERVER" "${common[@]}" --port "$REPLICA_PORT" --replicaof 127.0.0.1 "$PRIMARY_PORT" \
    --logfile "$DIR/replica.log" </dev/null &
REPLICA_PID=$!
wait_for "the replica is in sync" bash -c \
    "'$CLI' -p '$REPLICA_PORT' info replication | grep -q master_link_status:up"

kill -STOP "$REPLICA_PID"
# One connection for the writes and the WAIT: WAIT counts acknowledgements of its own writes.
{
    for i in $(seq 1 "$N"); do echo "SET k$i v"; done
    echo "WAIT 1 200"
} | "$CLI" -p "$PRIMARY_PORT" | tail -1 | sed 's/^/WAIT 1 200 on the writing connection, replica stopped: /'
kill -KILL "$PRIMARY_PID"
{ wait "$PRIMARY_PID"; } 2>/dev/null || true
PRIMARY_PID=""
kill -CONT "$REPLICA_PID"
sleep 0.5
echo "the replica, continued after the primary was killed, holds $("$CLI" -p "$REPLICA_PORT" dbsize) of the $N keys written while it was stopped"
