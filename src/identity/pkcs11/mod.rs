//! Keys and certificates in PKCS#11 tokens (smart cards, HSMs, SoftHSM), named by RFC 7512 URIs.
//!
//! The search follows the official helper, which follows the IETF draft on certificate best
//! practice (draft-woodhouse-cert-best-practice, section 8):
//!
//! 1. Load the module (`--pkcs11-lib`, else the URI's `module-path`, else p11-kit's proxy, which
//!    exposes every module registered with p11-kit).
//! 2. Look for certificates matching the URI in every matching token without logging in; if none
//!    is found and exactly one token matches, log in to it and look again (private certificates).
//!    More than one match is an error listing the candidates.
//! 3. Find the private key: with the `--private-key` URI when given, otherwise with the
//!    certificate's `CKA_ID` and label, then its `CKA_ID` alone, then any key in the token, each
//!    time keeping only the keys whose public half is the certificate's.
//! 4. Sign inside the token: `CKM_SHA{256,384,512}_RSA_PKCS` for RSA; `CKM_ECDSA` over our own
//!    digest for EC, converting the token's raw `r || s` to DER.
//!
//! PINs come from the URI (`pin-value`, `pin-source`), then [`PIN_ENV`], then a prompt on the
//! terminal. They live in [`Pin`] (zeroized on drop, never printed) and are kept only as long as
//! the signer, for `--reuse-pin`, for keys with `CKA_ALWAYS_AUTHENTICATE`, and to log in again
//! without prompting when the session is lost and the signer finds its key again
//! ([`Pkcs11Key`]).

mod uri;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::{Slot, SlotInfo, TokenInfo};
use cryptoki::types::AuthPin;
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

pub use uri::Uri;

use super::certificate::{ecdsa_raw_to_der, read_certificates, Certificate, Curve, PublicKey};
use super::{Digest, Signer, SourceArgs, X509Signer};
use crate::error::{Error, Result};

/// The environment variable holding the token PIN on unattended hosts (kept out of `ps`).
pub const PIN_ENV: &str = "AWS_SIGNING_HELPER_PKCS11_PIN";

/// The module loaded when neither `--pkcs11-lib` nor `module-path` names one.
#[cfg(target_os = "macos")]
const DEFAULT_MODULE: &str = "p11-kit-proxy.dylib";
#[cfg(windows)]
const DEFAULT_MODULE: &str = "p11-kit-proxy.dll";
#[cfg(not(any(target_os = "macos", windows)))]
const DEFAULT_MODULE: &str = "p11-kit-proxy.so";

/// How many times we ask for a PIN on the terminal before giving up.
const PROMPT_ATTEMPTS: usize = 3;

/// Longest certificate chain we assemble from a token's certificates.
const MAX_CHAIN: usize = 8;

/// `namedCurve` OIDs as tokens store them in `CKA_EC_PARAMS` (DER).
const EC_PARAMS: [(Curve, &[u8]); 3] = [
    (
        Curve::P256,
        &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
    ),
    (Curve::P384, &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
    (Curve::P521, &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]),
];

/// A PIN: zeroized when dropped, never printed, not even by `Debug`.
#[derive(Clone)]
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// Wraps a PIN.
    pub fn new(pin: String) -> Pin {
        Pin(Zeroizing::new(pin))
    }

    /// The PIN itself, for the one call that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn auth(&self) -> AuthPin {
        AuthPin::from(self.expose())
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}

/// Where the certificate comes from when the key is in a token.
#[derive(Clone, Debug)]
pub enum CertificateSource {
    /// A certificate object in a token.
    Token(Box<Uri>),
    /// A certificate file (the hybrid mode): its first certificate is the leaf.
    File(PathBuf),
}

/// The PKCS#11 flags, parsed: what [`super::Source::Pkcs11`] holds.
#[derive(Clone, Debug)]
pub struct Pkcs11Source {
    /// `--certificate`.
    pub certificate: Option<CertificateSource>,
    /// `--private-key`, when it is a URI; otherwise the key is looked for beside the certificate.
    pub private_key: Option<Uri>,
    /// `--intermediates`; without it a token certificate's chain comes from the same token.
    pub intermediates: Option<PathBuf>,
    /// `--pkcs11-lib`.
    pub module: Option<String>,
    /// `--reuse-pin`.
    pub reuse_pin: bool,
}

impl Pkcs11Source {
    /// Parses the flags when `--certificate` or `--private-key` is a `pkcs11:` URI.
    ///
    /// # Errors
    /// A URI that does not parse, or a combination the official helper cannot use either.
    pub fn from_args(args: SourceArgs) -> Result<Pkcs11Source> {
        let certificate = match args.certificate {
            Some(c) if c.starts_with("pkcs11:") => {
                Some(CertificateSource::Token(Box::new(parse(&c)?)))
            }
            Some(c) => Some(CertificateSource::File(PathBuf::from(c))),
            None => None,
        };
        let private_key = match args.private_key {
            Some(k) if k.starts_with("pkcs11:") => Some(parse(&k)?),
            Some(k) => {
                return Err(Error::Usage(format!(
                    "--private-key {k} is a file but --certificate is a PKCS#11 URI; give the key as a pkcs11: URI too, or leave --private-key out to use the key beside the certificate"
                )))
            }
            None => None,
        };
        if certificate.is_none() {
            return Err(Error::Usage(
                "a PKCS#11 private key needs its certificate: pass --certificate FILE or --certificate pkcs11:...".into(),
            ));
        }
        Ok(Pkcs11Source {
            certificate,
            private_key,
            intermediates: args.intermediates.map(PathBuf::from),
            module: args.pkcs11_lib,
            reuse_pin: args.reuse_pin,
        })
    }

    /// Loads the module, finds the certificate and its key, and logs in.
    ///
    /// # Errors
    /// Module, URI, search, PIN and token failures, each with its own message.
    pub fn open(self) -> Result<Pkcs11Signer> {
        let (found, key) = self.open_parts()?;
        let (certificate, chain) = found.ok_or_else(|| {
            Error::Usage("a PKCS#11 private key needs its certificate: pass --certificate".into())
        })?;
        Ok(Pkcs11Signer {
            certificate,
            chain,
            key,
        })
    }

