//! TPM 2.0 keys through `tss-esapi` (the system's tpm2-tss): the backend compiled in with the
//! `tpm` feature.
//!
//! * Key files are loaded under the parent they name: for a hierarchy (owner, null, endorsement,
//!   platform) the standard storage primary is created from the TCG template (ECC P-256,
//!   AES-128-CFB, noDA; RSA-2048 when the file says `rsaParent`), as the official helper and
//!   tpm2-openssl do; a persistent parent is used as it is.
//! * Keys at persistent handles are used where they are.
//! * Signing happens in the TPM: RSASSA (PKCS#1 v1.5) with SHA-256/384/512, ECDSA with the
//!   TPM's `r`, `s` converted to DER.
//!
//! `tss_esapi::Context` may not move between threads, while our signers are shared by `serve`'s
//! tasks: each key therefore has a thread of its own that owns the context and the loaded key,
//! and signs what it is sent. The context lasts as long as the key, so `serve` and `update` keep
//! one connection. When a signature fails because the connection broke (a resource manager or
//! simulator restarted) or the loaded key vanished (the TPM restarted), the thread connects or
//! loads again once, checks that the key is the one it started with, signs again, and prints
//! one `notice!` line. A password the TPM refuses is never offered again: each failure counts
//! towards the TPM's dictionary-attack lockout.
//!
//! The parts: `keyfile` (the TSS2 PRIVATE KEY format), `key` (public areas and signing
//! schemes), `tcti` (which TPM, and advice when it cannot be reached), `rc` (return codes).

mod key;
mod keyfile;
mod primary;
mod rc;
mod tcti;

use std::fmt;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use sha2::{Digest as _, Sha256, Sha384, Sha512};
use tss_esapi::constants::tss::{TPM2_RH_NULL, TPM2_ST_HASHCHECK};
use tss_esapi::constants::Tss2ResponseCode;
use tss_esapi::handles::{KeyHandle, ObjectHandle, PersistentTpmHandle, TpmHandle};
use tss_esapi::interface_types::resource_handles::Hierarchy;
use tss_esapi::structures::{
    Auth, Digest as TpmDigest, HashcheckTicket, Private, Public, Signature,
};
use tss_esapi::traits::UnMarshall;
use tss_esapi::tss2_esys::TPMT_TK_HASHCHECK;
use tss_esapi::Context;

use self::key::Kind;
use self::primary::storage_template;
use self::rc::{describe, Trouble};
use self::tcti::Tcti;
use super::TpmAuth;
use crate::identity::certificate::{ecdsa_raw_to_der, PublicKey};
use crate::identity::error::{Error, Result};
use crate::identity::prompt::{self, Prompted, Try};
use crate::identity::{Digest, Secret, Signer};

/// What the official helper asks, and says after a wrong password.
const PROMPT: &str = "Please enter your TPM key password:";
const WRONG: &str = "Incorrect TPM key password.";

/// Stops tpm2-tss from printing its own error lines on stderr (each failure is reported once,
/// in our words), unless `TSS2_LOG` asks for them. Call before any thread starts: it sets an
/// environment variable, which tpm2-tss reads at its first log line.
pub fn quiet_library_logs() {
    if std::env::var_os("TSS2_LOG").is_none_or(|v| v.is_empty()) {
        std::env::set_var("TSS2_LOG", "all+none");
    }
}

/// Opens the key at a persistent handle (`handle:0x81000001`, or without `0x`).
///
/// # Errors
/// A malformed handle, no TPM, no key there, or a key this helper cannot sign with.
pub(crate) fn open_handle(handle: &str, auth: &TpmAuth) -> Result<Box<dyn Signer>> {
    let value = parse_handle(handle).ok_or_else(|| Error::TpmHandleSyntax {
        handle: handle.to_string(),
    })?;
    let name = format!("handle:{value:#010x}");
    Ok(Box::new(TpmKey::open(
        name,
        Object::Handle(value),
        None,
        password(auth),
        auth,
    )?))
}

