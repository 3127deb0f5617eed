//! Client certificates forwarded by a TLS-terminating proxy, taken only from its address.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reged_emulator::{
    DEV_CLIENT_ID, DevCerts, EmulatorConfig, Profile, RunningEmulator, WHOAMI_PATH,
};
use serde_json::Value;

use crate::support::{Leaf, TestCa, client, jwt_parts, start_with, token_form};

async fn emulator_trusting(proxy: &str) -> (DevCerts, RunningEmulator) {
    let certs = DevCerts::generate().unwrap();
    let config = EmulatorConfig::for_dev_certs(&certs, Profile::Uat)
        .with_trusted_proxy(proxy.parse::<std::net::IpAddr>().unwrap());
    let emulator = start_with(config, &certs).await;
    (certs, emulator)
}

fn rfc_9440(der: &[u8]) -> String {
    format!(":{}:", STANDARD.encode(der))
}

fn nginx_escaped(pem: &str) -> String {
    percent_encoding::utf8_percent_encode(pem, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn token_via(
    proxy: &reqwest::Client,
    emulator: &RunningEmulator,
    header: (&str, String),
) -> (u16, Value) {
    let response = proxy
        .post(emulator.token_url())
        .header(header.0, header.1)
        .form(&token_form(emulator))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn trusted_proxy_forwarding_client_cert_gets_a_token_bound_to_it() {
    let (certs, emulator) = emulator_trusting("127.0.0.1").await;
    let proxy = client(&certs, None);
    let forwarded = rfc_9440(certs.client().certificate_der());

    let (status, body) = token_via(&proxy, &emulator, ("client-cert", forwarded.clone())).await;

    assert_eq!(status, 200);
    let token = body["access_token"].as_str().unwrap();
    let (_, claims) = jwt_parts(token);
    assert_eq!(claims["cnf"]["x5t#S256"], certs.client().thumbprint());
    let whoami = proxy
        .get(emulator.url(WHOAMI_PATH))
        .header("client-cert", forwarded)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status(), 200);
}

#[tokio::test]
async fn trusted_proxy_forwarding_nginx_escaped_pem_gets_a_token() {
    let (certs, emulator) = emulator_trusting("127.0.0.1").await;
    let proxy = client(&certs, None);

    let header = (
        "x-ssl-client-cert",
        nginx_escaped(certs.client().cert_pem()),
    );
    let (status, body) = token_via(&proxy, &emulator, header).await;

    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn client_cert_header_from_an_address_that_is_not_a_proxy_is_dropped() {
    let (certs, emulator) = emulator_trusting("192.0.2.1").await;
    let anonymous = client(&certs, None);
    let forged = rfc_9440(certs.client().certificate_der());

    let (status, body) = token_via(&anonymous, &emulator, ("client-cert", forged)).await;

    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn client_cert_header_cannot_override_the_connections_own_certificate() {
    let (certs, emulator) = emulator_trusting("192.0.2.1").await;
    let other = client(&certs, Some(certs.other_client()));
    let forged = nginx_escaped(certs.client().cert_pem());

    let (status, _) = token_via(&other, &emulator, ("x-ssl-client-cert", forged)).await;

    assert_eq!(
        status, 401,
        "the other client may not claim {DEV_CLIENT_ID}"
    );
}

#[tokio::test]
async fn trusted_proxy_forwarding_a_certificate_of_an_untrusted_ca_is_invalid_client() {
    let (certs, emulator) = emulator_trusting("127.0.0.1").await;
    let proxy = client(&certs, None);
    let rogue = TestCa::new("Rogue CA").issue(Leaf::named("reged-dev-client"));

    let header = ("client-cert", rfc_9440(rogue.certificate_der()));
    let (status, _) = token_via(&proxy, &emulator, header).await;

    assert_eq!(status, 401);
}

#[tokio::test]
async fn trusted_proxy_with_a_garbled_header_is_invalid_client_not_a_crash() {
    let (certs, emulator) = emulator_trusting("127.0.0.1").await;
    let proxy = client(&certs, None);

    let (status, _) = token_via(&proxy, &emulator, ("client-cert", ":not base64!:".into())).await;

    assert_eq!(status, 401);
}

/// With `trusted_proxies = ["127.0.0.1"]`, curl on the same machine connecting directly (its
/// certificate in the handshake, no header) got invalid_client.
#[tokio::test]
async fn direct_client_at_a_trusted_proxy_address_keeps_its_own_certificate() {
    let (certs, emulator) = emulator_trusting("127.0.0.1").await;
    let direct = client(&certs, Some(certs.client()));

    let response = direct
        .post(emulator.token_url())
        .form(&token_form(&emulator))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn garbled_header_from_a_trusted_proxy_does_not_fall_back_to_the_connections_certificate() {
    let (certs, emulator) = emulator_trusting("127.0.0.1").await;
    let proxy = client(&certs, Some(certs.client()));

    let (status, _) = token_via(&proxy, &emulator, ("client-cert", ":garbled".into())).await;

    assert_eq!(status, 401);
}
