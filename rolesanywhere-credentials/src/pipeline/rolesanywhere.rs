//! The first link of every credential pipeline: CreateSession with the certificate's key.
//!
//! [`RolesAnywhere`] holds the identity, the HTTP client and the CreateSession parameters. The
//! identity is a [`SharedIdentity`]: when it watches its files (`serve`, `update`), a renewed
//! certificate and key are opened before the next CreateSession, and after
//! [`CredentialSource::reload`] (SIGHUP) whether they changed or not; several sources may share
//! one ([`RolesAnywhere::with_identity`]), so that one opened key serves several profiles or
//! roles. How renewals in progress and broken ones are handled is [`SharedIdentity`]'s story.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use super::identity::{SharedIdentity, RENEWAL_GRACE, RENEWAL_GRACE_ENV, RENEWAL_RETRY};
use crate::config::Options;
use crate::credentials::{parse_expiration, CredentialSource, Issued};
use crate::error::{Error, Result};
use crate::identity::X509Signer;
use crate::session::create_session::{create_session_via, SessionRequest, Via};
use crate::session::retry::Retryer;

/// Whether the identity's files are watched for renewals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reload {
    /// One call and done (`credential-process`): nothing is watched, and the endpoint's address
    /// is resolved once, up front.
    Never,
    /// Long-running (`serve`, `update`): files are re-read when they change.
    OnChange,
}

/// What CreateSession goes over.
enum Transport {
    /// reqwest's client: for everyone but a one-shot run without a proxy.
    Client(reqwest::Client),
    /// A connection of its own per attempt, on the calling thread ([`RolesAnywhere::one_shot`]).
    Blocking(crate::net::blocking::Client),
}

/// CreateSession as a [`CredentialSource`].
pub struct RolesAnywhere {
    identity: SharedIdentity,
    reload: Reload,
    transport: Transport,
    request: SessionRequest,
    timeout: Duration,
    /// Paces CreateSession attempts; its quota and rate limiter last as long as the client.
    retryer: Retryer,
}

impl RolesAnywhere {
    /// Opens the identity (checking the key against the certificate) and builds the HTTP client.
    ///
    /// # Errors
    /// When the identity cannot be opened or TLS cannot be set up: fatal at start-up.
    pub fn new(options: Options, reload: Reload) -> Result<RolesAnywhere> {
        let identity = SharedIdentity::open(options.source.clone(), reload)?;
        Self::with_identity(options, identity)
    }

    /// Like [`RolesAnywhere::new`], with the identity already opened from `options.source`
    /// (`validate --live`, which has checked it first).
    ///
    /// # Errors
    /// When TLS cannot be set up.
    pub fn with_signer(
        options: Options,
        signer: Arc<dyn X509Signer>,
        reload: Reload,
    ) -> Result<RolesAnywhere> {
        let identity = SharedIdentity::with_signer(options.source.clone(), signer, reload);
        Self::with_identity(options, identity)
    }

    /// Like [`RolesAnywhere::new`], signing with `identity`, which other sources may share
    /// (one opened key for several profiles or roles, reopened once at a renewal). Its files
    /// are watched as it says ([`SharedIdentity::reload_policy`]); `options.source` is not
    /// opened.
    ///
    /// # Errors
    /// When TLS cannot be set up.
    pub fn with_identity(options: Options, identity: SharedIdentity) -> Result<RolesAnywhere> {
        let reload = identity.reload_policy();
        let pin = (reload == Reload::Never).then_some(&options.request.endpoint);
        let client = crate::net::http::client(&options.http, pin)?;
        Ok(Self::over(options, identity, Transport::Client(client)))
    }

    /// Like [`RolesAnywhere::new`] with [`Reload::Never`], for a caller that fetches once and
    /// exits (`credential-process`), without a proxy: CreateSession goes over a connection of
    /// its own, on the thread that polls [`CredentialSource::fetch`], which it blocks (see
    /// [`crate::net::blocking`]).
    pub(crate) fn one_shot(options: Options) -> Result<RolesAnywhere> {
        let identity = SharedIdentity::open(options.source.clone(), Reload::Never)?;
        let client = crate::net::blocking::Client::new(&options.http, &options.request.endpoint)?;
        Ok(Self::over(options, identity, Transport::Blocking(client)))
    }

    fn over(options: Options, identity: SharedIdentity, transport: Transport) -> RolesAnywhere {
        RolesAnywhere {
            reload: identity.reload_policy(),
            identity,
            transport,
            request: options.request,
            timeout: options.http.timeout,
            retryer: Retryer::new(options.retry).patient(options.patience),
        }
    }

    /// The CreateSession parameters.
    pub fn request(&self) -> &SessionRequest {
        &self.request
    }

    async fn issue(&mut self) -> Result<Issued> {
        let signer = self.identity.signer_for_use().await;
        let via = match &self.transport {
            Transport::Client(client) => Via::Client(client),
            Transport::Blocking(client) => Via::Blocking(client),
        };
        let credentials = create_session_via(
            via,
            signer.as_ref(),
            &self.request,
            self.timeout,
            &self.retryer,
        )
        .await?;
        let expires_at =
            parse_expiration(&credentials.expiration).ok_or_else(|| Error::BadResponse {
                url: self.request.endpoint.base_url().to_string(),
                detail: format!(
                    "the expiration '{}' is not an ISO 8601 time",
                    credentials.expiration
                ),
            })?;
        Ok(Issued {
            credentials,
            expires_at,
            last_updated: SystemTime::now(),
        })
    }
}

impl CredentialSource for RolesAnywhere {
    fn fetch(&mut self) -> Pin<Box<dyn Future<Output = Result<Issued>> + Send + '_>> {
        Box::pin(self.issue())
    }

    fn reload(&mut self) {
        if self.reload == Reload::OnChange {
            self.identity.reload();
        }
    }
}