/// Opens a `TSS2 PRIVATE KEY` (`der`, the PEM block's content) read from `path`.
///
/// # Errors
/// A malformed or unsupported key file, a password where none is needed, no TPM, or a parent
/// the key cannot be loaded under.
pub(crate) fn open_key_file(path: &Path, der: &[u8], auth: &TpmAuth) -> Result<Box<dyn Signer>> {
    let bad = |detail: String| Error::TpmKeyFile {
        path: path.to_path_buf(),
        detail,
    };
    let file = keyfile::parse(der).map_err(bad)?;
    let corrupt = |part: &str| {
        bad(format!(
            "is malformed (its {part} is not a TPM structure); the file may be corrupt"
        ))
    };
    let public = Public::unmarshall(&file.public).map_err(|_| corrupt("public part"))?;
    let private = Private::try_from(file.private).map_err(|_| corrupt("private part"))?;
    let name = path.display().to_string();
    let found = key::inspect(&public).map_err(|what| Error::TpmUnsupportedKey {
        key: name.clone(),
        what,
    })?;
    let parent = Parent::of(file.parent, file.rsa_parent).ok_or_else(|| {
        bad(format!(
            "names the parent {:#010x}, which is neither a hierarchy nor a persistent handle",
            file.parent
        ))
    })?;
    let password = if file.empty_auth {
        if auth.password.is_some() {
            return Err(Error::TpmPasswordNotNeeded {
                path: path.to_path_buf(),
            });
        }
        Password::Empty
    } else {
        password(auth)
    };
    let object = Object::File {
        parent,
        public,
        private,
    };
    Ok(Box::new(TpmKey::open(
        name,
        object,
        Some(found),
        password,
        auth,
    )?))
}

/// `0x81000001`, `0X81000001` or `81000001`: a persistent handle (0x81xxxxxx).
fn parse_handle(text: &str) -> Option<u32> {
    let hex = text.strip_prefix(super::HANDLE_PREFIX)?;
    let hex = hex
        .strip_prefix("0x")
        .or_else(|| hex.strip_prefix("0X"))
        .unwrap_or(hex);
    if hex.is_empty() || hex.len() > 8 {
        return None;
    }
    let value = u32::from_str_radix(hex, 16).ok()?;
    (value >> 24 == 0x81).then_some(value)
}

/// Where the key's password comes from.
enum Password {
    /// It has none.
    Empty,
    /// From `--tpm-key-password`, or typed earlier in this process.
    Given(Secret),
    /// Ask on the terminal.
    Ask,
}

/// The flags' answer for a key that may have a password.
fn password(auth: &TpmAuth) -> Password {
    match (&auth.password, auth.no_password) {
        (Some(password), _) => Password::Given(password.clone()),
        (None, true) => Password::Empty,
        (None, false) => auth.typed().map_or(Password::Ask, Password::Given),
    }
}

/// The key, as the TPM is to find it.
enum Object {
    /// A persistent handle.
    Handle(u32),
    /// A key file's blobs, loaded under `parent`.
    File {
        parent: Parent,
        public: Public,
        private: Private,
    },
}

/// A key file's parent.
#[derive(Clone, Copy)]
enum Parent {
    /// A hierarchy, under which the standard storage primary is created (RSA when `rsa`).
    Primary { hierarchy: Hierarchy, rsa: bool },
    /// A persistent storage key.
    Persistent(u32),
}

impl Parent {
    fn of(handle: u32, rsa: bool) -> Option<Parent> {
        let hierarchy = match handle {
            0x4000_0001 => Hierarchy::Owner,
            0x4000_0007 => Hierarchy::Null,
            0x4000_000b => Hierarchy::Endorsement,
            0x4000_000c => Hierarchy::Platform,
            h if h >> 24 == 0x81 => return Some(Parent::Persistent(h)),
            _ => return None,
        };
        Some(Parent::Primary { hierarchy, rsa })
    }
}

impl fmt::Display for Parent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Parent::Primary { hierarchy, .. } => {
                let name = match hierarchy {
                    Hierarchy::Owner => "owner",
                    Hierarchy::Null => "null",
                    Hierarchy::Endorsement => "endorsement",
                    Hierarchy::Platform => "platform",
                };
                write!(f, "the {name} hierarchy's storage key")
            }
            Parent::Persistent(handle) => write!(f, "{handle:#010x}"),
        }
    }
}

/// A key in the TPM. Signing is done by its own thread (see the module's documentation).
pub struct TpmKey {
    name: String,
    public_key: PublicKey,
    jobs: Option<Sender<Job>>,
    worker: Option<JoinHandle<()>>,
}

impl fmt::Debug for TpmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TpmKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What a key's thread is asked to do.
enum Job {
    /// Sign a digest made with `hash`.
    Sign {
        digest: Vec<u8>,
        hash: Digest,
        reply: Sender<Result<Vec<u8>>>,
    },
    /// Use this password from now on if the TPM accepts it for a test signature.
    TryPassword {
        password: Secret,
        reply: Sender<Result<()>>,
    },
}

