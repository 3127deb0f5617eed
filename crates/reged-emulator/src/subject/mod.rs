//! Certificate subject names and their comparison, as the token endpoint uses them to
//! authenticate a client by its certificate (RFC 8705 `tls_client_auth`).
//!
//! Names are compared as decoded X.509 names, RDN by RDN, never as strings: two encodings of
//! the same name (a PrintableString and a UTF8String, other letter case or spacing) match, and
//! two names that print alike but differ in structure (one multi-valued RDN against two RDNs)
//! do not. A registered name may be written as an RFC 4514 string (`CN=client,O=Acme,C=US`,
//! most specific first) or in OpenSSL's slash form (`/C=US/O=Acme/CN=client`, in certificate
//! order); see [`SubjectName::parse`].

mod parse;

use std::fmt;

use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

pub use parse::DnParseError;

use crate::error::EmulatorError;

/// A distinguished name: RDNs in certificate (DER) order, each a set of attributes.
#[derive(Clone)]
pub struct SubjectName {
    rdns: Vec<Vec<Attribute>>,
}

/// One attribute of an RDN: its type as a dotted OID, and its value.
#[derive(Clone, Debug)]
pub(crate) struct Attribute {
    pub(crate) oid: String,
    pub(crate) value: AttributeValue,
}

#[derive(Clone, Debug)]
pub(crate) enum AttributeValue {
    /// A string of any ASN.1 string type.
    Text(String),
    /// Any other value: its tag and content bytes.
    Other(u32, Vec<u8>),
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

    /// Reads a name written as an RFC 4514 string (`CN=client, O=Acme, C=US`: most specific
    /// RDN first, `+` joining the attributes of a multi-valued RDN, `\` escaping) or in
    /// OpenSSL's slash form (`/C=US/O=Acme/CN=client`: certificate order).
    ///
    /// Attribute types are the usual keywords (CN, C, L, ST, STREET, O, OU, DC, UID,
    /// SERIALNUMBER, emailAddress, ...) in any case, or dotted OIDs. Values in `#hex` form are
    /// refused.
    pub fn parse(name: &str) -> Result<SubjectName, DnParseError> {
        parse::parse(name).map(|rdns| SubjectName { rdns })
    }

    pub(crate) fn from_name(name: &X509Name<'_>) -> SubjectName {
        let rdns = name
            .iter()
            .map(|rdn| {
                rdn.iter()
                    .map(|attribute| Attribute {
                        oid: attribute.attr_type().to_id_string(),
                        value: match attribute.as_str() {
                            Ok(text) => AttributeValue::Text(text.to_owned()),
                            Err(_) => AttributeValue::Other(
                                attribute.attr_value().header.tag().0,
                                attribute.attr_value().data.to_vec(),
                            ),
                        },
                    })
                    .collect()
            })
            .collect();
        SubjectName { rdns }
    }

    /// Tells whether the subject of `certificate_der` is this name.
    ///
    /// A certificate that cannot be parsed matches nothing.
    pub fn matches_certificate(&self, certificate_der: &[u8]) -> bool {
        let Ok((_, certificate)) = X509Certificate::from_der(certificate_der) else {
            return false;
        };

        self.matches_subject_of(&certificate)
    }

    /// Tells whether the subject of a parsed certificate is this name.
    pub(crate) fn matches_subject_of(&self, certificate: &X509Certificate<'_>) -> bool {
        *self == SubjectName::from_name(certificate.subject())
    }
}

/// Same RDNs in the same order, each with the same set of attributes.
impl PartialEq for SubjectName {
    fn eq(&self, other: &SubjectName) -> bool {
        self.rdns.len() == other.rdns.len()
            && self
                .rdns
                .iter()
                .zip(&other.rdns)
                .all(|(a, b)| rdns_match(a, b))
    }
}

impl Eq for SubjectName {}

/// The attributes of an RDN form a set: their order does not matter.
fn rdns_match(a: &[Attribute], b: &[Attribute]) -> bool {
    a.len() == b.len()
        && a.iter().all(|x| b.iter().any(|y| attributes_match(x, y)))
        && b.iter().all(|y| a.iter().any(|x| attributes_match(x, y)))
}

