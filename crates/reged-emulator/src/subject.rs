//! Certificate subject names and their comparison, as the token endpoint uses them to
//! authenticate a client by its certificate (RFC 8705 `tls_client_auth`).
//!
//! Names are compared as decoded X.509 names, RDN by RDN, never as strings: two encodings of
//! the same name (a PrintableString and a UTF8String, other letter case or spacing) match, and
//! two names that print alike but differ in structure (one multi-valued RDN against two RDNs)
//! do not.

use std::fmt;

use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::x509::{AttributeTypeAndValue, RelativeDistinguishedName};

use crate::error::EmulatorError;

/// The subject distinguished name of a certificate, kept as its DER encoding.
#[derive(Clone, PartialEq, Eq)]
pub struct SubjectName {
    der: Vec<u8>,
    display: String,
}

impl SubjectName {
    /// Takes the subject of a DER certificate.
    pub fn from_certificate_der(certificate_der: &[u8]) -> Result<SubjectName, EmulatorError> {
        let (_, certificate) = X509Certificate::from_der(certificate_der)
            .map_err(EmulatorError::invalid_pem("certificate"))?;

        Ok(SubjectName::from_name(certificate.subject()))
    }

    /// Takes the subject of a PEM certificate (the first one, when there are several).
    pub fn from_certificate_pem(certificate_pem: &str) -> Result<SubjectName, EmulatorError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;

        let der = CertificateDer::from_pem_slice(certificate_pem.as_bytes())
            .map_err(EmulatorError::invalid_pem("certificate"))?;

        SubjectName::from_certificate_der(&der)
    }

    /// Reads a DER-encoded X.509 `Name`.
    pub fn from_der(name_der: &[u8]) -> Result<SubjectName, EmulatorError> {
        let (_, name) =
            X509Name::from_der(name_der).map_err(EmulatorError::invalid_pem("subject name"))?;

        Ok(SubjectName::from_name(&name))
    }

    fn from_name(name: &X509Name<'_>) -> SubjectName {
        SubjectName {
            der: name.as_raw().to_vec(),
            display: name.to_string(),
        }
    }

    /// The DER encoding of the name.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    /// Tells whether the subject of `certificate_der` is this name.
    ///
    /// A certificate that cannot be parsed matches nothing.
    pub fn matches_certificate(&self, certificate_der: &[u8]) -> bool {
        let Ok((_, certificate)) = X509Certificate::from_der(certificate_der) else {
            return false;
        };
        let Ok((_, registered)) = X509Name::from_der(&self.der) else {
            return false;
        };

        names_match(&registered, certificate.subject())
    }
}

impl fmt::Display for SubjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl fmt::Debug for SubjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SubjectName").field(&self.display).finish()
    }
}

/// Same RDNs in the same order, each with the same set of attributes.
fn names_match(a: &X509Name<'_>, b: &X509Name<'_>) -> bool {
    let a: Vec<_> = a.iter().collect();
    let b: Vec<_> = b.iter().collect();

    a.len() == b.len() && a.iter().zip(&b).all(|(a, b)| rdns_match(a, b))
}

/// The attributes of an RDN form a set: their order does not matter.
fn rdns_match(a: &RelativeDistinguishedName<'_>, b: &RelativeDistinguishedName<'_>) -> bool {
    let a: Vec<_> = a.iter().collect();
    let b: Vec<_> = b.iter().collect();

    a.len() == b.len()
        && a.iter().all(|x| b.iter().any(|y| attributes_match(x, y)))
        && b.iter().all(|y| a.iter().any(|x| attributes_match(x, y)))
}

/// String values compare as RFC 5280 section 7.1 suggests (case and runs of spaces ignored,
/// whatever the string type); other values must be the same type and bytes.
fn attributes_match(a: &AttributeTypeAndValue<'_>, b: &AttributeTypeAndValue<'_>) -> bool {
    if a.attr_type() != b.attr_type() {
        return false;
    }

    match (a.as_str(), b.as_str()) {
        (Ok(a), Ok(b)) => normalize(a) == normalize(b),
        _ => {
            a.attr_value().header.tag() == b.attr_value().header.tag()
                && a.attr_value().data == b.attr_value().data
        }
    }
}

