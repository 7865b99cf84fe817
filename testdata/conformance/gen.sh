#!/usr/bin/env bash
# Fixtures for the conformance suite (tests/conformance/): the same files, made by the same
# OpenSSL, softhsm2-util and pkcs11-tool commands, that the official helper's Makefile
# (`test-certs`, `tst/softhsm2.conf`) and generate-credential-process-data.sh make for its Go
# test tables, under the same names, so that tests/conformance/cases.jsonl can name them.
# Written for this project from reading what those recipes produce; see README.md here.
#
# Usage: bash testdata/conformance/gen.sh OUTDIR
#
# OUTDIR gets:
#   certs/      keys, self-signed certificates, PKCS#12, combos, bundles, invalid files
#   selectors/  --cert-selector JSON files (ours, shaped like the official table's inputs)
#   cpd/        a root CA and a client certificate it issued (credential-process cases)
#   softhsm/    a SoftHSM2 token "credential-helper-test" (PIN 1234) and softhsm2.conf
#   done        written last; its presence means everything above is complete
#
# Every run makes new keys; the suite reads every expected value from these files.
# Without softhsm2-util or pkcs11-tool the token is skipped (softhsm/MISSING says why).
set -euo pipefail
export LC_ALL=C
umask 022

OUT="${1:?usage: gen.sh OUTDIR}"
OPENSSL="${OPENSSL:-openssl}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
rm -rf "$OUT/certs" "$OUT/selectors" "$OUT/cpd" "$OUT/softhsm" "$OUT/done"
mkdir -p "$OUT/certs" "$OUT/selectors" "$OUT/cpd" "$OUT/softhsm"
C="$OUT/certs"
LOG="$OUT/gen.log"
: >"$LOG"

