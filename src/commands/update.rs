//! `update`: validate the flags, then keep a profile of the shared credentials file fresh.

use crate::cli::UpdateArgs;
use crate::error::{Error, Result};
use crate::update;
use rolesanywhere_credentials::config::Options;

/// Runs `update`.
pub(super) fn run(args: UpdateArgs) -> Result<()> {
    super::serve::set_log_level(args.credentials.identity.debug, args.log.log_level);
    if args.profile.is_empty() || args.profile.contains(['[', ']', '\n', '\r']) {
        return Err(Error::Usage(format!(
            "--profile '{}' cannot be a section name in the credentials file; use a name without brackets or line breaks",
            args.profile.escape_debug()
        )));
    }
    let mut options = Options::from_args(args.credentials.into_engine())?;
    options.patience = args.start.start_timeout;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(async {
        // SIGINT and SIGTERM end the refresh loop between writes (each write is synchronous and
        // atomic, so none is cut short) and exit 0, as serve does.
        tokio::select! {
            updated = update::run(options, &args.profile, args.once) => updated,
            () = crate::serve::shutdown_signal() => {
                crate::systemd::stopping();
                rolesanywhere_credentials::notice!("stopping: signal received");
                Ok(())
            }
        }
    })
}
