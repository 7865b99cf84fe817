#!/usr/bin/env bash
# Generates a broad starting corpus for every fuzz target from the test PKI (every key size,
# format and encryption in testdata/), the conformance cases and requests the real binary signs,
# into DIR/<target>/ (default: fuzz/corpus/, the untracked working corpus that fuzz/campaign.sh
# grows). Files are added, nothing is removed: `rm -rf fuzz/corpus` first to start over.
#
# Not needed for `cargo test`: the replay tests read the committed fuzz/seeds/ and
# fuzz/regressions/ (see fuzz/README.md), and use fuzz/corpus/ only when it exists. The
# committed seeds are a hand-picked subset of what this script writes.
#
# Needs a debug build of the binary (`cargo build`), OpenSSL and python3.
# Usage: fuzz/make-seeds.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-fuzz/corpus}
targets=(pem certificate key pkcs12 pkcs11_uri credentials_file create_session_response
    sts_response cache_entry serve_request local_verify)
for t in "${targets[@]}"; do mkdir -p "$out/$t"; done
pki=testdata/pki
mldsa=testdata/mldsa

# PEM, certificates, keys, bundles: the fixtures, small key sizes (big RSA keys are slow).
for kind in rsa-1024 rsa-2048 ec-p256 ec-p384 ec-p521; do
    for f in "$pki/$kind"/*.pem "$pki/$kind"/*.der; do
        name="$kind-$(basename "$f")"
        case "$f" in
            *cert*|*chain*|*combined*) cp "$f" "$out/certificate/$name" ;;
        esac
        case "$f" in
            *key*|*combined*) cp "$f" "$out/key/$name" ;;
        esac
        case "$f" in *.pem) cp "$f" "$out/pem/$name" ;; esac
    done
    for f in "$pki/$kind"/*.p12; do cp "$f" "$out/pkcs12/$kind-$(basename "$f")"; done
done
for f in "$pki"/bad/*; do
    cp "$f" "$out/pem/bad-$(basename "$f")"
    cp "$f" "$out/certificate/bad-$(basename "$f")"
    cp "$f" "$out/key/bad-$(basename "$f")"
done
# ML-DSA keys (seed, expanded and both forms, plain and encrypted) and certificates.
for level in mldsa44 mldsa65 mldsa87; do
    for f in "$mldsa/$level"/key-*; do cp "$f" "$out/key/$level-$(basename "$f")"; done
    for f in "$mldsa/$level"/cert-*.pem "$mldsa/$level"/cert-via-int.der "$mldsa/$level"/fullchain.pem; do
        cp "$f" "$out/certificate/$level-$(basename "$f")"
    done
    cp "$mldsa/$level/key-both.pem" "$out/pem/$level-key-both.pem"
done
for f in "$mldsa"/bad/*; do cp "$f" "$out/key/bad-$(basename "$f")"; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl ecparam -name prime256v1 -genkey -param_enc explicit -noout -out "$out/key/explicit-ec.pem"
openssl pkcs8 -topk8 -in "$pki/ec-p256/key-pkcs8.pem" -v2 des3 -passout pass:password -out "$out/key/des3.pem"
openssl pkcs8 -topk8 -in "$pki/ec-p256/key-pkcs8.pem" -v1 PBE-SHA1-3DES -passout pass:password -out "$out/key/pbe-sha1-3des.pem"
openssl pkcs12 -export -in "$pki/ec-p256/cert.pem" -inkey "$pki/ec-p256/key-pkcs8.pem" \
    -keypbe PBE-SHA1-3DES -certpbe NONE -passout pass: -out "$out/pkcs12/pbe-3des-nocert-enc.p12"

# PKCS#11 URIs, as the README and tests/pkcs11.rs write them.
seed() { printf '%s' "$3" > "$out/$1/$2"; }
seed pkcs11_uri token-object 'pkcs11:token=ra;object=host'
seed pkcs11_uri type-cert 'pkcs11:token=ra;object=host;type=cert'
seed pkcs11_uri manufacturer-id 'pkcs11:manufacturer=piv_II;id=%01'
seed pkcs11_uri query-pin-value 'pkcs11:token=ra?pin-value=1234'
seed pkcs11_uri pin-source-module-path 'pkcs11:token=ra;object=My%20key?pin-source=file:/run/pin&module-path=/usr/lib/softhsm/libsofthsm2.so'
seed pkcs11_uri every-token-attribute 'pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=1234;token=ra;id=%01%02;object=k;type=private'
seed pkcs11_uri slot-attributes 'pkcs11:slot-id=3;slot-description=x;slot-manufacturer=y'
seed pkcs11_uri path-pin-value 'pkcs11:pin-value=secret;token=a'

# Credentials files: profile name on the first line, then the file (the conformance cases'
# files, named after the case, and the shapes tests/update.rs uses).
python3 - "$out/credentials_file" <<'PY'
import json, sys, os
out = sys.argv[1]
for line in open("tests/conformance/cases.jsonl"):
    if line.startswith("#"):
        continue
    case = json.loads(line)
    if case.get("kind") != "update":
        continue
    args = case["args"]
    profile = args[args.index("--profile") + 1] if "--profile" in args else "default"
    text = case.get("files", {}).get("credentials", "")
    name = "conformance-" + case["id"].split("/")[-1]
    open(os.path.join(out, name), "w", newline="").write(profile + "\n" + text)
for name, profile, text in [
    ("crlf-comment-upper-case-key", "default", "# mine\r\n[other]\r\naws_access_key_id = AKIAOTHER\r\n\r\n[default]\r\nregion = x\r\nAWS_SESSION_TOKEN=old\r\n"),
    ("profile-twice", "ra", "[ra]\naws_access_key_id = A\n[ra]\naws_access_key_id = B\n"),
    ("header-only", "p", "[p]"),
    ("empty", "p", ""),
]:
    open(os.path.join(out, name), "w", newline="").write(profile + "\n" + text)
PY

# CreateSession answers: the service's shape, and its error shapes.
python3 - "$out/create_session_response" <<'PY'
import json, sys, os
out = sys.argv[1]
good = {"credentialSet": [{"assumedRoleUser": {"arn": "arn:aws:sts::123456789012:assumed-role/r/s", "assumedRoleId": "AROA:s"},
        "credentials": {"accessKeyId": "ASIAEXAMPLEEXAMPLE12", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                        "sessionToken": "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==", "expiration": "2099-01-01T00:00:00Z"},
        "packedPolicySize": 0, "roleArn": "arn:aws:iam::123456789012:role/r", "sourceIdentity": "CN=x"}],
        "subjectArn": "arn:aws:rolesanywhere:us-east-1:123456789012:subject/s"}
docs = {"success.json": json.dumps(good), "empty-credential-set.json": json.dumps({"credentialSet": []}),
        "access-denied.json": '{"message":"Untrusted signing certificate","__type":"AccessDeniedException"}',
        "validation-exception.json": '{"Message":"x","code":"aws.protocol#ValidationException:http://x"}',
        "html-bad-gateway": "<html>bad gateway</html>", "empty": ""}
for name, d in docs.items():
    open(os.path.join(out, name), "w").write(d)
PY

# sts:AssumeRole answers (XML, as STS and rolesanywhere-local send them) and error documents.
python3 - "$out/sts_response" <<'PY'
import os, sys
out = sys.argv[1]
ok = ("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>"
      "<AssumedRoleUser><AssumedRoleId>AROA3XFRBF23:s</AssumedRoleId><Arn>arn:aws:sts::111122223333:assumed-role/r/s</Arn></AssumedRoleUser>"
      "<Credentials><AccessKeyId>ASIAEXAMPLEEXAMPLE12</AccessKeyId><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>"
      "<SessionToken>IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
      "</AssumeRoleResult><ResponseMetadata><RequestId>c6104cbe</RequestId></ResponseMetadata></AssumeRoleResponse>")
docs = {"success.xml": ok, "success-entities.xml": ok.replace("ASIAEXAMPLE", "ASIA&amp;&#x41;&#66;"),
        "error-access-denied.xml": "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized &lt;x&gt;</Message></Error></ErrorResponse>",
        "error-throttling.xml": "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>",
        "html-bad-gateway": "<html>bad gateway</html>", "empty": ""}
for name, d in docs.items():
    open(os.path.join(out, name), "w").write(d)
PY

# Credential cache entries, as credential-process --cache writes them (the fuzz target asks for
# the keys "k" and "0123456789abcdef").
python3 - "$out/cache_entry" <<'PY'
import json, os, sys
out = sys.argv[1]
entry = {"Format": 1, "Key": "k", "AccessKeyId": "ASIAEXAMPLEEXAMPLE12",
         "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         "SessionToken": "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==",
         "Expiration": "2099-01-01T00:00:00Z", "Issued": "2026-01-01T00:00:00Z"}
docs = {"key-k.json": entry, "key-hex.json": dict(entry, Key="0123456789abcdef"),
        "format-2.json": dict(entry, Format=2), "expired.json": dict(entry, Expiration="2020-01-01T00:00:00Z"),
        "long-term-key-id.json": dict(entry, AccessKeyId="AKIAEXAMPLE")}
for name, d in docs.items():
    open(os.path.join(out, name), "w").write(json.dumps(d))
open(os.path.join(out, "truncated.json"), "w").write("{")
PY

# Requests to serve: the IMDSv2 and container flows, pipelined, with bodies.
r=$out/serve_request
printf 'PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n' > "$r/imds-token"
printf 'GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-aws-ec2-metadata-token: abc\r\n\r\nGET /latest/meta-data/iam/security-credentials/test-role HTTP/1.1\r\nHost: x\r\nx-aws-ec2-metadata-token: abc\r\n\r\n' > "$r/imds-role-and-credentials"
printf 'GET /creds HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: fuzz-container-token\r\n\r\n' > "$r/container-credentials"
printf 'PUT /latest/api/token/ HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\nContent-Length: 5\r\n\r\nhelloGET /creds HTTP/1.1\r\nHost: x\r\n\r\n' > "$r/pipelined-forwarded"
printf 'POST /creds HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' > "$r/chunked-post"

# Requests the helper signs, captured by a server that answers 400 (not retried: one request
# per call), named <key>[-session-options].http.
python3 - "$out/local_verify" "$tmp/names" > "$tmp/port" <<'PY' &
import socket, sys, os, time
out, names = sys.argv[1], sys.argv[2]
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        if not chunk: break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length": length = int(v)
    while len(body) < length:
        body += c.recv(65536)
    # The caller names the request it is about to send in the file "names", one per line.
    name = open(names).read().split()[-1]
    open(os.path.join(out, name), "wb").write(head + b"\r\n\r\n" + body)
    c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"); c.close()
PY
capture=$!
sleep 1
port=$(cat "$tmp/port")
sign() { # name certificate key [options...]
    local name=$1 cert=$2 key=$3
    shift 3
    echo "$name" >> "$tmp/names"
    target/debug/aws_signing_helper credential-process --certificate "$cert" --private-key "$key" \
        --trust-anchor-arn arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta-main \
        --profile-arn arn:aws:rolesanywhere:us-east-1:123456789012:profile/p-main \
        --role-arn arn:aws:iam::123456789012:role/test-role \
        --endpoint "http://127.0.0.1:$port" "$@" >/dev/null 2>&1 || true
}
for kind in ec-p256 rsa-2048 ec-p384 ec-p521; do
    sign "$kind.http" "$pki/$kind/fullchain.pem" "$pki/$kind/key-pkcs8.pem"
    sign "$kind-session-options.http" "$pki/$kind/fullchain.pem" "$pki/$kind/key-pkcs8.pem" \
        --role-session-name fuzz --session-duration 900
done
sign mldsa65.http "$mldsa/mldsa65/fullchain.pem" "$mldsa/mldsa65/key-seed.pem"
kill "$capture"
wait "$capture" 2>/dev/null || true
for t in "${targets[@]}"; do echo "$t: $(find "$out/$t" -type f | wc -l) files"; done
