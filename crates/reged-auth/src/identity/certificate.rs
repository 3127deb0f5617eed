//! What the identity needs to know about each certificate, read once with x509-parser.

use rustls::pki_types::CertificateDer;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::objects::{oid_registry, oid2abbrev};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use super::error::IdentityError;

/// One certificate, with where it came from and the fields the identity checks.
#[derive(Debug, Clone)]
pub(super) struct Certificate {
    pub der: CertificateDer<'static>,
    pub origin: String,
    /// The subject DN, most specific attribute first (RFC 4514).
    pub subject: String,
    subject_der: Vec<u8>,
    issuer_der: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// False when an extended key usage extension leaves out clientAuth.
    pub allows_client_auth: bool,
    pub is_ca: bool,
}

impl Certificate {
    /// Parses `der`, the `position`-th certificate (from 1) of `origin`.
    pub fn parse(
        der: CertificateDer<'static>,
        origin: &str,
        position: usize,
    ) -> Result<Certificate, IdentityError> {
        let invalid = |error: X509Error| IdentityError::InvalidCertificate {
            origin: origin.to_owned(),
            position,
            source: Box::new(error),
        };

        let parsed = match X509Certificate::from_der(&der) {
            Ok((_, parsed)) => parsed,
            Err(x509_parser::nom::Err::Error(error) | x509_parser::nom::Err::Failure(error)) => {
                return Err(invalid(error));
            }
            Err(x509_parser::nom::Err::Incomplete(_)) => {
                return Err(invalid(X509Error::InvalidCertificate));
            }
        };
        let allows_client_auth = match parsed.extended_key_usage().map_err(invalid)? {
            Some(usage) => usage.value.client_auth || usage.value.any,
            None => true,
        };
        let is_ca = parsed
            .basic_constraints()
            .map_err(invalid)?
            .is_some_and(|constraints| constraints.value.ca);

        Ok(Certificate {
            origin: origin.to_owned(),
            subject: distinguished_name(parsed.subject()),
            subject_der: parsed.subject().as_raw().to_vec(),
            issuer_der: parsed.issuer().as_raw().to_vec(),
            not_before: parsed.validity().not_before.to_datetime(),
            not_after: parsed.validity().not_after.to_datetime(),
            allows_client_auth,
            is_ca,
            der,
        })
    }

    /// Whether subject and issuer are the same name, as in a root CA.
    pub fn is_self_issued(&self) -> bool {
        self.subject_der == self.issuer_der
    }

    /// Whether `issuer`'s subject is this certificate's issuer.
    pub fn is_issued_by(&self, issuer: &Certificate) -> bool {
        self.issuer_der == issuer.subject_der
    }
}

/// A distinguished name in the spirit of RFC 4514: most specific first, `,` between RDNs, `+`
/// inside one, special characters escaped, and `#` plus hex for values that are not strings.
fn distinguished_name(name: &X509Name<'_>) -> String {
    let registry = oid_registry();
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            let attributes: Vec<String> = rdn
                .iter()
                .map(|attribute| {
                    let kind = oid2abbrev(attribute.attr_type(), registry)
                        .map(str::to_owned)
                        .unwrap_or_else(|_| attribute.attr_type().to_id_string());
                    let value = match attribute.as_str() {
                        Ok(text) => escape(text),
                        Err(_) => format!("#{}", hex(attribute.attr_value().as_bytes())),
                    };
                    format!("{kind}={value}")
                })
                .collect();
            attributes.join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// RFC 4514 section 2.4 escaping.
fn escape(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut escaped = String::with_capacity(value.len());
    for (index, character) in value.chars().enumerate() {
        let special = matches!(character, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (index == 0 && matches!(character, '#' | ' '))
            || (index == last && character == ' ');
        if special {
            escaped.push('\\');
        }
        if character == '\0' {
            escaped.push_str("\\00");
        } else {
            escaped.push(character);
        }
    }
    escaped
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_as_rfc_4514_says() {
        assert_eq!(escape("Smith, John"), "Smith\\, John");
        assert_eq!(escape(" lead#"), "\\ lead#");
        assert_eq!(escape("#hash"), "\\#hash");
        assert_eq!(escape("trail "), "trail\\ ");
        assert_eq!(escape("a+b=c"), "a\\+b=c");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn garbage_and_truncated_certificates_are_errors() {
        let real = pem::parse(include_str!("../../tests/fixtures/identity/rsa-client.pem"))
            .map(pem::Pem::into_contents)
            .unwrap_or_default();
        assert!(!real.is_empty());

        let mut inputs: Vec<Vec<u8>> = vec![vec![], b"garbage".to_vec(), vec![0x30; 40]];
        inputs.extend((0..real.len()).step_by(37).map(|end| real[..end].to_vec()));
        for input in inputs {
            let result = Certificate::parse(CertificateDer::from(input), "test.pem", 1);
            assert!(matches!(
                result,
                Err(IdentityError::InvalidCertificate { .. })
            ));
        }
    }
}
