//! Everything that can go wrong while finding, opening or using a certificate and its key, one
//! variant each, whatever backend holds them.
//!
//! A message is one line: what went wrong, the file, URI or flag it concerns, and what to do.
//! Messages never contain key material, passwords or PINs: a bad key file is reported by its
//! path (and PEM block number), never by its contents; URIs are shown with `pin-value` blanked.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Shorthand for the identity layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure of the identity layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read. The cause is the [`source`](std::error::Error::source).
    #[error("cannot read {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },

    /// A path names a FIFO, a device, a directory or a socket where a file should be.
    #[error("{} is {kind}, not a regular file; pass a file holding {expected}", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is, e.g. "a FIFO (named pipe)".
        kind: &'static str,
        /// What should have been in it.
        expected: &'static str,
    },

    /// A file is larger than anything it could sensibly hold.
    #[error("{} is larger than {} MiB; expected {expected}", path.display(), limit >> 20)]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
        /// What should have been in it.
        expected: &'static str,
    },

    /// A file we need is empty.
    #[error("{} is empty; expected {expected}", path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
        /// What should have been in it.
        expected: &'static str,
    },

    /// PEM armor is damaged (unterminated block, bad base64, ...).
    #[error("{} is not valid PEM: {detail}; re-export the file or check that it was not truncated", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never its contents).
        detail: String,
    },

    /// A file that should hold a certificate holds none.
    #[error("{}: could not parse PEM data: it contains no certificate; pass a PEM or DER X.509 certificate", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },

    /// A certificate could not be parsed.
    #[error("{}: could not parse certificate {index} ({detail}); the file may be corrupt", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// 1-based position of the certificate within the file.
        index: usize,
        /// Parser message.
        detail: String,
    },

    /// A command that only signs was given neither a key nor a certificate.
    #[error("no private key given; pass --private-key (a key file or a pkcs11: URI; a key alone is enough), or --certificate with a PKCS#12 bundle or a PEM file that holds its key")]
    NoKeyGiven,

    /// A file that should hold a certificate revocation list does not.
    #[error("{}: not a certificate revocation list ({detail}); pass a CRL in PEM (X509 CRL) or DER", path.display())]
    Crl {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },

    /// No certificate was named at all.
    #[error("no certificate given; pass --certificate (a PEM/DER certificate or a PKCS#12 bundle) and --private-key")]
    NoCertificateGiven,

    /// A certificate file without its key, where the key must come from `--private-key`.
    #[error("{} {holds} without its key; pass the key with --private-key", path.display())]
    KeyNotGiven {
        /// The certificate file.
        path: PathBuf,
        /// What the file holds: "is a DER certificate" or "holds a certificate but no private key".
        holds: &'static str,
    },

    /// `--intermediates` with a PKCS#12 bundle, which carries its own chain.
    #[error(
        "--intermediates cannot be used with a PKCS#12 bundle; put the chain inside the bundle"
    )]
    IntermediatesWithBundle,

    /// A file that should hold a private key holds none.
    #[error("{}: unable to parse private key: it contains none; pass a PEM or DER PKCS#1, SEC1 or PKCS#8 key with --private-key", path.display())]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },

    /// A private key could not be parsed.
    #[error("{}: unable to parse private key ({detail}); the file may be corrupt", path.display())]
    PrivateKey {
        /// The file.
        path: PathBuf,
        /// Parser message (never key bytes).
        detail: String,
    },

    /// A key in a format or with an encryption this helper does not read, and how to convert it.
    #[error("{} {what}; convert it with `{convert}`", path.display())]
    ConvertKey {
        /// The file.
        path: PathBuf,
        /// What the file holds, e.g. "uses legacy OpenSSL PEM encryption (Proc-Type: 4,ENCRYPTED)".
        what: &'static str,
        /// The command that converts it.
        convert: &'static str,
    },

    /// An encrypted key whose encryption this helper does not read, and how to convert it.
    #[error("{} is encrypted with {what}, which this helper does not read (unsupported); convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in OLD -out NEW`", path.display())]
    KeyEncryption {
        /// The file.
        path: PathBuf,
        /// The scheme, e.g. "PBES1 (pbeWithMD5AndDES-CBC)" or "PBES2 with DES-EDE3-CBC (3DES)".
        what: String,
    },

    /// An encrypted key or bundle whose key derivation would cost more than the caps allow.
    #[error("{}: {detail}; re-encrypt it with standard settings: `{convert}`", path.display())]
    KeyDerivation {
        /// The file.
        path: PathBuf,
        /// What it asks for, and the cap.
        detail: String,
        /// The command that re-encrypts it.
        convert: &'static str,
    },

    /// An encrypted key or bundle and no way to get its password.
    #[error("{} is encrypted and no password was given; pass it with --pkcs8-password", path.display())]
    PasswordRequired {
        /// The file.
        path: PathBuf,
    },

    /// The password does not decrypt the key or bundle.
    #[error("{}: incorrect PKCS#8 private key password (a wrong password, or an unsupported encryption); check --pkcs8-password", path.display())]
    WrongPassword {
        /// The file.
        path: PathBuf,
    },

    /// The password does not open the PKCS#12 bundle.
    #[error("{}: incorrect PKCS#12 password (a wrong password, or an unsupported encryption); check --pkcs8-password", path.display())]
    Pkcs12Password {
        /// The file.
        path: PathBuf,
    },

    /// A key or certificate of a type IAM Roles Anywhere cannot use.
    #[error("{}: unsupported key type {what}; IAM Roles Anywhere accepts RSA, EC P-256, P-384 or P-521, and ML-DSA-44, -65 or -87 keys", path.display())]
    UnsupportedKey {
        /// The file.
        path: PathBuf,
        /// The key type or curve found.
        what: String,
    },

    /// The private key does not belong to the certificate.
    #[error("the private key in {} does not match the certificate in {}; pass the key that was used to request that certificate", key.display(), certificate.display())]
    KeyMismatch {
        /// Where the key came from.
        key: PathBuf,
        /// Where the certificate came from.
        certificate: PathBuf,
    },

    /// A PKCS#12 bundle could not be opened.
    #[error("{}: cannot open PKCS#12 bundle ({detail})", path.display())]
    Pkcs12 {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },

    /// A key source this build was compiled without.
    #[error("{what} needs {feature} support, which this build lacks; rebuild with `cargo build --features {feature}`")]
    NotInThisBuild {
        /// What was asked for, e.g. "the PKCS#11 URI given".
        what: &'static str,
        /// The cargo feature.
        feature: &'static str,
    },

    /// A flag of another platform's certificate store, given without `--cert-selector`, which
    /// alone would use it.
    #[error("{flag} has no effect on this platform: it refines --cert-selector, which needs the {store}; remove it")]
    StoreFlagWithoutSelector {
        /// The flag, e.g. "--system-store-name".
        flag: &'static str,
        /// Whose store, e.g. "Windows certificate store".
        store: &'static str,
    },

    /// `--cert-selector` is not a valid selector.
    #[error(transparent)]
    CertSelector(SelectorError),

    /// `--cert-selector`: the macOS Keychain or the Windows certificate store.
    #[error("unable to use cert store signer on {}: --cert-selector selects from the macOS Keychain or Windows certificate store, which this platform does not have; use --certificate and --private-key", std::env::consts::OS)]
    CertStore,

    /// `--cert-selector` given to `read-certificate-data`.
    #[error("unable to use cert store signer on {}: --cert-selector searches the macOS Keychain or Windows certificate store, which this platform does not have; use --certificate", std::env::consts::OS)]
    CertStoreListing,

    /// A `--private-key handle:...` that is not a persistent handle.
    #[error("invalid TPM handle {handle}; give a persistent handle in hex, such as handle:0x81000001 (list them with `tpm2_getcap handles-persistent`)")]
    TpmHandleSyntax {
        /// The value as given.
        handle: String,
    },

    /// Nothing at a persistent handle.
    #[error("no key at TPM {handle} ({tcti}); list the persistent handles with `tpm2_getcap handles-persistent` and fix --private-key")]
    TpmHandleNotFound {
        /// `handle:0x...`.
        handle: String,
        /// The TCTI, and where it came from.
        tcti: String,
    },

    /// A `TSS2 PRIVATE KEY` file that cannot be used as it is.
    #[error("{}: the TPM key file {detail}", path.display())]
    TpmKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it, completing "the TPM key file ...".
        detail: String,
    },

    /// An environment variable names a TCTI the binding cannot load.
    #[error("{var}={value} is not a TCTI this helper can use; give device:/dev/tpmrm0, tabrmd:bus_type=system, swtpm:host=127.0.0.1,port=2321 or mssim:host=127.0.0.1,port=2321")]
    TpmTcti {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },

    /// The TPM cannot be reached.
    #[error("cannot use the TPM through {tcti}: {detail}; {advice}")]
    TpmUnavailable {
        /// The TCTI, and where it came from.
        tcti: String,
        /// What the TSS said.
        detail: String,
        /// What to check, for that kind of TCTI.
        advice: String,
    },

    /// A TPM key needs its password and nothing provides it.
    #[error("{key} needs its TPM key password and there is no terminal to ask for it; pass --tpm-key-password (or --no-tpm-key-password if the key has none)")]
    TpmPasswordRequired {
        /// The key file or handle.
        key: String,
    },

    /// The TPM refused the key's password.
    #[error("the TPM refused the password for {key}; check --tpm-key-password: the helper does not try it again, as every failure counts towards the TPM's dictionary-attack lockout")]
    TpmWrongPassword {
        /// The key file or handle.
        key: String,
    },

    /// `--tpm-key-password` for a key file that says it has no password.
    #[error("{} is a TPM key without a password (emptyAuth), but --tpm-key-password was given; leave it out", path.display())]
    TpmPasswordNotNeeded {
        /// The key file.
        path: PathBuf,
    },

    /// The TPM is in dictionary-attack lockout.
    #[error("the TPM is in dictionary-attack lockout and refuses to use {key}; wait for its lockout to expire, or clear it with `tpm2_dictionarylockout --clear-lockout`")]
    TpmLockout {
        /// The key file or handle.
        key: String,
    },

    /// A TPM key of a kind this helper cannot sign with.
    #[error("{key} is {what}; IAM Roles Anywhere needs an RSA or ECC P-256, P-384 or P-521 TPM key with the sign attribute")]
    TpmUnsupportedKey {
        /// The key file or handle.
        key: String,
        /// What the key is, completing "... is ".
        what: String,
    },

    /// A key file cannot be loaded under its parent.
    #[error("cannot load {key} under {parent}: {detail}")]
    TpmParent {
        /// The key file.
        key: String,
        /// The parent.
        parent: String,
        /// Why, and what to do.
        detail: String,
    },

    /// After reconnecting, the handle holds another key than at start.
    #[error("{key} now holds another key than when the helper started, and the helper signs with no other; restart it to use the new key")]
    TpmDifferentKey {
        /// `handle:0x...`.
        key: String,
    },

    /// The connection or the loaded key was lost and could not be had again.
    #[error("signing with {key} failed ({cause}) and reaching the TPM again failed: {detail}; the helper tries again at the next signature")]
    TpmReconnect {
        /// The key file or handle.
        key: String,
        /// What lost it.
        cause: String,
        /// Why finding it again failed.
        detail: String,
    },

    /// A TPM command failed.
    #[error("{call} with {key} failed: {detail}")]
    Tpm {
        /// The command.
        call: &'static str,
        /// The key file or handle.
        key: String,
        /// The TSS's return code and its meaning.
        detail: String,
    },

    /// No PKCS#11 module could be loaded.
    #[error("cannot load the PKCS#11 module {module} ({how}): {detail}; install it, or pass the module's path with --pkcs11-lib")]
    Pkcs11Module {
        /// The module path or name we tried.
        module: String,
        /// Where that name came from.
        how: &'static str,
        /// The loader's or C_Initialize's message.
        detail: String,
    },

    /// A PKCS#11 URI that does not parse.
    #[error(
        "invalid PKCS#11 URI {uri}: {detail}; see RFC 7512, e.g. pkcs11:token=NAME;object=LABEL"
    )]
    Pkcs11Uri {
        /// The URI, PIN blanked out.
        uri: String,
        /// What is wrong with it.
        detail: String,
    },

    /// A key file given with a certificate in a token.
    #[error("--private-key {key} is a file but --certificate is a PKCS#11 URI; give the key as a pkcs11: URI too, or leave --private-key out to use the key beside the certificate")]
    Pkcs11KeyFile {
        /// The key file as given.
        key: String,
    },

    /// A key in a token and no certificate for it.
    #[error("a PKCS#11 private key needs its certificate: pass --certificate FILE or --certificate pkcs11:...")]
    Pkcs11NoCertificate,

    /// Nothing in the tokens matches a URI.
    #[error("{}no {what} matches {uri}{detail}; list the objects with `p11tool --list-all` or `pkcs11-tool -O` and fix the URI", official_lead(what))]
    Pkcs11NotFound {
        /// `"certificate"`, `"private key"`, `"token"`, ...
        what: &'static str,
        /// The URI, PIN blanked out.
        uri: String,
        /// Where we looked, starting with its own separator.
        detail: String,
    },

    /// Several tokens or objects match a URI that must name one.
    #[error("{count} {what} match {uri}: {candidates}; add attributes (id=, object=, token=) to pick one")]
    Pkcs11Ambiguous {
        /// How many matched.
        count: usize,
        /// `"certificates"`, `"private keys"` or `"tokens"`.
        what: &'static str,
        /// The URI, PIN blanked out.
        uri: String,
        /// The candidates' URIs, comma-separated.
        candidates: String,
    },

    /// A token needs its PIN and nothing provides it.
    #[error("token {token} needs its PIN and there is no terminal to ask for it; add pin-source=FILE to the URI or set AWS_SIGNING_HELPER_PKCS11_PIN")]
    Pkcs11PinRequired {
        /// The token.
        token: String,
    },

    /// A `pin-source` file that does not hold text.
    #[error("{} (the URI's pin-source) is not UTF-8 text; write the PIN into it as text", path.display())]
    PinFileText {
        /// The file.
        path: PathBuf,
    },

    /// The token refused the PIN.
    #[error(
        "wrong PIN for token {token} (from {from}); check it: tokens lock after a few failures"
    )]
    Pkcs11WrongPin {
        /// The token.
        token: String,
        /// Where the PIN came from (never the PIN).
        from: String,
    },

    /// A key asks for its PIN at every signature and nothing provides it.
    #[error("private key {key} asks for its PIN at every signature (CKA_ALWAYS_AUTHENTICATE) and there is no terminal to ask for it; pass --reuse-pin if it is the token's PIN")]
    Pkcs11ContextPinRequired {
        /// The key's URI.
        key: String,
    },

    /// A key asks for its PIN at every signature and refused the token's PIN (`--reuse-pin`).
    #[error("private key {key} asks for its PIN at every signature (CKA_ALWAYS_AUTHENTICATE) and refused the token's PIN given by --reuse-pin; its own PIN can only be typed: run the helper from a terminal")]
    Pkcs11ContextPinRefused {
        /// The key's URI.
        key: String,
    },

    /// The session or token went away and the key could not be found again.
    #[error("signing with {key} failed ({cause}) and finding the key again failed: {detail}; check that the token is inserted: the helper tries again at the next signature")]
    Pkcs11Reconnect {
        /// The key's URI as found at start.
        key: String,
        /// The return value that lost the session, as `CKR_...`.
        cause: String,
        /// Why finding it again failed.
        detail: String,
    },

    /// A PKCS#11 call failed.
    #[error("PKCS#11 {call} failed: {detail}")]
    Pkcs11 {
        /// The call and the token.
        call: String,
        /// The return value, as `CKR_...`.
        detail: String,
    },

    /// The key refused to sign.
    #[error("signing failed: {0}")]
    Sign(String),
}

