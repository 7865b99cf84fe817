#!/usr/bin/env bash
# Load benchmark for `serve`: credential requests per second from many concurrent clients on
# loopback (wrk, Debian package), for the IMDSv2 credentials document and the container
# credentials endpoint. Not a test: figures go into docs/benchmarks.md.
#
# Contenders are measured in interleaved rounds (load that comes and goes on a shared machine
# hits them alike); each serves the same identity from the same endpoint, one at a time.
#
#   benches/serve_load.sh                 # this release build: 3 rounds, 10 s per endpoint, 64 connections
#   DURATION=30s CONNECTIONS=256 ROUNDS=5 benches/serve_load.sh
#   CONTENDERS="before=/tmp/aws_signing_helper.old after=target/release/aws_signing_helper" benches/serve_load.sh
#   OFFICIAL_HELPER=/path/to/official/aws_signing_helper benches/serve_load.sh   # adds it as "official"
#   PIN=1 benches/serve_load.sh           # servers on CPU 1, wrk on CPU 0: the rate the server
#                                         # sustains when the load generator has a core of its own
# Each contender's peak resident memory (VmHWM) is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-3}
CONTENDERS=${CONTENDERS:-this=target/release/aws_signing_helper}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
# PIN=1: each on a core of its own (Go's runtime then runs on the one CPU it is given, as ours does).
on_server=() on_client=()
if [ "${PIN:-0}" = 1 ]; then on_server=(taskset -c 1) on_client=(taskset -c 0); fi
cargo build --release --bins -q

. benches/local_endpoint.sh
. benches/official.sh
[ -z "$official" ] || CONTENDERS="$CONTENDERS official=$official"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

declare -A base token pid
names=()
for contender in $CONTENDERS; do
    name=${contender%%=*} binary=${contender#*=}
    port=$(free_port)
    identity="--certificate testdata/pki/ec-p256/fullchain.pem"
    [ "$name" != official ] || identity=$(official_identity testdata/pki/ec-p256)
    # shellcheck disable=SC2086 # $identity is flags
    AWS_CA_BUNDLE="$work/ca.pem" AWS_CONTAINER_AUTHORIZATION_TOKEN=bench-token \
        "${on_server[@]}" "$binary" serve --port "$port" \
        $identity --private-key testdata/pki/ec-p256/key-pkcs8.pem \
        --trust-anchor-arn "$ta" --profile-arn "$profile" --role-arn "$role" \
        --endpoint "https://127.0.0.1:$endpoint_port" 2>/dev/null &
    cleanup_pids+=($!)
    pid[$name]=$!
    base[$name]=http://127.0.0.1:$port
    for _ in $(seq 200); do curl -sf -X PUT "${base[$name]}/latest/api/token" -o /dev/null && break; sleep 0.05; done
    token[$name]=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "${base[$name]}/latest/api/token")
    names+=("$name")
done
role_name=${role##*/}

# CPU time (user + system) process $1 has used, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# One wrk run against process $1: requests per second, mean latency, the server's CPU time per
# request (steadier than the rate on a shared machine), and non-2xx answers (which must be none).
measure() {
    local server=$1 before out
    shift
    before=$(cpu_ticks "$server")
    out=$("${on_client[@]}" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "$@")
    awk -v ticks="$(($(cpu_ticks "$server") - before))" -v hz="$(getconf CLK_TCK)" '
         / requests in / {n=$1} /Requests\/sec/ {rps=$2} /^    Latency/ {lat=$2} /Non-2xx/ {bad=$NF}
         END {printf "%8.0f req/s  %8s mean latency  %5.2f us CPU/request%s", rps, lat,
              ticks / hz * 1e6 / n, (bad ? "  NON-2XX: " bad : "")}' <<<"$out"
}

if [ "${PIN:-0}" = 1 ]; then where="servers on CPU 1, wrk on CPU 0"; else where="on $(nproc) cores (wrk shares them)"; fi
echo "serve, $CONNECTIONS connections, $DURATION per run, $ROUNDS rounds, $where:"
for round in $(seq "$ROUNDS"); do
    for name in "${names[@]}"; do
        b=${base[$name]}
        echo "round $round  $name  imds       $(measure "${pid[$name]}" \
            -H "X-aws-ec2-metadata-token: ${token[$name]}" \
            "$b/latest/meta-data/iam/security-credentials/$role_name")"
        # The official helper serves IMDSv2 only.
        if curl -sf -o /dev/null -H "Authorization: bench-token" "$b/creds"; then
            echo "round $round  $name  container  $(measure "${pid[$name]}" \
                -H "Authorization: bench-token" "$b/creds")"
        else
            echo "round $round  $name  container  (not served by this contender)"
        fi
    done
done
# Peak resident memory (VmHWM) over the whole run, and resident memory now.
for name in "${names[@]}"; do
    awk -v name="$name" '/^VmHWM/ {peak=$2} /^VmRSS/ {now=$2}
         END {printf "%-10s peak resident memory %6.1f MiB, now %6.1f MiB\n", name, peak / 1024, now / 1024}' \
        "/proc/${pid[$name]}/status"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
