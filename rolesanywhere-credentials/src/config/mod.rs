//! What a caller asks for: the settings as the command line spells them ([`CredentialArgs`],
//! unchecked), and the same settings validated once ([`Options`]).

pub mod args;
pub mod options;

pub use args::{CacheArgs, CredentialArgs, IdentityArgs};
pub use options::Options;
