//! The command line: clap's definitions ([`flags`]), reading them ([`parse`]), and handing the
//! credential flags to the engine ([`convert`]).

pub mod convert;
pub mod duration;
pub mod flags;
pub mod parse;
#[cfg(test)]
mod tests;

pub use flags::*;
pub use parse::{normalize_args, CommandLineError};
