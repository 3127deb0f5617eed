//! What the tests share: starting an emulator, TLS clients with a chosen identity, token
//! requests, temporary directories.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reged_emulator::{
    DEV_CLIENT_ID, DevCerts, Emulator, EmulatorConfig, PemIdentity, Profile, RunningEmulator,
};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;

/// Logs of the emulator show with `--nocapture` and `RUST_LOG=reged_emulator=debug`.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub async fn start(profile: Profile) -> (DevCerts, RunningEmulator) {
    let certs = DevCerts::generate().unwrap();
    let config = EmulatorConfig::for_dev_certs(&certs, profile);
    let emulator = start_with(config, &certs).await;
    (certs, emulator)
}

pub async fn start_with(config: EmulatorConfig, certs: &DevCerts) -> RunningEmulator {
    init_logging();
    Emulator::start(config, certs, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A client that trusts the development CA and presents `identity`, if any.
pub fn client(certs: &DevCerts, identity: Option<&PemIdentity>) -> reqwest::Client {
    let identity = identity.map(|identity| {
        let key = PrivateKeyDer::from_pem_slice(identity.key_pem().as_bytes()).unwrap();
        (identity.certificate_der().clone(), key)
    });
    client_with_der(certs, identity)
}

pub fn client_with_der(
    certs: &DevCerts,
    identity: Option<(
        rustls::pki_types::CertificateDer<'static>,
        PrivateKeyDer<'static>,
    )>,
) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certs.ca_der().clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);

    let mut config = match identity {
        Some((certificate, key)) => builder
            .with_client_auth_cert(vec![certificate], key)
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .build()
        .unwrap()
}

/// The form of a good request for the development client.
pub fn token_form(emulator: &RunningEmulator) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", DEV_CLIENT_ID.to_owned()),
        ("audience", emulator.api_audience().to_owned()),
        ("scope", "read write".to_owned()),
    ]
}

pub async fn request_token(
    client: &reqwest::Client,
    emulator: &RunningEmulator,
    form: &[(&str, String)],
) -> reqwest::Response {
    client
        .post(emulator.token_url())
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Gets a token for the development client, which `client` must present.
pub async fn fetch_token(client: &reqwest::Client, emulator: &RunningEmulator) -> String {
    let response = request_token(client, emulator, &token_form(emulator)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// The decoded header and claims of a JWT, unverified.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut decode = || {
        let part = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
        serde_json::from_slice(&part).unwrap()
    };
    (decode(), decode())
}

/// A directory under the system's temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("reged-emulator-{}", uuid::Uuid::new_v4()));
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA of the test's own, to issue client certificates with chosen names, usages and
/// validity.
pub struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    der: rustls::pki_types::CertificateDer<'static>,
    pem: String,
}

/// What a test certificate carries.
pub struct Leaf<'a> {
    pub common_name: &'a str,
    pub sans: Vec<rcgen::SanType>,
    pub client_auth: bool,
    pub expired: bool,
}

impl<'a> Leaf<'a> {
    pub fn named(common_name: &'a str) -> Leaf<'a> {
        Leaf {
            common_name,
            sans: Vec::new(),
            client_auth: true,
            expired: false,
        }
    }
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = dn(name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let certificate = params.self_signed(&key).unwrap();
        let der = certificate.der().clone();
        let pem = certificate.pem();
        let issuer = rcgen::Issuer::new(params, key);

        TestCa { issuer, der, pem }
    }

    pub fn der(&self) -> rustls::pki_types::CertificateDer<'static> {
        self.der.clone()
    }

    pub fn pem(&self) -> &str {
        &self.pem
    }

    pub fn issue(&self, leaf: Leaf<'_>) -> PemIdentity {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = leaf_params(&leaf);
        let certificate = params.signed_by(&key, &self.issuer).unwrap();

        PemIdentity::from_pem(certificate.pem(), key.serialize_pem()).unwrap()
    }
}

/// A self-signed client certificate, for `self_signed_tls_client_auth`.
pub fn self_signed(common_name: &str) -> PemIdentity {
    self_signed_leaf(Leaf::named(common_name))
}

/// A self-signed certificate carrying what `leaf` says.
pub fn self_signed_leaf(leaf: Leaf<'_>) -> PemIdentity {
    let key = rcgen::KeyPair::generate().unwrap();
    let certificate = leaf_params(&leaf).self_signed(&key).unwrap();

    PemIdentity::from_pem(certificate.pem(), key.serialize_pem()).unwrap()
}

fn leaf_params(leaf: &Leaf<'_>) -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = dn(leaf.common_name);
    params.subject_alt_names = leaf.sans.clone();
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = if leaf.client_auth {
        vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth]
    } else {
        vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth]
    };
    let now = time::OffsetDateTime::now_utc();
    if leaf.expired {
        params.not_before = now - time::Duration::days(10);
        params.not_after = now - time::Duration::days(1);
    } else {
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(30);
    }
    params
}

fn dn(common_name: &str) -> rcgen::DistinguishedName {
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::OrganizationName, "Test");
    name.push(rcgen::DnType::CommonName, common_name);
    name
}
