#!/usr/bin/env bash
# Regenerates the test PKI (testdata/pki) and the AWS4-X509 known-answer
# vectors (testdata/aws4-x509) from scratch, using ONLY the OpenSSL command
# line plus coreutils / xxd / bc.  Nothing here comes from the Rust code under
# test.  See testdata/README.md for a description of every file.
#
# Usage:  bash testdata/gen.sh          (from anywhere)
#         OPENSSL=/path/to/openssl bash testdata/gen.sh
#         bash testdata/gen.sh validate (only pki/validate/, from the committed pki/ca/)
#
# Re-running is safe (idempotent) but NOT reproducible: every key is freshly
# generated, so every certificate, signature and vector changes.  Tests must
# read the expected values from the files, never hard-code them.
set -euo pipefail
export LC_ALL=C
umask 022

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PKI="$HERE/pki"
VEC="$HERE/aws4-x509"
OPENSSL="${OPENSSL:-openssl}"
PASS="password"            # password of every encrypted key / PKCS#12 file

for tool in "$OPENSSL" xxd bc base64 head tail tr wc cut cmp mktemp; do
  command -v "$tool" >/dev/null 2>&1 || { echo "gen.sh: required tool '$tool' not found" >&2; exit 1; }
done

TMP="$(mktemp -d)"
BGPID=""
cleanup() {
  if [ -n "$BGPID" ]; then kill "$BGPID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# ---------------------------------------------------------------- helpers ----
ossl() { # run openssl quietly; show its output only if it fails
  if ! "$OPENSSL" "$@" >"$TMP/ossl.log" 2>&1; then
    echo "gen.sh: FAILED: openssl $*" >&2
    cat "$TMP/ossl.log" >&2
    return 1
  fi
}
die() { echo "gen.sh: $*" >&2; exit 1; }
say() { echo "gen.sh: $*"; }
hexof() { xxd -p -c 1000000 "$1" | tr -d '\n'; }                  # file -> lowercase hex, no newline
sha256hex() { "$OPENSSL" dgst -sha256 -binary | xxd -p -c 1000000 | tr -d '\n'; } # stdin -> hex
b64der() { "$OPENSSL" x509 -in "$1" -outform DER | base64 -w 0; }  # PEM cert -> base64(DER), one line
filesize() { wc -c <"$1" | tr -d ' '; }

# SigV4 URI encoding: keep A-Z a-z 0-9 - _ . ~, everything else -> %XX (uppercase)
uri_encode() {
  local s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in
      [A-Za-z0-9._~-]) out+="$c" ;;
      *) out+="$(printf '%%%02X' "'$c")" ;;
    esac
  done
  printf '%s' "$out"
}

json_escape() { # enough for our ASCII bodies: backslash and double quote
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  printf '%s' "$s"
}

# Split a PEM bundle into one file per certificate: $2/0.pem, $2/1.pem, ...
split_pem() {
  local in="$1" outdir="$2" n=0 line inside=0
  mkdir -p "$outdir"
  while IFS= read -r line || [ -n "$line" ]; do
    if [ "$line" = "-----BEGIN CERTIFICATE-----" ]; then inside=1; : >"$outdir/$n.pem"; fi
    if [ $inside = 1 ]; then printf '%s\n' "$line" >>"$outdir/$n.pem"; fi
    if [ "$line" = "-----END CERTIFICATE-----" ]; then inside=0; n=$((n + 1)); fi
  done <"$in"
  echo "$n"
}

# ------------------------------------------------------------- CA config ----
CADIR="$TMP/ca"
mkdir -p "$CADIR/newcerts"
: >"$CADIR/index.txt"
CNF="$TMP/openssl.cnf"
cat >"$CNF" <<EOF
[ ca ]
default_ca = CA_default

[ CA_default ]
dir             = $CADIR
database        = \$dir/index.txt
new_certs_dir   = \$dir/newcerts
serial          = \$dir/serial
# "default" lets Ed25519 work; every RSA/EC issuance passes -md sha256 explicitly.
default_md      = default
policy          = policy_any
unique_subject  = no
email_in_dn     = no
copy_extensions = none

[ policy_any ]
commonName       = supplied
organizationName = optional
countryName      = optional

[ req ]
distinguished_name = req_dn
[ req_dn ]

[ v3_root ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_int ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_leaf ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_leaf_ca_true ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, digitalSignature, keyCertSign
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_leaf_no_digsig ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, keyEncipherment
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF

# genkey <spec> <out-pkcs8.pem>   spec: rsa-NNNN | ec-p256|ec-p384|ec-p521 | ec-secp256k1 | ed25519
genkey() {
  local spec="$1" out="$2"
  case "$spec" in
    rsa-*) ossl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${spec#rsa-}" -out "$out" ;;
    ec-p256) ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve -out "$out" ;;
    ec-p384) ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -pkeyopt ec_param_enc:named_curve -out "$out" ;;
    ec-p521) ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -pkeyopt ec_param_enc:named_curve -out "$out" ;;
    ec-secp256k1) ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -pkeyopt ec_param_enc:named_curve -out "$out" ;;
    ed25519) ossl genpkey -algorithm ED25519 -out "$out" ;;
    *) die "unknown key spec $spec" ;;
  esac
}

