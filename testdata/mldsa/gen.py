#!/usr/bin/env python3
"""ML-DSA (FIPS 204) test material for aws_signing_helper, made by implementations independent of
the code under test: Python `cryptography` (OpenSSL 4 inside) for keys, certificates and the
seed-form PKCS#8, dilithium-py (pure Python FIPS 204) for the expanded keys and the deterministic
known-answer signatures. See README.md beside this file for what each file is.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -r testdata/mldsa/requirements.txt
    /tmp/venv/bin/python testdata/mldsa/gen.py          # rewrites testdata/mldsa/ (~2 s)

Every run makes new keys (outputs are not reproducible); the tests read expected values from the
files. The script checks its own output at the end and stops if anything disagrees.
"""
import base64
import datetime
import json
import os
import shutil
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.x509.oid import NameOID
from dilithium_py.ml_dsa import ML_DSA_44, ML_DSA_65, ML_DSA_87

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.dirname(HERE)
PASSWORD = b"password"

# name -> (dilithium-py scheme, cryptography class, OID, expanded key size)
LEVELS = {
    "mldsa44": (ML_DSA_44, mldsa.MLDSA44PrivateKey, "2.16.840.1.101.3.4.3.17", 2560),
    "mldsa65": (ML_DSA_65, mldsa.MLDSA65PrivateKey, "2.16.840.1.101.3.4.3.18", 4032),
    "mldsa87": (ML_DSA_87, mldsa.MLDSA87PrivateKey, "2.16.840.1.101.3.4.3.19", 4896),
}
# Fixed validity, as testdata/gen.sh uses for the rest of the PKI.
NOT_BEFORE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2045, 1, 1, tzinfo=datetime.timezone.utc)
# The fixed string `sign-string` signs for ML-DSA keys in the official v1.8 (no key hash).
SIGN_STRING = b"AWS Roles Anywhere Credential Helper Signing Test1"


# ---------------------------------------------------------------- a small DER writer
def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def oid(dotted):
    parts = [int(p) for p in dotted.split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7F]
        p >>= 7
        while p:
            enc.append(0x80 | (p & 0x7F))
            p >>= 7
        body += bytes(reversed(enc))
    return tlv(0x06, body)


def seq(*items):
    return tlv(0x30, b"".join(items))


def octets(b):
    return tlv(0x04, b)