fn normalize(value: &str) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, KeyPair};

    use super::*;

    fn certificate_with(name: DistinguishedName) -> Vec<u8> {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = name;

        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn name(entries: &[(DnType, DnValue)]) -> DistinguishedName {
        let mut name = DistinguishedName::new();
        for (ty, value) in entries {
            name.push(ty.clone(), value.clone());
        }
        name
    }

    fn utf8(value: &str) -> DnValue {
        DnValue::Utf8String(value.to_owned())
    }

    fn printable(value: &str) -> DnValue {
        DnValue::PrintableString(value.try_into().unwrap())
    }

    #[test]
    fn same_name_in_other_string_type_and_case_matches() {
        let registered = certificate_with(name(&[
            (DnType::CommonName, utf8("reged-dev-client")),
            (DnType::OrganizationName, utf8("RegEd Emulator")),
        ]));
        let presented = certificate_with(name(&[
            (DnType::CommonName, printable("REGED-DEV-CLIENT")),
            (DnType::OrganizationName, printable("RegEd  Emulator")),
        ]));

        let subject = SubjectName::from_certificate_der(&registered).unwrap();

        assert!(subject.matches_certificate(&presented));
    }

    #[test]
    fn other_common_name_does_not_match() {
        let registered = certificate_with(name(&[(DnType::CommonName, utf8("reged-dev-client"))]));
        let presented = certificate_with(name(&[(DnType::CommonName, utf8("reged-other-client"))]));

        let subject = SubjectName::from_certificate_der(&registered).unwrap();

        assert!(!subject.matches_certificate(&presented));
    }

    #[test]
    fn same_attributes_in_other_order_do_not_match() {
        let registered = certificate_with(name(&[
            (DnType::CommonName, utf8("reged-dev-client")),
            (DnType::OrganizationName, utf8("RegEd Emulator")),
        ]));
        let presented = certificate_with(name(&[
            (DnType::OrganizationName, utf8("RegEd Emulator")),
            (DnType::CommonName, utf8("reged-dev-client")),
        ]));

        let subject = SubjectName::from_certificate_der(&registered).unwrap();

        assert!(!subject.matches_certificate(&presented));
    }

    #[test]
    fn name_with_an_extra_rdn_does_not_match() {
        let registered = certificate_with(name(&[(DnType::CommonName, utf8("reged-dev-client"))]));
        let presented = certificate_with(name(&[
            (DnType::CommonName, utf8("reged-dev-client")),
            (DnType::OrganizationName, utf8("RegEd Emulator")),
        ]));

        let subject = SubjectName::from_certificate_der(&registered).unwrap();

        assert!(!subject.matches_certificate(&presented));
    }

    #[test]
    fn garbage_certificate_matches_nothing() {
        let registered = certificate_with(name(&[(DnType::CommonName, utf8("reged-dev-client"))]));

        let subject = SubjectName::from_certificate_der(&registered).unwrap();

        assert!(!subject.matches_certificate(b"not a certificate"));
    }

    #[test]
    fn mangled_certificates_never_panic() {
        let registered = certificate_with(name(&[(DnType::CommonName, utf8("reged-dev-client"))]));
        let subject = SubjectName::from_certificate_der(&registered).unwrap();

        for end in 0..registered.len() {
            assert!(!subject.matches_certificate(&registered[..end]));
        }
        for position in 0..registered.len() {
            for byte in [0x00, 0x80, 0xff] {
                let mut presented = registered.clone();
                presented[position] = byte;
                let _ = subject.matches_certificate(&presented);
            }
        }
    }

    #[test]
    fn subject_round_trips_through_der() {
        let registered = certificate_with(name(&[(DnType::CommonName, utf8("reged-dev-client"))]));
        let subject = SubjectName::from_certificate_der(&registered).unwrap();

        let again = SubjectName::from_der(subject.as_der()).unwrap();

        assert_eq!(again, subject);
        assert_eq!(again.to_string(), "CN=reged-dev-client");
    }
}