# issue <key> <subject> <ext-section> <serial-hex> <start> <end> <out.pem> <issuer-cert|SELF> <issuer-key> [md]
issue() {
  local key="$1" subj="$2" ext="$3" serial="$4" start="$5" end="$6" out="$7" icert="$8" ikey="$9" md="${10:-sha256}"
  local csr="$TMP/req.csr"
  [ $(( ${#serial} % 2 )) -eq 0 ] || die "serial $serial must have an even number of hex digits"
  printf '%s\n' "$serial" >"$CADIR/serial"
  ossl req -new -config "$CNF" -key "$key" -subj "$subj" -out "$csr"
  local mdopt=()
  [ "$md" = "none" ] || mdopt=(-md "$md")
  if [ "$icert" = "SELF" ]; then
    ossl ca -batch -config "$CNF" -selfsign -keyfile "$key" "${mdopt[@]}" -notext -preserveDN \
      -startdate "$start" -enddate "$end" -extensions "$ext" -in "$csr" -out "$out"
  else
    ossl ca -batch -config "$CNF" -cert "$icert" -keyfile "$ikey" "${mdopt[@]}" -notext -preserveDN \
      -startdate "$start" -enddate "$end" -extensions "$ext" -in "$csr" -out "$out"
  fi
  # sanity: the serial we asked for is the serial we got
  local got
  got="$("$OPENSSL" x509 -in "$out" -noout -serial)"
  [ "$got" = "serial=$serial" ] || die "serial mismatch for $out: wanted $serial, got $got"
}

START=20240101000000Z
END=20450101000000Z
ATTIME=1735787045          # 2025-01-02T03:04:05Z, the X-Amz-Date of the vectors
ORG="/O=Roles Anywhere Test/C=US"

# ------------------------------------------------ validate/ (issue 11) ----
# Inputs for `aws_signing_helper validate` and for the endpoint's end-entity rules: one per rule
# a certificate can break, issued by the committed CAs. Dates, serials and the CRLs' entries are
# fixed; keys are fresh at each run. `gen.sh validate` regenerates only this directory, leaving
# every other file byte for byte.
VAL="$PKI/validate"
gen_validate() {
  say "validate/"
  rm -rf "$VAL"
  mkdir -p "$VAL"
  cat >>"$CNF" <<EOF

[ v3_leaf_no_bc ]
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_leaf_no_ku ]
basicConstraints       = critical, CA:FALSE
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_leaf_certmonger ]
basicConstraints       = critical, CA:FALSE
keyUsage               = digitalSignature
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_subca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_ca_no_certsign ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, digitalSignature, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF
  local INT="$PKI/ca/int.pem" INTK="$PKI/ca/int-key.pem" ROOT="$PKI/ca/root.pem" ROOTK="$PKI/ca/root-key.pem"
  # leaf <name> <ext-section|V1> <serial> [md] [issuer-cert issuer-key] [start end]: EC P-256
  leaf() {
    local name="$1" ext="$2" serial="$3" md="${4:-sha256}" icert="${5:-$INT}" ikey="${6:-$INTK}"
    local start="${7:-$START}" end="${8:-$END}"
    genkey ec-p256 "$VAL/$name-key.pem"
    if [ "$ext" = V1 ]; then
      # `openssl ca` without -extensions writes an X.509 v1 certificate.
      printf '%s\n' "$serial" >"$CADIR/serial"
      ossl req -new -config "$CNF" -key "$VAL/$name-key.pem" -subj "/CN=$name$ORG" -out "$TMP/req.csr"
      ossl ca -batch -config "$CNF" -cert "$icert" -keyfile "$ikey" -md "$md" -notext -preserveDN \
        -startdate "$start" -enddate "$end" -in "$TMP/req.csr" -out "$VAL/$name.pem"
    else
      issue "$VAL/$name-key.pem" "/CN=$name$ORG" "$ext" "$serial" "$start" "$end" "$VAL/$name.pem" "$icert" "$ikey" "$md"
    fi
  }
  leaf v1-leaf          V1                 0B0000000000000000000011
  leaf no-bc-leaf       v3_leaf_no_bc      0B0000000000000000000012
  leaf no-ku-leaf       v3_leaf_no_ku      0B0000000000000000000013
  leaf sha1-leaf        v3_leaf            0B0000000000000000000014 sha1
  leaf revoked-leaf     v3_leaf            0B0000000000000000000015
  leaf certmonger-leaf  v3_leaf_certmonger 0B0000000000000000000016

  # a CA under the intermediate, whose pathlen:0 forbids it: its leaf has no valid path
  genkey ec-p256 "$VAL/sub-ca-key.pem"
  issue "$VAL/sub-ca-key.pem" "/CN=Roles Anywhere Test Sub CA$ORG" v3_subca 0B0000000000000000000017 \
    "$START" "$END" "$VAL/sub-ca.pem" "$INT" "$INTK"
  leaf pathlen-leaf v3_leaf 0B0000000000000000000018 sha256 "$VAL/sub-ca.pem" "$VAL/sub-ca-key.pem"
  cat "$VAL/sub-ca.pem" "$INT" >"$VAL/pathlen-chain.pem"

  # a CA under the root without keyCertSign, and its leaf
  genkey ec-p256 "$VAL/no-certsign-ca-key.pem"
  issue "$VAL/no-certsign-ca-key.pem" "/CN=Roles Anywhere Test No-CertSign CA$ORG" v3_ca_no_certsign \
    0B0000000000000000000019 "$START" "$END" "$VAL/no-certsign-ca.pem" "$ROOT" "$ROOTK"
  leaf no-certsign-leaf v3_leaf 0B000000000000000000001A sha256 "$VAL/no-certsign-ca.pem" "$VAL/no-certsign-ca-key.pem"

  # a CA under the root that expired in 2021, and a leaf it issued valid to 2045
  genkey ec-p256 "$VAL/expired-ca-key.pem"
  issue "$VAL/expired-ca-key.pem" "/CN=Roles Anywhere Test Expired CA$ORG" v3_subca \
    0B000000000000000000001B 20200101000000Z 20210101000000Z "$VAL/expired-ca.pem" "$ROOT" "$ROOTK"
  leaf expired-ca-leaf v3_leaf 0B000000000000000000001C sha256 "$VAL/expired-ca.pem" "$VAL/expired-ca-key.pem"

  # a P-521 CA under the root, and a leaf it signed with ecdsa-with-SHA512 (ring has no P-521)
  genkey ec-p521 "$VAL/p521-ca-key.pem"
  issue "$VAL/p521-ca-key.pem" "/CN=Roles Anywhere Test P-521 CA$ORG" v3_subca \
    0B000000000000000000001E "$START" "$END" "$VAL/p521-ca.pem" "$ROOT" "$ROOTK"
  leaf p521-ca-leaf v3_leaf 0B000000000000000000001F sha512 "$VAL/p521-ca.pem" "$VAL/p521-ca-key.pem"

  # CRLs (v2, with AKI and a CRL number) from a database of their own that holds exactly one
  # revocation: revoked-leaf, on 2024-06-01, for keyCompromise.
  local CRLDIR="$TMP/crlca"
  mkdir -p "$CRLDIR/newcerts"
  printf 'R\t450101000000Z\t240601000000Z,keyCompromise\t0B0000000000000000000015\tunknown\t/CN=revoked-leaf/O=Roles Anywhere Test/C=US\n' >"$CRLDIR/index.txt"
  printf 'unique_subject = no\n' >"$CRLDIR/index.txt.attr"
  printf '01\n' >"$CRLDIR/crlnumber"
  sed -e "s|^dir             = .*|dir             = $CRLDIR|" \
      -e 's|^serial          = .*|&\ncrlnumber       = $dir/crlnumber\ncrl_extensions  = crl_ext|' \
      "$CNF" >"$TMP/crl.cnf"
  gencrl() { # <issuer-cert> <issuer-key> <out.pem>
    ossl ca -batch -config "$TMP/crl.cnf" -gencrl -cert "$1" -keyfile "$2" -md sha256 \
      -crl_lastupdate 20240101000000Z -crl_nextupdate 20450101000000Z -out "$3"
  }
  gencrl "$INT" "$INTK" "$VAL/int.crl.pem"
  ossl crl -in "$VAL/int.crl.pem" -outform DER -out "$VAL/int.crl.der"
  gencrl "$PKI/ca/other-root.pem" "$PKI/ca/other-root-key.pem" "$VAL/other-root.crl.pem"
  # a forged CRL: the intermediate's name, another key (a self-signed stand-in named like it)
  genkey ec-p384 "$TMP/fake-int-key.pem"
  issue "$TMP/fake-int-key.pem" "/CN=Roles Anywhere Test Intermediate CA$ORG" v3_root \
    0B000000000000000000001D "$START" "$END" "$TMP/fake-int.pem" SELF -
  gencrl "$TMP/fake-int.pem" "$TMP/fake-int-key.pem" "$VAL/forged.crl.pem"
}

validate_expect_verify_fail() { # <cert> <expected error code> <verify args...>
  local cert="$1" code="$2"; shift 2
  if "$OPENSSL" verify -attime "$ATTIME" "$@" "$cert" >"$TMP/v.log" 2>&1; then
    die "$cert unexpectedly verified"
  fi
  grep -q "error $code at" "$TMP/v.log" || { cat "$TMP/v.log" >&2; die "$cert: expected verify error $code"; }
}

check_validate() {
  say "validate/ self-checks"
  local INT="$PKI/ca/int.pem" ROOT="$PKI/ca/root.pem" v
  for v in v1-leaf no-bc-leaf no-ku-leaf revoked-leaf certmonger-leaf; do
    ossl verify -attime "$ATTIME" -CAfile "$ROOT" -untrusted "$INT" "$VAL/$v.pem"
  done
  for v in v1-leaf no-bc-leaf no-ku-leaf sha1-leaf revoked-leaf certmonger-leaf pathlen-leaf no-certsign-leaf expired-ca-leaf p521-ca-leaf; do
    "$OPENSSL" x509 -in "$VAL/$v.pem" -noout -pubkey >"$TMP/a.pem"
    ossl pkey -in "$VAL/$v-key.pem" -pubout -out "$TMP/b.pem"
    cmp -s "$TMP/a.pem" "$TMP/b.pem" || die "validate/$v: key/cert mismatch"
  done
  "$OPENSSL" x509 -in "$VAL/v1-leaf.pem" -noout -text | grep -q 'Version: 1 (0x0)' || die "v1-leaf is not v1"
  if "$OPENSSL" x509 -in "$VAL/no-bc-leaf.pem" -noout -text | grep -q 'Basic Constraints'; then die "no-bc-leaf has basicConstraints"; fi
  if "$OPENSSL" x509 -in "$VAL/no-ku-leaf.pem" -noout -text | grep -q 'Key Usage: critical'; then die "no-ku-leaf has keyUsage"; fi
  "$OPENSSL" x509 -in "$VAL/sha1-leaf.pem" -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA1' || die "sha1-leaf is not SHA-1"
  ossl verify -attime "$ATTIME" -CAfile "$ROOT" -untrusted "$VAL/p521-ca.pem" "$VAL/p521-ca-leaf.pem"
  "$OPENSSL" x509 -in "$VAL/p521-ca-leaf.pem" -noout -text | grep -q 'Signature Algorithm: ecdsa-with-SHA512' || die "p521-ca-leaf"
  validate_expect_verify_fail "$VAL/pathlen-leaf.pem"     25 -CAfile "$ROOT" -untrusted "$VAL/pathlen-chain.pem"
  validate_expect_verify_fail "$VAL/no-certsign-leaf.pem" 32 -CAfile "$ROOT" -untrusted "$VAL/no-certsign-ca.pem"
  validate_expect_verify_fail "$VAL/expired-ca-leaf.pem"  10 -CAfile "$ROOT" -untrusted "$VAL/expired-ca.pem"
  validate_expect_verify_fail "$VAL/revoked-leaf.pem"     23 -crl_check -CRLfile "$VAL/int.crl.pem" -CAfile "$ROOT" -untrusted "$INT"
  ossl verify -attime "$ATTIME" -crl_check -CRLfile "$VAL/int.crl.pem" -CAfile "$ROOT" -untrusted "$INT" "$PKI/ec-p256/cert.pem"
  # `openssl crl -CAfile` says "verify OK" or "verify failure" (and exits 0 either way)
  "$OPENSSL" crl -in "$VAL/int.crl.pem" -CAfile "$INT" -noout 2>&1 | grep -q 'verify OK' || die "int.crl.pem does not verify"
  "$OPENSSL" crl -in "$VAL/int.crl.der" -inform DER -CAfile "$INT" -noout 2>&1 | grep -q 'verify OK' || die "int.crl.der does not verify"
  "$OPENSSL" crl -in "$VAL/forged.crl.pem" -CAfile "$INT" -noout 2>&1 | grep -q 'verify failure' || die "forged.crl.pem verifies"
  "$OPENSSL" crl -in "$VAL/int.crl.pem" -noout -text | grep -q 'Serial Number: 0B0000000000000000000015' || die "int.crl.pem lacks revoked-leaf"
}

if [ "${1:-}" = validate ]; then
  [ -s "$PKI/ca/int-key.pem" ] || die "pki/ca/ is missing: run gen.sh without arguments first"
  gen_validate
  check_validate
  chmod -R a+rX "$VAL"
  say "done: $(find "$VAL" -type f | wc -l | tr -d ' ') files in pki/validate"
  exit 0
fi

# ------------------------------------------------------------ start fresh ----
say "using $("$OPENSSL" version)"
rm -rf "$PKI" "$VEC"
mkdir -p "$PKI/ca" "$PKI/bad" "$VEC"

# RSA-8192 keygen is by far the slowest step: run it in the background.
mkdir -p "$PKI/rsa-8192"
"$OPENSSL" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:8192 -out "$PKI/rsa-8192/key-pkcs8.pem" \
  >"$TMP/rsa8192.log" 2>&1 &
BGPID=$!

# --------------------------------------------------------------------- CAs ----
say "CAs"
genkey rsa-3072 "$PKI/ca/root-key.pem"
issue "$PKI/ca/root-key.pem" "/CN=Roles Anywhere Test Root CA$ORG" v3_root \
  "4F6F1A2B3C4D5E6F7081" "$START" "$END" "$PKI/ca/root.pem" SELF -
genkey ec-p384 "$PKI/ca/int-key.pem"
issue "$PKI/ca/int-key.pem" "/CN=Roles Anywhere Test Intermediate CA$ORG" v3_int \
  "1E7A2B3C4D5E6F708192" "$START" "$END" "$PKI/ca/int.pem" "$PKI/ca/root.pem" "$PKI/ca/root-key.pem"
genkey ec-p256 "$PKI/ca/other-root-key.pem"
issue "$PKI/ca/other-root-key.pem" "/CN=Unrelated Test Root CA$ORG" v3_root \
  "6A0B1C2D3E4F5A6B7C8D" "$START" "$END" "$PKI/ca/other-root.pem" SELF -
cat "$PKI/ca/int.pem" "$PKI/ca/root.pem" >"$PKI/ca/int-root.pem"

# ------------------------------------------------------------------ leaves ----
TYPES="rsa-1024 rsa-2048 rsa-3072 rsa-4096 rsa-8192 ec-p256 ec-p384 ec-p521"
serial_for() {
  case "$1" in
    rsa-1024) echo 3A1E2D4C5B6A79880102030405060708 ;;            # 16 bytes
    rsa-2048) echo 0123456789ABCDEF0123 ;;                        # 10 bytes, leading 0x01
    rsa-3072) echo 5C0FFEE0123456789ABCDEF00FEDCBA987654321 ;;    # 20 bytes, high bit clear
    rsa-4096) echo 40960A1B2C3D4E5F60718293A4B5C6D7 ;;            # 16 bytes
    rsa-8192) echo 0819200112233445566778899AABBCCDDEEFF0 ;;      # 19 bytes, leading 0x08
    ec-p256) echo 8F3A6B2C1D0E9F8A7B6C5D4E3F2A1B0C9D8E7F60 ;;     # 20 bytes, HIGH BIT SET -> DER 00 pad (21 octets)
    ec-p384) echo 384A5B6C7D8E9FA0B1C2D3E4F5061728 ;;            # 16 bytes
    ec-p521) echo 521C0DE5EED1234567890ABCDEF0123456789A ;;      # 19 bytes
  esac
}
curve_name() { case "$1" in ec-p256) echo prime256v1 ;; ec-p384) echo secp384r1 ;; ec-p521) echo secp521r1 ;; esac; }
point_len() { case "$1" in ec-p256) echo 65 ;; ec-p384) echo 97 ;; ec-p521) echo 133 ;; esac; }

