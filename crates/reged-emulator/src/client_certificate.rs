//! The client certificate of a connection as the authorization server sees it: the verified
//! chain with its thumbprint, and the names the leaf carries, read once when the connection is
//! made rather than at every token request on it.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::client_registration::CertificateName;
use crate::resource_server::PeerCertificate;
use crate::subject::SubjectName;

/// A connection's client certificate, with the names that identify its holder.
#[derive(Clone, Debug)]
pub(crate) struct ClientCertificate {
    peer: PeerCertificate,
    names: Arc<CertificateNames>,
}

/// The subject and subject alternative names of a leaf certificate; `None` when it does not
/// parse, so that it matches no registration.
#[derive(Debug, Default)]
struct CertificateNames {
    subject: Option<SubjectName>,
    alternative_names: Vec<CertificateName>,
}

impl ClientCertificate {
    /// The certificate of a verified chain, leaf first; none when the chain is empty.
    pub(crate) fn from_chain(chain: &[CertificateDer<'_>]) -> Option<ClientCertificate> {
        let peer = PeerCertificate::from_chain(chain)?;
        let names = Arc::new(CertificateNames::read(peer.leaf()));
        Some(ClientCertificate { peer, names })
    }

    /// What the resource server layer compares a token's binding with.
    pub(crate) fn peer(&self) -> &PeerCertificate {
        &self.peer
    }

    /// The chain as presented, leaf first.
    pub(crate) fn chain(&self) -> &[CertificateDer<'static>] {
        self.peer.chain()
    }

    /// The leaf's `x5t#S256` thumbprint.
    pub(crate) fn thumbprint(&self) -> &str {
        self.peer.thumbprint()
    }

    /// The leaf's subject, when the certificate parses.
    pub(crate) fn subject(&self) -> Option<&SubjectName> {
        self.names.subject.as_ref()
    }

    /// Whether the leaf carries `name`: its subject, compared RDN by RDN, or one of its
    /// subject alternative names (DNS names and email addresses in any case).
    pub(crate) fn carries(&self, name: &CertificateName) -> bool {
        if let CertificateName::SubjectDn(subject) = name {
            return self.names.subject.as_ref() == Some(subject);
        }
        self.names
            .alternative_names
            .iter()
            .any(|found| match (name, found) {
                (CertificateName::SanDns(a), CertificateName::SanDns(b))
                | (CertificateName::SanEmail(a), CertificateName::SanEmail(b)) => {
                    a.eq_ignore_ascii_case(b)
                }
                (CertificateName::SanUri(a), CertificateName::SanUri(b)) => a == b,
                (CertificateName::SanIp(a), CertificateName::SanIp(b)) => a == b,
                _ => false,
            })
    }
}

impl CertificateNames {
    fn read(leaf_der: &[u8]) -> CertificateNames {
        let Ok((_, certificate)) = X509Certificate::from_der(leaf_der) else {
            return CertificateNames::default();
        };
        let alternative_names = match certificate.subject_alternative_name() {
            Ok(Some(extension)) => extension
                .value
                .general_names
                .iter()
                .filter_map(alternative_name)
                .collect(),
            _ => Vec::new(),
        };

        CertificateNames {
            subject: Some(SubjectName::from_name(certificate.subject())),
            alternative_names,
        }
    }
}

fn alternative_name(general_name: &GeneralName<'_>) -> Option<CertificateName> {
    match general_name {
        GeneralName::DNSName(name) => Some(CertificateName::SanDns((*name).to_owned())),
        GeneralName::URI(uri) => Some(CertificateName::SanUri((*uri).to_owned())),
        GeneralName::RFC822Name(email) => Some(CertificateName::SanEmail((*email).to_owned())),
        GeneralName::IPAddress(octets) => match octets.len() {
            4 => <[u8; 4]>::try_from(*octets).ok().map(IpAddr::from),
            16 => <[u8; 16]>::try_from(*octets).ok().map(IpAddr::from),
            _ => None,
        }
        .map(CertificateName::SanIp),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(sans: Vec<rcgen::SanType>) -> ClientCertificate {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "robot");
        params.subject_alt_names = sans;
        let certificate = params.self_signed(&key).unwrap();
        ClientCertificate::from_chain(&[certificate.der().clone()]).unwrap()
    }

    #[test]
    fn names_are_read_once_and_compared_as_rfc_8705_says() {
        let certificate = certificate(vec![
            rcgen::SanType::DnsName("Robot.Example".try_into().unwrap()),
            rcgen::SanType::Rfc822Name("Ops@Example.com".try_into().unwrap()),
            rcgen::SanType::URI("spiffe://example/robot".try_into().unwrap()),
            rcgen::SanType::IpAddress("::1".parse().unwrap()),
        ]);

        assert!(certificate.carries(&CertificateName::SanDns("robot.example".into())));
        assert!(certificate.carries(&CertificateName::SanEmail("ops@example.com".into())));
        assert!(certificate.carries(&CertificateName::SanUri("spiffe://example/robot".into())));
        assert!(!certificate.carries(&CertificateName::SanUri("SPIFFE://example/robot".into())));
        assert!(certificate.carries(&CertificateName::SanIp("::1".parse().unwrap())));
        assert!(!certificate.carries(&CertificateName::SanIp("127.0.0.1".parse().unwrap())));
        assert!(certificate.carries(&CertificateName::SubjectDn(
            SubjectName::parse("CN=robot").unwrap()
        )));
    }

    #[test]
    fn certificate_that_does_not_parse_carries_no_name() {
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x01, 0x01, 0xff]);

        let certificate = ClientCertificate::from_chain(&[garbage]).unwrap();

        assert!(certificate.subject().is_none());
        assert!(!certificate.carries(&CertificateName::SanDns("robot".into())));
    }
}
