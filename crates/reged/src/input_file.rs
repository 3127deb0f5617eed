//! Files named on the command line, read with a cap on their size: `/dev/zero`, a log or a disk
//! image given by mistake fails at once, instead of filling memory.
//!
//! Certificates, keys and PKCS#12 files are read by the library, with the same cap as CA bundles
//! here ([`reged_auth::identity::MAX_FILE_LEN`]).

pub use reged_auth::input_file::{Unread, read_all_at_most, read_at_most, size_of_limit};

/// The largest CA bundle read: 1 MiB. The whole Mozilla root store is about 200 KiB.
pub const CA_BUNDLE_LIMIT: usize = reged_auth::identity::MAX_FILE_LEN;

/// The largest password or cache key file read: 4 KiB. A password is one line, a key 64 hex
/// digits; no secret that anyone types or pastes comes near this.
pub const SECRET_FILE_LIMIT: usize = 4 * 1024;

/// The largest request body read for `reged call -d @FILE` or `-d @-`: 64 MiB.
pub const BODY_LIMIT: usize = 64 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_shown_in_binary_units() {
        assert_eq!(size_of_limit(SECRET_FILE_LIMIT), "4 KiB");
        assert_eq!(size_of_limit(CA_BUNDLE_LIMIT), "1 MiB");
        assert_eq!(size_of_limit(BODY_LIMIT), "64 MiB");
    }
}