SIGN_PREFIX="AWS Roles Anywhere Credential Helper Signing Test"
SIGN_STRING_TEST_VERSION=1

for T in $TYPES; do
  say "leaf $T"
  D="$PKI/$T"
  mkdir -p "$D"
  if [ "$T" = rsa-8192 ]; then
    wait "$BGPID" || { cat "$TMP/rsa8192.log" >&2; die "rsa-8192 keygen failed"; }
    BGPID=""
  else
    genkey "$T" "$D/key-pkcs8.pem"
  fi
  K="$D/key-pkcs8.pem"
  SER="$(serial_for "$T")"
  issue "$K" "/CN=$T-leaf$ORG" v3_leaf "$SER" "$START" "$END" "$D/cert.pem" "$PKI/ca/int.pem" "$PKI/ca/int-key.pem"

  # certificate forms
  ossl x509 -in "$D/cert.pem" -outform DER -out "$D/cert.der"
  cp "$PKI/ca/int.pem" "$D/chain.pem"
  cat "$D/cert.pem" "$PKI/ca/int.pem" >"$D/fullchain.pem"
  cat "$D/cert.pem" "$K" >"$D/combined.pem"
  printf '%s' "$SER" >"$D/serial.hex"
  printf '%s' "$(echo "ibase=16; $SER" | BC_LINE_LENGTH=0 bc)" >"$D/serial.dec"

  # key forms
  ossl pkey -in "$K" -outform DER -out "$D/key-pkcs8.der"
  ossl pkey -in "$K" -pubout -out "$D/pub.pem"
  case "$T" in
    rsa-*)
      ossl rsa -in "$K" -traditional -out "$D/key-pkcs1.pem"
      ossl rsa -in "$K" -traditional -outform DER -out "$D/key-pkcs1.der"
      grep -q -- '-----BEGIN RSA PRIVATE KEY-----' "$D/key-pkcs1.pem" || die "$T: not PKCS#1"
      ;;
    ec-*)
      ossl ec -in "$K" -out "$D/key-sec1.pem"
      ossl ec -in "$K" -outform DER -out "$D/key-sec1.der"
      grep -q -- '-----BEGIN EC PRIVATE KEY-----' "$D/key-sec1.pem" || die "$T: not SEC1"
      ossl ecparam -name "$(curve_name "$T")" -out "$TMP/ecparams.pem"
      cat "$TMP/ecparams.pem" "$D/key-sec1.pem" >"$D/key-sec1-params.pem"
      ;;
  esac

  # encrypted PKCS#8 (PBES2), password "password", PBKDF2 iteration count 2048
  ossl pkcs8 -topk8 -in "$K" -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter 2048 -passout "pass:$PASS" -out "$D/key-pkcs8-aes-256-cbc-sha256.pem"
  ossl pkcs8 -topk8 -in "$K" -v2 aes-128-cbc -v2prf hmacWithSHA256 -iter 2048 -passout "pass:$PASS" -out "$D/key-pkcs8-aes-128-cbc-sha256.pem"
  ossl pkcs8 -topk8 -in "$K" -v2 aes-192-cbc -v2prf hmacWithSHA384 -iter 2048 -passout "pass:$PASS" -out "$D/key-pkcs8-aes-192-cbc-sha384.pem"
  ossl pkcs8 -topk8 -in "$K" -v2 aes-256-cbc -v2prf hmacWithSHA512 -iter 2048 -passout "pass:$PASS" -out "$D/key-pkcs8-aes-256-cbc-sha512.pem"
  ossl pkcs8 -topk8 -in "$K" -v2 aes-256-cbc -v2prf hmacWithSHA1   -iter 2048 -passout "pass:$PASS" -out "$D/key-pkcs8-aes-256-cbc-sha1.pem"
  ossl pkcs8 -topk8 -in "$K" -v2 aes-256-cbc -scrypt -scrypt_N 16384 -scrypt_r 8 -scrypt_p 1 -passout "pass:$PASS" -out "$D/key-pkcs8-scrypt.pem"
  ossl pkcs8 -topk8 -in "$K" -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter 2048 -passout "pass:$PASS" -outform DER -out "$D/key-pkcs8-aes-256-cbc-sha256.der"
  if [ "$T" = rsa-2048 ] || [ "$T" = ec-p256 ]; then
    # legacy OpenSSL-style encrypted traditional PEM (Proc-Type: 4,ENCRYPTED / DEK-Info)
    case "$T" in
      rsa-*) ossl rsa -in "$K" -traditional -aes256 -passout "pass:$PASS" -out "$D/key-pkcs1-legacy-encrypted.pem" ;;
      ec-*)  ossl ec  -in "$K" -aes256 -passout "pass:$PASS" -out "$D/key-sec1-legacy-encrypted.pem" ;;
    esac
  fi

  # PKCS#12: leaf key + leaf cert + intermediate
  ossl pkcs12 -export -inkey "$K" -in "$D/cert.pem" -certfile "$D/chain.pem" -name "$T-leaf" \
    -passout "pass:$PASS" -out "$D/bundle.p12"
  ossl pkcs12 -export -legacy -inkey "$K" -in "$D/cert.pem" -certfile "$D/chain.pem" -name "$T-leaf" \
    -passout "pass:$PASS" -out "$D/bundle-legacy.p12"
  ossl pkcs12 -export -inkey "$K" -in "$D/cert.pem" -certfile "$D/chain.pem" -name "$T-leaf" \
    -passout "pass:" -out "$D/bundle-nopass.p12"
  ossl pkcs12 -export -legacy -inkey "$K" -in "$D/cert.pem" -certfile "$D/chain.pem" -name "$T-leaf" \
    -passout "pass:" -out "$D/bundle-nopass-legacy.p12"
  ossl pkcs12 -export -keypbe NONE -certpbe NONE -nomac -inkey "$K" -in "$D/cert.pem" -certfile "$D/chain.pem" -name "$T-leaf" \
    -passout "pass:" -out "$D/bundle-noenc-nomac.p12"

  # --- known answer A: the sign-string fixed string -------------------------
  case "$T" in
    rsa-*)
      ossl rsa -pubin -in "$D/pub.pem" -RSAPublicKey_out -outform DER -out "$D/sign-string-pubkey.bin"
      ;;
    ec-*)
      N="$(point_len "$T")"
      ossl pkey -pubin -in "$D/pub.pem" -outform DER -out "$TMP/spki.der"
      tail -c "$N" "$TMP/spki.der" >"$D/sign-string-pubkey.bin"
      [ "$(head -c 1 "$D/sign-string-pubkey.bin" | xxd -p)" = "04" ] || die "$T: EC point is not uncompressed"
      # the byte before the point must be the BIT STRING "unused bits" octet (00)
      [ "$(tail -c $((N + 1)) "$TMP/spki.der" | head -c 1 | xxd -p)" = "00" ] || die "$T: unexpected SPKI layout"
      ;;
  esac
  {
    printf '%s%s' "$SIGN_PREFIX" "$SIGN_STRING_TEST_VERSION"
    { printf '%s' "IAM RA"; cat "$D/sign-string-pubkey.bin"; } | "$OPENSSL" dgst -sha256 -binary
  } >"$D/sign-string.bin"
  [ "$(filesize "$D/sign-string.bin")" = 82 ] || die "$T: sign-string.bin is not 82 bytes"
  for H in sha256 sha384 sha512; do
    ossl dgst "-$H" -sign "$K" -out "$TMP/ss.sig" "$D/sign-string.bin"
    ossl dgst "-$H" -verify "$D/pub.pem" -signature "$TMP/ss.sig" "$D/sign-string.bin"
    case "$T" in
      rsa-*) hexof "$TMP/ss.sig" >"$D/sign-string-$H.hex" ;;   # PKCS#1 v1.5 is deterministic
    esac
  done
