#!/usr/bin/env bash
# Writes the seed inputs of every fuzz target into fuzz/seeds/<target>/ from the test PKI, the
# conformance cases and requests the real binary sends. The committed corpora (fuzz/corpus/)
# grew from these by fuzzing and were minimised with `cargo fuzz cmin`; this script is only
# needed to start over. Needs a debug build (`cargo build`), OpenSSL and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
out=fuzz/seeds
rm -rf "$out"
mkdir -p "$out"/{pem,certificate,key,pkcs12,pkcs11_uri,credentials_file,create_session_response,serve_request,local_verify}
pki=testdata/pki

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
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl ecparam -name prime256v1 -genkey -param_enc explicit -noout -out "$out/key/explicit-ec.pem"
openssl pkcs8 -topk8 -in "$pki/ec-p256/key-pkcs8.pem" -v2 des3 -passout pass:password -out "$out/key/des3.pem"
openssl pkcs8 -topk8 -in "$pki/ec-p256/key-pkcs8.pem" -v1 PBE-SHA1-3DES -passout pass:password -out "$out/key/pbe-sha1-3des.pem"
openssl pkcs12 -export -in "$pki/ec-p256/cert.pem" -inkey "$pki/ec-p256/key-pkcs8.pem" \
    -keypbe PBE-SHA1-3DES -certpbe NONE -passout pass: -out "$out/pkcs12/pbe-3des-nocert-enc.p12"

# PKCS#11 URIs, as the README and tests/pkcs11.rs write them.
i=0
for uri in \
    'pkcs11:token=ra;object=host' \
    'pkcs11:token=ra;object=host;type=cert' \
    'pkcs11:manufacturer=piv_II;id=%01' \
    'pkcs11:token=ra?pin-value=1234' \
    'pkcs11:token=ra;object=My%20key?pin-source=file:/run/pin&module-path=/usr/lib/softhsm/libsofthsm2.so' \
    'pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=1234;token=ra;id=%01%02;object=k;type=private' \
    'pkcs11:slot-id=3;slot-description=x;slot-manufacturer=y' \
    'pkcs11:pin-value=secret;token=a'; do
    printf '%s' "$uri" > "$out/pkcs11_uri/$((i++))"
done

# Credentials files: profile name on the first line, then the file (the conformance cases'
# files and the shapes tests/update.rs uses).
python3 - "$out/credentials_file" <<'PY'
import json, sys, os
out = sys.argv[1]
n = 0
for line in open("tests/conformance/cases.jsonl"):
    if line.startswith("#"):
        continue
    case = json.loads(line)
    if case.get("kind") != "update":
        continue
    args = case["args"]
    profile = args[args.index("--profile") + 1] if "--profile" in args else "default"
    text = case.get("files", {}).get("credentials", "")
    open(os.path.join(out, str(n)), "w", newline="").write(profile + "\n" + text)
    n += 1
for profile, text in [
    ("default", "# mine\r\n[other]\r\naws_access_key_id = AKIAOTHER\r\n\r\n[default]\r\nregion = x\r\nAWS_SESSION_TOKEN=old\r\n"),
    ("ra", "[ra]\naws_access_key_id = A\n[ra]\naws_access_key_id = B\n"),
    ("p", "[p]"),
    ("p", ""),
]:
    open(os.path.join(out, str(n)), "w", newline="").write(profile + "\n" + text)
    n += 1
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
docs = [json.dumps(good), json.dumps({"credentialSet": []}),
        '{"message":"Untrusted signing certificate","__type":"AccessDeniedException"}',
        '{"Message":"x","code":"aws.protocol#ValidationException:http://x"}', "<html>bad gateway</html>", ""]
for i, d in enumerate(docs):
    open(os.path.join(out, str(i)), "w").write(d)
PY

