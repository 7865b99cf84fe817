//! The first link of every credential pipeline: CreateSession with the certificate's key.
//!
//! [`RolesAnywhere`] holds the identity, the HTTP client and the CreateSession parameters. When
//! it watches its files (`serve`, `update`), the certificate, chain and key are opened again
//! before each fetch whose files changed on disk, so a renewed certificate is picked up without
//! a restart; a renewal that cannot be loaded (half-written, wrong key, ...) is reported and the
//! previous material is kept. Unchanged files are not re-read, so an encrypted key whose
//! password was typed at start-up is not asked for again at every refresh.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::create_session::{create_session, SessionRequest};
use super::retry::Retryer;
use super::{parse_expiration, CredentialSource, Issued};
use crate::error::{Error, Result};
use crate::filestamp::{stamps, FileStamp};
use crate::identity::{Source, X509Signer};
use crate::options::Options;

/// Whether the identity's files are watched for renewals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reload {
    /// One call and done (`credential-process`): nothing is watched, and the endpoint's address
    /// is resolved once, up front.
    Never,
    /// Long-running (`serve`, `update`): files are re-read when they change.
    OnChange,
}

/// CreateSession as a [`CredentialSource`].
pub struct RolesAnywhere {
    source: Source,
    signer: Arc<dyn X509Signer>,
    reload: Reload,
    stamps: Vec<FileStamp>,
    client: reqwest::Client,
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
        let stamps = match reload {
            Reload::Never => Vec::new(),
            Reload::OnChange => stamps(options.source.files()),
        };
        let signer: Arc<dyn X509Signer> = Arc::from(options.source.open()?);
        let pin = (reload == Reload::Never).then_some(&options.request.endpoint);
        let client = crate::http::client(&options.http, pin)?;
        Ok(RolesAnywhere {
            source: options.source,
            signer,
            reload,
            stamps,
            client,
            request: options.request,
            timeout: options.http.timeout,
            retryer: Retryer::new(options.retry),
        })
    }

    /// The CreateSession parameters.
    pub fn request(&self) -> &SessionRequest {
        &self.request
    }

    async fn issue(&mut self) -> Result<Issued> {
        if self.reload == Reload::OnChange {
            self.reload_changed().await;
        }
        let credentials = create_session(
            &self.client,
            self.signer.as_ref(),
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

    /// Opens the identity again when its files changed; keeps the current one if that fails.
    async fn reload_changed(&mut self) {
        let now = stamps(self.source.files());
        if now == self.stamps {
            return;
        }
        let source = self.source.clone();
        let opened = tokio::task::spawn_blocking(move || source.open()).await;
        match opened {
            Ok(Ok(signer)) => {
                crate::debug!("certificate or key files changed; reloaded them");
                self.signer = Arc::from(signer);
                self.stamps = now;
            }
            Ok(Err(e)) => {
                // Reported once per change: the stamps are recorded so an unchanged broken file
                // is not reported again at every retry.
                crate::notice!(
                    "cannot reload the certificate or key ({}); still using the ones loaded before",
                    e.report()
                );
                self.stamps = now;
            }
            Err(e) => crate::notice!("cannot reload the certificate or key: {e}"),
        }
    }
}

impl CredentialSource for RolesAnywhere {
    fn fetch(&mut self) -> Pin<Box<dyn Future<Output = Result<Issued>> + Send + '_>> {
        Box::pin(self.issue())
    }
}
