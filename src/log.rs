//! Everything the helper says on stderr besides its final error: `--debug` lines, switched on
//! once at start-up, and [`notice!`](crate::notice) lines for operators of long-running commands.
//!
//! Callers pass only what is safe to show: certificates, canonical requests, string to sign and
//! signatures are public; private keys, passwords, PINs, secret access keys and session tokens
//! never reach this module.

use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns debug output on or off.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether `--debug` was given.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Prints a debug line on stderr when `--debug` is on.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::enabled() {
            eprintln!("[debug] {}", format_args!($($arg)*));
        }
    };
}

/// Prints a line on stderr that an operator should see (a refresh that failed, a reload, where
/// `serve` listens), prefixed with the program's name as every error line is.
#[macro_export]
macro_rules! notice {
    ($($arg:tt)*) => {
        eprintln!("aws_signing_helper: {}", format_args!($($arg)*))
    };
}
