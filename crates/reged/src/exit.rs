//! Exit codes, as the README documents them.

use reged_auth::Error;

/// Success.
pub const OK: u8 = 0;
/// An unexpected failure.
pub const FAILURE: u8 = 1;
/// The command line cannot be parsed: an unknown flag, a missing value, a value of the wrong
/// type or range, a bad `--log` level.
pub const USAGE: u8 = 2;
/// A setting that parses but cannot be used (an unknown `--env`, an empty `--scope`, a bad
/// `--cache` URL), or an unusable certificate, key or password.
pub const CONFIG: u8 = 3;
/// The token endpoint refused the request or could not be reached.
pub const TOKEN: u8 = 4;
/// The API could not be reached, or its answer was cut short.
pub const API_UNREACHABLE: u8 = 5;
/// The API answered with an HTTP error status (4xx or 5xx).
pub const API_STATUS: u8 = 6;
/// `reged cache`: the shared cache could not be reached.
pub const CACHE: u8 = 7;

/// The exit code for a library error.
pub fn code_of(error: &Error) -> u8 {
    match error {
        Error::Identity(_) | Error::Config { .. } | Error::Tls(_) => CONFIG,
        Error::Token { .. } => TOKEN,
        Error::Api { .. } => API_UNREACHABLE,
        _ => FAILURE,
    }
}