done

# --------------------------------------------------------------- bad/ ----
say "bad/"
B="$PKI/bad"
: >"$B/empty.pem"
printf '\n\n\n\n' >"$B/whitespace.pem"
{
  echo "-----BEGIN CERTIFICATE-----"
  printf 'This is not a DER certificate, just garbage bytes inside valid base64. %.0s' 1 2 3 4 | base64 -w 64
  echo "-----END CERTIFICATE-----"
} >"$B/corrupt-cert.pem"
{
  echo "-----BEGIN CERTIFICATE-----"
  echo 'MIIB!!!!this is *not* valid base64 @@@@ ####'
  echo "-----END CERTIFICATE-----"
} >"$B/corrupt-cert-badbase64.pem"
{
  echo "-----BEGIN PRIVATE KEY-----"
  printf 'This is not a PKCS#8 PrivateKeyInfo, just garbage inside valid base64. %.0s' 1 2 3 | base64 -w 64
  echo "-----END PRIVATE KEY-----"
} >"$B/corrupt-key.pem"
L="$(wc -l <"$PKI/rsa-2048/cert.pem" | tr -d ' ')"
head -n $((L / 2)) "$PKI/rsa-2048/cert.pem" >"$B/truncated-cert.pem"
printf 'This is a plain text file.\nIt contains no PEM armor at all.\n' >"$B/not-pem.txt"

