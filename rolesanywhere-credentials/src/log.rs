//! Everything the helper says on stderr besides its final error: `--debug` lines, and
//! [`notice!`](crate::notice) and [`warning!`](crate::warning) lines for operators of
//! long-running commands, filtered by a [`Level`] set once at start-up (`--log-level`,
//! `--debug`).
//!
//! Each event is one line. When stderr is the systemd journal (`$JOURNAL_STREAM` names it), each
//! line starts with its syslog priority (`<4>`, `<5>`, `<7>`), which journald strips and records,
//! so `journalctl -p warning` finds failed refreshes; the program's name is then left out, since
//! the journal records it already.
//!
//! Callers pass only what is safe to show: certificates, canonical requests, string to sign and
//! signatures are public; private keys, passwords, PINs, secret access keys and session tokens
//! never reach this module.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// How much is said on stderr, from least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Level {
    /// Only the final error.
    Error,
    /// Failures that the helper recovers from (a refresh that failed, a renewal that does not
    /// load).
    Warning,
    /// Also what a long-running command is doing (where it listens, each refresh, reloads,
    /// reconnections). The default.
    Info,
    /// Also `--debug` lines: requests, responses' metadata, decisions.
    Debug,
}

impl Level {
    /// The syslog priority journald records for a line of this level.
    fn priority(self) -> u8 {
        match self {
            Level::Error => 3,
            Level::Warning => 4,
            Level::Info => 5,
            Level::Debug => 7,
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Sets how much is said.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// The level set by [`set_level`] (default [`Level::Info`]).
pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Level::Error,
        1 => Level::Warning,
        2 => Level::Info,
        _ => Level::Debug,
    }
}

/// Whether lines of `level` are shown.
pub fn shows(level: Level) -> bool {
    level <= self::level()
}

/// Turns debug output on (`--debug`) or back to the default level.
pub fn set_enabled(on: bool) {
    set_level(if on { Level::Debug } else { Level::Info });
}

/// Whether `--debug` (or `--log-level debug`) is on.
pub fn enabled() -> bool {
    shows(Level::Debug)
}

/// Writes one line of `level` on stderr, as one write, whatever the level filter says (the
/// macros filter). Line breaks inside the message become spaces, so one event stays one line.
pub fn emit(level: Level, args: fmt::Arguments<'_>) {
    let text = args.to_string().replace(['\n', '\r'], " ");
    let line = if to_journal() {
        format!("<{}>{text}\n", level.priority())
    } else if level == Level::Debug {
        format!("[debug] {text}\n")
    } else {
        format!("aws_signing_helper: {text}\n")
    };
    // Nothing sensible is left to do when stderr is gone.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Whether stderr is the journal: systemd sets `JOURNAL_STREAM` to the `device:inode` of the
/// stream it connects, and it must be stderr's (a child whose stderr was redirected keeps the
/// variable).
fn to_journal() -> bool {
    static JOURNAL: OnceLock<bool> = OnceLock::new();
    *JOURNAL.get_or_init(|| {
        let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
            return false;
        };
        stderr_identity()
            .is_some_and(|(dev, ino)| stream.to_string_lossy() == format!("{dev}:{ino}"))
    })
}

/// The device and inode of stderr.
fn stderr_identity() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let metadata = std::fs::File::from(fd).metadata().ok()?;
    Some((metadata.dev(), metadata.ino()))
}

/// Prints a debug line on stderr when `--debug` (or `--log-level debug`) is on.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::enabled() {
            $crate::log::emit($crate::log::Level::Debug, format_args!($($arg)*));
        }
    };
}

/// Prints a line on stderr that an operator should see (where `serve` listens, a refresh, a
/// reload, a reconnection), prefixed with the program's name as every error line is; hidden by
/// `--log-level warn` and `error`.
#[macro_export]
macro_rules! notice {
    ($($arg:tt)*) => {
        if $crate::log::shows($crate::log::Level::Info) {
            $crate::log::emit($crate::log::Level::Info, format_args!($($arg)*));
        }
    };
}

/// Prints a line on stderr about a failure the command recovers from (a refresh that failed);
/// hidden only by `--log-level error`.
#[macro_export]
macro_rules! warning {
    ($($arg:tt)*) => {
        if $crate::log::shows($crate::log::Level::Warning) {
            $crate::log::emit($crate::log::Level::Warning, format_args!($($arg)*));
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_from_quiet_to_chatty() {
        assert!(Level::Error < Level::Warning);
        assert!(Level::Warning < Level::Info);
        assert!(Level::Info < Level::Debug);
        assert_eq!(
            [Level::Error, Level::Warning, Level::Info, Level::Debug].map(Level::priority),
            [3, 4, 5, 7]
        );
    }
}
