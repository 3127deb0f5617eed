//! Everything logged at trace level, by us and by every dependency (rustls, hyper, h2, reqwest),
//! during the main flow and its failures, holds no token, key or password.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reged_auth::http::{ApiRequest, parse_ca_bundle};
use reged_auth::secret::SecretString;
use reged_auth::{Client, Identity};
use reged_emulator::{DevCerts, Emulator, EmulatorConfig, Profile};
use reqwest::Method;
use url::Url;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn trace_logs_of_the_whole_flow_hold_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let certs = DevCerts::generate().unwrap();
    let emulator = Emulator::start(
        EmulatorConfig::for_dev_certs(&certs, Profile::Uat),
        &certs,
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let (pfx, password) = certs.client_pfx();
    let password = SecretString::from(password.to_owned());
    let wrong = Identity::from_pkcs12(pfx, "client.pfx", &SecretString::from("nope".to_owned()));
    assert!(wrong.is_err());
    let identity = Identity::from_pkcs12(pfx, "client.pfx", &password).unwrap();
    let client = Client::builder()
        .token_url(Url::parse(&emulator.token_url()).unwrap())
        .api_base(Url::parse(&emulator.base_url()).unwrap())
        .client_id("reged-dev-client")
        .audience("https://uatapi.reged.com")
        .scope("read write")
        .add_root_certificates(parse_ca_bundle(certs.ca_pem().as_bytes(), "ca").unwrap())
        .identity(identity)
        .build()
        .unwrap();

    let first = client
        .token()
        .await
        .unwrap()
        .access_token
        .secret()
        .to_owned();
    client
        .send(&ApiRequest::new(Method::GET, "/v1/whoami"))
        .await
        .unwrap();
    emulator.rotate_signing_key();
    client
        .send(&ApiRequest::new(Method::GET, "/v1/whoami"))
        .await
        .unwrap();
    let second = client
        .token()
        .await
        .unwrap()
        .access_token
        .secret()
        .to_owned();
    emulator.shutdown().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("token request"),
        "the flow was logged:\n{logs}"
    );
    assert!(logs.contains("TRACE"), "trace level was on");
    let key_body: String = certs
        .client()
        .key_pem()
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    for (what, secret) in [
        ("first token", first.as_str()),
        ("second token", second.as_str()),
        ("first token's signature", first.rsplit('.').next().unwrap()),
        ("private key", &key_body[..48]),
        ("PFX password", certs.client_pfx().1),
    ] {
        assert!(!logs.contains(secret), "the {what} reached the logs");
    }
}