    fn open_parts(self) -> Result<(Option<Identity>, Pkcs11Key)> {
        let cert_uri = match &self.certificate {
            Some(CertificateSource::Token(uri)) => Some(uri.as_ref()),
            _ => None,
        };
        // The URI that names the module and carries the PIN: the key's when given (as the
        // official helper reads `pin-value` from the key URI first), else the certificate's.
        let main_uri = self
            .private_key
            .as_ref()
            .or(cert_uri)
            .ok_or_else(|| Error::Usage("no PKCS#11 URI given".into()))?;
        let pin_uri = [self.private_key.as_ref(), cert_uri]
            .into_iter()
            .flatten()
            .find(|u| u.pin_value.is_some() || u.pin_source.is_some())
            .unwrap_or(main_uri)
            .clone();
        let mut device = Device::open(self.module.as_deref(), main_uri, pin_uri)?;

        let (certificate, cert_token) = match &self.certificate {
            None => (None, None),
            Some(CertificateSource::File(path)) => {
                let mut certificates = read_certificates(path)?.into_iter();
                let leaf = certificates
                    .next()
                    .ok_or_else(|| Error::NoCertificate { path: path.clone() })?;
                let chain = match &self.intermediates {
                    Some(p) => read_certificates(p)?,
                    None => certificates.collect(),
                };
                (Some((leaf, chain, None)), None)
            }
            Some(CertificateSource::Token(uri)) => {
                let mut found = device.find_certificates(uri)?;
                if found.len() > 1 {
                    return Err(Error::Pkcs11Ambiguous {
                        count: found.len(),
                        what: "certificates",
                        uri: uri.to_string(),
                        candidates: found
                            .iter()
                            .map(|c| device.object_uri(c.token, &c.id, &c.label, "cert"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
                let Some(cert) = found.pop() else {
                    return Err(device.not_found("certificate", uri));
                };
                crate::debug!(
                    "PKCS#11: certificate {}",
                    device.object_uri(cert.token, &cert.id, &cert.label, "cert")
                );
                let chain = match &self.intermediates {
                    Some(p) => read_certificates(p)?,
                    None => device.chain(cert.token, &cert.certificate)?,
                };
                let token = cert.token;
                (
                    Some((cert.certificate, chain, Some((cert.id, cert.label)))),
                    Some(token),
                )
            }
        };

        let cert_key = match &certificate {
            Some((leaf, _, _)) => Some(
                leaf.public_key()
                    .map_err(|what| Error::Pkcs11NotFound {
                        what: "usable certificate",
                        uri: main_uri.to_string(),
                        detail: format!(
                            ": the certificate holds a {what} key, which Roles Anywhere cannot use"
                        ),
                    })?
                    .clone(),
            ),
            None => None,
        };
        let key_uri = match &self.private_key {
            Some(uri) => uri.clone(),
            // Look beside the certificate: same token, then the search below by its CKA_ID.
            None => main_uri.token_part(),
        };
        let token = device.key_token(&key_uri, cert_token)?;
        device.login(token)?;

        // The searches to try, in order (draft-woodhouse-cert-best-practice, section 8.2).
        let mut searches: Vec<LabelAndId> = Vec::new();
        match (&self.private_key, &certificate) {
            (Some(uri), _) => searches.push((uri.object.clone(), uri.id.clone())),
            (None, Some((_, _, Some((id, label))))) => {
                let had_label = cert_uri.is_some_and(|u| u.object.is_some());
                if had_label && !label.is_empty() {
                    searches.push((Some(label.clone()), Some(id.clone())));
                }
                searches.push((None, Some(id.clone())));
                // When IDs differ, the public key decides.
                searches.push((None, None));
            }
            (None, _) => searches.push((None, None)),
        }
        if key_uri
            .object_type
            .is_some_and(|t| t != uri::ObjectType::Private)
        {
            searches.clear();
        }
        let mut candidates_seen = 0;
        for (label, id) in searches {
            let keys = device.private_keys(token, label.as_deref(), id.as_deref())?;
            candidates_seen += keys.len();
            let Some(cert_key) = &cert_key else {
                // No certificate to compare with: the URI must name exactly one key.
                if keys.len() > 1 {
                    return Err(Error::Pkcs11Ambiguous {
                        count: keys.len(),
                        what: "private keys",
                        uri: key_uri.to_string(),
                        candidates: keys
                            .iter()
                            .map(|k| k.uri.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
                if let Some(key) = keys.into_iter().next() {
                    let public_key = device.public_key_of(token, &key)?;
                    return Ok((
                        None,
                        device.into_key(token, key, public_key, &key_uri, self.reuse_pin),
                    ));
                }
                continue;
            };
            for key in keys {
                if device.key_matches(token, &key, cert_key, self.reuse_pin)? {
                    crate::debug!("PKCS#11: private key {}", key.uri);
                    let (leaf, chain, _) =
                        certificate.expect("a certificate key implies a certificate");
                    let key =
                        device.into_key(token, key, cert_key.clone(), &key_uri, self.reuse_pin);
                    return Ok((Some((leaf, chain)), key));
                }
            }
        }
        let detail = match (candidates_seen, &certificate) {
            (0, _) => format!(" in token {}", device.tokens[token].name()),
            (n, _) => format!(
                ": {n} private key(s) in token {} but none belongs to the certificate",
                device.tokens[token].name()
            ),
        };
        Err(Error::Pkcs11NotFound {
            what: "private key",
            uri: key_uri.to_string(),
            detail,
        })
    }
}

/// Opens a key named by a URI on its own, for `sign-string` without `--certificate`.
///
/// # Errors
/// As [`Pkcs11Source::open`]; also when the URI matches several keys.
pub fn open_key(uri: &str, module: Option<String>, reuse_pin: bool) -> Result<Pkcs11Key> {
    let source = Pkcs11Source {
        certificate: None,
        private_key: Some(parse(uri)?),
        intermediates: None,
        module,
        reuse_pin,
    };
    Ok(source.open_parts()?.1)
}

/// A certificate found by `read-certificate-data`, with the URI that names it.
pub struct Listed {
    /// A URI naming exactly this certificate.
    pub uri: String,
    /// The certificate.
    pub certificate: Certificate,
}

/// Every certificate matching `uri`, as `read-certificate-data --certificate pkcs11:...` lists.
///
/// # Errors
/// Module, URI and token failures.
pub fn list_certificates(uri: &str, module: Option<&str>) -> Result<Vec<Listed>> {
    let uri = parse(uri)?;
    let mut device = Device::open(module, &uri, uri.clone())?;
    let found = device.find_certificates(&uri)?;
    Ok(found
        .into_iter()
        .map(|c| Listed {
            uri: device.object_uri(c.token, &c.id, &c.label, "cert"),
            certificate: c.certificate,
        })
        .collect())
}

fn parse(text: &str) -> Result<Uri> {
    Uri::parse(text).map_err(|detail| Error::Pkcs11Uri {
        uri: uri::redact(text),
        detail,
    })
}

/// A leaf certificate and its chain.
type Identity = (Certificate, Vec<Certificate>);

/// `CKA_LABEL` and `CKA_ID` to search for; `None` matches any.
type LabelAndId = (Option<Vec<u8>>, Option<Vec<u8>>);

/// A certificate and a private key, the key in a token.
#[derive(Debug)]
pub struct Pkcs11Signer {
    certificate: Certificate,
    chain: Vec<Certificate>,
    key: Pkcs11Key,
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>> {
        self.key.sign(message, digest)
    }
}

impl X509Signer for Pkcs11Signer {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn chain(&self) -> &[Certificate] {
        &self.chain
    }
}

/// A private key in a token, with the logged-in session that uses it.
///
/// The session lasts as long as the signer, so one-shot commands log in once. When a signature
/// fails because the session, the token or the key's handle went away (see [`lost`]), the
/// signer finds the token again by the same URI, logs in with the PIN kept from the start (never
/// prompting), finds the same key again and signs once more: `serve` and `update` run for weeks
/// while cards are pulled and modules restarted.
pub struct Pkcs11Key {
    state: Mutex<State>,
    public_key: PublicKey,
    /// A URI naming the key as found at start, for `Debug`.
    uri: String,
    /// What finding the key again needs.
    again: FindAgain,
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

impl Signer for Pkcs11Key {
    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>> {
        let mut state = self.state.lock().map_err(|_| {
            Error::Sign("the PKCS#11 session was poisoned by an earlier panic".into())
        })?;
        let state = &mut *state;
        let lost_by = match &state.live {
            Some(live) => match sign_in(&live.session, &live.key, &mut state.auth, message, digest)
            {
                Ok(signature) => return Ok(signature),
                Err(Failed {
                    rv: Some(rv),
                    error,
                }) if lost(rv) => Some((rv, error)),
                Err(failed) => return Err(failed.error),
            },
            // An earlier reconnection failed: try again now, the token may be back.
            None => None,
        };
        self.reconnect(state, lost_by)?;
        let live = state
            .live
            .as_ref()
            .expect("a reconnection that succeeds leaves a session");
        Ok(sign_in(
            &live.session,
            &live.key,
            &mut state.auth,
            message,
            digest,
        )?)
    }
}

impl Pkcs11Key {
    /// Replaces the lost session (`lost_by` the return value and error that lost it, `None`
    /// when an earlier reconnection failed) with a new one on the same key. The module is
    /// initialized again when it asks for that, or when the key cannot be found without it:
    /// SoftHSM2, like many modules, sees tokens that appeared later only after `C_Initialize`.
    fn reconnect(&self, state: &mut State, lost_by: Option<(RvError, Error)>) -> Result<()> {
        // Close the old session before anything opens a new one: after `C_Initialize` the
        // module may hand out the same handle again, which dropping the old one would close.
        state.live = None;
        let rv = lost_by.as_ref().map(|(rv, _)| *rv);
        let mut found = match lost_by {
            Some((RvError::CryptokiNotInitialized, error)) => Err(error.to_string()),
            Some((_, error)) => {
                crate::debug!("PKCS#11: {error}; finding the token and key again");
                self.again.find(&state.context, &mut state.auth)
            }
            None => self.again.find(&state.context, &mut state.auth),
        };
        if let Err(e) = &found {
            crate::debug!("PKCS#11: {e}; initializing the module again");
            // C_Finalize fails when the module already forgot us; C_Initialize decides.
            let _ = state.context.clone().finalize();
            found = initialize(&state.context)
                .map_err(|e| format!("C_Initialize failed: {}", describe(&e)))
                .and_then(|()| self.again.find(&state.context, &mut state.auth));
        }
        let cause = match rv {
            Some(rv) => describe_rv(rv),
            None => "the token or its session went away earlier".into(),
        };
        match found {
            Ok(live) => {
                eprintln!(
                    "aws_signing_helper: PKCS#11: reconnected to {} ({cause})",
                    live.key.uri
                );
                state.live = Some(live);
                Ok(())
            }
            Err(e) => Err(Error::Pkcs11Reconnect {
                key: self.uri.clone(),
                cause,
                detail: e,
            }),
        }
    }
}

/// What a signer holds behind its mutex: one signature at a time, which tokens need anyway.
struct State {
    context: Pkcs11,
    /// The session and the key's handle in it; `None` after a reconnection failed.
    live: Option<Live>,
    auth: Auth,
}

/// A logged-in session and the key's handle, valid together.
struct Live {
    session: Session,
    key: FoundKey,
}

/// How to find the key again: the token by the URI it was found with (not by slot or serial,
/// which change when a card is reinserted or re-provisioned), the key by its `CKA_ID` and
/// `CKA_LABEL` and then its public key, so that another key is refused.
struct FindAgain {
    module: String,
    token: Uri,
    id: Vec<u8>,
    label: Vec<u8>,
    public_key: PublicKey,
}

impl FindAgain {
    /// The key in a new logged-in session, or why it cannot be found (for
    /// [`Error::Pkcs11Reconnect`]).
    fn find(&self, context: &Pkcs11, auth: &mut Auth) -> std::result::Result<Live, String> {
        let text = |e: Error| e.to_string();
        let mut device = Device::enumerate(context.clone(), self.module.clone(), Uri::default())
            .map_err(|e| format!("C_GetSlotList failed: {}", describe(&e)))?;
        let token = device.key_token(&self.token, None).map_err(text)?;
        device.login_again(token, auth).map_err(text)?;
        device.context_pin = auth.context_pin.clone();
        let nonempty = |v: &Vec<u8>| Some(v.clone()).filter(|v| !v.is_empty());
        let (label, id) = (nonempty(&self.label), nonempty(&self.id));
        let keys = device
            .private_keys(token, label.as_deref(), id.as_deref())
            .map_err(text)?;
        for key in keys {
            let matches = device.key_matches(token, &key, &self.public_key, auth.reuse_pin);
            if matches.map_err(text)? {
                if device.context_pin.is_some() {
                    auth.context_pin = device.context_pin.take();
                }
                let session = device.sessions[token]
                    .take()
                    .expect("the key was found through this session");
                return Ok(Live { session, key });
            }
        }
        Err(format!(
            "token {} holds no private key with the CKA_ID, label and public key found at start, and the helper signs with no other",
            device.tokens[token].name()
        ))
    }
}

/// The PINs a signer keeps: the user PIN for `--reuse-pin`, and the context-specific PIN of a
/// `CKA_ALWAYS_AUTHENTICATE` key once it worked.
#[derive(Debug)]
struct Auth {
    user_pin: Option<Pin>,
    context_pin: Option<Pin>,
    reuse_pin: bool,
    /// The token refused `user_pin` when reconnecting: never offer it again (tokens lock).
    pin_refused: bool,
    /// The key refused the PIN we offered it (`context_pin`, or `user_pin` for `--reuse-pin`):
    /// never offer that again either.
    context_refused: bool,
}

/// A private key object and what we learned about it.
#[derive(Clone, Debug)]
struct FoundKey {
    handle: ObjectHandle,
    key_type: KeyType,
    always_auth: bool,
    /// `CKA_ID` and `CKA_LABEL`: what finds the key again after the token comes back.
    id: Vec<u8>,
    label: Vec<u8>,
    /// A URI naming exactly this key, for messages and prompts.
    uri: String,
}

/// A certificate object.
struct FoundCert {
    token: usize,
    id: Vec<u8>,
    label: Vec<u8>,
    certificate: Certificate,
}

/// A token the module shows, with its slot's description.
struct Token {
    slot: Slot,
    info: TokenInfo,
    slot_info: SlotInfo,
}

impl Token {
    fn matches(&self, uri: &Uri) -> bool {
        let same = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        uri.slot_id.is_none_or(|id| id == self.slot.id())
            && same(&uri.token, self.info.label())
            && same(&uri.manufacturer, self.info.manufacturer_id())
            && same(&uri.model, self.info.model())
            && same(&uri.serial, self.info.serial_number())
            && same(&uri.slot_description, self.slot_info.slot_description())
            && same(&uri.slot_manufacturer, self.slot_info.manufacturer_id())
    }

    /// How messages name the token.
    fn name(&self) -> String {
        format!(
            "'{}' ({} {}, serial {})",
            self.info.label(),
            self.info.manufacturer_id(),
            self.info.model(),
            self.info.serial_number()
        )
    }
}

/// The loaded module, its tokens, and the sessions we opened.
struct Device {
    context: Pkcs11,
    module: String,
    tokens: Vec<Token>,
    sessions: Vec<Option<Session>>,
    logged_in: Vec<bool>,
    /// The URI whose `pin-value` / `pin-source` give the PIN.
    pin_uri: Uri,
    /// The PIN that logged us in, for `--reuse-pin`.
    user_pin: Option<Pin>,
    /// The context-specific PIN that worked for the key's test signature.
    context_pin: Option<Pin>,
}

impl Device {
    fn open(module: Option<&str>, uri: &Uri, pin_uri: Uri) -> Result<Device> {
        let (path, how) = match (module, uri.module_path.as_deref()) {
            (Some(m), _) => (m.to_string(), "given with --pkcs11-lib"),
            (None, Some(m)) => (m.to_string(), "named by the URI's module-path"),
            (None, None) => (DEFAULT_MODULE.to_string(), "p11-kit's proxy, the default"),
        };
        let fail = |detail: String| Error::Pkcs11Module {
            module: path.clone(),
            how,
            detail,
        };
        let context = Pkcs11::new(&path).map_err(|e| fail(one_line(&e.to_string())))?;
        initialize(&context).map_err(|e| fail(format!("C_Initialize failed: {}", describe(&e))))?;
        crate::debug!("PKCS#11: loaded module {path}");
        Device::enumerate(context, path.clone(), pin_uri)
            .map_err(|e| fail(format!("C_GetSlotList failed: {}", describe(&e))))
    }

    /// The tokens `context` shows now.
    fn enumerate(
        context: Pkcs11,
        module: String,
        pin_uri: Uri,
    ) -> std::result::Result<Device, CkError> {
        let slots = context.get_slots_with_token()?;
        let mut tokens = Vec::new();
        for slot in slots {
            match (context.get_token_info(slot), context.get_slot_info(slot)) {
                // A blank token (SoftHSM always shows one) holds nothing to find.
                (Ok(info), _) if !info.token_initialized() => {}
                (Ok(info), Ok(slot_info)) => tokens.push(Token {
                    slot,
                    info,
                    slot_info,
                }),
                (Err(e), _) | (_, Err(e)) => {
                    crate::debug!("PKCS#11: skipping slot {slot}: {}", describe(&e));
                }
            }
        }
        for token in &tokens {
            crate::debug!("PKCS#11: slot {} holds token {}", token.slot, token.name());
        }
        let count = tokens.len();
        Ok(Device {
            context,
            module,
            tokens,
            sessions: (0..count).map(|_| None).collect(),
            logged_in: vec![false; count],
            pin_uri,
            user_pin: None,
            context_pin: None,
        })
    }

    fn session(&mut self, token: usize) -> Result<&Session> {
        if self.sessions[token].is_none() {
            let slot = self.tokens[token].slot;
            let session = self
                .context
                .open_ro_session(slot)
                .map_err(|e| self.call_failed("C_OpenSession", token, &e))?;
            self.sessions[token] = Some(session);
        }
        Ok(self.sessions[token]
            .as_ref()
            .expect("the session was opened just above"))
    }

    fn attributes(
        &mut self,
        token: usize,
        object: ObjectHandle,
        wanted: &[AttributeType],
    ) -> Result<Vec<Attribute>> {
        let result = self.session(token)?.get_attributes(object, wanted);
        result.map_err(|e| self.call_failed("C_GetAttributeValue", token, &e))
    }

    fn call_failed(&self, call: &str, token: usize, e: &CkError) -> Error {
        Error::Pkcs11 {
            call: format!("{call} on token {}", self.tokens[token].name()),
            detail: describe(e),
        }
    }

    fn matching(&self, uri: &Uri) -> Vec<usize> {
        (0..self.tokens.len())
            .filter(|&t| self.tokens[t].matches(uri))
            .collect()
    }

    /// Certificates matching `uri` in every matching token, logging in only as the draft allows.
    fn find_certificates(&mut self, uri: &Uri) -> Result<Vec<FoundCert>> {
        let tokens = self.matching(uri);
        if tokens.is_empty() {
            return Err(self.not_found("token", uri));
        }
        let mut found = Vec::new();
        for &t in &tokens {
            match self.certificates(t, uri) {
                Ok(mut certs) => found.append(&mut certs),
                Err(e) => crate::debug!("PKCS#11: searching token {t}: {e}"),
            }
        }
        if found.is_empty() && tokens.len() == 1 && !self.logged_in[tokens[0]] {
            // The certificate may be a private object: log in to the only token and look again.
            if self.pin_available() {
                self.login(tokens[0])?;
                found = self.certificates(tokens[0], uri)?;
            } else {
                crate::debug!("PKCS#11: no public certificate found and no PIN to look further");
            }
        }
        Ok(found)
    }

    fn certificates(&mut self, token: usize, uri: &Uri) -> Result<Vec<FoundCert>> {
        if uri.object_type.is_some_and(|t| t != uri::ObjectType::Cert) {
            return Ok(Vec::new());
        }
        let handles = self.find(
            token,
            ObjectClass::CERTIFICATE,
            uri.object.as_deref(),
            uri.id.as_deref(),
        )?;
        let mut found = Vec::new();
        for handle in handles {
            let attributes = self.attributes(
                token,
                handle,
                &[
                    AttributeType::Value,
                    AttributeType::Id,
                    AttributeType::Label,
                ],
            )?;
            let (mut value, mut id, mut label) = (None, Vec::new(), Vec::new());
            for attribute in attributes {
                match attribute {
                    Attribute::Value(v) => value = Some(v),
                    Attribute::Id(v) => id = v,
                    Attribute::Label(v) => label = v,
                    _ => {}
                }
            }
            match value.map(|v| Certificate::from_der(&v)) {
                Some(Ok(certificate)) => found.push(FoundCert {
                    token,
                    id,
                    label,
                    certificate,
                }),
                Some(Err(e)) => crate::debug!("PKCS#11: skipping a certificate object: {e}"),
                None => crate::debug!("PKCS#11: skipping a certificate object without a value"),
            }
        }
        Ok(found)
    }

    /// The intermediates for `leaf` among the certificates in its token, leaf and root excluded.
    fn chain(&mut self, token: usize, leaf: &Certificate) -> Result<Vec<Certificate>> {
        let pool: Vec<Certificate> = self
            .certificates(token, &Uri::default())?
            .into_iter()
            .map(|c| c.certificate)
            .filter(|c| c.subject() != c.issuer() && c.der() != leaf.der())
            .collect();
        let mut chain: Vec<Certificate> = Vec::new();
        let mut last = leaf;
        while chain.len() < MAX_CHAIN {
            let Some(next) = pool.iter().find(|c| {
                c.subject() == last.issuer() && !chain.iter().any(|k| k.der() == c.der())
            }) else {
                break;
            };
            chain.push(next.clone());
            last = chain.last().expect("pushed just above");
        }
        Ok(chain)
    }

    fn find(
        &mut self,
        token: usize,
        class: ObjectClass,
        label: Option<&[u8]>,
        id: Option<&[u8]>,
    ) -> Result<Vec<ObjectHandle>> {
        let mut template = vec![Attribute::Class(class)];
        if let Some(label) = label {
            template.push(Attribute::Label(label.to_vec()));
        }
        if let Some(id) = id {
            template.push(Attribute::Id(id.to_vec()));
        }
        let result = self.session(token)?.find_objects(&template);
        result.map_err(|e| self.call_failed("C_FindObjects", token, &e))
    }

    /// The token to look for the key in: the certificate's when the key URI matches it, else the
    /// only token the key URI matches.
    fn key_token(&self, uri: &Uri, cert_token: Option<usize>) -> Result<usize> {
        let tokens = self.matching(uri);
        if let Some(t) = cert_token.filter(|t| tokens.contains(t)) {
            return Ok(t);
        }
        match tokens.as_slice() {
            [] => Err(self.not_found("token", uri)),
            [t] => Ok(*t),
            many => Err(Error::Pkcs11Ambiguous {
                count: many.len(),
                what: "tokens",
                uri: uri.to_string(),
                candidates: many
                    .iter()
                    .map(|&t| self.token_uri(t))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    fn private_keys(
        &mut self,
        token: usize,
        label: Option<&[u8]>,
        id: Option<&[u8]>,
    ) -> Result<Vec<FoundKey>> {
        let handles = self.find(token, ObjectClass::PRIVATE_KEY, label, id)?;
        let mut keys = Vec::new();
        for handle in handles {
            let attributes = self.attributes(
                token,
                handle,
                &[
                    AttributeType::KeyType,
                    AttributeType::AlwaysAuthenticate,
                    AttributeType::Id,
                    AttributeType::Label,
                ],
            )?;
            let (mut key_type, mut always_auth, mut id, mut label) = (None, false, vec![], vec![]);
            for attribute in attributes {
                match attribute {
                    Attribute::KeyType(t) => key_type = Some(t),
                    Attribute::AlwaysAuthenticate(a) => always_auth = a,
                    Attribute::Id(v) => id = v,
                    Attribute::Label(v) => label = v,
                    _ => {}
                }
            }
            let Some(key_type) = key_type.filter(|t| *t == KeyType::RSA || *t == KeyType::EC)
            else {
                crate::debug!("PKCS#11: skipping a private key that is neither RSA nor EC");
                continue;
            };
            let uri = self.object_uri(token, &id, &label, "private");
            keys.push(FoundKey {
                handle,
                key_type,
                always_auth,
                id,
                label,
                uri,
            });
        }
        Ok(keys)
    }

    /// Whether `key` is the private half of `public`: by the public values the token shows when
    /// it shows them, otherwise by a test signature verified with `public`.
    fn key_matches(
        &mut self,
        token: usize,
        key: &FoundKey,
        public: &PublicKey,
        reuse_pin: bool,
    ) -> Result<bool> {
        match (public, key.key_type) {
            (PublicKey::Rsa { .. }, t) if t == KeyType::RSA => {}
            (PublicKey::Ec { .. }, t) if t == KeyType::EC => {}
            _ => return Ok(false),
        }
        if let Some(shown) = self.shown_public_key(token, key)? {
            return Ok(&shown == public);
        }
        crate::debug!(
            "PKCS#11: {} does not show its public key; checking with a test signature",
            key.uri
        );
        let message = b"AWS Roles Anywhere Credential Helper PKCS11 Test";
        let mut auth = Auth {
            user_pin: self.user_pin.clone(),
            context_pin: self.context_pin.clone(),
            reuse_pin,
            pin_refused: false,
            context_refused: false,
        };
        let session = self.session(token)?;
        let signature = sign_in(session, key, &mut auth, message, Digest::Sha256)?;
        let matches = verify(public, message, &signature);
        if matches {
            // Keep a context-specific PIN typed for the test signature, as the official helper
            // does, so the first real signature does not ask for it again.
            self.context_pin = auth.context_pin;
        }
        Ok(matches)
    }

    /// The public key from the key object (RSA modulus, EC point) or from the public key object
    /// with the same `CKA_ID`; `None` when the token shows neither.
    fn shown_public_key(&mut self, token: usize, key: &FoundKey) -> Result<Option<PublicKey>> {
        let wanted = [
            AttributeType::Modulus,
            AttributeType::PublicExponent,
            AttributeType::EcParams,
            AttributeType::EcPoint,
            AttributeType::Id,
        ];
        let attributes = self.attributes(token, key.handle, &wanted)?;
        let parsed = public_from(&attributes);
        if parsed.is_some() || key.key_type == KeyType::RSA {
            return Ok(parsed);
        }
        // EC private keys rarely carry CKA_EC_POINT; the matching public key object does.
        let Some(id) = attributes.iter().find_map(|a| match a {
            Attribute::Id(id) if !id.is_empty() => Some(id.clone()),
            _ => None,
        }) else {
            return Ok(None);
        };
        for handle in self.find(token, ObjectClass::PUBLIC_KEY, None, Some(&id))? {
            let attributes = self.attributes(token, handle, &wanted)?;
            if let Some(public) = public_from(&attributes) {
                return Ok(Some(public));
            }
        }
        Ok(None)
    }

    /// The public key of a key found without a certificate (`sign-string --private-key URI`).
    fn public_key_of(&mut self, token: usize, key: &FoundKey) -> Result<PublicKey> {
        self.shown_public_key(token, key)?
            .ok_or_else(|| Error::Pkcs11NotFound {
                what: "public key",
                uri: key.uri.clone(),
                detail: " (the token does not show it); pass the certificate with --certificate"
                    .into(),
            })
    }

    /// Turns the search state into a signer, keeping the key's logged-in session; `key_uri`
    /// names the token to find again if the session is lost.
    fn into_key(
        mut self,
        token: usize,
        key: FoundKey,
        public_key: PublicKey,
        key_uri: &Uri,
        reuse_pin: bool,
    ) -> Pkcs11Key {
        let session = self.sessions[token]
            .take()
            .expect("the key was found through this session");
        let again = FindAgain {
            module: self.module.clone(),
            token: key_uri.token_part(),
            id: key.id.clone(),
            label: key.label.clone(),
            public_key: public_key.clone(),
        };
        Pkcs11Key {
            uri: key.uri.clone(),
            state: Mutex::new(State {
                context: self.context.clone(),
                live: Some(Live { session, key }),
                auth: Auth {
                    user_pin: self.user_pin.take(),
                    context_pin: self.context_pin.take(),
                    reuse_pin,
                    pin_refused: false,
                    context_refused: false,
                },
            }),
            public_key,
            again,
        }
    }

    fn pin_available(&self) -> bool {
        self.pin_uri.pin_value.is_some()
            || self.pin_uri.pin_source.is_some()
            || std::env::var_os(PIN_ENV).is_some_and(|v| !v.is_empty())
            // The prompt reads the controlling terminal, as the official helper does.
            || std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .is_ok()
    }

    /// The PIN from the URI or the environment, and where it came from; `None` to prompt.
    fn configured_pin(&self) -> Result<Option<(Pin, String)>> {
        if let Some(pin) = &self.pin_uri.pin_value {
            return Ok(Some((pin.clone(), "the URI's pin-value".into())));
        }
        if let Some(source) = &self.pin_uri.pin_source {
            let path = Path::new(
                source
                    .strip_prefix("file://")
                    .or(source.strip_prefix("file:"))
                    .unwrap_or(source),
            );
            let text =
                Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?);
            let pin = text.trim_end_matches(['\n', '\r']).to_string();
            return Ok(Some((
                Pin::new(pin),
                format!("pin-source {}", path.display()),
            )));
        }
        if let Ok(pin) = std::env::var(PIN_ENV) {
            if !pin.is_empty() {
                return Ok(Some((Pin::new(pin), PIN_ENV.to_string())));
            }
        }
        Ok(None)
    }

    /// Logs in to `token` as the user, once.
    fn login(&mut self, token: usize) -> Result<()> {
        if self.logged_in[token] {
            return Ok(());
        }
        let name = self.tokens[token].name();
        if self.tokens[token].info.protected_authentication_path() {
            // A PIN pad or biometric reader: the token asks the user itself.
            let result = self.session(token)?.login(UserType::User, None);
            return self.logged_in_after(token, result.map(|()| None), "the token's PIN pad");
        }
        if let Some((pin, from)) = self.configured_pin()? {
            crate::debug!("PKCS#11: logging in to token {name} with the PIN from {from}");
            let result = self
                .session(token)?
                .login(UserType::User, Some(&pin.auth()));
            return self.logged_in_after(token, result.map(|()| Some(pin)), &from);
        }
        let prompt = format!("Please enter your user PIN for token {name}:");
        for _ in 0..PROMPT_ATTEMPTS {
            let Ok(typed) = rpassword::prompt_password(&prompt).map(Pin::new) else {
                return Err(Error::Pkcs11PinRequired { token: name });
            };
            let result = self
                .session(token)?
                .login(UserType::User, Some(&typed.auth()));
            match result {
                Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                    eprintln!("Incorrect PIN.");
                    continue;
                }
                other => {
                    return self.logged_in_after(token, other.map(|()| Some(typed)), "the terminal")
                }
            }
        }
        Err(Error::Pkcs11WrongPin {
            token: name,
            from: "the terminal".into(),
        })
    }

    fn logged_in_after(
        &mut self,
        token: usize,
        result: std::result::Result<Option<Pin>, CkError>,
        from: &str,
    ) -> Result<()> {
        match result {
            Ok(pin) => self.user_pin = pin,
            Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
                return Err(Error::Pkcs11WrongPin {
                    token: self.tokens[token].name(),
                    from: from.to_string(),
                })
            }
            Err(e) => return Err(self.call_failed("C_Login", token, &e)),
        }
        self.logged_in[token] = true;
        Ok(())
    }

    /// Logs in to `token` after a reconnection with the PIN kept from the start: never from a
    /// prompt (nobody may be at the terminal of a helper that has run for weeks), and never
    /// again once the token refused it, so that retries cannot lock the token.
    fn login_again(&mut self, token: usize, auth: &mut Auth) -> Result<()> {
        let name = self.tokens[token].name();
        let result = if self.tokens[token].info.protected_authentication_path() {
            self.session(token)?.login(UserType::User, None)
        } else {
            match (&auth.user_pin, auth.pin_refused) {
                (Some(pin), false) => self
                    .session(token)?
                    .login(UserType::User, Some(&pin.auth())),
                (Some(_), true) => {
                    return Err(Error::Pkcs11WrongPin {
                        token: name,
                        from: "the PIN given at start, refused earlier; restart the helper with the right one".into(),
                    })
                }
                // The token let us in without a PIN at start (already logged in).
                (None, _) => Ok(()),
            }
        };
        let pin = auth.user_pin.clone();
        let outcome = self.logged_in_after(token, result.map(|()| pin), "the PIN given at start");
        if let Err(Error::Pkcs11WrongPin { .. }) = &outcome {
            auth.pin_refused = true;
        }
        outcome
    }

    fn not_found(&self, what: &'static str, uri: &Uri) -> Error {
        let tokens: Vec<String> = self.tokens.iter().map(Token::name).collect();
        let detail = match (what, tokens.len()) {
            (_, 0) => format!(": module {} shows no token", self.module),
            ("token", _) => format!(": the module's tokens are {}", tokens.join(", ")),
            _ => format!(" in {}", tokens.join(", ")),
        };
        Error::Pkcs11NotFound {
            what,
            uri: uri.to_string(),
            detail,
        }
    }

    fn object_uri(&self, token: usize, id: &[u8], label: &[u8], object_type: &str) -> String {
        uri::format(&self.labels(token), id, label, object_type)
    }

    fn token_uri(&self, token: usize) -> String {
        let full = uri::format(&self.labels(token), &[], &[], "");
        full.trim_end_matches(";type=").to_string()
    }

    fn labels(&self, token: usize) -> uri::TokenLabels<'_> {
        let info = &self.tokens[token].info;
        uri::TokenLabels {
            label: info.label(),
            manufacturer: info.manufacturer_id(),
            model: info.model(),
            serial: info.serial_number(),
        }
    }
}

/// Signs with `key` in `session`, logging in for the key again when it asks for that.
fn sign_in(
    session: &Session,
    key: &FoundKey,
    auth: &mut Auth,
    message: &[u8],
    digest: Digest,
) -> std::result::Result<Vec<u8>, Failed> {
    let failed = |call: &str, e: CkError| Failed {
        rv: match e {
            CkError::Pkcs11(rv, _) => Some(rv),
            _ => None,
        },
        error: Error::Sign(format!("{call} with {} failed: {}", key.uri, describe(&e))),
    };
    let rsa = key.key_type == KeyType::RSA;
    let signature = if !key.always_auth {
        let (mechanism, data) = if rsa {
            (rsa_mechanism(digest), message.to_vec())
        } else {
            (Mechanism::Ecdsa, hash(message, digest))
        };
        session
            .sign(&mechanism, key.handle, &data)
            .map_err(|e| failed("C_Sign", e))?
    } else {
        // The PIN must be given between C_SignInit and C_Sign. The binding (cryptoki 0.12) only
        // offers that order for multi-part signing, so EC keys use the hash-and-sign mechanisms
        // here, where the official helper signs its own digest with CKM_ECDSA. Tokens without
        // them cannot be served: SoftHSM2 2.6 offers CKM_ECDSA alone, which is single-part (its
        // C_SignUpdate answers CKR_OPERATION_NOT_INITIALIZED), and calling `Session::sign` after
        // the login starts a second C_SignInit (CKR_OPERATION_ACTIVE). Calling C_Sign on its own
        // would need our own FFI, which `forbid(unsafe_code)` rules out.
        let mechanism = match (rsa, digest) {
            (true, d) => rsa_mechanism(d),
            (false, Digest::Sha256) => Mechanism::EcdsaSha256,
            (false, Digest::Sha384) => Mechanism::EcdsaSha384,
            (false, Digest::Sha512) => Mechanism::EcdsaSha512,
        };
        session
            .sign_init(&mechanism, key.handle)
            .map_err(|e| match e {
                CkError::Pkcs11(RvError::MechanismInvalid, _) if !rsa => Failed::from(Error::Sign(format!(
                    "{} has CKA_ALWAYS_AUTHENTICATE and its token does not offer {}, the only way this helper can sign with such an EC key; use an EC key without CKA_ALWAYS_AUTHENTICATE, or an RSA key",
                    key.uri,
                    mechanism_name(digest)
                ))),
                e => failed("C_SignInit", e),
            })?;
        if let Err(e) = context_login(session, key, auth) {
            // End the operation C_SignInit started, or the next one finds it still active: a
            // failing C_SignFinal terminates it.
            let _ = session.sign_final();
            return Err(e.into());
        }
        session
            .sign_update(message)
            .map_err(|e| failed("C_SignUpdate", e))?;
        session.sign_final().map_err(|e| failed("C_SignFinal", e))?
    };
    if rsa {
        Ok(signature)
    } else {
        Ok(ecdsa_der(&signature, &key.uri)?)
    }
}

/// Why a signature failed, with the token's return value when it gave one.
struct Failed {
    rv: Option<RvError>,
    error: Error,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Failed {
        Failed { rv: None, error }
    }
}

impl From<Failed> for Error {
    fn from(failed: Failed) -> Error {
        failed.error
    }
}

/// Whether a signature failed because the session, the token or the key's handle went away, so
/// that a new session on the token found again may succeed. Not in the set: PIN, mechanism and
/// data errors (a new session changes nothing) and `CKR_GENERAL_ERROR` / `CKR_FUNCTION_FAILED`
/// (too vague to be worth a login). The object handles are in it because SoftHSM2 keeps the
/// session of a token whose files were replaced and answers `CKR_OBJECT_HANDLE_INVALID`; the key
/// found again must still have the public key we started with. `CKR_OPERATION_ACTIVE` means a
/// failed signature left its operation behind in the session (not every module ends it when
/// C_SignFinal fails): a new session drops it.
fn lost(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::CryptokiNotInitialized
            | RvError::DeviceError
            | RvError::DeviceRemoved
            | RvError::KeyHandleInvalid
            | RvError::ObjectHandleInvalid
            | RvError::OperationActive
            | RvError::SessionClosed
            | RvError::SessionHandleInvalid
            | RvError::TokenNotPresent
            | RvError::TokenNotRecognized
            | RvError::UserNotLoggedIn
    )
}

/// `C_Initialize` with OS locking; a module initialized already is fine.
fn initialize(context: &Pkcs11) -> std::result::Result<(), CkError> {
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The DER `ECDSA-Sig-Value` for a token's raw `r || s` signature by the key at `key_uri`.
fn ecdsa_der(raw: &[u8], key_uri: &str) -> Result<Vec<u8>> {
    // Two integers of the same length: anything else would become a signature that fails far
    // away, at the service, as a bare 403.
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(Error::Sign(format!(
            "the token returned a {}-byte ECDSA signature for {key_uri}, which is not r || s; check the PKCS#11 module's version or report it to its vendor",
            raw.len()
        )));
    }
    Ok(ecdsa_raw_to_der(raw))
}

/// Authenticates for one operation with a `CKA_ALWAYS_AUTHENTICATE` key: the PIN that worked
/// before, the user PIN with `--reuse-pin`, or a prompt.
fn context_login(session: &Session, key: &FoundKey, auth: &mut Auth) -> Result<()> {
    let known = auth
        .context_pin
        .clone()
        .or_else(|| auth.user_pin.clone().filter(|_| auth.reuse_pin))
        .filter(|_| !auth.context_refused);
    if let Some(pin) = known {
        match session.login(UserType::ContextSpecific, Some(&pin.auth())) {
            Ok(()) => {
                auth.context_pin = Some(pin);
                return Ok(());
            }
            Err(e) => {
                crate::debug!("PKCS#11: re-authentication failed ({})", describe(&e));
                if let CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _) = e {
                    // Never offer it again: tokens lock after a few wrong PINs.
                    auth.context_refused = true;
                    auth.context_pin = None;
                }
            }
        }
    }
    let prompt = format!(
        "Please enter the context-specific PIN for private key {}:",
        key.uri
    );
    for _ in 0..PROMPT_ATTEMPTS {
        let Ok(typed) = rpassword::prompt_password(&prompt).map(Pin::new) else {
            return Err(no_context_pin(&key.uri, auth));
        };
        match session.login(UserType::ContextSpecific, Some(&typed.auth())) {
            Ok(()) => {
                auth.context_pin = Some(typed);
                auth.context_refused = false;
                return Ok(());
            }
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => eprintln!("Incorrect PIN."),
            Err(e) => {
                return Err(Error::Sign(format!(
                    "C_Login (context-specific) for {} failed: {}",
                    key.uri,
                    describe(&e)
                )))
            }
        }
    }
    Err(Error::Sign(format!(
        "wrong context-specific PIN for {}",
        key.uri
    )))
}

/// Why a `CKA_ALWAYS_AUTHENTICATE` key cannot sign when there is no terminal to ask for its PIN:
/// suggesting `--reuse-pin` only when it was not given, or the key had not refused it.
fn no_context_pin(key_uri: &str, auth: &Auth) -> Error {
    let key = key_uri.to_string();
    if auth.reuse_pin && auth.context_refused {
        Error::Pkcs11ContextPinRefused { key }
    } else {
        Error::Pkcs11ContextPinRequired { key }
    }
}

fn rsa_mechanism(digest: Digest) -> Mechanism<'static> {
    match digest {
        Digest::Sha256 => Mechanism::Sha256RsaPkcs,
        Digest::Sha384 => Mechanism::Sha384RsaPkcs,
        Digest::Sha512 => Mechanism::Sha512RsaPkcs,
    }
}

/// The hash-and-sign ECDSA mechanism for `digest`, as the standard names it.
fn mechanism_name(digest: Digest) -> &'static str {
    match digest {
        Digest::Sha256 => "CKM_ECDSA_SHA256",
        Digest::Sha384 => "CKM_ECDSA_SHA384",
        Digest::Sha512 => "CKM_ECDSA_SHA512",
    }
}

fn hash(message: &[u8], digest: Digest) -> Vec<u8> {
    match digest {
        Digest::Sha256 => Sha256::digest(message).to_vec(),
        Digest::Sha384 => Sha384::digest(message).to_vec(),
        Digest::Sha512 => Sha512::digest(message).to_vec(),
    }
}

/// A public key from `CKA_MODULUS`/`CKA_PUBLIC_EXPONENT` or `CKA_EC_PARAMS`/`CKA_EC_POINT`.
fn public_from(attributes: &[Attribute]) -> Option<PublicKey> {
    let (mut modulus, mut exponent, mut params, mut point) = (None, None, None, None);
    for attribute in attributes {
        match attribute {
            Attribute::Modulus(v) if !v.is_empty() => modulus = Some(v),
            Attribute::PublicExponent(v) if !v.is_empty() => exponent = Some(v),
            Attribute::EcParams(v) if !v.is_empty() => params = Some(v),
            Attribute::EcPoint(v) if !v.is_empty() => point = Some(v),
            _ => {}
        }
    }
    if let (Some(n), Some(e)) = (modulus, exponent) {
        return Some(PublicKey::rsa(n, e));
    }
    let curve = EC_PARAMS
        .iter()
        .find(|(_, der)| Some(&der.to_vec()) == params)
        .map(|(c, _)| *c)?;
    let point = point?;
    // CKA_EC_POINT is a DER OCTET STRING around the SEC1 point; some tokens omit the wrapper.
    let raw = match point.as_slice() {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        [0x04, 0x81, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        other => other,
    };
    PublicKey::ec(curve, raw)
}

/// Verifies a test signature over SHA-256(`message`) with `public`.
fn verify(public: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;

    let digest = Sha256::digest(message);
    match public {
        PublicKey::Rsa { modulus, exponent } => rsa::RsaPublicKey::new_unchecked(
            rsa::BigUint::from_bytes_be(modulus),
            rsa::BigUint::from_bytes_be(exponent),
        )
        .verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
        .is_ok(),
        PublicKey::Ec { curve, point } => match curve {
            Curve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .ok()
                .zip(p256::ecdsa::Signature::from_der(signature).ok())
                .is_some_and(|(k, s)| k.verify_prehash(&digest, &s).is_ok()),
            Curve::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .ok()
                .zip(p384::ecdsa::Signature::from_der(signature).ok())
                .is_some_and(|(k, s)| k.verify_prehash(&digest, &s).is_ok()),
            Curve::P521 => {
                // The ecdsa crate wants a digest of at least half the field: left-pad with zeros,
                // which is the same integer ECDSA derives from the 32-byte digest.
                let mut padded = [0u8; 66];
                padded[66 - digest.len()..].copy_from_slice(&digest);
                p521::ecdsa::VerifyingKey::from_sec1_bytes(point)
                    .ok()
                    .zip(p521::ecdsa::Signature::from_der(signature).ok())
                    .is_some_and(|(k, s)| k.verify_prehash(&padded, &s).is_ok())
            }
        },
    }
}

/// A cryptoki error as `CKR_...` (or the loader's message), on one line, with what to do about
/// the return values a user can act on.
fn describe(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, _) => describe_rv(*rv) + advice(*rv),
        other => one_line(&other.to_string()),
    }
}

/// A return value as the standard spells it: `CKR_...`.
fn describe_rv(rv: RvError) -> String {
    let name = format!("{rv:?}");
    let mut out = String::from("CKR");
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// What to do about a return value, starting with its separator; empty when there is no advice.
fn advice(rv: RvError) -> &'static str {
    match rv {
        RvError::PinLocked => " (the PIN is locked: unlock it with the security officer PIN, e.g. `pkcs11-tool --login --login-type so --init-pin`)",
        RvError::PinExpired => " (the PIN has expired: change it, e.g. `pkcs11-tool --login --change-pin`)",
        RvError::DeviceRemoved | RvError::TokenNotPresent | RvError::SessionClosed | RvError::SessionHandleInvalid => {
            " (the token went away: check that it is inserted; the helper looks for it again at the next signature)"
        }
        RvError::KeyFunctionNotPermitted => " (the key may not sign: its CKA_SIGN is false; use a signing key)",
        _ => "",
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_values_read_like_the_standard() {
        let e = CkError::Pkcs11(RvError::PinIncorrect, cryptoki::context::Function::Login);
        assert_eq!(describe(&e), "CKR_PIN_INCORRECT");
    }

    #[test]
    fn return_values_users_can_act_on_say_what_to_do() {
        let e = CkError::Pkcs11(RvError::PinLocked, cryptoki::context::Function::Login);
        assert!(describe(&e).starts_with("CKR_PIN_LOCKED (the PIN is locked: unlock it"));
        let e = CkError::Pkcs11(RvError::DeviceRemoved, cryptoki::context::Function::Sign);
        assert!(describe(&e).contains("check that it is inserted"));
    }

    #[test]
    fn only_lost_sessions_tokens_and_handles_reconnect() {
        for rv in [
            RvError::SessionHandleInvalid,
            RvError::SessionClosed,
            RvError::DeviceRemoved,
            RvError::TokenNotPresent,
            RvError::ObjectHandleInvalid,
            RvError::CryptokiNotInitialized,
        ] {
            assert!(lost(rv), "{rv:?}");
        }
        // A new session would not change these, and a wrong PIN must not be tried again.
        for rv in [
            RvError::PinIncorrect,
            RvError::PinLocked,
            RvError::MechanismInvalid,
            RvError::KeyFunctionNotPermitted,
            RvError::GeneralError,
        ] {
            assert!(!lost(rv), "{rv:?}");
        }
    }

    #[test]
    fn reuse_pin_is_suggested_only_when_it_was_not_refused() {
        let key = "pkcs11:token=ra;id=%05;object=signing;type=private";
        let mut auth = Auth {
            user_pin: Some(Pin::new("1234".into())),
            context_pin: None,
            reuse_pin: false,
            pin_refused: false,
            context_refused: false,
        };
        let hint = |auth: &Auth| no_context_pin(key, auth).to_string();
        assert!(hint(&auth).contains("pass --reuse-pin"), "{}", hint(&auth));
        // Given and not yet refused (an earlier terminal PIN was): suggesting it is still fair.
        auth.reuse_pin = true;
        assert!(hint(&auth).contains("pass --reuse-pin"));
        auth.context_refused = true;
        let text = hint(&auth);
        assert!(!text.contains("pass --reuse-pin"), "{text}");
        assert!(
            text.contains("refused the token's PIN given by --reuse-pin"),
            "{text}"
        );
        assert!(text.contains("run the helper from a terminal"), "{text}");
        assert!(!text.contains("1234"), "{text}");
    }

    #[test]
    fn malformed_ecdsa_signatures_from_the_token_are_refused() {
        for raw in [&[][..], &[1, 2, 3][..]] {
            let err = ecdsa_der(raw, "pkcs11:object=k").unwrap_err().to_string();
            assert!(
                err.contains("not r || s") && err.contains("object=k"),
                "{err}"
            );
        }
        assert_eq!(
            ecdsa_der(&[1, 2], "k").unwrap(),
            [0x30, 6, 2, 1, 1, 2, 1, 2]
        );
    }

    #[test]
    fn pins_do_not_print() {
        assert_eq!(format!("{:?}", Pin::new("1234".into())), "Pin(***)");
    }

    #[test]
    fn ec_points_with_and_without_the_octet_string() {
        let point = PublicKey::ec(Curve::P256, &[4; 1]).map(|_| ()).is_none();
        assert!(point, "a bogus point is refused");
        let params = Attribute::EcParams(EC_PARAMS[0].1.to_vec());
        assert!(public_from(&[params, Attribute::EcPoint(vec![0x04, 0x01, 0x04])]).is_none());
    }
}
