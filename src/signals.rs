//! SIGHUP for the long-running commands: `serve` and `update` reload the certificate and key and
//! refresh at once when it arrives (`systemctl reload`, `kill -HUP`, a certmonger post-save
//! command).

use std::sync::Arc;

use rolesanywhere_credentials::pipeline::refresh::Wake;

use crate::error::{Error, Result};

/// A [`Wake`] pulled at every SIGHUP. Needs a tokio runtime with I/O.
///
/// Installed before the first CreateSession, since SIGHUP's default action ends the process.
///
/// # Errors
/// [`Error::Signal`] when the handler cannot be installed.
pub fn wake_on_sighup() -> Result<Arc<Wake>> {
    use tokio::signal::unix::{signal, SignalKind};
    let wake = Arc::new(Wake::default());
    let mut hangup = signal(SignalKind::hangup()).map_err(Error::Signal)?;
    let pulled = Arc::clone(&wake);
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            pulled.request();
        }
    });
    Ok(wake)
}