# unsupported key types (self-signed, leaf-style extensions, 2024..2045)
ossl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -out "$TMP/dsaparam.pem"
ossl genpkey -paramfile "$TMP/dsaparam.pem" -out "$B/dsa-key.pem"
issue "$B/dsa-key.pem" "/CN=dsa-unsupported$ORG" v3_leaf 0D5A000000000001 "$START" "$END" "$B/dsa-cert.pem" SELF -
genkey ed25519 "$B/ed25519-key.pem"
issue "$B/ed25519-key.pem" "/CN=ed25519-unsupported$ORG" v3_leaf 0ED2551900000002 "$START" "$END" "$B/ed25519-cert.pem" SELF - none
genkey ec-secp256k1 "$B/secp256k1-key.pem"
issue "$B/secp256k1-key.pem" "/CN=secp256k1-unsupported$ORG" v3_leaf 05EC256F00000003 "$START" "$END" "$B/secp256k1-cert.pem" SELF -

# validity / constraint / trust problems (issued by the intermediate unless noted)
genkey ec-p256 "$B/expired-key.pem"
issue "$B/expired-key.pem" "/CN=expired-leaf$ORG" v3_leaf 0E0000000000000000000004 20200101000000Z 20210101000000Z \
  "$B/expired-cert.pem" "$PKI/ca/int.pem" "$PKI/ca/int-key.pem"