/// String values compare as RFC 5280 section 7.1 suggests (case and runs of spaces ignored,
/// whatever the string type); other values must be the same type and bytes.
fn attributes_match(a: &Attribute, b: &Attribute) -> bool {
    if a.oid != b.oid {
        return false;
    }

    match (&a.value, &b.value) {
        (AttributeValue::Text(a), AttributeValue::Text(b)) => texts_match(a, b),
        (AttributeValue::Other(tag_a, a), AttributeValue::Other(tag_b, b)) => {
            tag_a == tag_b && a == b
        }
        _ => false,
    }
}

/// The same words in the same order, in any case; compared without building new strings, as
/// this runs at every token request.
fn texts_match(a: &str, b: &str) -> bool {
    fn lower(word: &str) -> impl Iterator<Item = char> + '_ {
        word.chars().flat_map(char::to_lowercase)
    }
    let mut a_words = a.split_whitespace();
    let mut b_words = b.split_whitespace();
    loop {
        match (a_words.next(), b_words.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x == y || lower(x).eq(lower(y)) => {}
            _ => return false,
        }
    }
}

/// RFC 4514: most specific RDN first, special characters escaped.
impl fmt::Display for SubjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, rdn) in self.rdns.iter().rev().enumerate() {
            if position > 0 {
                f.write_str(",")?;
            }
            for (index, attribute) in rdn.iter().enumerate() {
                if index > 0 {
                    f.write_str("+")?;
                }
                f.write_str(parse::keyword(&attribute.oid).unwrap_or(&attribute.oid))?;
                f.write_str("=")?;
                match &attribute.value {
                    AttributeValue::Text(text) => f.write_str(&parse::escape(text))?,
                    AttributeValue::Other(..) => f.write_str("#")?,
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for SubjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SubjectName")
            .field(&self.to_string())
            .finish()
    }
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
    fn text_values_match_in_any_case_and_spacing_but_not_other_words() {
        assert!(texts_match("Acme  Corp", " acme corp "));
        assert!(texts_match("ÉCOLE", "école"));
        assert!(!texts_match("Acme Corp", "AcmeCorp"));
        assert!(!texts_match("Acme", "Acme Corp"));
        assert!(texts_match("", "  "));
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
    fn subject_prints_as_rfc_4514_in_reverse_order() {
        let registered = certificate_with(name(&[
            (DnType::CountryName, printable("US")),
            (DnType::OrganizationName, utf8("Acme, Inc.")),
            (DnType::CommonName, utf8("client")),
        ]));
        let subject = SubjectName::from_certificate_der(&registered).unwrap();

        assert_eq!(subject.to_string(), "CN=client,O=Acme\\, Inc.,C=US");
    }

    #[test]
    fn rfc_4514_string_matches_the_certificate_it_was_printed_from() {
        let registered = certificate_with(name(&[
            (DnType::CountryName, printable("US")),
            (DnType::OrganizationName, utf8("Acme, Inc.")),
            (DnType::CommonName, utf8("client")),
        ]));
        let printed = SubjectName::from_certificate_der(&registered)
            .unwrap()
            .to_string();

        let parsed = SubjectName::parse(&printed).unwrap();

        assert!(parsed.matches_certificate(&registered));
    }

    #[test]
    fn slash_form_is_in_certificate_order() {
        let registered = certificate_with(name(&[
            (DnType::CountryName, printable("US")),
            (DnType::OrganizationName, utf8("Acme")),
            (DnType::CommonName, utf8("client")),
        ]));

        let slash = SubjectName::parse("/C=US/O=Acme/CN=client").unwrap();
        let rfc_4514 = SubjectName::parse("CN=client, O=Acme, C=US").unwrap();
        let reversed = SubjectName::parse("C=US,O=Acme,CN=client").unwrap();

        assert!(slash.matches_certificate(&registered));
        assert!(rfc_4514.matches_certificate(&registered));
        assert!(!reversed.matches_certificate(&registered));
        assert_eq!(slash, rfc_4514);
    }

    #[test]
    fn multi_valued_rdn_matches_in_any_attribute_order() {
        let a = SubjectName::parse("CN=x+OU=y,O=z").unwrap();
        let b = SubjectName::parse("OU=y+CN=x,O=z").unwrap();
        let split = SubjectName::parse("CN=x,OU=y,O=z").unwrap();

        assert_eq!(a, b);
        assert_ne!(a, split);
    }
}