impl Error {
    /// What to do about it, when the message itself does not say (errors whose cause is a
    /// [`source`](std::error::Error::source) put their advice here, after the cause).
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::ReadFile { .. } => Some("check the path and its permissions"),
            _ => None,
        }
    }

    /// The one line a user reads: what failed, its causes, and what to do.
    pub fn report(&self) -> String {
        crate::report::one_line(self, self.hint())
    }

    /// Builds a [`Error::ReadFile`] for `path`.
    pub fn read(path: &Path, source: io::Error) -> Self {
        Error::ReadFile {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Builds a [`Error::Pem`] for `path`.
    pub fn pem(path: &Path, detail: impl fmt::Display) -> Self {
        Error::Pem {
            path: path.to_path_buf(),
            detail: detail.to_string(),
        }
    }

    /// Builds a [`Error::PrivateKey`] for `path`.
    pub fn private_key(path: &Path, detail: impl fmt::Display) -> Self {
        Error::PrivateKey {
            path: path.to_path_buf(),
            detail: detail.to_string(),
        }
    }

    /// Builds a [`Error::UnsupportedKey`] for `path`.
    pub fn unsupported_key(path: &Path, what: impl fmt::Display) -> Self {
        Error::UnsupportedKey {
            path: path.to_path_buf(),
            what: what.to_string(),
        }
    }
}

/// The official helper's phrase for a search that found nothing, where it has one (scripts test
/// for it), before our own words.
fn official_lead(what: &str) -> &'static str {
    match what {
        "private key" => "unable to find matching private key: ",
        _ => "",
    }
}

