#!/usr/bin/env bash
# Portable Linux binaries whose only runtime requirement is glibc 2.17 or later (RHEL/CentOS 7,
# Amazon Linux 2, Ubuntu 14.04 and everything since), for x86_64 and aarch64, built with
# cargo-zigbuild (zig from PyPI's ziglang links against glibc 2.17's symbols), then checked:
# the highest GLIBC_ symbol version `objdump -T` finds must be 2.17 at most.
#
#   packaging/build-portable.sh                                  # both targets
#   packaging/build-portable.sh x86_64-unknown-linux-gnu         # one
#
# Out: target/portable/aws_signing_helper-VERSION-ARCH-linux-gnu.tar.gz holding both binaries,
# the man pages, the completions, the systemd units, README, the guides (docs/) and LICENSE. The
# binaries are built with the dist profile (fat LTO) and default features: the PKCS#11 backend
# loads modules at run time, so it is in; the TPM backend links libtss2, which these binaries
# cannot assume, so it is out (the packages have it).
set -euo pipefail
cd "$(dirname "$0")/.."

GLIBC=2.17
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)

. packaging/tools.sh

installed=$(rustup target list --installed)
for target in "${targets[@]}"; do
    if ! grep -qx "$target" <<<"$installed"; then
        rustup target add "$target" || {
            echo "cannot add the Rust target $target (rustup target add needs its download server)" >&2
            exit 1
        }
    fi
done

version=$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "aws_signing_helper"))')
assets=target/portable/assets
rm -rf "$assets"
cargo xtask assets "$assets" > /dev/null

for target in "${targets[@]}"; do
    cargo zigbuild --profile dist --target "$target.$GLIBC" \
        -p aws_signing_helper -p rolesanywhere-local --bins
    out=target/$target/dist
    for bin in aws_signing_helper rolesanywhere-local; do
        highest=$(objdump -T "$out/$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -Vu | tail -1)
        if [ "$(printf '%s\n%s\n' "$highest" "$GLIBC" | sort -V | tail -1)" != "$GLIBC" ]; then
            echo "$out/$bin needs GLIBC_$highest, above $GLIBC" >&2
            exit 1
        fi
        echo "$target $bin: highest GLIBC symbol version $highest, $(stat -c %s "$out/$bin") bytes"
    done
    name=aws_signing_helper-$version-${target%%-unknown-linux-gnu}-linux-gnu
    dir=target/portable/$name
    rm -rf "$dir"
    mkdir -p "$dir/systemd" "$dir/docs"
    cp "$out/aws_signing_helper" "$out/rolesanywhere-local" README.md LICENSE "$dir/"
    cp docs/*.md "$dir/docs/"
    cp -r "$assets/man" "$assets/completions" "$dir/"
    cp packaging/systemd/* "$dir/systemd/"
    tar -C target/portable -czf "target/portable/$name.tar.gz" "$name"
    echo "target/portable/$name.tar.gz"
done
