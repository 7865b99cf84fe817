#!/usr/bin/env bash
# Writes link/startup-order.ld, the list of functions a cold `credential-process` runs, which
# build.rs hands to the linker so that they sit together at the start of the code: starting then
# touches a few dozen pages of code rather than pages spread over all 5 MB of it (page faults
# are, after the TLS handshake, the largest cost of a cold start; docs/benchmarks.md).
#
# The functions are those callgrind sees run in the profiling build (the dist build with
# symbols), for each kind of key and for the cache and the system trust roots, against
# rolesanywhere-local. Each is written as a pattern without the hash that ends a Rust symbol's
# name, so the list stays true across builds, profiles and compilers while the code's names
# stay; a function no longer there matches nothing, one not yet listed is simply placed after
# the others. Run it again after large changes to the command's path, and commit the result.
#
#   benches/startup_order.sh        # needs valgrind (Debian package)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "install valgrind (apt-get install valgrind)" >&2; exit 1; }
PROFILE=profiling
# Linked without the list (build.rs): valgrind names no function outside `.text`.
LINK_STARTUP_ORDER=0 cargo build --profile profiling --bins -q
. benches/local_endpoint.sh
bin=target/profiling/aws_signing_helper
request="--trust-anchor-arn $ta --profile-arn $profile --role-arn $role --endpoint https://localhost:$endpoint_port"
trace() {  # name, then the command line's arguments
    local name=$1
    shift
    valgrind --tool=callgrind --demangle=no --compress-strings=no \
        --callgrind-out-file="$work/callgrind.$name" "$bin" "$@" > /dev/null 2>&1 ||
        { echo "$name: the traced run failed" >&2; exit 1; }
}
for kind in ec-p256 rsa-2048; do
    dir=testdata/pki/$kind
    AWS_CA_BUNDLE="$work/ca.pem" trace "$kind" credential-process --certificate "$dir/fullchain.pem" \
        --private-key "$dir/key-pkcs8.pem" $request
done
dir=testdata/mldsa/mldsa65
AWS_CA_BUNDLE="$work/ca.pem" trace mldsa65 credential-process --certificate "$dir/fullchain.pem" \
    --private-key "$dir/key-seed.pem" $request
# Without AWS_CA_BUNDLE, as against AWS: the system's trust roots (here the endpoint's CA as the
# system bundle).
dir=testdata/pki/ec-p256
SSL_CERT_FILE="$work/ca.pem" trace roots credential-process --certificate "$dir/fullchain.pem" \
    --private-key "$dir/key-pkcs8.pem" $request
# A cache hit (the first call fills the cache).
for name in cache-fill cache-hit; do
    AWS_CA_BUNDLE="$work/ca.pem" trace "$name" credential-process --certificate "$dir/fullchain.pem" \
        --private-key "$dir/key-pkcs8.pem" $request --cache-dir "$work/cache"
done

python3 - "$work"/callgrind.* > link/startup-order.ld <<'PY'
import re, sys
functions = []
for path in sys.argv[1:]:
    obj = None
    for line in open(path, encoding="utf-8", errors="replace"):
        if line.startswith("ob="):
            obj = line[3:].strip()
        match = re.match(r"fn=(?:\(\d+\) )?([A-Za-z0-9_.$]+)$", line.rstrip("\n"))
        if match and obj and obj.endswith("/aws_signing_helper") and not match.group(1).startswith("0x"):
            functions.append(match.group(1))
patterns = []
for name in functions:
    # A Rust (legacy-mangled) name ends in 17h, 16 hex digits of hash, and E.
    rust = re.fullmatch(r"(_ZN.*17h)[0-9a-f]{16}E", name)
    pattern = rust.group(1) + "*" if rust else name
    if pattern not in patterns:
        patterns.append(pattern)
print("/* The functions a cold `credential-process` runs, placed first in the code.")
print("   Written by benches/startup_order.sh; read by build.rs. */")
print("SECTIONS {")
print("  .text.startup_order : {")
for pattern in sorted(patterns):
    print(f"    *(.text.{pattern} .text.unlikely.{pattern})")
print("  }")
print("}")
print("INSERT BEFORE .text;")
PY
count=$(grep -c '^    \*(' link/startup-order.ld)
# A few hundred, unless the traces missed the binary's names (a build with the list in it).
[ "$count" -ge 300 ] || { echo "only $count functions traced: is $bin linked with the list?" >&2; exit 1; }
echo "link/startup-order.ld: $count functions"
