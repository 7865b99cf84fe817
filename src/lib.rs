//! `aws_signing_helper`, the command line: a drop-in replacement for AWS's IAM Roles Anywhere
//! credential helper, built on the engine in `rolesanywhere-credentials`.
//!
//! * [`cli`]: the clap definitions, flag for flag as the official helper spells them.
//! * [`commands`]: one function per subcommand, over the engine's public API.
//! * [`serve`]: the IMDSv2 and container-credentials server; [`update`] and
//!   [`credentials_file`]: the shared credentials file kept fresh; [`systemd`]: the service
//!   manager's protocols.
//! * [`error`]: the engine's errors and the command line's own, each rendered as one line.
//!
//! See docs/DESIGN.md for the layers and the rules between them.

// No unsafe code here: the engine keeps the one exception (a PKCS#11 C_Sign) to itself.
#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod credentials_file;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod serve;
pub mod signals;
pub mod systemd;
pub mod update;
