#!/usr/bin/env bash
# Ensure PostgreSQL server binaries (initdb, pg_ctl, postgres, pg_isready) are available.
# Looks in PATH, then /usr/lib/postgresql/*/bin (highest version); if missing, installs
# Debian's `postgresql` package with apt-get.
# Usage: deploy/local/install-postgres.sh
# Prints the absolute bin directory as the last line of stdout.
set -euo pipefail

die() { echo "install-postgres: error: $*" >&2; exit 1; }

needed=(initdb pg_ctl postgres pg_isready)

complete_dir() { # <dir>: true if all needed binaries are executable there
    local d=$1 b
    for b in "${needed[@]}"; do [[ -x "$d/$b" ]] || return 1; done
}

find_bin_dir() {
    local p d
    # 1. PATH: use the real directory of pg_ctl (Debian-style symlinks resolve to
    #    /usr/lib/postgresql/N/bin, which also holds initdb, postgres, pg_isready).
    if p=$(command -v pg_ctl 2>/dev/null) && command -v initdb >/dev/null 2>&1 \
            && command -v postgres >/dev/null 2>&1; then
        d=$(dirname "$(readlink -f "$p")")
        if complete_dir "$d"; then echo "$d"; return 0; fi
    fi
    # 2. /usr/lib/postgresql/<version>/bin, highest version first.
    local v
    for v in $(ls -1 /usr/lib/postgresql 2>/dev/null | sort -rV); do
        d="/usr/lib/postgresql/$v/bin"
        if complete_dir "$d"; then echo "$d"; return 0; fi
    done
    return 1
}

if dir=$(find_bin_dir); then
    echo "$dir"
    exit 0
fi

[[ $(id -u) -eq 0 ]] || die "PostgreSQL server binaries not found and not root: install the 'postgresql' package"
command -v apt-get >/dev/null 2>&1 || die "PostgreSQL server binaries not found and apt-get is unavailable"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; } >"$log" 2>&1; then
    cat "$log" >&2
    die "apt-get install postgresql failed"
fi

dir=$(find_bin_dir) || die "postgresql was installed but initdb/pg_ctl/postgres/pg_isready are still not found"
echo "$dir"