impl TpmKey {
    /// Connects, loads the key (checking that it can sign), and settles its password.
    fn open(
        name: String,
        object: Object,
        found: Option<(PublicKey, Kind)>,
        password: Password,
        auth: &TpmAuth,
    ) -> Result<TpmKey> {
        let tcti = Tcti::from_env()?;
        crate::debug!("TPM: {name} through {tcti}");
        let ask = matches!(password, Password::Ask);
        let worker = Worker {
            tcti,
            name: name.clone(),
            object,
            found,
            auth: match password {
                Password::Given(secret) => Some(secret),
                Password::Empty | Password::Ask => None,
            },
            context: None,
            loaded: None,
            refused: false,
        };
        let (jobs, receiver) = mpsc::channel();
        let (ready, started) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("tpm".into())
            .spawn(move || worker.run(receiver, ready))
            .map_err(|e| Error::Sign(format!("cannot start a thread for the TPM: {e}")))?;
        let mut key = TpmKey {
            name,
            // Replaced below, unless the thread failed to start.
            public_key: PublicKey::rsa(&[], &[]),
            jobs: Some(jobs),
            worker: Some(thread),
        };
        key.public_key = started.recv().map_err(|_| stopped())??;
        if ask {
            key.ask_password(auth)?;
        }
        Ok(key)
    }

    /// Asks for the password on the terminal until the TPM accepts one (a few tries, each a
    /// person's decision: the TPM counts every failure).
    fn ask_password(&self, auth: &TpmAuth) -> Result<()> {
        let asked = prompt::ask(PROMPT, Some(WRONG), |password: Secret| {
            match self.ask(|reply| Job::TryPassword {
                password: password.clone(),
                reply,
            }) {
                Ok(()) => {
                    auth.remember(&password);
                    Try::Accepted(())
                }
                Err(Error::TpmWrongPassword { .. }) => Try::Wrong,
                Err(e) => Try::Failed(e),
            }
        });
        asked.map_err(|e| match e {
            Prompted::NoTerminal => Error::TpmPasswordRequired {
                key: self.name.clone(),
            },
            Prompted::Rejected => Error::TpmWrongPassword {
                key: self.name.clone(),
            },
            Prompted::Failed(e) => e,
        })
    }

    /// Sends a job to the key's thread and waits for its answer.
    fn ask<T>(&self, job: impl FnOnce(Sender<Result<T>>) -> Job) -> Result<T> {
        let (reply, answer) = mpsc::channel();
        let jobs = self.jobs.as_ref().ok_or_else(stopped)?;
        jobs.send(job(reply)).map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }
}