genkey ec-p256 "$B/notyetvalid-key.pem"
issue "$B/notyetvalid-key.pem" "/CN=notyetvalid-leaf$ORG" v3_leaf 0F0000000000000000000005 20400101000000Z 20450101000000Z \
  "$B/notyetvalid-cert.pem" "$PKI/ca/int.pem" "$PKI/ca/int-key.pem"
genkey ec-p256 "$B/ca-true-leaf-key.pem"
issue "$B/ca-true-leaf-key.pem" "/CN=ca-true-leaf$ORG" v3_leaf_ca_true 0CA000000000000000000006 "$START" "$END" \
  "$B/ca-true-leaf.pem" "$PKI/ca/int.pem" "$PKI/ca/int-key.pem"
genkey rsa-2048 "$B/no-digsig-leaf-key.pem"
issue "$B/no-digsig-leaf-key.pem" "/CN=no-digsig-leaf$ORG" v3_leaf_no_digsig 0D0000000000000000000007 "$START" "$END" \
  "$B/no-digsig-leaf.pem" "$PKI/ca/int.pem" "$PKI/ca/int-key.pem"
genkey ec-p256 "$B/untrusted-leaf-key.pem"
issue "$B/untrusted-leaf-key.pem" "/CN=untrusted-leaf$ORG" v3_leaf 0A0000000000000000000008 "$START" "$END" \
  "$B/untrusted-leaf.pem" "$PKI/ca/other-root.pem" "$PKI/ca/other-root-key.pem"

# ------------------------------------------- known answer B: AWS4-X509 ----
say "aws4-x509 vectors"
AMZDATE=20250102T030405Z
DATESTAMP=${AMZDATE%%T*}
SIGNED_BASE="content-type;host;x-amz-date;x-amz-x509"

