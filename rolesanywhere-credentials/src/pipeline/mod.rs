//! Where credentials come from over time: the first source ([`RolesAnywhere`]: CreateSession,
//! reopening renewed identity files), the on-disk cache ([`cache`]), when to refresh
//! ([`refresh`]), and [`build`], which puts together the stages the settings ask for:
//! CreateSession, then each `--assume-role` hop wrapping the one before, each stage (with
//! `--cache`) behind the on-disk cache.
//!
//! Several consumers can share the expensive parts: [`SharedIdentity`] is one opened key for
//! several CreateSession sources, and [`Shared`] one source (a CreateSession) whose
//! [`Branch`]es each carry their own `--assume-role` hops ([`build_from`]).
//!
//! With the cache, every stage is built only when its cache entry is not fresh ([`Deferred`]):
//! a hit on the last stage opens no key, asks for no PIN, password or MFA code, and sends
//! nothing. A miss is patient ([`cache::FILL_PATIENCE`]): the process holding the entry's lock
//! keeps retrying throttling for the others waiting on it, rather than failing them all. Each
//! stage's key covers the stage before it, so a renewed certificate or a changed flag
//! invalidates everything after it; caching the stages between lets a profile that chains and
//! one that does not share one CreateSession.

pub mod cache;
mod identity;
mod once;
pub mod refresh;
pub mod rolesanywhere;
pub mod shared;

pub use identity::SharedIdentity;
pub use once::fetch_once;
pub use rolesanywhere::{Reload, RolesAnywhere};
pub use shared::{Branch, Shared};

use std::sync::Arc;

use crate::config::Options;
use crate::credentials::CredentialSource;
use crate::error::Result;
use crate::net::endpoint::Endpoint;
use crate::session::assume_role::{AssumeRole, Hop, StsClient};
use cache::{CacheDir, CacheKey, Cached, Deferred};

/// Builds the source `options` describe: `reload` for the identity files, and the cache in
/// `cache` when given.
///
/// # Errors
/// Without the cache, when the identity cannot be opened or TLS cannot be set up; with it,
/// when the certificate cannot be read for the cache key.
pub fn build(
    options: Options,
    reload: Reload,
    cache: Option<&CacheDir>,
) -> Result<Box<dyn CredentialSource>> {
    build_with(options, reload, cache, First::Client)
}

/// How the first stage, CreateSession, reaches the endpoint.
#[derive(Clone, Copy)]
enum First {
    /// Through reqwest.
    Client,
    /// On the calling thread, blocking it ([`RolesAnywhere::one_shot`]; [`Reload::Never`] only).
    Blocking,
}

/// [`build`], with CreateSession going over `first`.
fn build_with(
    mut options: Options,
    reload: Reload,
    cache: Option<&CacheDir>,
    first: First,
) -> Result<Box<dyn CredentialSource>> {
    if cache.is_some() {
        options.patience = options.patience.max(cache::FILL_PATIENCE);
    }
    let hops = std::mem::take(&mut options.chain);
    let settings = HopSettings::of(&options);

    let key = match cache {
        Some(_) => Some(rolesanywhere_key(&options)?),
        None => None,
    };
    let first = move || -> Result<Box<dyn CredentialSource>> {
        Ok(Box::new(match first {
            First::Client => RolesAnywhere::new(options, reload)?,
            First::Blocking => RolesAnywhere::one_shot(options)?,
        }))
    };
    let source = stage(cache, key.as_ref(), first)?;
    chain(source, hops, &settings, reload, cache, key)
}

/// Builds the `--assume-role` hops of `options` over `first`, a source built already (a
/// [`Branch`] of a CreateSession shared with other chains, say), without the cache. With no
/// hops, `first` itself is the source.
///
/// # Errors
/// When the HTTP client of a hop cannot be set up (TLS).
pub fn build_from(
    first: Box<dyn CredentialSource>,
    mut options: Options,
    reload: Reload,
) -> Result<Box<dyn CredentialSource>> {
    let hops = std::mem::take(&mut options.chain);
    chain(first, hops, &HopSettings::of(&options), reload, None, None)
}

