//! Development certificates: a CA, a server certificate for the loopback names and two client
//! identities, all generated with rcgen.
//!
//! The CA's private key is used once, to sign the others, and then dropped: nothing can issue
//! a certificate under the development CA afterwards, not even the emulator.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p12_keystore::{EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKeyChain};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SigningKey,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::error::EmulatorError;
use crate::subject::SubjectName;

/// The organization in the subject of every development certificate.
pub(crate) const DEV_ORGANIZATION: &str = "RegEd Emulator";

/// The common name of the development client's certificate.
pub(crate) const DEV_CLIENT_COMMON_NAME: &str = "reged-dev-client";

/// The common name of the second client's certificate.
pub(crate) const OTHER_CLIENT_COMMON_NAME: &str = "reged-other-client";

/// The names in the server certificate: the emulator answers on loopback only.
pub(crate) const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

const CA_COMMON_NAME: &str = "RegEd Emulator Development CA";
const VALIDITY_DAYS: i64 = 3650;

/// The base64url (no padding) SHA-256 of a certificate's DER: its `x5t#S256` thumbprint, as
/// RFC 8705 binds an access token to it.
pub fn certificate_thumbprint(certificate_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(certificate_der))
}

/// A certificate and its private key, both PEM.
pub struct PemIdentity {
    cert_pem: String,
    key_pem: String,
    certificate_der: CertificateDer<'static>,
    subject: SubjectName,
    thumbprint: String,
}

impl PemIdentity {
    /// Checks that `cert_pem` holds a certificate and `key_pem` a private key, and keeps both.
    ///
    /// The key is not checked against the certificate here; rustls does it when the identity
    /// is used.
    pub fn from_pem(
        cert_pem: impl Into<String>,
        key_pem: impl Into<String>,
    ) -> Result<PemIdentity, EmulatorError> {
        let cert_pem = cert_pem.into();
        let mut key_pem = key_pem.into();

        let certificate_der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(EmulatorError::invalid_pem("certificate"))?;
        if let Err(error) = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()) {
            key_pem.zeroize();
            return Err(EmulatorError::invalid_pem("private key")(error));
        }
        let subject = SubjectName::from_certificate_der(&certificate_der)?;
        let thumbprint = certificate_thumbprint(&certificate_der);

        Ok(PemIdentity {
            cert_pem,
            key_pem,
            certificate_der,
            subject,
            thumbprint,
        })
    }

    /// The certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The private key, PEM (PKCS#8).
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The certificate, DER.
    pub fn certificate_der(&self) -> &CertificateDer<'static> {
        &self.certificate_der
    }

    /// The certificate's subject.
    pub fn subject(&self) -> &SubjectName {
        &self.subject
    }

    /// The certificate's `x5t#S256` thumbprint, see [`certificate_thumbprint`].
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    pub(crate) fn private_key_der(&self) -> Result<PrivateKeyDer<'static>, EmulatorError> {
        PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(EmulatorError::invalid_pem("private key"))
    }
}

impl Drop for PemIdentity {
    fn drop(&mut self) {
        self.key_pem.zeroize();
    }
}

impl fmt::Debug for PemIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PemIdentity")
            .field("subject", &self.subject)
            .field("thumbprint", &self.thumbprint)
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

/// The certificates the emulator and its clients use during development.
///
/// Every certificate is issued by one development CA, which both the server (to verify client
/// certificates) and the clients (to verify the server) trust.
pub struct DevCerts {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    server: PemIdentity,
    client: PemIdentity,
    client_pfx: Vec<u8>,
    client_pfx_password: String,
    other_client: PemIdentity,
}

impl DevCerts {
    /// Generates a new CA and, under it, the server certificate, the development client's
    /// identity (PEM and PKCS#12 with a random password) and the second client's identity.
    ///
    /// Keys are ECDSA P-256; certificates are valid from yesterday for ten years.
    pub fn generate() -> Result<DevCerts, EmulatorError> {
        let ca = generate_ca()?;

        let server = issue(&ca, server_params()?, "server certificate")?;
        let client = issue(
            &ca,
            client_params(DEV_CLIENT_COMMON_NAME),
            "client certificate",
        )?;
        let other_client = issue(
            &ca,
            client_params(OTHER_CLIENT_COMMON_NAME),
            "second client certificate",
        )?;

        let client_pfx_password = uuid::Uuid::new_v4().simple().to_string();
        let client_pfx = write_pfx(&client, ca.der(), &client_pfx_password)?;

        Ok(DevCerts {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            server,
            client,
            client_pfx,
            client_pfx_password,
            other_client,
        })
    }

    /// Puts together certificates read back from files.
    pub(crate) fn from_parts(
        ca_pem: String,
        server: PemIdentity,
        client: PemIdentity,
        client_pfx: Vec<u8>,
        client_pfx_password: String,
        other_client: PemIdentity,
    ) -> Result<DevCerts, EmulatorError> {
        let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes())
            .map_err(EmulatorError::invalid_pem("development CA certificate"))?;

        Ok(DevCerts {
            ca_pem,
            ca_der,
            server,
            client,
            client_pfx,
            client_pfx_password,
            other_client,
        })
    }

    /// The development CA's certificate, PEM: the trust anchor for the server and the clients.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The development CA's certificate, DER.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// The server's identity, for `localhost`, `127.0.0.1` and `::1`.
    pub fn server(&self) -> &PemIdentity {
        &self.server
    }

    /// The development client's identity, subject `CN=reged-dev-client,O=RegEd Emulator`.
    pub fn client(&self) -> &PemIdentity {
        &self.client
    }

    /// The second client's identity, subject `CN=reged-other-client,O=RegEd Emulator`.
    pub fn other_client(&self) -> &PemIdentity {
        &self.other_client
    }

    /// The development client's identity as PKCS#12 (key, certificate and CA; AES-256-CBC
    /// with PBKDF2-HMAC-SHA256, MAC HMAC-SHA256) and its password.
    pub fn client_pfx(&self) -> (&[u8], &str) {
        (&self.client_pfx, &self.client_pfx_password)
    }
}

