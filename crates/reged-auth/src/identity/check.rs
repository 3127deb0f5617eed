//! The checks made at load time: the key loads and matches the certificate, the certificate is
//! valid now and is meant for client authentication.

use std::sync::Arc;

use rustls::pki_types::PrivateKeyDer;
use rustls::sign::{CertifiedKey, SigningKey};
use rustls::{Error as TlsError, InconsistentKeys};
use time::OffsetDateTime;

use super::certificate::Certificate;
use super::error::IdentityError;
use super::warning::IdentityWarning;

/// Loads `key` with the aws-lc-rs provider, the one the TLS connection will sign with.
pub(super) fn load_key(
    key: &PrivateKeyDer<'static>,
    origin: &str,
) -> Result<Arc<dyn SigningKey>, IdentityError> {
    rustls::crypto::aws_lc_rs::default_provider()
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|error| IdentityError::InvalidPrivateKey {
            origin: origin.to_owned(),
            source: Box::new(error),
        })
}

/// Whether `key` is the private key of `certificate`, as rustls sees it.
pub(super) fn key_matches(
    key: &Arc<dyn SigningKey>,
    certificate: &Certificate,
) -> Result<bool, TlsError> {
    let certified = CertifiedKey::new(vec![certificate.der.clone()], Arc::clone(key));
    match certified.keys_match() {
        Ok(()) => Ok(true),
        Err(TlsError::InconsistentKeys(InconsistentKeys::KeyMismatch)) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Fails unless `certificate` is valid at `at`.
pub(super) fn check_validity(
    certificate: &Certificate,
    at: OffsetDateTime,
) -> Result<(), IdentityError> {
    if at < certificate.not_before {
        return Err(IdentityError::CertificateNotYetValid {
            origin: certificate.origin.clone(),
            subject: certificate.subject.clone(),
            not_before: certificate.not_before,
            not_after: certificate.not_after,
            now: at,
        });
    }
    if at > certificate.not_after {
        return Err(IdentityError::CertificateExpired {
            origin: certificate.origin.clone(),
            subject: certificate.subject.clone(),
            not_before: certificate.not_before,
            not_after: certificate.not_after,
            now: at,
        });
    }
    Ok(())
}

/// A warning when the certificate's extended key usage leaves out client authentication.
pub(super) fn check_usage(certificate: &Certificate) -> Option<IdentityWarning> {
    (!certificate.allows_client_auth).then(|| IdentityWarning::NoClientAuthUsage {
        subject: certificate.subject.clone(),
    })
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::CertificateDer;
    use time::macros::datetime;

    use super::*;

    fn client_certificate() -> Certificate {
        let pem = include_str!("../../tests/fixtures/identity/rsa-client.pem");
        let der = pem::parse(pem)
            .map(pem::Pem::into_contents)
            .unwrap_or_default();
        Certificate::parse(CertificateDer::from(der), "rsa-client.pem", 1)
            .expect("the fixture parses")
    }

    #[test]
    fn validity_holds_inside_the_period() {
        let certificate = client_certificate();

        assert!(check_validity(&certificate, certificate.not_before).is_ok());
        assert!(check_validity(&certificate, certificate.not_after).is_ok());
    }

    #[test]
    fn expired_certificate_names_file_and_dates() {
        let certificate = client_certificate();
        let later = certificate.not_after + time::Duration::seconds(1);

        let error = check_validity(&certificate, later).expect_err("expired");

        assert!(matches!(error, IdentityError::CertificateExpired { .. }));
        let message = error.to_string();
        assert!(message.contains("rsa-client.pem"), "{message}");
        assert!(message.contains("expired on"), "{message}");
        assert!(
            message.contains(&certificate.not_after.year().to_string()),
            "{message}"
        );
    }

    #[test]
    fn not_yet_valid_certificate_shows_the_clock() {
        let certificate = client_certificate();
        let earlier = datetime!(1999-12-31 23:59:59 UTC);

        let error = check_validity(&certificate, earlier).expect_err("not yet valid");

        assert!(matches!(
            error,
            IdentityError::CertificateNotYetValid { .. }
        ));
        let message = error.to_string();
        assert!(message.contains("now 1999-12-31 23:59:59 UTC"), "{message}");
        assert!(message.contains("check the system clock"), "{message}");
    }

    #[test]
    fn garbage_keys_do_not_load() {
        for bytes in [
            vec![],
            vec![0x30, 0x03, 0x02, 0x01, 0x00],
            b"garbage".to_vec(),
        ] {
            let key = PrivateKeyDer::Pkcs8(bytes.into());

            let result = load_key(&key, "test.key");

            assert!(matches!(
                result,
                Err(IdentityError::InvalidPrivateKey { .. })
            ));
        }
    }
}
