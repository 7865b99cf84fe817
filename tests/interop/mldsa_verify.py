#!/usr/bin/env python3
"""Verifies ML-DSA signatures with Python `cryptography` (OpenSSL 4 inside), independently of the
Rust code under test. Reads JSON lines {"cert": PATH, "message": HEX, "signature": HEX} on stdin
and prints one line per input, "ok" or "bad: REASON"; an ML-DSA signature here is pure ML-DSA
with an empty context, which is what AWS4-X509-MLDSA and sign-string produce."""
import json
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import mldsa

PUBLIC = (mldsa.MLDSA44PublicKey, mldsa.MLDSA65PublicKey, mldsa.MLDSA87PublicKey)

for line in sys.stdin:
    case = json.loads(line)
    with open(case["cert"], "rb") as f:
        key = x509.load_pem_x509_certificate(f.read()).public_key()
    if not isinstance(key, PUBLIC):
        print("bad: not an ML-DSA key: %s" % type(key).__name__)
        continue
    try:
        key.verify(bytes.fromhex(case["signature"]), bytes.fromhex(case["message"]))
        print("ok")
    except InvalidSignature:
        print("bad: the signature does not verify")
