#!/usr/bin/env bash
# Runs every test of the workspace, on a fresh machine too: installs what the tests need
# (Debian's redis-server; Chromium for the browser test), starts a private redis-server on a
# free loopback port for the duration of the run, and stops it afterwards.
#
#   scripts/test.sh            # all tests
#   scripts/test.sh -p sealed-session   # extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-chromium.sh
exec scripts/with-redis.sh cargo test --workspace --locked "$@"