impl Drop for DevCerts {
    fn drop(&mut self) {
        self.client_pfx_password.zeroize();
    }
}

impl fmt::Debug for DevCerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevCerts")
            .field("server", &self.server)
            .field("client", &self.client)
            .field("client_pfx_password", &"[redacted]")
            .field("other_client", &self.other_client)
            .finish_non_exhaustive()
    }
}

fn generate_ca() -> Result<CertifiedIssuer<'static, KeyPair>, EmulatorError> {
    let key = KeyPair::generate().map_err(EmulatorError::certificate("development CA key"))?;

    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(CA_COMMON_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params);

    CertifiedIssuer::self_signed(params, key)
        .map_err(EmulatorError::certificate("development CA certificate"))
}

fn server_params() -> Result<CertificateParams, EmulatorError> {
    let names: Vec<String> = SERVER_NAMES.iter().map(|name| name.to_string()).collect();
    let mut params =
        CertificateParams::new(names).map_err(EmulatorError::certificate("server certificate"))?;

    params.distinguished_name = distinguished_name("localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_defaults(&mut params);

    Ok(params)
}

fn client_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();

    params.distinguished_name = distinguished_name(common_name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    leaf_defaults(&mut params);

    params
}

fn leaf_defaults(params: &mut CertificateParams) {
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    set_validity(params);
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    // Certificate order, least specific first: RFC 4514 prints it CN=...,O=....
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, DEV_ORGANIZATION);
    name.push(DnType::CommonName, common_name);
    name
}

fn set_validity(params: &mut CertificateParams) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(VALIDITY_DAYS);
}

fn issue(
    ca: &CertifiedIssuer<'_, impl SigningKey>,
    params: CertificateParams,
    what: &'static str,
) -> Result<PemIdentity, EmulatorError> {
    let key = KeyPair::generate().map_err(EmulatorError::certificate(what))?;
    let certificate = params
        .signed_by(&key, ca)
        .map_err(EmulatorError::certificate(what))?;

    let mut key_pem = key.serialize_pem();
    let identity = PemIdentity::from_pem(certificate.pem(), key_pem.as_str());
    key_pem.zeroize();
    identity
}

fn write_pfx(
    identity: &PemIdentity,
    ca_der: &CertificateDer<'_>,
    password: &str,
) -> Result<Vec<u8>, EmulatorError> {
    let key_der = identity.private_key_der()?;
    let key =
        p12_keystore::PrivateKey::from_der(key_der.secret_der()).map_err(EmulatorError::Pkcs12)?;
    let leaf = p12_keystore::Certificate::from_der(identity.certificate_der())
        .map_err(EmulatorError::Pkcs12)?;
    let ca = p12_keystore::Certificate::from_der(ca_der).map_err(EmulatorError::Pkcs12)?;

    let local_key_id = Sha256::digest(identity.certificate_der()).to_vec();
    let chain = PrivateKeyChain::new(local_key_id, key, [leaf, ca]);
    let mut store = KeyStore::new();
    store.add_entry(
        DEV_CLIENT_COMMON_NAME,
        KeyStoreEntry::PrivateKeyChain(chain),
    );

    store
        .writer(password)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .mac_algorithm(MacAlgorithm::HmacSha256)
        .write()
        .map_err(EmulatorError::Pkcs12)
}

#[cfg(test)]
mod tests {
    use p12_keystore::Pkcs12ImportPolicy;

    use super::*;

    #[test]
    fn client_pfx_opens_with_its_password_and_holds_the_client_certificate() {
        let certs = DevCerts::generate().unwrap();
        let (pfx, password) = certs.client_pfx();

        let store = KeyStore::from_pkcs12(pfx, password, Pkcs12ImportPolicy::Strict).unwrap();
        let (alias, chain) = store.private_key_chain().unwrap();

        assert_eq!(alias, DEV_CLIENT_COMMON_NAME);
        assert_eq!(
            chain.certs()[0].as_der(),
            certs.client().certificate_der().as_ref()
        );
        assert_eq!(chain.certs()[1].as_der(), certs.ca_der().as_ref());
        assert!(KeyStore::from_pkcs12(pfx, "wrong", Pkcs12ImportPolicy::Strict).is_err());
    }

    #[test]
    fn client_subjects_are_the_documented_ones() {
        let certs = DevCerts::generate().unwrap();

        assert_eq!(
            certs.client().subject().to_string(),
            "CN=reged-dev-client,O=RegEd Emulator"
        );
        assert_eq!(
            certs.other_client().subject().to_string(),
            "CN=reged-other-client,O=RegEd Emulator"
        );
    }

    #[test]
    fn debug_output_holds_no_key_and_no_password() {
        let certs = DevCerts::generate().unwrap();
        let (_, password) = certs.client_pfx();

        let debug = format!("{certs:?}");

        assert!(debug.contains("[redacted]"));
        assert!(!debug.contains("PRIVATE KEY"));
        assert!(!debug.contains(password));
        assert!(!format!("{:?}", certs.client()).contains("PRIVATE KEY"));
    }

    #[test]
    fn thumbprint_is_base64url_sha256_without_padding() {
        let thumbprint = certificate_thumbprint(b"abc");

        assert_eq!(thumbprint, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }
}