# make_case <name> <leaf-type> <chain file rel. to testdata or ""> <region> <body>
make_case() {
  local name="$1" T="$2" chainrel="$3" region="$4" body="$5"
  local C="$VEC/$name" D="$PKI/$T"
  mkdir -p "$C"
  local host="rolesanywhere.$region.amazonaws.com"
  local ta="arn:aws:rolesanywhere:$region:123456789012:trust-anchor/6f9a2b1c-1111-2222-3333-444455556666"
  local pr="arn:aws:rolesanywhere:$region:123456789012:profile/0a1b2c3d-4444-5555-6666-777788889999"
  local ro="arn:aws:iam::123456789012:role/test-role"
  local alg
  case "$T" in rsa-*) alg=AWS4-X509-RSA-SHA256 ;; ec-*) alg=AWS4-X509-ECDSA-SHA256 ;; esac
  local scope="$DATESTAMP/$region/rolesanywhere/aws4_request"

  local x509 chainhdr="" signed="$SIGNED_BASE" i n
  x509="$(b64der "$D/cert.pem")"
  if [ -n "$chainrel" ]; then
    rm -rf "$TMP/split"
    n="$(split_pem "$HERE/$chainrel" "$TMP/split")"
    [ "$n" -ge 1 ] || die "$name: empty chain"
    for ((i = 0; i < n; i++)); do
      [ $i -eq 0 ] || chainhdr+=","
      chainhdr+="$(b64der "$TMP/split/$i.pem")"
    done
    signed="$signed;x-amz-x509-chain"
  fi

  # canonical query string: params already in sorted order (profileArn < roleArn < trustAnchorArn)
  local cq
  cq="profileArn=$(uri_encode "$pr")&roleArn=$(uri_encode "$ro")&trustAnchorArn=$(uri_encode "$ta")"

  # canonical headers, sorted by lowercase name, each line terminated by \n
  local ch
  ch="content-type:application/json"$'\n'
  ch+="host:$host"$'\n'
  ch+="x-amz-date:$AMZDATE"$'\n'
  ch+="x-amz-x509:$x509"$'\n'
  [ -z "$chainhdr" ] || ch+="x-amz-x509-chain:$chainhdr"$'\n'

  local bodyhash
  bodyhash="$(printf '%s' "$body" | sha256hex)"

  printf '%s\n%s\n%s\n%s\n%s\n%s' POST /sessions "$cq" "$ch" "$signed" "$bodyhash" >"$C/canonical-request.txt"
  local crhash
  crhash="$(sha256hex <"$C/canonical-request.txt")"
  printf '%s\n%s\n%s\n%s' "$alg" "$AMZDATE" "$scope" "$crhash" >"$C/string-to-sign.txt"

  ossl dgst -sha256 -sign "$D/key-pkcs8.pem" -out "$TMP/req.sig" "$C/string-to-sign.txt"
  # self-check: the signature verifies with the leaf's public key AND the certificate's key
  ossl dgst -sha256 -verify "$D/pub.pem" -signature "$TMP/req.sig" "$C/string-to-sign.txt"
  "$OPENSSL" x509 -in "$D/cert.pem" -noout -pubkey >"$TMP/certpub.pem"
  ossl dgst -sha256 -verify "$TMP/certpub.pem" -signature "$TMP/req.sig" "$C/string-to-sign.txt"

  local serial prefix
  serial="$(cat "$D/serial.dec")"
  prefix="$alg Credential=$serial/$scope, SignedHeaders=$signed, Signature="
  case "$T" in
    rsa-*)
      hexof "$TMP/req.sig" >"$C/signature.hex"
      printf '%s%s' "$prefix" "$(cat "$C/signature.hex")" >"$C/authorization.txt"
      ;;
    ec-*)
      printf '%s' "$prefix" >"$C/authorization-prefix.txt"
      ;;
  esac

  local chainjson=null
  [ -z "$chainrel" ] || chainjson="\"$chainrel\""
  cat >"$C/context.json" <<EOF
{
  "time": "$AMZDATE",
  "region": "$region",
  "host": "$host",
  "certificate": "pki/$T/cert.pem",
  "chain": $chainjson,
  "private_key": "pki/$T/key-pkcs8.pem",
  "query": {
    "profileArn": "$pr",
    "roleArn": "$ro",
    "trustAnchorArn": "$ta"
  },
  "body": "$(json_escape "$body")"
}
EOF
}

BODY='{"durationSeconds":3600}'
make_case rsa-2048-no-chain        rsa-2048 ""                      us-east-1 "$BODY"
make_case rsa-2048-chain           rsa-2048 pki/rsa-2048/chain.pem  us-east-1 "$BODY"
make_case rsa-2048-chain-int-root  rsa-2048 pki/ca/int-root.pem     us-east-1 "$BODY"
make_case ec-p256-chain            ec-p256  pki/ec-p256/chain.pem   us-east-1 "$BODY"
make_case ec-p384-no-chain         ec-p384  ""                      us-east-1 "$BODY"
make_case ec-p521-eu-west-1        ec-p521  ""                      eu-west-1 "$BODY"
make_case rsa-4096-session-name    rsa-4096 ""                      us-east-1 '{"durationSeconds":900,"roleSessionName":"my-session"}'