impl Drop for TpmKey {
    fn drop(&mut self) {
        // Closing the channel ends the thread, which flushes the key from the TPM: wait for
        // that, or a process about to exit would leave it loaded in a TPM without a resource
        // manager (a simulator), where loaded objects stay until flushed.
        self.jobs = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn stopped() -> Error {
    Error::Sign("the thread talking to the TPM stopped".into())
}

impl Signer for TpmKey {
    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>> {
        let hashed = match digest {
            Digest::Sha256 => Sha256::digest(message).to_vec(),
            Digest::Sha384 => Sha384::digest(message).to_vec(),
            Digest::Sha512 => Sha512::digest(message).to_vec(),
        };
        self.ask(|reply| Job::Sign {
            digest: hashed,
            hash: digest,
            reply,
        })
    }
}

/// The key's thread: owns the TPM context and the loaded key.
struct Worker {
    tcti: Tcti,
    name: String,
    object: Object,
    /// The key as found at start: a key found again must be the same.
    found: Option<(PublicKey, Kind)>,
    /// The key's password; `None` for none (or not yet typed).
    auth: Option<Secret>,
    context: Option<Context>,
    loaded: Option<KeyHandle>,
    /// The TPM refused the password: it is not offered again.
    refused: bool,
}

/// A failed TPM command: its return code, when the TSS gave one, and the error to report.
struct Failed {
    rc: Option<u32>,
    error: Error,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Failed {
        Failed { rc: None, error }
    }
}

impl Worker {
    fn run(mut self, jobs: Receiver<Job>, ready: Sender<Result<PublicKey>>) {
        let started = self
            .connect()
            .and_then(|()| self.load().map_err(|f| f.error))
            .map(|()| {
                self.found
                    .as_ref()
                    .map(|(public_key, _)| public_key.clone())
            });
        let started = match started {
            Ok(Some(public_key)) => Ok(public_key),
            Ok(None) => Err(stopped()),
            Err(e) => Err(e),
        };
        let ok = started.is_ok();
        let _ = ready.send(started);
        if ok {
            for job in jobs {
                match job {
                    Job::Sign {
                        digest,
                        hash,
                        reply,
                    } => {
                        let _ = reply.send(self.sign(&digest, hash));
                    }
                    Job::TryPassword { password, reply } => {
                        let _ = reply.send(self.try_password(password));
                    }
                }
            }
        }
        self.close();
    }

    fn connect(&mut self) -> Result<()> {
        self.loaded = None;
        self.context = None;
        let context = Context::new(self.tcti.conf.clone()).map_err(|e| Error::TpmUnavailable {
            tcti: self.tcti.to_string(),
            detail: describe_error(&e),
            advice: self.tcti.advice(),
        })?;
        self.context = Some(context);
        Ok(())
    }

    /// Loads the key into the connected context, checks it, and gives it its password.
    fn load(&mut self) -> Result<(), Failed> {
        let name = self.name.clone();
        let tcti = self.tcti.to_string();
        let context = self.context.as_mut().ok_or_else(stopped)?;
        let (handle, public) = match &self.object {
            Object::Handle(value) => {
                let persistent =
                    PersistentTpmHandle::new(*value).map_err(|_| Error::TpmHandleSyntax {
                        handle: name.clone(),
                    })?;
                let object = context
                    .tr_from_tpm_public(TpmHandle::Persistent(persistent))
                    .map_err(|e| match rc_of(&e) {
                        Some(rc) if rc::trouble(rc) == Trouble::Object => Failed {
                            rc: Some(rc),
                            error: Error::TpmHandleNotFound {
                                handle: name.clone(),
                                tcti: tcti.clone(),
                            },
                        },
                        _ => failure(&e, "TPM2_ReadPublic", &name, &tcti),
                    })?;
                let handle = KeyHandle::from(object);
                let (public, _, _) = context
                    .read_public(handle)
                    .map_err(|e| failure(&e, "TPM2_ReadPublic", &name, &tcti))?;
                (handle, public)
            }
            Object::File {
                parent,
                public,
                private,
            } => {
                let parent = *parent;
                let loaded = context.execute_with_nullauth_session(|c| {
                    let (parent_handle, created) = match parent {
                        Parent::Primary { hierarchy, rsa } => {
                            let template = storage_template(rsa)?;
                            let primary =
                                c.create_primary(hierarchy, template, None, None, None, None)?;
                            (primary.key_handle, true)
                        }
                        Parent::Persistent(value) => {
                            let persistent = PersistentTpmHandle::new(value)?;
                            let object = c.tr_from_tpm_public(TpmHandle::Persistent(persistent))?;
                            (KeyHandle::from(object), false)
                        }
                    };
                    let key = c.load(parent_handle, private.clone(), public.clone());
                    if created {
                        let _ = c.flush_context(parent_handle.into());
                    } else {
                        let _ = c.tr_close(&mut ObjectHandle::from(parent_handle));
                    }
                    key
                });
                let handle = loaded.map_err(|e| parent_failure(&e, &name, parent, &tcti))?;
                (handle, public.clone())
            }
        };
        let (public_key, kind) =
            key::inspect(&public).map_err(|what| Error::TpmUnsupportedKey {
                key: name.clone(),
                what,
            })?;
        match &self.found {
            Some((at_start, _)) if *at_start != public_key => {
                return Err(Error::TpmDifferentKey { key: name }.into())
            }
            Some(_) => {}
            None => self.found = Some((public_key, kind)),
        }
        if let Some(password) = &self.auth {
            set_auth(context, handle, password)
                .map_err(|e| failure(&e, "setting the password", &name, &tcti))?;
        }
        self.loaded = Some(handle);
        Ok(())
    }

    fn try_password(&mut self, password: Secret) -> Result<()> {
        self.auth = Some(password);
        if let (Some(context), Some(handle), Some(password)) =
            (self.context.as_mut(), self.loaded, self.auth.as_ref())
        {
            set_auth(context, handle, password)
                .map_err(|e| failure(&e, "setting the password", &self.name, "").error)?;
        }
        // A test signature: the only way to learn whether the TPM accepts the password.
        self.sign_again_if_lost(&[0x5a; 32], Digest::Sha256)
            .map(drop)
    }

    fn sign(&mut self, digest: &[u8], hash: Digest) -> Result<Vec<u8>> {
        if self.refused {
            return Err(Error::TpmWrongPassword {
                key: self.name.clone(),
            });
        }
        let signed = self.sign_again_if_lost(digest, hash);
        if let Err(Error::TpmWrongPassword { .. }) = signed {
            self.refused = true;
        }
        signed
    }

    /// Signs; when the connection or the loaded key was lost, connects or loads again once and
    /// signs once more.
    fn sign_again_if_lost(&mut self, digest: &[u8], hash: Digest) -> Result<Vec<u8>> {
        let lost = if self.context.is_none() || self.loaded.is_none() {
            // An earlier reconnection failed: try again now, the TPM may be back.
            (Trouble::Connection, None)
        } else {
            match self.sign_once(digest, hash) {
                Ok(signature) => return Ok(signature),
                Err(Failed { rc: Some(rc), .. })
                    if matches!(rc::trouble(rc), Trouble::Connection | Trouble::Object) =>
                {
                    (rc::trouble(rc), Some(rc))
                }
                Err(failed) => return Err(failed.error),
            }
        };
        self.reconnect(lost)?;
        self.sign_once(digest, hash).map_err(|f| f.error)
    }

    /// Connects again (for a broken connection) or loads the key again (for a lost handle).
    fn reconnect(&mut self, (trouble, rc): (Trouble, Option<u32>)) -> Result<()> {
        let cause = rc.map_or_else(
            || "the TPM could not be reached earlier".to_string(),
            describe,
        );
        if let Some(rc) = rc {
            crate::debug!(
                "TPM: signing with {} failed ({}); finding it again",
                self.name,
                describe(rc)
            );
        }
        let reloaded = if trouble == Trouble::Connection || self.context.is_none() {
            self.connect()
                .and_then(|()| self.load().map_err(|f| f.error))
        } else {
            if let (Some(context), Some(handle)) = (self.context.as_mut(), self.loaded.take()) {
                // The TPM forgot it; only our record of it remains.
                let _ = context.tr_close(&mut ObjectHandle::from(handle));
            }
            self.load().map_err(|f| f.error)
        };
        match reloaded {
            Ok(()) => {
                let what = match trouble {
                    Trouble::Connection => format!("reconnected to {}", self.tcti.text),
                    _ => "loaded the key again".to_string(),
                };
                crate::notice!("TPM: {what} for {} ({cause})", self.name);
                Ok(())
            }
            Err(e) => Err(Error::TpmReconnect {
                key: self.name.clone(),
                cause,
                detail: e.report(),
            }),
        }
    }

    fn sign_once(&mut self, digest: &[u8], hash: Digest) -> Result<Vec<u8>, Failed> {
        let name = &self.name;
        let tcti = self.tcti.to_string();
        let (Some(context), Some(handle), Some((_, kind))) =
            (self.context.as_mut(), self.loaded, self.found.as_ref())
        else {
            return Err(stopped().into());
        };
        let kind = *kind;
        let (scheme, digest) =
            key::plan(kind, hash, digest).map_err(|what| Error::TpmUnsupportedKey {
                key: name.clone(),
                what,
            })?;
        let digest =
            TpmDigest::try_from(digest).map_err(|e| failure(&e, "TPM2_Sign", name, &tcti))?;
        let ticket = HashcheckTicket::try_from(TPMT_TK_HASHCHECK {
            tag: TPM2_ST_HASHCHECK,
            hierarchy: TPM2_RH_NULL,
            digest: Default::default(),
        })
        .map_err(|e| failure(&e, "TPM2_Sign", name, &tcti))?;
        let signature = context
            .execute_with_nullauth_session(|c| c.sign(handle, digest, scheme, ticket))
            .map_err(|e| failure(&e, "TPM2_Sign", name, &tcti))?;
        match (signature, kind) {
            (Signature::RsaSsa(rsa), Kind::Rsa { .. }) => Ok(rsa.signature().value().to_vec()),
            (Signature::EcDsa(ecdsa), Kind::Ec { bytes, .. }) => {
                let mut raw = Vec::with_capacity(2 * bytes);
                for part in [ecdsa.signature_r().value(), ecdsa.signature_s().value()] {
                    if part.len() > bytes {
                        return Err(Error::Sign(format!(
                            "the TPM returned a malformed ECDSA signature for {name}"
                        ))
                        .into());
                    }
                    raw.resize(raw.len() + bytes - part.len(), 0);
                    raw.extend_from_slice(part);
                }
                Ok(ecdsa_raw_to_der(&raw))
            }
            _ => Err(Error::Sign(format!(
                "the TPM returned another kind of signature than asked for {name}"
            ))
            .into()),
        }
    }

    /// Flushes a loaded key file from the TPM (a handle's key stays, as it should).
    fn close(&mut self) {
        if let (Some(context), Some(handle)) = (self.context.as_mut(), self.loaded.take()) {
            match self.object {
                Object::File { .. } => {
                    let _ = context.flush_context(handle.into());
                }
                Object::Handle(_) => {
                    let _ = context.tr_close(&mut ObjectHandle::from(handle));
                }
            }
        }
    }
}

fn set_auth(context: &mut Context, handle: KeyHandle, password: &Secret) -> tss_esapi::Result<()> {
    let auth = Auth::try_from(password.as_bytes().to_vec())?;
    context.tr_set_auth(handle.into(), auth)
}

/// The TSS2_RC inside an error, when it has one.
fn rc_of(e: &tss_esapi::Error) -> Option<u32> {
    // The binding shows the raw code only in its Display text ("Response code value: 0x...").
    let text = match e {
        tss_esapi::Error::Tss2Error(Tss2ResponseCode::FormatZero(code)) => code.to_string(),
        tss_esapi::Error::Tss2Error(Tss2ResponseCode::FormatOne(code)) => code.to_string(),
        _ => return None,
    };
    let hex = text.rsplit("0x").next()?;
    u32::from_str_radix(hex.trim(), 16).ok()
}

fn describe_error(e: &tss_esapi::Error) -> String {
    rc_of(e).map_or_else(|| e.to_string(), describe)
}

/// The error for a failed command, by what its return code means.
fn failure(e: &tss_esapi::Error, call: &'static str, key: &str, tcti: &str) -> Failed {
    let rc = rc_of(e);
    let error = match rc.map(rc::trouble) {
        Some(Trouble::Auth) => Error::TpmWrongPassword {
            key: key.to_string(),
        },
        Some(Trouble::Lockout) => Error::TpmLockout {
            key: key.to_string(),
        },
        Some(Trouble::Connection) => Error::Tpm {
            call,
            key: key.to_string(),
            detail: format!("{} through {tcti}", describe_error(e)),
        },
        _ => Error::Tpm {
            call,
            key: key.to_string(),
            detail: describe_error(e),
        },
    };
    Failed { rc, error }
}

/// The error for a key file that cannot be loaded under its parent.
fn parent_failure(e: &tss_esapi::Error, key: &str, parent: Parent, tcti: &str) -> Failed {
    let rc = rc_of(e);
    let detail = match rc.map(|rc| (rc::trouble(rc), rc::tpm_code(rc & 0xffff))) {
        Some((Trouble::Auth, _)) => {
            let which = match parent {
                Parent::Primary { .. } => "the hierarchy has",
                Parent::Persistent(_) => "the parent key has",
            };
            format!("{which} a password, which this helper cannot give (nor can the official one); load the key with tpm2_load, persist it with tpm2_evictcontrol and pass --private-key handle:0x81...")
        }
        Some((Trouble::Lockout, _)) => return failure(e, "TPM2_Load", key, tcti),
        Some((Trouble::Object, _)) => format!("{parent} does not exist in this TPM ({tcti}); list the persistent handles with `tpm2_getcap handles-persistent`"),
        Some((_, 0x09f)) => format!(
            "the TPM says the key was not made under this parent ({}); was it made with another TPM, or before the TPM was cleared?",
            describe_error(e)
        ),
        _ => describe_error(e),
    };
    Failed {
        rc,
        error: Error::TpmParent {
            key: key.to_string(),
            parent: parent.to_string(),
            detail,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_persistent_handles_in_hex() {
        for (text, want) in [
            ("handle:0x81000001", Some(0x8100_0001)),
            ("handle:0X81000002", Some(0x8100_0002)),
            ("handle:81010001", Some(0x8101_0001)),
            ("handle:0x80000001", None), // transient: gone with its connection
            ("handle:0x40000001", None),
            ("handle:", None),
            ("handle:0x", None),
            ("handle:0x8100000001", None),
            ("handle:xyz", None),
        ] {
            assert_eq!(parse_handle(text), want, "{text}");
        }
    }
}