# sts:AssumeRole answers (XML, as STS and rolesanywhere-local send them) and error documents.
mkdir -p "$out/sts_response"
python3 - "$out/sts_response" <<'PY'
import os, sys
out = sys.argv[1]
ok = ("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>"
      "<AssumedRoleUser><AssumedRoleId>AROA3XFRBF23:s</AssumedRoleId><Arn>arn:aws:sts::111122223333:assumed-role/r/s</Arn></AssumedRoleUser>"
      "<Credentials><AccessKeyId>ASIAEXAMPLEEXAMPLE12</AccessKeyId><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>"
      "<SessionToken>IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
      "</AssumeRoleResult><ResponseMetadata><RequestId>c6104cbe</RequestId></ResponseMetadata></AssumeRoleResponse>")
docs = [ok, ok.replace("ASIAEXAMPLE", "ASIA&amp;&#x41;&#66;"),
        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized &lt;x&gt;</Message></Error></ErrorResponse>",
        "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>", "<html>bad gateway</html>", ""]
for i, d in enumerate(docs):
    open(os.path.join(out, str(i)), "w").write(d)
PY

# Credential cache entries, as credential-process --cache writes them (the fuzz target asks for
# the keys "k" and "0123456789abcdef").
mkdir -p "$out/cache_entry"
python3 - "$out/cache_entry" <<'PY'
import json, os, sys
out = sys.argv[1]
entry = {"Format": 1, "Key": "k", "AccessKeyId": "ASIAEXAMPLEEXAMPLE12",
         "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         "SessionToken": "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==",
         "Expiration": "2099-01-01T00:00:00Z", "Issued": "2026-01-01T00:00:00Z"}
docs = [entry, dict(entry, Key="0123456789abcdef"), dict(entry, Format=2),
        dict(entry, Expiration="2020-01-01T00:00:00Z"), dict(entry, AccessKeyId="AKIAEXAMPLE")]
for i, d in enumerate(docs):
    open(os.path.join(out, str(i)), "w").write(json.dumps(d))
open(os.path.join(out, "junk"), "w").write("{")
PY

# Requests to serve: the IMDSv2 and container flows, pipelined, with bodies.
r=$out/serve_request
printf 'PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n' > "$r/token"
printf 'GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-aws-ec2-metadata-token: abc\r\n\r\nGET /latest/meta-data/iam/security-credentials/test-role HTTP/1.1\r\nHost: x\r\nx-aws-ec2-metadata-token: abc\r\n\r\n' > "$r/imds"
printf 'GET /creds HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: fuzz-container-token\r\n\r\n' > "$r/creds"
printf 'PUT /latest/api/token/ HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\nContent-Length: 5\r\n\r\nhelloGET /creds HTTP/1.1\r\nHost: x\r\n\r\n' > "$r/pipelined"
printf 'POST /creds HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' > "$r/chunked"

# Requests the helper signs, captured by a server that answers 500 (3 attempts each).
python3 - "$out/local_verify" > "$tmp/port" <<'PY' &
import socket, sys, os
out = sys.argv[1]
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
n = 0
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
    open(os.path.join(out, str(n)), "wb").write(head + b"\r\n\r\n" + body); n += 1
    c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"); c.close()
PY
capture=$!
sleep 1
port=$(cat "$tmp/port")
for kind in ec-p256 rsa-2048 ec-p384; do
    for extra in "" "--role-session-name fuzz --session-duration 900"; do
        # shellcheck disable=SC2086
        target/debug/aws_signing_helper credential-process --certificate "$pki/$kind/fullchain.pem" \
            --private-key "$pki/$kind/key-pkcs8.pem" \
            --trust-anchor-arn arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta-main \
            --profile-arn arn:aws:rolesanywhere:us-east-1:123456789012:profile/p-main \
            --role-arn arn:aws:iam::123456789012:role/test-role \
            --endpoint "http://127.0.0.1:$port" $extra >/dev/null 2>&1 || true
    done
done
kill "$capture"
wait "$capture" 2>/dev/null || true
for d in "$out"/*; do echo "$(basename "$d"): $(ls "$d" | wc -l) seeds"; done