def integer(n):
    return tlv(0x02, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big"))


def pkcs8(alg_oid, choice, params=b""):
    """OneAsymmetricKey v1; RFC 9881 says the AlgorithmIdentifier has no parameters."""
    return seq(integer(0), seq(oid(alg_oid) + params), octets(choice))


def pem(label, der):
    b64 = base64.b64encode(der).decode()
    lines = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return ("-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, lines, label)).encode()


PRFS = {"sha256": ("1.2.840.113549.2.9", hashes.SHA256()),
        "sha384": ("1.2.840.113549.2.10", hashes.SHA384()),
        "sha512": ("1.2.840.113549.2.11", hashes.SHA512())}
CIPHERS = {128: "2.16.840.1.101.3.4.1.2", 192: "2.16.840.1.101.3.4.1.22",
           256: "2.16.840.1.101.3.4.1.42"}


def encrypt_pkcs8(plain, kdf="pbkdf2", prf="sha256", bits=256, iterations=2048):
    """EncryptedPrivateKeyInfo, PBES2 (RFC 8018) with PBKDF2-HMAC-SHA2 or scrypt, AES-CBC."""
    salt, iv = os.urandom(16), os.urandom(16)
    if kdf == "scrypt":
        # OpenSSL's `pkcs8 -scrypt` defaults: N=16384, r=8, p=1.
        key = Scrypt(salt, bits // 8, 16384, 8, 1).derive(PASSWORD)
        kdf_der = seq(oid("1.3.6.1.4.1.11591.4.11"),
                      seq(octets(salt), integer(16384), integer(8), integer(1)))
    else:
        prf_oid, prf_hash = PRFS[prf]
        key = PBKDF2HMAC(prf_hash, bits // 8, salt, iterations).derive(PASSWORD)
        kdf_der = seq(oid("1.2.840.113549.1.5.12"),
                      seq(octets(salt), integer(iterations), seq(oid(prf_oid), tlv(0x05, b""))))
    padder = padding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = enc.update(padder.update(plain) + padder.finalize()) + enc.finalize()
    pbes2 = seq(oid("1.2.840.113549.1.5.13"), seq(kdf_der, seq(oid(CIPHERS[bits]), octets(iv))))
    return pem("ENCRYPTED PRIVATE KEY", seq(pbes2, octets(ct)))


# ---------------------------------------------------------------- certificates
def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Roles Anywhere Test"),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "US")])


def sign_alg(key):
    # ML-DSA signs the TBSCertificate itself (algorithm None); RSA SHA-256, EC SHA-384.
    if isinstance(key, rsa.RSAPrivateKey):
        return hashes.SHA256()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return hashes.SHA384()
    return None


def usage(ca):
    return x509.KeyUsage(digital_signature=not ca, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False)


def certificate(cn, public, issuer_name, issuer_key, ca, path_length=None):
    b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(issuer_name or name(cn))
         .public_key(public).serial_number(x509.random_serial_number())
         .not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
         .add_extension(usage(ca), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer_key.public_key()), critical=False))
    return b.sign(issuer_key, sign_alg(issuer_key))


def cert_pem(cert):
    return cert.public_bytes(ser.Encoding.PEM)


def key_pem(key):
    return key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())


# ---------------------------------------------------------------- AWS4-X509-MLDSA vectors
def uri_encode(s):
    safe = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
    return "".join(chr(c) if c in safe else "%%%02X" % c for c in s.encode())


def sha256_hex(data):
    h = hashes.Hash(hashes.SHA256())
    h.update(data)
    return h.finalize().hex()


def vector(out, scheme, sk, leaf, chain, paths, time="20250102T030405Z"):
    """The AWS4-X509 stages of one CreateSession request, signed as the official helper signs it
    (pure ML-DSA over the string to sign, empty context, deterministic)."""
    os.makedirs(out)
    host = "rolesanywhere.us-east-1.amazonaws.com"
    query = {
        "profileArn": "arn:aws:rolesanywhere:us-east-1:123456789012:profile/p-main",
        "roleArn": "arn:aws:iam::123456789012:role/test-role",
        "trustAnchorArn": "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta-main",
    }
    body = '{"durationSeconds":3600}'
    b64 = lambda c: base64.b64encode(c.public_bytes(ser.Encoding.DER)).decode()
    headers = [("content-type", "application/json"), ("host", host), ("x-amz-date", time),
               ("x-amz-x509", b64(leaf))]
    if chain:
        headers.append(("x-amz-x509-chain", ",".join(b64(c) for c in chain)))
    signed = ";".join(n for n, _ in headers)
    canonical = "\n".join([
        "POST", "/sessions",
        "&".join("%s=%s" % (uri_encode(k), uri_encode(v)) for k, v in sorted(query.items())),
        "".join("%s:%s\n" % h for h in headers), signed, sha256_hex(body.encode())])
    scope = "%s/us-east-1/rolesanywhere/aws4_request" % time[:8]
    sts = "AWS4-X509-MLDSA\n%s\n%s\n%s" % (time, scope, sha256_hex(canonical.encode()))
    signature = scheme.sign(sk, sts.encode(), ctx=b"", deterministic=True)
    auth = "AWS4-X509-MLDSA Credential=%d/%s, SignedHeaders=%s, Signature=%s" % (
        leaf.serial_number, scope, signed, signature.hex())
    context = dict(time=time, region="us-east-1", host=host, query=query, body=body, **paths)
    write(out, "context.json", json.dumps(context, indent=2).encode() + b"\n")
    write(out, "canonical-request.txt", canonical.encode())
    write(out, "string-to-sign.txt", sts.encode())
    write(out, "authorization.txt", auth.encode())
    # The same string signed with context "x": valid ML-DSA, but not what AWS4-X509-MLDSA signs.
    write(out, "signature-context-x.hex",
          scheme.sign(sk, sts.encode(), ctx=b"x", deterministic=True).hex().encode())


def write(directory, fname, data):
    path = os.path.join(directory, fname)
    with open(path, "wb") as f:
        f.write(data)
    return path


def rel(path):
    return os.path.relpath(path, TESTDATA)


def main():
    for sub in ["ca", "bad", "aws4-x509", "conformance", "ec-by-mldsa65"] + list(LEVELS):
        shutil.rmtree(os.path.join(HERE, sub), ignore_errors=True)
        os.makedirs(os.path.join(HERE, sub))
    ca_dir = os.path.join(HERE, "ca")

    # ---- roots: RSA-3072, EC P-384 and one per ML-DSA parameter set
    roots = {"rsa": rsa.generate_private_key(65537, 3072),
             "ec": ec.generate_private_key(ec.SECP384R1())}
    for lvl, (_, cls, _, _) in LEVELS.items():
        roots[lvl] = cls.generate()
    root_certs = {}
    for tag, key in roots.items():
        cert = certificate("ML-DSA Test %s Root CA" % tag.upper(), key.public_key(), None, key,
                           ca=True)
        root_certs[tag] = cert
        write(ca_dir, "root-%s.pem" % tag, cert_pem(cert))
        write(ca_dir, "root-%s-key.pem" % tag, key_pem(key))
    write(ca_dir, "roots.pem", b"".join(cert_pem(root_certs[t]) for t in roots))
    # impostors: the subject of an ML-DSA root with another key, whose signatures cannot verify
    for lvl in ["mldsa65", "mldsa87"]:
        other = LEVELS[lvl][1].generate()
        write(ca_dir, "impostor-root-%s.pem" % lvl, cert_pem(certificate(
            "ML-DSA Test %s Root CA" % lvl.upper(), other.public_key(), None, other, ca=True)))
    # an ML-DSA-65 intermediate under the ML-DSA-87 root
    int_key = mldsa.MLDSA65PrivateKey.generate()
    int_cert = certificate("ML-DSA Test MLDSA65 Intermediate CA", int_key.public_key(),
                           root_certs["mldsa87"].subject, roots["mldsa87"], ca=True,
                           path_length=0)
    write(ca_dir, "int-mldsa65.pem", cert_pem(int_cert))
    write(ca_dir, "int-mldsa65-key.pem", key_pem(int_key))

    checks = []
    keys = {}
    for lvl, (scheme, cls, alg, sk_len) in LEVELS.items():
        d = os.path.join(HERE, lvl)
        seed = os.urandom(32)
        pk, sk = scheme.key_derive(seed)  # FIPS 204 ML-DSA.KeyGen_internal(seed)
        key = cls.from_seed_bytes(seed)
        assert key.public_key().public_bytes_raw() == pk, "dilithium-py and cryptography differ"
        assert len(sk) == sk_len
        keys[lvl] = (key, sk)
        forms = {"seed": tlv(0x80, seed), "expanded": octets(sk),
                 "both": seq(octets(seed), octets(sk))}
        assert key.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8,
                                 ser.NoEncryption()) == pkcs8(alg, forms["seed"])
        for form, choice in forms.items():
            der = pkcs8(alg, choice)
            write(d, "key-%s.der" % form, der)
            write(d, "key-%s.pem" % form, pem("PRIVATE KEY", der))
        write(d, "key-seed-enc.pem", encrypt_pkcs8(pkcs8(alg, forms["seed"])))
        write(d, "key-both-enc.pem", encrypt_pkcs8(pkcs8(alg, forms["both"])))
        write(d, "pub.pem", key.public_key().public_bytes(
            ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo))
        # sign-string's known answer: deterministic, empty context, over the official string
        write(d, "sign-string.sig", scheme.sign(sk, SIGN_STRING, ctx=b"", deterministic=True))
        for tag in roots:
            leaf = certificate("%s leaf by %s root" % (lvl, tag), key.public_key(),
                               root_certs[tag].subject, roots[tag], ca=False)
            write(d, "cert-by-%s.pem" % tag, cert_pem(leaf))
            checks.append((leaf, root_certs[tag]))
        leaf = certificate("%s leaf by MLDSA65 intermediate" % lvl, key.public_key(),
                           int_cert.subject, int_key, ca=False)
        write(d, "cert-via-int.pem", cert_pem(leaf))
        write(d, "cert-via-int.der", leaf.public_bytes(ser.Encoding.DER))
        write(d, "cert-via-int.serial.dec", b"%d\n" % leaf.serial_number)
        write(d, "fullchain.pem", cert_pem(leaf) + cert_pem(int_cert))
        write(d, "chain.pem", cert_pem(int_cert))
        checks += [(leaf, int_cert), (int_cert, root_certs["mldsa87"])]
        # AWS4-X509-MLDSA known answers: leaf under the intermediate, chain sent
        vector(os.path.join(HERE, "aws4-x509", "%s-chain" % lvl), scheme, sk, leaf, [int_cert],
               dict(certificate=rel(os.path.join(d, "cert-via-int.pem")),
                    chain=rel(os.path.join(d, "chain.pem")),
                    private_key=rel(os.path.join(d, "key-both.pem"))))

    # ---- a classical (EC P-256) leaf under an ML-DSA root
    d = os.path.join(HERE, "ec-by-mldsa65")
    eck = ec.generate_private_key(ec.SECP256R1())
    leaf = certificate("EC P-256 leaf by MLDSA65 root", eck.public_key(),
                       root_certs["mldsa65"].subject, roots["mldsa65"], ca=False)
    write(d, "cert.pem", cert_pem(leaf))
    write(d, "key.pem", key_pem(eck))
    checks.append((leaf, root_certs["mldsa65"]))

    # ---- bad inputs
    bad = os.path.join(HERE, "bad")
    scheme, _, alg65, _ = LEVELS["mldsa65"]
    both = open(os.path.join(HERE, "mldsa65", "key-both.der"), "rb").read()
    write(bad, "mldsa65-truncated.der", both[: len(both) // 2])
    write(bad, "mldsa65-truncated.pem", pem("PRIVATE KEY", both[: len(both) // 2]))
    other_seed = os.urandom(32)
    _, other_sk = scheme.key_derive(other_seed)
    seed65 = keys["mldsa65"][0].private_bytes_raw()
    write(bad, "mldsa65-both-mismatched.pem",
          pem("PRIVATE KEY", pkcs8(alg65, seq(octets(seed65), octets(other_sk)))))
    write(bad, "mldsa65-both-mismatched-enc.pem",
          encrypt_pkcs8(pkcs8(alg65, seq(octets(seed65), octets(other_sk)))))
    write(bad, "mldsa65-other-key.pem", pem("PRIVATE KEY", pkcs8(alg65, tlv(0x80, other_seed))))
    # an expanded key whose tr (bytes 64..128) is not H(pk): its signatures do not verify
    sk65 = bytearray(keys["mldsa65"][1])
    sk65[64] ^= 1
    write(bad, "mldsa65-expanded-bad-tr.pem", pem("PRIVATE KEY", pkcs8(alg65, octets(sk65))))
    write(bad, "mldsa44-with-parameters.pem",
          pem("PRIVATE KEY", pkcs8(LEVELS["mldsa44"][2], tlv(0x80, os.urandom(32)),
                                   params=tlv(0x05, b""))))
    # a 44-size seed form under the 87 OID is fine (seeds are 32 bytes); a 65 expanded key
    # under the 44 OID is not
    write(bad, "mldsa44-oid-mldsa65-expanded.pem",
          pem("PRIVATE KEY", pkcs8(LEVELS["mldsa44"][2], octets(keys["mldsa65"][1]))))

    # ---- the official helper's fixture names (tst/mldsa-fixtures: `openssl genpkey`, which
    # writes the "both" form, a self-signed `req -x509` certificate, and `openssl pkcs8 -topk8`
    # encryptions), for tests/conformance
    conf = os.path.join(HERE, "conformance")
    for lvl, (scheme, cls, alg, _) in LEVELS.items():
        key, sk = keys[lvl]
        plain = pkcs8(alg, seq(octets(key.private_bytes_raw()), octets(sk)))
        write(conf, "%s-key.pem" % lvl, pem("PRIVATE KEY", plain))
        cert = (x509.CertificateBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "roles-anywhere-%s" % lvl)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                       "roles-anywhere-%s" % lvl)]))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, None))
        write(conf, "%s-cert.pem" % lvl, cert_pem(cert))
        write(conf, "%s-key-pkcs8.pem" % lvl, encrypt_pkcs8(plain))
        write(conf, "%s-key-pkcs8-scrypt.pem" % lvl, encrypt_pkcs8(plain, kdf="scrypt"))
        for prf in ["sha256", "sha384", "sha512"]:
            write(conf, "%s-key-pkcs8-hmacWith%s.pem" % (lvl, prf.upper()),
                  encrypt_pkcs8(plain, prf=prf))
        for bits in [128, 192, 256]:
            write(conf, "%s-key-pkcs8-aes%dcbc.pem" % (lvl, bits), encrypt_pkcs8(plain, bits=bits))

    # ---- self-checks with both implementations
    for cert, issuer in checks:
        cert.verify_directly_issued_by(issuer)  # every signature, RSA, EC and ML-DSA issuers
    for lvl, (scheme, cls, alg, _) in LEVELS.items():
        key, sk = keys[lvl]
        sig = open(os.path.join(HERE, lvl, "sign-string.sig"), "rb").read()
        key.public_key().verify(sig, SIGN_STRING)  # cryptography, empty context
        assert scheme.verify(key.public_key().public_bytes_raw(), SIGN_STRING, sig)
        for form in ["seed", "both"]:
            enc = open(os.path.join(HERE, lvl, "key-%s-enc.pem" % form), "rb").read()
            if form == "seed":
                k = ser.load_pem_private_key(enc, PASSWORD)
                assert k.private_bytes_raw() == key.private_bytes_raw()
    print("wrote testdata/mldsa: %d checks passed" % (len(checks) + 3 * len(LEVELS)))


if __name__ == "__main__":
    sys.exit(main())
