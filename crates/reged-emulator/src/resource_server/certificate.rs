//! The client certificate of the connection a request came on, as the server put it into the
//! request's extensions.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;

use crate::certs::certificate_thumbprint;

/// The client certificate chain the TLS layer verified on the request's connection, leaf
/// first, with the leaf's `x5t#S256` thumbprint.
///
/// A server puts one into the extensions of each request that came on a connection with a
/// client certificate; [`BearerAuth`](super::BearerAuth) compares its thumbprint with the
/// `cnf.x5t#S256` of the token. Requests on a connection without a client certificate carry
/// none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerCertificate {
    chain: Arc<[CertificateDer<'static>]>,
    thumbprint: Arc<str>,
}

impl PeerCertificate {
    /// The certificate of a chain, leaf first; none when the chain is empty.
    pub fn from_chain(chain: &[CertificateDer<'_>]) -> Option<PeerCertificate> {
        let leaf = chain.first()?;
        let thumbprint = certificate_thumbprint(leaf);

        Some(PeerCertificate {
            chain: chain.iter().map(|der| der.clone().into_owned()).collect(),
            thumbprint: thumbprint.into(),
        })
    }

    /// The leaf certificate, DER.
    pub fn leaf(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }

    /// The whole chain as presented, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The leaf's `x5t#S256` thumbprint (base64url SHA-256 of its DER, no padding).
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The first eight characters of the thumbprint, enough to tell certificates apart in a
    /// log.
    pub fn thumbprint_prefix(&self) -> &str {
        let thumbprint = self.thumbprint();
        &thumbprint[..thumbprint.len().min(8)]
    }
}
