//! The client identity: the certificate chain and private key presented in mutual TLS, and the
//! thumbprint that binds tokens to it (RFC 8705).
//!
//! An identity comes from PEM files (certificates and key in one file or several, blocks in any
//! order) or from a PKCS#12 file. Loading checks what a server would otherwise refuse much later:
//! the key matches the certificate, the certificate is valid now, and it is meant for client
//! authentication (a warning, not an error).
//!
//! ```
//! use std::path::Path;
//!
//! use reged_auth::Identity;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let combined = Path::new("tests/fixtures/identity/rsa-combined.pem");
//! let identity = Identity::from_pem_files(&[combined], None)?;
//!
//! assert_eq!(identity.subject(), "CN=reged-test-client-rsa,OU=Fixtures,O=RegEd Test");
//! assert_eq!(identity.certificate_chain().len(), 2); // the leaf and its intermediate
//! println!("x5t#S256 {}", identity.thumbprint());
//! # Ok(())
//! # }
//! ```

mod algorithm;
mod assemble;
mod certificate;
mod chain;
mod check;
mod error;
mod pem;
mod pkcs12;
mod thumbprint;
mod warning;

use std::fmt;
use std::path::Path;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::SecretString;
use time::OffsetDateTime;
use zeroize::Zeroizing;

pub use algorithm::Algorithm;
pub use error::{Cause, IdentityError};
pub use thumbprint::Thumbprint;
pub use warning::IdentityWarning;

use crate::input_file::{Unread, read_at_most};
use assemble::{Material, assemble};

/// The largest certificate, key or PKCS#12 file read: 1 MiB. RegEd's are a few kilobytes, and a
/// chain with every intermediate is far below this; a larger file is not one, and reading it
/// whole (`/dev/zero`, say) would take all the memory there is.
pub const MAX_FILE_LEN: usize = 1024 * 1024;

/// A client certificate chain and its private key, checked and ready for a rustls client.
///
/// Debug output shows the subject, thumbprint and validity, never the key. The key bytes are
/// wiped when the identity is dropped.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: Zeroizing<PrivateKeyDer<'static>>,
    thumbprint: Thumbprint,
    subject: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    warnings: Vec<IdentityWarning>,
}

impl Identity {
    /// Loads an identity from one or more PEM files: the client certificate, its intermediates
    /// and the private key, in one file or several, blocks in any order.
    ///
    /// The key may be PKCS#8, PKCS#1 (RSA), SEC1 (EC) or encrypted PKCS#8, which needs
    /// `passphrase`. Windows line endings and a UTF-8 byte-order mark do not matter.
    pub fn from_pem_files(
        paths: &[&Path],
        passphrase: Option<&SecretString>,
    ) -> Result<Identity, IdentityError> {
        if paths.is_empty() {
            return Err(IdentityError::NoInput);
        }

        let mut material = Material::default();
        for path in paths {
            let contents = read(path)?;
            material.extend(pem::parse(
                &contents,
                &path.display().to_string(),
                passphrase,
            )?);
        }

        let origin = paths
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        assemble(material, &origin, OffsetDateTime::now_utc())
    }

    /// Loads an identity from PEM text, as [`Identity::from_pem_files`] does; `source` names
    /// where it came from in error messages (a file name, say).
    pub fn from_pem(
        pem: &[u8],
        source: &str,
        passphrase: Option<&SecretString>,
    ) -> Result<Identity, IdentityError> {
        let material = pem::parse(pem, source, passphrase)?;
        assemble(material, source, OffsetDateTime::now_utc())
    }

    /// Loads an identity from a PKCS#12 (`.p12`, `.pfx`) file protected by `password`, which
    /// may be empty.
    pub fn from_pkcs12_file(
        path: &Path,
        password: &SecretString,
    ) -> Result<Identity, IdentityError> {
        let contents = read(path)?;
        Identity::from_pkcs12(&contents, &path.display().to_string(), password)
    }

    /// Loads an identity from PKCS#12 bytes; `source` names where they came from in error
    /// messages.
    ///
    /// The client certificate is the one that matches the key, wherever it sits in the file.
    pub fn from_pkcs12(
        der: &[u8],
        source: &str,
        password: &SecretString,
    ) -> Result<Identity, IdentityError> {
        let material = pkcs12::parse(der, source, password)?;
        assemble(material, source, OffsetDateTime::now_utc())
    }

    /// The certificates to present: the client certificate first, then its intermediates up
    /// the chain. A self-signed root is left out; the server must already trust it.
    pub fn certificate_chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// A copy of the private key, for building a rustls `ClientConfig`.
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }

    /// The `x5t#S256` thumbprint of the client certificate (RFC 8705).
    pub fn thumbprint(&self) -> &Thumbprint {
        &self.thumbprint
    }

    /// The client certificate's subject, most specific attribute first, in the style of
    /// RFC 4514 (`CN=client,O=Example`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The start of the client certificate's validity.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// The end of the client certificate's validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// What may make a server refuse this identity although it loaded; each was also logged
    /// with `tracing::warn!` at load time.
    pub fn warnings(&self) -> &[IdentityWarning] {
        &self.warnings
    }
}

