# Sourced by the benchmark scripts, after benches/local_endpoint.sh: the official helper (Go) as
# an optional contender.
#
# OFFICIAL_HELPER=/path/to/aws_signing_helper names a build of AWS's helper
# (aws/rolesanywhere-credential-helper); unset, the scripts say so in one line and measure
# without it. Sets `official` (the binary, or empty). Go reads trust roots from SSL_CERT_FILE,
# which is set to the endpoint's CA (releases before 1.2 ignore AWS_CA_BUNDLE; this helper and
# the yardstick verify with AWS_CA_BUNDLE and never read the system roots then).
# `official_identity DIR` prints its identity flags for DIR: the leaf and its chain as two
# files, which every release reads (older ones take no chain from --certificate).
official=${OFFICIAL_HELPER:-}
if [ -n "$official" ]; then
    [ -x "$official" ] || { echo "OFFICIAL_HELPER=$official is not an executable" >&2; exit 1; }
    echo "official helper: $official (version $("$official" version 2>/dev/null | head -n1))"
    export SSL_CERT_FILE="$work/ca.pem"
else
    echo "official helper: not measured (set OFFICIAL_HELPER=/path/to/aws_signing_helper to add it)"
fi
official_identity() {
    echo "--certificate $1/cert.pem --intermediates $1/chain.pem"
}