/// What is wrong with a selector; each message starts with the official helper's phrase.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelectorError {
    /// The `file://` file cannot be read.
    #[error("unable to read cert selector file {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// The file is not a JSON list of `{"Key": ..., "Value": ...}` objects.
    #[error("unable to parse JSON map entries in {}: {detail}; write a list such as [{{\"Key\": \"x509Subject\", \"Value\": \"CN=host\"}}]", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },

    /// The string form has text that is not `Key=...,Value=...`.
    #[error("unable to parse cert selector string (at '{rest}'); write Key=x509Subject,Value=CN=host, pairs separated by spaces, or file://PATH for a JSON file")]
    Syntax {
        /// What could not be parsed (the selector names certificates, it holds no secret).
        rest: String,
    },

    /// A key other than the three.
    #[error(
        "cert selector contained invalid key '{key}'; use x509Subject, x509Issuer or x509Serial"
    )]
    InvalidKey {
        /// The key.
        key: String,
    },

    /// A key given twice.
    #[error("duplicate {key} keys can't be present in cert selector")]
    DuplicateKey {
        /// The key.
        key: String,
    },
}

impl From<SelectorError> for Error {
    fn from(e: SelectorError) -> Error {
        Error::CertSelector(e)
    }
}

/// Why a private key could not be used. The payload never contains key material.
#[derive(Debug)]
pub(crate) enum KeyError {
    /// Not a key we can parse.
    Malformed(String),
    /// A key of a type or curve IAM Roles Anywhere does not accept.
    Unsupported(String),
}