impl Clone for Identity {
    fn clone(&self) -> Identity {
        Identity {
            chain: self.chain.clone(),
            key: Zeroizing::new(self.key.clone_key()),
            thumbprint: self.thumbprint.clone(),
            subject: self.subject.clone(),
            not_before: self.not_before,
            not_after: self.not_after,
            warnings: self.warnings.clone(),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("subject", &self.subject)
            .field("thumbprint", &self.thumbprint.as_str())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("intermediates", &self.chain.len().saturating_sub(1))
            .field("warnings", &self.warnings)
            .field("key", &format_args!("[redacted]"))
            .finish()
    }
}

/// Reads a whole file of at most [`MAX_FILE_LEN`] bytes; the buffer is wiped when dropped, as it
/// may hold a key.
fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, IdentityError> {
    read_at_most(path, MAX_FILE_LEN).map_err(|unread| match unread {
        Unread::Io(source) => IdentityError::Read {
            path: path.to_owned(),
            source,
        },
        Unread::TooLarge => IdentityError::TooLarge {
            path: path.to_owned(),
            limit: MAX_FILE_LEN,
        },
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const COMBINED: &str = include_str!("../../tests/fixtures/identity/rsa-combined.pem");
    const CLIENT_KEY: &str = include_str!("../../tests/fixtures/identity/rsa-client.key");

    fn combined_at(now: OffsetDateTime) -> Result<Identity, IdentityError> {
        let material = pem::parse(COMBINED.as_bytes(), "rsa-combined.pem", None)?;
        assemble(material, "rsa-combined.pem", now)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn dev_zero_as_a_pem_or_pkcs12_file_is_refused_after_one_mib() {
        let dev_zero = Path::new("/dev/zero");
        let password = SecretString::from(String::new());

        for error in [
            Identity::from_pem_files(&[dev_zero], None).unwrap_err(),
            Identity::from_pkcs12_file(dev_zero, &password).unwrap_err(),
        ] {
            assert!(
                matches!(
                    error,
                    IdentityError::TooLarge {
                        limit: MAX_FILE_LEN,
                        ..
                    }
                ),
                "{error:?}"
            );
            assert_eq!(
                error.to_string(),
                "/dev/zero is larger than 1 MiB: is it the right file? a client certificate, \
                 key or PKCS#12 file is a few kilobytes"
            );
        }
    }

    #[test]
    fn file_of_exactly_the_limit_is_read_and_one_byte_more_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.pem");
        std::fs::write(&path, vec![b'a'; MAX_FILE_LEN]).unwrap();

        assert_eq!(read(&path).unwrap().len(), MAX_FILE_LEN);

        std::fs::write(&path, vec![b'a'; MAX_FILE_LEN + 1]).unwrap();
        assert!(matches!(read(&path), Err(IdentityError::TooLarge { .. })));
    }

    #[test]
    fn debug_output_redacts_the_key() {
        let identity = combined_at(OffsetDateTime::now_utc()).expect("loads");
        let key = ::pem::parse(CLIENT_KEY)
            .map(::pem::Pem::into_contents)
            .unwrap_or_default();
        let key_base64 = CLIENT_KEY.lines().nth(1).unwrap_or_default();
        let key_bytes = format!("{:?}", &key[key.len() - 16..]);

        let debug = format!("{identity:?}");

        assert!(debug.contains("key: [redacted]"), "{debug}");
        assert!(debug.contains(identity.subject()), "{debug}");
        assert!(debug.contains(identity.thumbprint().as_str()), "{debug}");
        assert!(!debug.contains(key_base64), "{debug}");
        assert!(
            !debug.contains(key_bytes.trim_matches(['[', ']'])),
            "{debug}"
        );
        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
        assert!(!format!("{:?}", identity.clone()).contains(key_base64));
    }

    #[test]
    fn certificate_expires_on_the_clock_given() {
        let identity = combined_at(OffsetDateTime::now_utc()).expect("loads");
        let after = identity.not_after() + time::Duration::days(1);

        let error = combined_at(after).expect_err("expired by then");

        assert!(
            matches!(error, IdentityError::CertificateExpired { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("rsa-combined.pem"), "{error}");
    }

    #[test]
    fn certificate_is_not_valid_before_its_start() {
        let error = combined_at(datetime!(2001-01-01 0:00 UTC)).expect_err("not valid yet");

        assert!(
            matches!(error, IdentityError::CertificateNotYetValid { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn private_key_is_a_copy_of_the_loaded_key() {
        let identity = combined_at(OffsetDateTime::now_utc()).expect("loads");
        let key = ::pem::parse(CLIENT_KEY)
            .map(::pem::Pem::into_contents)
            .unwrap_or_default();

        assert_eq!(identity.private_key().secret_der(), key.as_slice());
    }

    #[test]
    fn no_paths_is_an_error() {
        let error = Identity::from_pem_files(&[], None).expect_err("nothing to load");

        assert!(matches!(error, IdentityError::NoInput));
    }
}