/// What every hop of a chain is built with.
struct HopSettings {
    sts: Endpoint,
    mfa: Arc<crate::session::mfa::MfaCodes>,
    http: crate::net::http::HttpConfig,
    retry: crate::session::retry::Policy,
    /// How long each hop's first AssumeRole keeps retrying beyond the policy.
    patience: std::time::Duration,
    /// The role of the CreateSession session, which calls the first hop.
    first_caller: String,
}

impl HopSettings {
    fn of(options: &Options) -> HopSettings {
        HopSettings {
            sts: options.sts_endpoint.clone(),
            mfa: Arc::new(options.mfa.clone()),
            http: options.http.clone(),
            retry: options.retry,
            patience: options.patience,
            first_caller: options.request.role.as_str().to_string(),
        }
    }
}

/// Each hop wrapping the source before it, each (with `cache`) behind the cache.
fn chain(
    mut source: Box<dyn CredentialSource>,
    hops: Vec<Hop>,
    settings: &HopSettings,
    reload: Reload,
    cache: Option<&CacheDir>,
    mut key: Option<CacheKey>,
) -> Result<Box<dyn CredentialSource>> {
    let HopSettings {
        sts,
        mfa,
        http,
        retry,
        patience,
        first_caller,
    } = settings;
    let (retry, patience) = (*retry, *patience);
    let mut caller = first_caller.clone();
    for hop in hops {
        key = key.map(|k| hop_key(&k, &hop, sts));
        let (sts, http, mfa, previous_role) = (sts.clone(), http.clone(), Arc::clone(mfa), caller);
        caller = hop.role.as_str().to_string();
        let previous = source;
        let make = move || -> Result<Box<dyn CredentialSource>> {
            // One-shot runs resolve the STS host once, as they do the Roles Anywhere one.
            let pin = (reload == Reload::Never).then_some(&sts);
            let client = crate::net::http::client(&http, pin)?;
            let sts = StsClient {
                endpoint: sts,
                client,
                timeout: http.timeout,
                retry,
                patience,
            };
            Ok(Box::new(AssumeRole::new(
                previous,
                &previous_role,
                hop,
                sts,
                mfa,
            )))
        };
        source = stage(cache, key.as_ref(), make)?;
    }
    Ok(source)
}

/// One stage: built now without the cache; behind the cache, built when first needed.
fn stage<F>(
    cache: Option<&CacheDir>,
    key: Option<&CacheKey>,
    make: F,
) -> Result<Box<dyn CredentialSource>>
where
    F: FnOnce() -> Result<Box<dyn CredentialSource>> + Send + 'static,
{
    match (cache, key) {
        (Some(dir), Some(key)) => Ok(Box::new(Cached::new(
            dir.clone(),
            key,
            Box::new(Deferred::new(make)),
        ))),
        _ => make(),
    }
}

/// Everything that changes what CreateSession answers.
fn rolesanywhere_key(options: &Options) -> Result<CacheKey> {
    let request = &options.request;
    let mut key = CacheKey::new("rolesanywhere");
    key.field("identity", &options.source.cache_identity()?)
        .field("trust_anchor", request.trust_anchor.as_str())
        .field("profile", request.profile.as_str())
        .field("role", request.role.as_str())
        .field("region", &request.endpoint.signing_region)
        .field("endpoint", request.endpoint.base_url())
        .field("duration", &request.duration_seconds.to_string())
        .optional("role_session_name", request.role_session_name.as_deref())
        // Without verification, the answer may come from anyone.
        .field("verify_tls", &(!options.http.no_verify_ssl).to_string());
    Ok(key)
}

/// Everything that changes what a hop answers, over the key of the stage before it. The token
/// code is not part of it: it changes every 30 seconds and is never stored.
fn hop_key(previous: &CacheKey, hop: &Hop, sts: &Endpoint) -> CacheKey {
    let mut key = previous.wrapped("assume-role");
    key.field("role", hop.role.as_str())
        .optional("role_session_name", hop.session_name.as_deref())
        .optional(
            "duration_seconds",
            hop.duration_seconds.map(|d| d.to_string()).as_deref(),
        )
        .optional("external_id", hop.external_id.as_deref())
        .optional("mfa_serial", hop.mfa_serial.as_deref())
        .field("sts_endpoint", sts.base_url())
        .field("sts_region", &sts.signing_region);
    key
}
