# Sourced by scripts/measure-*.sh: builds the release login example and starts/stops it on a
# free loopback port. Defines start_server (sets SERVER_PID, SERVER_PORT) and stop_server; the
# caller traps EXIT to stop_server.

# The release profile of the target directory cargo builds into (shared between worktrees when
# CARGO_TARGET_DIR is set).
LOGIN_BIN=${CARGO_TARGET_DIR:-target}/release/examples/login

build_login() {
  cargo build --release --quiet -p sealed-session-examples --example login
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

SERVER_PID=
SERVER_PORT=
# One key for the whole script run; never printed.
SESSION_KEYS=${SESSION_KEYS:-$(openssl rand -base64 32)}
export SESSION_KEYS

start_server() {
  local log=$1
  SERVER_PORT=$(free_port)
  # COOKIE_SECURE=false: the cookie is then named `id`, the name session_load.py sends by
  # default. RUST_LOG=warn: no line per request.
  RUST_LOG=warn PORT=$SERVER_PORT COOKIE_SECURE=false "$LOGIN_BIN" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    if curl -sf -o /dev/null "http://127.0.0.1:$SERVER_PORT/whoami"; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; echo "server exited" >&2; return 1; }
    sleep 0.1
  done
  echo "server did not answer on port $SERVER_PORT" >&2
  return 1
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    # actix-web shuts down gracefully; don't wait past 5 s.
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
