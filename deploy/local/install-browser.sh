#!/usr/bin/env bash
# Ensures what the browser tests drive: Debian's Chromium (installed with apt-get if missing)
# and, in tests/browser/, the npm packages its lock file pins (playwright-core, axe-core),
# installed with `npm ci` when missing or when the lock changed. Only `make test` needs these:
# `make run` serves the web app from the binary alone.
# Usage: deploy/local/install-browser.sh
# Prints the Chromium executable as the last line of stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)

die() { echo "install-browser: error: $*" >&2; exit 1; }

chromium=$(command -v chromium || true)
if [[ -z $chromium ]]; then
    [[ $(id -u) -eq 0 ]] || die "chromium not found and not root: install Debian's 'chromium' package"
    command -v apt-get >/dev/null 2>&1 || die "chromium not found and apt-get is unavailable"
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    if ! { apt-get update -qq \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
        cat "$log" >&2
        die "apt-get install chromium failed"
    fi
    chromium=$(command -v chromium) || die "chromium was installed but is not on PATH"
fi

command -v npm >/dev/null 2>&1 || die "npm not found: the browser tests need Node.js 20 or later"
cd "$root/tests/browser"
# npm ci starts from the lock every time: skip it while the tree was installed from this lock.
if ! cmp -s package-lock.json node_modules/.installed-from-lock 2>/dev/null; then
    npm ci --no-audit --no-fund --loglevel=error >&2 || die "npm ci failed in tests/browser"
    cp package-lock.json node_modules/.installed-from-lock
fi
echo "$chromium"
