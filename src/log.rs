//! `--debug` output: plain lines on stderr, switched on once at start-up.
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
