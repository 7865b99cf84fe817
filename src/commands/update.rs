//! `update`: validate the flags, then keep a profile of the shared credentials file fresh.

use crate::cli::UpdateArgs;
use crate::error::{Error, Result};
use crate::options::Options;
use crate::update;

/// Runs `update`.
pub(super) fn run(args: UpdateArgs) -> Result<()> {
    crate::log::set_enabled(args.credentials.identity.debug);
    if args.profile.is_empty() || args.profile.contains(['[', ']', '\n', '\r']) {
        return Err(Error::Usage(format!(
            "--profile '{}' cannot be a section name in the credentials file; use a name without brackets or line breaks",
            args.profile.escape_debug()
        )));
    }
    let options = Options::from_args(args.credentials)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(update::run(options, &args.profile, args.once))
}
