#!/usr/bin/env bash
# Load benchmark for `serve`: credential requests per second from many concurrent clients on
# loopback (wrk, Debian package), for the IMDSv2 credentials document and the container
# credentials endpoint. Not a test: figures go into docs/benchmarks.md.
#
#   benches/serve_load.sh                 # 10 s per endpoint, 64 connections
#   DURATION=30s CONNECTIONS=256 benches/serve_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release --bins -q

. benches/local_endpoint.sh
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
AWS_CA_BUNDLE="$work/ca.pem" AWS_CONTAINER_AUTHORIZATION_TOKEN=bench-token \
    target/release/aws_signing_helper serve --port "$port" \
    --certificate testdata/pki/ec-p256/fullchain.pem --private-key testdata/pki/ec-p256/key-pkcs8.pem \
    --trust-anchor-arn "$ta" --profile-arn "$profile" --role-arn "$role" \
    --endpoint "https://127.0.0.1:$endpoint_port" 2>/dev/null &
cleanup_pids+=($!)
base=http://127.0.0.1:$port
for _ in $(seq 200); do curl -sf -X PUT "$base/latest/api/token" -o /dev/null && break; sleep 0.05; done
token=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$base/latest/api/token")
role_name=$(curl -sf -H "X-aws-ec2-metadata-token: $token" "$base/latest/meta-data/iam/security-credentials/")

echo "serve, $CONNECTIONS connections, $DURATION each, on $(nproc) cores (wrk shares them):"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -H "X-aws-ec2-metadata-token: $token" \
    "$base/latest/meta-data/iam/security-credentials/$role_name" | grep -E 'Requests/sec|Latency|Non-2xx'
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -H "Authorization: bench-token" "$base/creds" |
    grep -E 'Requests/sec|Latency|Non-2xx'
