//! Things worth telling about an identity that still loads.

use std::fmt;

/// Something about a loaded identity that may make the server refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityWarning {
    /// The client certificate has an extended key usage extension without `clientAuth` (or
    /// `anyExtendedKeyUsage`), so a server that checks it will refuse the certificate.
    ///
    /// A certificate without the extension is not restricted (RFC 5280 section 4.2.1.12) and
    /// gets no warning.
    NoClientAuthUsage {
        /// The client certificate's subject.
        subject: String,
    },

    /// A certificate was given that is not in the client certificate's chain; it is not sent.
    UnrelatedCertificate {
        /// That certificate's subject.
        subject: String,
    },
}

impl fmt::Display for IdentityWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityWarning::NoClientAuthUsage { subject } => write!(
                f,
                "the certificate \"{subject}\" is not meant for client authentication (its \
                 extended key usage lacks clientAuth); the server may refuse it"
            ),
            IdentityWarning::UnrelatedCertificate { subject } => write!(
                f,
                "the certificate \"{subject}\" is not in the client certificate's chain and is \
                 not sent"
            ),
        }
    }
}
