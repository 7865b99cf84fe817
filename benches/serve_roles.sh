#!/usr/bin/env bash
# What `serve --config` costs: resident memory of one process serving 1, 10 and 100 roles,
# against that of single-role `serve` instances, one per role; and container-credential
# requests per second spread over 10 roles (wrk, benches/serve_roles.lua), next to one
# single-role instance's, in interleaved rounds. Against rolesanywhere-local on loopback, with
# the release build. Not a test: figures go into docs/benchmarks.md.
#
#   benches/serve_roles.sh
#   COUNTS="1 10 100 500" SINGLES=100 ROUNDS=5 DURATION=10s CONNECTIONS=64 benches/serve_roles.sh
#
# Each role of the multi-role runs has a Roles Anywhere session of its own (its own
# session-duration), so nothing is shared but the opened key: the costly case. The "shared"
# rows give every role the same session (one CreateSession), as roles that differ only in
# their tokens or role chains would.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=${COUNTS:-"1 10 100"}
SINGLES=${SINGLES:-100}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
BINARY=${BINARY:-target/release/aws_signing_helper}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release --bins -q

. benches/local_endpoint.sh
export AWS_CA_BUNDLE="$work/ca.pem"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
healthy() {
    for _ in $(seq 1200); do curl -sf -o /dev/null "$1/healthz" && return 0; sleep 0.1; done
    echo "never healthy: $1" >&2
    exit 1
}
identity=(--certificate "$PWD/testdata/pki/ec-p256/fullchain.pem"
    --private-key "$PWD/testdata/pki/ec-p256/key-pkcs8.pem"
    --trust-anchor-arn "$ta" --profile-arn "$profile" --role-arn "$role"
    --endpoint "https://127.0.0.1:$endpoint_port")

# serve --config with $1 roles on port $2; $3 = shared: every role in one session.
config() {
    cat <<TOML
certificate = "$PWD/testdata/pki/ec-p256/fullchain.pem"
private-key = "$PWD/testdata/pki/ec-p256/key-pkcs8.pem"
trust-anchor-arn = "$ta"
profile-arn = "$profile"
role-arn = "$role"
endpoint = "https://127.0.0.1:$endpoint_port"
port = $2
log-level = "warn"
TOML
    for i in $(seq "$1"); do
        printf '\n[roles.r%d]\ntoken = "bench-token-%04d"\n' "$i" "$i"
        [ "${3:-}" = shared ] || printf 'session-duration = %d\n' $((900 + i))
    done
}

# Starts serve --config with $1 roles ($2 = shared: in one session); sets multi_pid, multi_url.
start_multi() {
    local port file
    port=$(free_port)
    file="$work/serve-$1-${2:-own}.toml"
    config "$1" "$port" "${2:-}" > "$file"
    "$BINARY" serve --config "$file" 2>/dev/null &
    multi_pid=$!
    cleanup_pids+=("$multi_pid")
    multi_url=http://127.0.0.1:$port
    healthy "$multi_url"
}

echo "memory (VmRSS once every role holds credentials), $(nproc) cores:"
for count in $COUNTS; do
    for sharing in own shared; do
        start_multi "$count" "$sharing"
        sleep 1
        echo "  serve --config, $count roles ($sharing sessions): $(mib "$(rss_kib "$multi_pid")")"
        kill "$multi_pid"
    done
done
pids=()
for _ in $(seq "$SINGLES"); do
    port=$(free_port)
    AWS_CONTAINER_AUTHORIZATION_TOKEN=bench-token "$BINARY" serve --port "$port" "${identity[@]}" \
        2>/dev/null &
    pids+=($!)
    cleanup_pids+=($!)
    healthy "http://127.0.0.1:$port"
done
sleep 1
total=0
for pid in "${pids[@]}"; do total=$((total + $(rss_kib "$pid"))); done
echo "  $SINGLES single-role instances: $(mib "$total") in all, $(mib $((total / SINGLES))) each"
kill "${pids[@]}"

measure() {
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "$@" |
        awk '/Requests\/sec/ {rps=$2} /^    Latency/ {lat=$2} /Non-2xx/ {bad=$NF}
             END {printf "%8.0f req/s  %8s mean latency%s", rps, lat, (bad ? "  NON-2XX: " bad : "")}'
}
start_multi 10
multi=$multi_url
port=$(free_port)
AWS_CONTAINER_AUTHORIZATION_TOKEN=bench-token "$BINARY" serve --port "$port" "${identity[@]}" \
    2>/dev/null &
cleanup_pids+=($!)
single=http://127.0.0.1:$port
healthy "$single"
echo "container credentials, $CONNECTIONS connections, $DURATION per run (wrk shares the cores):"
for round in $(seq "$ROUNDS"); do
    echo "  round $round  10 roles, round robin  $(ROLES=10 measure -s benches/serve_roles.lua "$multi")"
    echo "  round $round  single-role /creds      $(measure -H "Authorization: bench-token" "$single/creds")"
done
