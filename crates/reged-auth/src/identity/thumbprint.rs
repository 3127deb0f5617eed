//! The certificate thumbprint that binds a token to the client certificate (RFC 8705).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The `x5t#S256` thumbprint of a certificate (RFC 8705 section 3.1): the SHA-256 digest of its
/// DER encoding, in base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Thumbprint(String);

impl Thumbprint {
    /// The thumbprint of the DER-encoded certificate `der`.
    pub fn of_certificate(der: &[u8]) -> Thumbprint {
        Thumbprint(URL_SAFE_NO_PAD.encode(Sha256::digest(der)))
    }

    /// The thumbprint as it appears in a token's `cnf` claim.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_is_base64url_sha256_without_padding() {
        // SHA-256 of the empty input, e3b0c442...b855, in base64url.
        let thumbprint = Thumbprint::of_certificate(b"");

        assert_eq!(
            thumbprint.as_str(),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
        assert_eq!(thumbprint.to_string(), thumbprint.as_str());
    }
}
