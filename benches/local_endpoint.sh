# Sourced by the benchmark scripts: starts rolesanywhere-local (the $PROFILE build, else release) over TLS on a
# loopback port, trusting testdata's root CA and the ML-DSA test roots for one trust anchor,
# profile and role.
# Sets: work (a temporary directory, removed on exit), ta, profile, role, endpoint_port,
# endpoint_pid; the endpoint's CA is "$work/ca.pem". Add more pids to stop to `cleanup_pids`.
work=$(mktemp -d)
cleanup_pids=()
trap 'kill "${cleanup_pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
ta=arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/bench
profile=arn:aws:rolesanywhere:us-east-1:123456789012:profile/bench
role=arn:aws:iam::123456789012:role/bench
cat testdata/pki/ca/root.pem testdata/mldsa/ca/roots.pem > "$work/anchors.pem"
cat > "$work/config.toml" <<TOML
region = "us-east-1"
account = "123456789012"
[[trust_anchor]]
arn = "$ta"
ca_bundle = "$work/anchors.pem"
[[profile]]
arn = "$profile"
role_arns = ["$role"]
[[role]]
arn = "$role"
TOML
"target/${PROFILE:-release}/rolesanywhere-local" --config "$work/config.toml" --port-file "$work/port" \
    --ca-out "$work/ca.pem" 2>/dev/null &
endpoint_pid=$!
cleanup_pids+=("$endpoint_pid")
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
endpoint_port=$(cat "$work/port")