# ---------------------------------------------------------- self-checks ----
say "self-checks"
expect_verify_fail() { # <cert> <expected error code> <verify args...>
  local cert="$1" code="$2"; shift 2
  if "$OPENSSL" verify -attime "$ATTIME" "$@" "$cert" >"$TMP/v.log" 2>&1; then
    die "$cert unexpectedly verified"
  fi
  grep -q "error $code at" "$TMP/v.log" || { cat "$TMP/v.log" >&2; die "$cert: expected verify error $code"; }
}
ossl verify -attime "$ATTIME" -CAfile "$PKI/ca/root.pem" "$PKI/ca/int.pem"
for T in $TYPES; do
  D="$PKI/$T"
  ossl verify -attime "$ATTIME" -purpose sslclient -CAfile "$PKI/ca/root.pem" -untrusted "$D/chain.pem" "$D/cert.pem"
  # key <-> cert match, across every key encoding
  "$OPENSSL" x509 -in "$D/cert.pem" -noout -pubkey >"$TMP/a.pem"
  cmp -s "$TMP/a.pem" "$D/pub.pem" || die "$T: cert/key mismatch"
  keys=("$D/key-pkcs8.der:DER:" "$D/key-pkcs8-aes-256-cbc-sha256.pem:PEM:pass:$PASS"
        "$D/key-pkcs8-aes-128-cbc-sha256.pem:PEM:pass:$PASS" "$D/key-pkcs8-aes-192-cbc-sha384.pem:PEM:pass:$PASS"
        "$D/key-pkcs8-aes-256-cbc-sha512.pem:PEM:pass:$PASS" "$D/key-pkcs8-aes-256-cbc-sha1.pem:PEM:pass:$PASS"
        "$D/key-pkcs8-scrypt.pem:PEM:pass:$PASS" "$D/key-pkcs8-aes-256-cbc-sha256.der:DER:pass:$PASS")
  case "$T" in
    rsa-*) keys+=("$D/key-pkcs1.pem:PEM:" "$D/key-pkcs1.der:DER:") ;;
    ec-*)  keys+=("$D/key-sec1.pem:PEM:" "$D/key-sec1.der:DER:" "$D/key-sec1-params.pem:PEM:") ;;
  esac
  for spec in "${keys[@]}"; do
    f="${spec%%:*}"; rest="${spec#*:}"; form="${rest%%:*}"; pw="${rest#*:}"
    if [ -n "$pw" ]; then
      ossl pkey -in "$f" -inform "$form" -passin "$pw" -pubout -out "$TMP/b.pem"
    else
      ossl pkey -in "$f" -inform "$form" -pubout -out "$TMP/b.pem"
    fi
    cmp -s "$TMP/a.pem" "$TMP/b.pem" || die "$f: does not match cert"
  done
  for p in bundle.p12:password: bundle-legacy.p12:password:-legacy bundle-nopass.p12:: bundle-nopass-legacy.p12::-legacy bundle-noenc-nomac.p12::; do
    f="${p%%:*}"; rest="${p#*:}"; pw="${rest%%:*}"; extra="${rest#*:}"
    # shellcheck disable=SC2086
    ossl pkcs12 $extra -in "$D/$f" -passin "pass:$pw" -nodes -out "$TMP/p12.pem"
    [ "$(grep -c 'BEGIN CERTIFICATE' "$TMP/p12.pem")" = 2 ] || die "$T/$f: expected 2 certs"
    ossl pkey -in "$TMP/p12.pem" -pubout -out "$TMP/b.pem"
    cmp -s "$TMP/a.pem" "$TMP/b.pem" || die "$T/$f: key does not match cert"
  done
  # serial.dec / serial.hex agree with each other and with the certificate
  [ "serial=$(cat "$D/serial.hex")" = "$("$OPENSSL" x509 -in "$D/cert.pem" -noout -serial)" ] || die "$T: serial.hex"
  [ "$(echo "obase=16; $(cat "$D/serial.dec")" | BC_LINE_LENGTH=0 bc)" = "$(sed 's/^0*//' "$D/serial.hex")" ] || die "$T: serial.dec"
  case "$T" in
    rsa-*) for H in sha256 sha384 sha512; do
             xxd -r -p "$D/sign-string-$H.hex" >"$TMP/s.bin"
             ossl dgst "-$H" -verify "$D/pub.pem" -signature "$TMP/s.bin" "$D/sign-string.bin"
           done ;;
  esac
done
# the ec-p256 serial really is 21 DER content octets (leading 00)
"$OPENSSL" asn1parse -in "$PKI/ec-p256/cert.pem" | grep -q 'l=  21 prim: INTEGER *:8F3A6B2C' || die "ec-p256 serial encoding"
ossl verify -attime "$ATTIME" -CAfile "$PKI/ca/root.pem" -untrusted "$PKI/ca/int.pem" "$B/ca-true-leaf.pem"
ossl verify -attime "$ATTIME" -CAfile "$PKI/ca/root.pem" -untrusted "$PKI/ca/int.pem" "$B/no-digsig-leaf.pem"
expect_verify_fail "$B/expired-cert.pem"     10 -CAfile "$PKI/ca/root.pem" -untrusted "$PKI/ca/int.pem"
expect_verify_fail "$B/notyetvalid-cert.pem" 9  -CAfile "$PKI/ca/root.pem" -untrusted "$PKI/ca/int.pem"
expect_verify_fail "$B/untrusted-leaf.pem"   20 -CAfile "$PKI/ca/root.pem" -untrusted "$PKI/ca/int.pem"
ossl verify -attime "$ATTIME" -CAfile "$PKI/ca/other-root.pem" "$B/untrusted-leaf.pem"
for f in corrupt-cert.pem corrupt-cert-badbase64.pem truncated-cert.pem empty.pem whitespace.pem not-pem.txt; do
  if "$OPENSSL" x509 -in "$B/$f" -noout >/dev/null 2>&1; then die "bad/$f parsed as a certificate"; fi
done
if "$OPENSSL" pkey -in "$B/corrupt-key.pem" -noout >/dev/null 2>&1; then die "bad/corrupt-key.pem parsed"; fi
for k in dsa ed25519 secp256k1; do
  "$OPENSSL" x509 -in "$B/$k-cert.pem" -noout -pubkey >"$TMP/a.pem"
  ossl pkey -in "$B/$k-key.pem" -pubout -out "$TMP/b.pem"
  cmp -s "$TMP/a.pem" "$TMP/b.pem" || die "bad/$k: key/cert mismatch"
done

# Legacy OpenSSL PEM encryption (Proc-Type: 4,ENCRYPTED / DEK-Info) with each cipher the helper
# reads: key-legacy-{aes128,aes192,aes256,des3}.pem, password "password"; OpenSSL must read each
# back to the leaf's public key.
legacy_pem() { # $1 = a key type directory of $PKI
  local D="$1" T c
  T="$(basename "$D")"
  for c in aes128 aes192 aes256 des3; do
    case "$T" in
      rsa-*) ossl rsa -in "$D/key-pkcs8.pem" -traditional "-$c" -passout "pass:$PASS" -out "$D/key-legacy-$c.pem" ;;
      ec-*)  ossl ec  -in "$D/key-pkcs8.pem" "-$c" -passout "pass:$PASS" -out "$D/key-legacy-$c.pem" ;;
    esac
    grep -q '^Proc-Type: 4,ENCRYPTED' "$D/key-legacy-$c.pem" || die "$T: key-legacy-$c.pem is not legacy-encrypted"
    ossl pkey -in "$D/key-legacy-$c.pem" -passin "pass:$PASS" -pubout -out "$TMP/legacy.pem"
    cmp -s "$TMP/legacy.pem" "$D/pub.pem" || die "$T: key-legacy-$c.pem is not the leaf's key"
  done
}
for T in rsa-2048 ec-p256 ec-p384; do legacy_pem "$PKI/$T"; done

gen_validate
check_validate

# openssl writes key files 0600; make everything readable (they are public test fixtures)
chmod -R a+rX "$PKI" "$VEC"

say "done: $(find "$PKI" "$VEC" -type f | wc -l | tr -d ' ') files"
