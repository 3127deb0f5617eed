//! One module a subcommand.

pub mod cache;
pub mod call;
pub mod demo;
pub mod dev_certs;
pub mod emulator;
pub mod emulator_admin;
pub mod token;
