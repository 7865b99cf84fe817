//! `clear-cache`: remove every entry of the `credential-process --cache` directory.

use std::io::Write;

use crate::cli::ClearCacheArgs;
use crate::error::{Error, Result};
use rolesanywhere_credentials::pipeline::cache::CacheDir;

/// Runs `clear-cache`: says how many entries went, on stdout.
pub(super) fn run(args: ClearCacheArgs) -> Result<()> {
    let path = CacheDir::locate(args.cache_dir)?;
    if !path.exists() {
        return writeln!(std::io::stdout(), "no cache at {}", path.display())
            .map_err(Error::Output);
    }
    let dir = CacheDir::open(path)?;
    let removed = dir.clear().map_err(|source| Error::ClearCache {
        path: dir.path().to_path_buf(),
        source,
    })?;
    writeln!(
        std::io::stdout(),
        "removed {removed} cached credential set{} from {}",
        if removed == 1 { "" } else { "s" },
        dir.path().display()
    )
    .map_err(Error::Output)
}
