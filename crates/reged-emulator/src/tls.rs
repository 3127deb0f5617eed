//! The TLS side of client authentication: which client certificates pass the handshake.
//!
//! A certificate passes when it chains to a trusted CA (the development CA, the CAs added to
//! the configuration, and every client's own CAs) with the clientAuth usage and within its
//! validity, or when it is exactly one registered for a `self_signed_tls_client_auth` client,
//! within its own validity dates. A connection without a certificate passes too, so the token
//! endpoint can refuse it in OAuth terms. Which client a certificate belongs to is decided
//! later, per request.

use std::collections::HashSet;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::certs::{DevCerts, certificate_thumbprint};
use crate::client_certificate::ClientCertificate;
use crate::client_registration::ClientAuthentication;
use crate::config::EmulatorConfig;
use crate::error::EmulatorError;

/// Verifies client certificates as the module says.
#[derive(Debug)]
pub(crate) struct ClientVerifier {
    chained: Arc<dyn ClientCertVerifier>,
    /// The development CA and the configuration's CAs, without the clients' own: what a
    /// `tls_client_auth` client without CAs of its own must chain to. `None` when no client
    /// has CAs of its own, so that `chained` checks the same.
    shared: Option<Arc<dyn ClientCertVerifier>>,
    self_signed: HashSet<String>,
    hints: Vec<DistinguishedName>,
}

impl ClientVerifier {
    pub(crate) fn new(
        certs: &DevCerts,
        config: &EmulatorConfig,
    ) -> Result<ClientVerifier, EmulatorError> {
        let shared_cas: Vec<_> = std::iter::once(certs.ca_der())
            .chain(config.trusted_cas())
            .collect();
        let client_cas: Vec<_> = config
            .clients()
            .iter()
            .flat_map(|c| c.trusted_cas())
            .collect();
        let chained = verifier_of(shared_cas.iter().chain(&client_cas).copied())?;
        let shared = match client_cas.is_empty() {
            true => None,
            false => Some(verifier_of(shared_cas.into_iter())?),
        };

        let self_signed: HashSet<String> = config
            .clients()
            .iter()
            .filter_map(|client| match client.authentication() {
                ClientAuthentication::SelfSignedTlsClientAuth(thumbprints) => Some(thumbprints),
                _ => None,
            })
            .flatten()
            .cloned()
            .collect();
        let hints = chained.root_hint_subjects().to_vec();

        Ok(ClientVerifier {
            chained,
            shared,
            self_signed,
            hints,
        })
    }

    /// Whether `certificate`, which passed the handshake, chains to the development CA or the
    /// configuration's CAs. It may instead have passed as a client's registered self-signed
    /// certificate, or by a chain to another client's own CA: neither makes it a certificate
    /// for a `tls_client_auth` client without CAs of its own.
    pub(crate) fn chains_to_shared_cas(&self, certificate: &ClientCertificate) -> bool {
        let registered_self_signed = self.self_signed.contains(certificate.thumbprint());
        let verifier = match &self.shared {
            Some(shared) => shared,
            // The handshake checked against these CAs alone, or took a self-signed one.
            None if !registered_self_signed => return true,
            None => &self.chained,
        };
        let Some((leaf, intermediates)) = certificate.chain().split_first() else {
            return false;
        };
        verifier
            .verify_client_cert(leaf, intermediates, UnixTime::now())
            .is_ok()
    }

    /// Checks a chain that came some other way than the handshake (a proxy's header), as the
    /// handshake would have.
    pub(crate) fn verify_chain(&self, chain: &[CertificateDer<'_>]) -> bool {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return false;
        };
        self.verify_client_cert(leaf, intermediates, UnixTime::now())
            .is_ok()
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match self
            .chained
            .verify_client_cert(end_entity, intermediates, now)
        {
            Ok(verified) => Ok(verified),
            Err(_)
                if self
                    .self_signed
                    .contains(&certificate_thumbprint(end_entity)) =>
            {
                check_validity(end_entity, now)?;
                Ok(ClientCertVerified::assertion())
            }
            Err(error) => Err(error),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chained.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chained.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chained.supported_verify_schemes()
    }
}

/// A verifier of chains to `cas` that lets connections without a certificate through.
fn verifier_of<'a>(
    cas: impl Iterator<Item = &'a CertificateDer<'static>>,
) -> Result<Arc<dyn ClientCertVerifier>, EmulatorError> {
    let mut roots = RootCertStore::empty();
    for ca in cas {
        roots
            .add(ca.clone())
            .map_err(EmulatorError::invalid_pem("trusted CA certificate"))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .allow_unauthenticated()
        .build()
        .map_err(EmulatorError::ClientVerifier)
}

/// Checks the validity dates of a registered self-signed certificate, which no chain
/// verification looks at: a registration names the certificate, not forever.
fn check_validity(certificate: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let Ok((_, parsed)) = X509Certificate::from_der(certificate) else {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::BadEncoding,
        ));
    };
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let validity = parsed.validity();

    if now < validity.not_before.timestamp() {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet,
        ));
    }
    if now > validity.not_after.timestamp() {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    Ok(())
}

/// Whether `chain` (leaf first) chains to one of `cas`, for a client whose own CAs narrow
/// the trusted ones.
pub(crate) fn chains_to(cas: &[CertificateDer<'static>], chain: &[CertificateDer<'_>]) -> bool {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return false;
    };
    let mut roots = RootCertStore::empty();
    for ca in cas {
        if roots.add(ca.clone()).is_err() {
            return false;
        }
    }
    let Ok(verifier) =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider()).build()
    else {
        return false;
    };

    verifier
        .verify_client_cert(leaf, intermediates, UnixTime::now())
        .is_ok()
}

/// The server's TLS configuration: its certificate, the client verifier, h2 and HTTP/1.1.
pub(crate) fn server_config(
    certs: &DevCerts,
    verifier: Arc<ClientVerifier>,
) -> Result<rustls::ServerConfig, EmulatorError> {
    let server = certs.server();
    let mut config = rustls::ServerConfig::builder_with_provider(server_provider())
        .with_safe_default_protocol_versions()
        .map_err(EmulatorError::Tls)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![server.certificate_der().clone()],
            server.private_key_der()?,
        )
        .map_err(EmulatorError::Tls)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // The server's order of cipher suites, not the client's: see `server_provider`.
    config.ignore_client_order = true;

    Ok(config)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// aws-lc's suites with AES-128-GCM/SHA-256 first. The handshake's strength is 128 bits
/// whatever the suite (P-256 certificates, X25519), so AES-256/SHA-384, which most clients
/// ask for first, adds none; and SHA-256 runs on the CPU's SHA instructions where SHA-384 has
/// none: the key schedule's HMACs took 8% of a new connection's CPU with SHA-384.
fn server_provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider
        .cipher_suites
        .sort_by_key(|suite| match suite.suite() {
            rustls::CipherSuite::TLS13_AES_128_GCM_SHA256 => 0,
            rustls::CipherSuite::TLS13_AES_256_GCM_SHA384 => 1,
            _ => 2,
        });
    Arc::new(provider)
}