ossl() { # openssl, quiet unless it fails
  if ! "$OPENSSL" "$@" >>"$LOG" 2>&1; then
    echo "gen.sh: FAILED: openssl $*" >&2
    tail -20 "$LOG" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------- keys ----
# The Makefile's $(RSAKEYS) and $(ECKEYS) rules. With OpenSSL 3, `genrsa` writes PKCS#8
# ("PRIVATE KEY") and `ecparam -genkey` writes an EC PARAMETERS block then a SEC1 key.
RSA_LENS="1024 2048 4096"
EC_CURVES="prime256v1 secp384r1"
for len in $RSA_LENS; do
  ossl genrsa -out "$C/rsa-$len-key.pem" "$len"
done
for curve in $EC_CURVES; do
  ossl ecparam -name "$curve" -genkey -out "$C/ec-$curve-key.pem"
done

BASES=""
for len in $RSA_LENS; do BASES="$BASES rsa-$len"; done
for curve in $EC_CURVES; do BASES="$BASES ec-$curve"; done

for b in $BASES; do
  key="$C/$b-key.pem"
  # %-pkcs8.pem: unencrypted PKCS#8
  ossl pkcs8 -topk8 -inform PEM -outform PEM -in "$key" -out "$C/$b-key-pkcs8.pem" -nocrypt
  # encrypted PKCS#8, password "password": the Makefile's PRF, cipher and scrypt variants
  enc() { ossl pkcs8 -topk8 -inform PEM -outform PEM -in "$key" -out "$C/$b-key-pkcs8-$1.pem" \
    -passout pass:password "${@:2}"; }
  enc hmacWithSHA256 -v2prf hmacWithSHA256
  enc hmacWithSHA384 -v2prf hmacWithSHA384
  enc hmacWithSHA512 -v2prf hmacWithSHA512
  enc aes128cbc -v2 aes-128-cbc
  enc aes192cbc -v2 aes-192-cbc
  enc aes256cbc -v2 aes-256-cbc
  enc scrypt -scrypt
done

# ------------------------------------------------------- certificates ----
# CERT_RECIPE: `openssl req -x509 -new -key K -days 10000 -subj "//CN=roles-anywhere-<name>"
# -<digest>`. On Linux, OpenSSL 3 skips the "/CN" attribute of that doubled slash ("Skipping
# unknown subject name attribute"), so the official fixtures have an EMPTY subject and issuer;
# we pass the same string to get the same certificates. req's default extensions (v3_ca) make
# them CA:TRUE.
cert() { # cert BASE DIGEST
  local subj="$1-$2"
  ossl req -x509 -new -key "$C/$1-key.pem" -out "$C/$subj-cert.pem" -days 10000 \
    -subj "//CN=roles-anywhere-$subj" "-$2"
}
RSA_DIGESTS="md5 sha1 sha256 sha384 sha512"
EC_DIGESTS="sha1 sha256 sha384 sha512"
CERTS=""
for len in $RSA_LENS; do
  for d in $RSA_DIGESTS; do cert "rsa-$len" "$d"; CERTS="$CERTS rsa-$len-$d"; done
done
for curve in $EC_CURVES; do
  for d in $EC_DIGESTS; do cert "ec-$curve" "$d"; CERTS="$CERTS ec-$curve-$d"; done
done

for s in $CERTS; do
  base="${s%-*}"
  # %-combo.pem: the key, then the certificate
  cat "$C/$base-key.pem" "$C/$s-cert.pem" >"$C/$s-combo.pem"
  # %.p12: passwordless, 3DES for both bags, SHA-1 MAC (what Go's pkcs12 package reads)
  ossl pkcs12 -export -passout pass: -macalg SHA1 \
    -certpbe pbeWithSHA1And3-KeyTripleDES-CBC -keypbe pbeWithSHA1And3-KeyTripleDES-CBC \
    -inkey "$C/$base-key.pem" -out "$C/$s.p12" -in "$C/$s-cert.pem"
done

# cert-bundle.pem: every RSA then every EC certificate, in the Makefile's order
# ($(RSACERTS) is digest-major: md5 for every key length, then sha1, ...).
: >"$C/cert-bundle.pem"
: >"$C/cert-bundle-with-comments.pem"
for d in $RSA_DIGESTS; do
  for len in $RSA_LENS; do
    cat "$C/rsa-$len-$d-cert.pem" >>"$C/cert-bundle.pem"
    cat "$C/rsa-$len-$d-cert.pem" >>"$C/cert-bundle-with-comments.pem"
    # make's /bin/sh echo expands the "\n": a text line, then an empty line
    printf 'Comment in bundle\n\n' >>"$C/cert-bundle-with-comments.pem"
  done
done
for d in $EC_DIGESTS; do
  for curve in $EC_CURVES; do
    cat "$C/ec-$curve-$d-cert.pem" >>"$C/cert-bundle.pem"
    cat "$C/ec-$curve-$d-cert.pem" >>"$C/cert-bundle-with-comments.pem"
    printf 'Comment in bundle\n\n' >>"$C/cert-bundle-with-comments.pem"
  done
done

# --------------------------------------------------- committed extras ----
# The official tree commits a few files instead of making them; these are our own
# equivalents, made here.
#
# An encrypted PKCS#8 key whose PBKDF2 parameters carry no PRF (so the RFC 8018 default,
# HMAC-SHA1, applies), as AWS Certificate Manager exports them; OpenSSL leaves the PRF out
# when it is hmacWithSHA1. With a certificate, because the command line needs one.
ossl genrsa -out "$C/acm-key.pem" 2048
ossl pkcs8 -topk8 -inform PEM -outform PEM -in "$C/acm-key.pem" -out "$C/acm-encrypted.pem" \
  -passout pass:password -v2 aes-256-cbc -v2prf hmacWithSHA1
ossl req -x509 -new -key "$C/acm-key.pem" -out "$C/acm-cert.pem" -days 10000 \
  -subj "/CN=roles-anywhere-acm" -sha256
if "$OPENSSL" asn1parse -in "$C/acm-encrypted.pem" | grep -q hmacWith; then
  echo "gen.sh: acm-encrypted.pem names a PRF; expected none" >&2
  exit 1
fi

# A certificate file that does not parse: a note, then CERTIFICATE armor around valid base64
# of a DER SEQUENCE that is not a certificate (a truncated TBSCertificate).
"$OPENSSL" x509 -in "$C/rsa-2048-sha256-cert.pem" -outform DER -out "$C/tmp.der"
{
  printf 'Note: a certificate that cannot be parsed.\n\n'
  printf -- '-----BEGIN CERTIFICATE-----\n'
  # a SEQUENCE of 60 bytes holding the first 60 bytes of a real certificate's content
  { printf '\x30\x3c'; tail -c +5 "$C/tmp.der" | head -c 60; } | base64 -w 64
  printf -- '-----END CERTIFICATE-----\n'
} >"$C/invalid-rsa-cert.pem"
rm -f "$C/tmp.der"
# A private key file that does not parse: a note, then RSA PRIVATE KEY armor around valid
# base64 of bytes whose ASN.1 length runs past the end.
{
  printf 'Note: an RSA private key that cannot be parsed.\n\n'
  printf -- '-----BEGIN RSA PRIVATE KEY-----\n'
  { printf '\x30\x82\x7f\xff\x02\x01\x00'; head -c 300 /dev/urandom; } | base64 -w 64
  printf -- '-----END RSA PRIVATE KEY-----\n'
} >"$C/invalid-rsa-key.pem"

# ----------------------------------------------------- cert selectors ----
S="$OUT/selectors"
cat >"$S/valid-all-attributes-selector.json" <<'EOF'
[
  {"Key": "x509Subject", "Value": "CN=Conformance Subject"},
  {"Key": "x509Issuer", "Value": "CN=Conformance Issuer"},
  {"Key": "x509Serial", "Value": "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567"}
]
EOF
cat >"$S/valid-some-attributes-selector.json" <<'EOF'
[
  {"Key": "x509Subject", "Value": "CN=Conformance Subject"},
  {"Key": "x509Serial", "Value": "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567"}
]
EOF
# not JSON at all
printf 'this is; not {json\n' >"$S/invalid-selector.json"
# a JSON object, not a list of Key/Value entries
printf '{\n  "something": "else"\n}\n' >"$S/invalid-selector-2.json"
# one Key/Value entry, but not inside a list
printf '{\n  "Key": "x509Serial",\n  "Value": "00FF"\n}\n' >"$S/invalid-selector-3.json"
# a list with a repeated key
cat >"$S/invalid-selector-4.json" <<'EOF'
[
  {"Key": "x509Subject", "Value": "CN=Conformance Subject"},
  {"Key": "x509Issuer", "Value": "CN=Conformance Issuer"},
  {"Key": "x509Subject", "Value": "CN=Another Subject"}
]
EOF

# ------------------------------------------- credential-process data ----
# generate-credential-process-data.sh: an RSA-2048 root (serial 1, CA:TRUE pathlen:1) and an
# RSA-2048 client certificate it issued (serial 2, CA:FALSE), each valid 365 days.
D="$OUT/cpd"
cat >"$D/root.conf" <<'EOF'
[ req ]
distinguished_name = req_distinguished_name
prompt = no

[ req_distinguished_name ]
CN = TEST ROOT

[ v3 ]
basicConstraints = critical,CA:TRUE,pathlen:1
subjectKeyIdentifier = hash
keyUsage = critical, cRLSign, digitalSignature, keyCertSign
authorityKeyIdentifier = keyid:always,issuer:always
EOF
cat >"$D/client.conf" <<'EOF'
[ req ]
distinguished_name = req_distinguished_name
prompt = no
default_bits = 2048
default_md = sha256

[ req_distinguished_name ]
CN = TEST CLIENT

[ v3 ]
authorityKeyIdentifier=keyid,issuer
basicConstraints=CA:FALSE
keyUsage = digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment
EOF
ossl req -config "$D/root.conf" -days 365 -extensions v3 -keyout "$D/root-key.pem" \
  -newkey rsa:2048 -nodes -out "$D/root-cert.pem" -set_serial 1 -sha256 -x509
ossl req -nodes -new -keyout "$D/client-key.pem" -out "$D/client-csr.pem" -config "$D/client.conf"
ossl x509 -req -in "$D/client-csr.pem" -CA "$D/root-cert.pem" -CAkey "$D/root-key.pem" \
  -set_serial 2 -out "$D/client-cert.pem" -days 365 -sha256 -extfile "$D/client.conf" \
  -extensions v3

# ------------------------------------------------------------ SoftHSM2 ----
# tst/softhsm2.conf's recipe: one token; rsa-2048 (id 01) and ec-prime256v1 (id 02) keys
# imported, the same keys again written with CKA_ALWAYS_AUTHENTICATE (ids 03, 04), and the
# sha256 certificates of the first two (ids 01, 02).
H="$OUT/softhsm"
module=""
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
  /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
  if [ -f "$m" ]; then module="$m"; break; fi
done
if [ -z "$module" ] || ! command -v softhsm2-util >/dev/null || ! command -v pkcs11-tool >/dev/null; then
  echo "softhsm2-util, pkcs11-tool or libsofthsm2.so not found" >"$H/MISSING"
else
  mkdir -p "$H/tokens"
  printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$H" >"$H/softhsm2.conf"
  printf '%s' "$module" >"$H/module"
  export SOFTHSM2_CONF="$H/softhsm2.conf"
  run() { if ! "$@" >>"$LOG" 2>&1; then echo "gen.sh: FAILED: $*" >&2; tail -20 "$LOG" >&2; exit 1; fi; }
  run softhsm2-util --init-token --free --label credential-helper-test --so-pin 12345678 --pin 1234
  run softhsm2-util --token credential-helper-test --pin 1234 \
    --import "$C/rsa-2048-key-pkcs8.pem" --label rsa-2048 --id 01
  run softhsm2-util --token credential-helper-test --pin 1234 \
    --import "$C/ec-prime256v1-key-pkcs8.pem" --label ec-prime256v1 --id 02
  p11() { run pkcs11-tool --module "$module" --token-label credential-helper-test --login --pin 1234 "$@"; }
  p11 --write-object "$C/rsa-2048-key-pkcs8.pem" --type privkey --label rsa-2048-always-auth \
    --id 03 --usage-sign --always-auth
  p11 --write-object "$C/ec-prime256v1-key-pkcs8.pem" --type privkey \
    --label ec-prime256v1-always-auth --id 04 --usage-sign --always-auth
  p11 --write-object "$C/rsa-2048-sha256-cert.pem" --type cert --label rsa-2048 --id 01
  p11 --write-object "$C/ec-prime256v1-sha256-cert.pem" --type cert --label ec-prime256v1 --id 02
fi

date -u +%Y-%m-%dT%H:%M:%SZ >"$OUT/done"
