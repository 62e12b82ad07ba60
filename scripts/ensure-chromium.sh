#!/usr/bin/env bash
# Ensure Debian's chromium + chromium-driver are installed (for browser/WebDriver tests).
# Usage: scripts/ensure-chromium.sh
# Non-interactive; must run as root (or with sudo available) when installation is needed.
set -euo pipefail

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    echo "ensure-chromium: already installed: $(/usr/bin/chromium --version 2>/dev/null || echo '?'); $(/usr/bin/chromedriver --version 2>/dev/null || echo '?')" >&2
    exit 0
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n)
    else
        echo "ensure-chromium: chromium/chromedriver missing and not running as root (no sudo)" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

echo "ensure-chromium: installing chromium chromium-driver via apt-get ..." >&2
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" update -q </dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends \
    chromium chromium-driver </dev/null

for bin in /usr/bin/chromium /usr/bin/chromedriver; do
    if [[ ! -x "$bin" ]]; then
        echo "ensure-chromium: $bin still missing after install" >&2
        exit 1
    fi
done
echo "ensure-chromium: $(/usr/bin/chromium --version); $(/usr/bin/chromedriver --version)" >&2
