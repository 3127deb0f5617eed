//! The token endpoint: the documented answer and every error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reged_emulator::{DEV_CLIENT_ID, OTHER_CLIENT_ID, Profile};
use serde_json::Value;

use crate::support::{client, client_with_der, jwt_parts, request_token, start, token_form};

fn assert_no_store(response: &reqwest::Response) {
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
}

/// Sends `form` with the development client's certificate and checks the error answer.
async fn assert_refused(form: &[(&str, String)], status: u16, error: &str) -> Value {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let response = request_token(&client, &emulator, form).await;

    assert_eq!(response.status(), status);
    assert_no_store(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string());
    assert_eq!(emulator.token_requests(), 1);
    assert_eq!(emulator.tokens_issued(), 0);
    body
}

fn with(
    form: Vec<(&'static str, String)>,
    name: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    form.into_iter()
        .map(|(key, old)| {
            if key == name {
                (key, value.to_owned())
            } else {
                (key, old)
            }
        })
        .collect()
}

fn without(form: Vec<(&'static str, String)>, name: &str) -> Vec<(&'static str, String)> {
    form.into_iter().filter(|(key, _)| *key != name).collect()
}

/// A form for the UAT profile, built without a running emulator.
fn uat_form() -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", DEV_CLIENT_ID.to_owned()),
        ("audience", Profile::Uat.api_audience().to_owned()),
        ("scope", "read write".to_owned()),
    ]
}

#[tokio::test]
async fn token_response_is_the_documented_json_with_no_store_headers() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let response = request_token(&client, &emulator, &token_form(&emulator)).await;

    assert_eq!(response.status(), 200);
    assert_no_store(&response);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "read write");
    assert_eq!(body.as_object().unwrap().len(), 4);
    assert_eq!(emulator.token_requests(), 1);
    assert_eq!(emulator.tokens_issued(), 1);
}

#[tokio::test]
async fn access_token_is_an_es256_jwt_bound_to_the_client_certificate() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let response = request_token(&client, &emulator, &token_form(&emulator)).await;
    let body: Value = response.json().await.unwrap();
    let (header, claims) = jwt_parts(body["access_token"].as_str().unwrap());

    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());
    assert_eq!(claims["iss"], "https://mtls.auth-uat.reged.com/");
    assert_eq!(claims["sub"], DEV_CLIENT_ID);
    assert_eq!(claims["client_id"], DEV_CLIENT_ID);
    assert_eq!(claims["aud"], "https://uatapi.reged.com");
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["cnf"]["x5t#S256"], certs.client().thumbprint());
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(lifetime, 900);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn prod_profile_issues_tokens_for_an_hour() {
    let (certs, emulator) = start(Profile::Prod).await;
    let client = client(&certs, Some(certs.client()));

    let response = request_token(&client, &emulator, &token_form(&emulator)).await;

    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 3600);
    let (_, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], "https://api.reged.com");
    assert_eq!(claims["iss"], "https://mtls.auth.reged.com/");
}

#[tokio::test]
async fn token_endpoint_speaks_http2_when_offered() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let response = request_token(&client, &emulator, &token_form(&emulator)).await;

    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn other_client_gets_a_token_bound_to_its_own_certificate() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.other_client()));
    let form = with(token_form(&emulator), "client_id", OTHER_CLIENT_ID);

    let response = request_token(&client, &emulator, &form).await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let (_, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(claims["cnf"]["x5t#S256"], certs.other_client().thumbprint());
}

#[tokio::test]
async fn json_body_is_an_invalid_request() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let response = client
        .post(emulator.token_url())
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    assert_no_store(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn missing_scope_is_an_invalid_request() {
    let body = assert_refused(&without(uat_form(), "scope"), 400, "invalid_request").await;

    assert_eq!(body["error_description"], "parameter scope is missing");
}

#[tokio::test]
async fn empty_audience_is_an_invalid_request() {
    let body = assert_refused(&with(uat_form(), "audience", ""), 400, "invalid_request").await;

    assert_eq!(body["error_description"], "parameter audience is missing");
}

#[tokio::test]
async fn repeated_client_id_is_an_invalid_request() {
    let mut form = uat_form();
    form.push(("client_id", OTHER_CLIENT_ID.to_owned()));

    let body = assert_refused(&form, 400, "invalid_request").await;

    assert_eq!(
        body["error_description"],
        "parameter client_id is repeated: send it once"
    );
}

#[tokio::test]
async fn password_grant_is_unsupported() {
    assert_refused(
        &with(uat_form(), "grant_type", "password"),
        400,
        "unsupported_grant_type",
    )
    .await;
}

#[tokio::test]
async fn unknown_client_id_is_an_invalid_client() {
    let body = assert_refused(
        &with(uat_form(), "client_id", "nobody"),
        401,
        "invalid_client",
    )
    .await;

    assert_eq!(body["error_description"], "client authentication failed");
}

#[tokio::test]
async fn other_clients_certificate_is_an_invalid_client() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.other_client()));

    let response = request_token(&client, &emulator, &token_form(&emulator)).await;

    assert_eq!(response.status(), 401);
    assert_no_store(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_description"], "client authentication failed");
}

#[tokio::test]
async fn request_without_a_certificate_is_an_invalid_client_not_a_tls_alert() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, None);

    let response = request_token(&client, &emulator, &token_form(&emulator)).await;

    assert_eq!(response.status(), 401);
    assert_no_store(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn scope_beyond_the_registration_is_an_invalid_scope() {
    let body = assert_refused(
        &with(uat_form(), "scope", "read admin"),
        400,
        "invalid_scope",
    )
    .await;

    assert_eq!(
        body["error_description"],
        "the client may not have scope admin"
    );
}

#[tokio::test]
async fn audience_beyond_the_registration_is_an_invalid_target() {
    let form = with(uat_form(), "audience", Profile::Prod.api_audience());

    let body = assert_refused(&form, 400, "invalid_target").await;

    assert_eq!(
        body["error_description"],
        "the client may not have tokens for audience https://api.reged.com"
    );
}

#[tokio::test]
async fn authorization_header_at_the_token_endpoint_is_an_invalid_request() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let response = client
        .post(emulator.token_url())
        .basic_auth(DEV_CLIENT_ID, Some("secret"))
        .form(&token_form(&emulator))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn untrusted_certificate_fails_the_handshake() {
    let (certs, emulator) = start(Profile::Uat).await;
    // Same subject as the development client, but self-signed: only the CA makes it trusted.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "reged-dev-client");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "RegEd Emulator");
    let certificate = params.self_signed(&key).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let client = client_with_der(&certs, Some((certificate.der().clone(), key)));

    let result = client
        .post(emulator.token_url())
        .form(&token_form(&emulator))
        .send()
        .await;

    assert!(result.is_err(), "{result:?}");
    assert_eq!(emulator.token_requests(), 0);
}

#[tokio::test]
async fn token_requests_are_counted_whatever_their_outcome() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let bad_form = with(token_form(&emulator), "scope", "admin");

    request_token(&client, &emulator, &token_form(&emulator)).await;
    request_token(&client, &emulator, &bad_form).await;

    assert_eq!(emulator.token_requests(), 2);
    assert_eq!(emulator.tokens_issued(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_delay_holds_concurrent_requests_together() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let delay = Duration::from_millis(500);
    emulator.set_token_delay(delay);

    let started = Instant::now();
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let request = client
            .post(emulator.token_url())
            .form(&token_form(&emulator));
        requests.spawn(async move { request.send().await.unwrap().status() });
    }
    let statuses = requests.join_all().await;
    let elapsed = started.elapsed();

    assert_eq!(statuses, [200, 200, 200]);
    assert!(elapsed >= delay, "{elapsed:?}");
    assert!(
        elapsed < delay * 3,
        "requests were served one after another: {elapsed:?}"
    );
    assert_eq!(emulator.token_requests(), 3);
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token_url = emulator.token_url();

    emulator.shutdown().await;

    let result = client.post(token_url).form(&[("a", "b")]).send().await;
    assert!(result.is_err());
}

/// Without TCP_NODELAY, the response written after the TLS 1.3 session tickets waited for
/// the client's delayed acknowledgement: about 40 ms on every new connection.
#[tokio::test]
async fn token_over_a_new_connection_is_not_held_back_by_nagle() {
    let (certs, emulator) = crate::support::start(reged_emulator::Profile::Uat).await;
    let mut fastest = std::time::Duration::MAX;

    for _ in 0..5 {
        let client = crate::support::client(&certs, Some(certs.client()));
        let started = std::time::Instant::now();
        crate::support::fetch_token(&client, &emulator).await;
        fastest = fastest.min(started.elapsed());
    }

    assert!(
        fastest < std::time::Duration::from_millis(35),
        "the fastest new-connection token took {fastest:?}"
    );
}

/// Found in review: a form beyond axum's body limit got a plain-text 413, not an OAuth error.
#[tokio::test]
async fn oversized_form_is_an_invalid_request_in_json() {
    let mut form = uat_form();
    form.push(("padding", "x".repeat(100 * 1024)));

    let body = assert_refused(&form, 400, "invalid_request").await;

    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("larger than 64 KiB"),
        "{body}"
    );
}

/// The server picks AES-128-GCM/SHA-256 even when the client lists AES-256-GCM/SHA-384 first,
/// as rustls and OpenSSL clients do: the handshake is 128-bit strong either way, and SHA-384's
/// key schedule was 8% of a new connection's CPU.
#[tokio::test]
async fn server_picks_aes_128_gcm_over_the_clients_first_choice() {
    use rustls::pki_types::pem::PemObject;

    let (certs, emulator) = start(Profile::Uat).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certs.ca_der().clone()).unwrap();
    let client = certs.client();
    let key =
        rustls::pki_types::PrivateKeyDer::from_pem_slice(client.key_pem().as_bytes()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(vec![client.certificate_der().clone()], key)
    .unwrap();
    let first_choice = config.crypto_provider().cipher_suites[0].suite();

    let tcp = tokio::net::TcpStream::connect(emulator.local_addr())
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();

    let negotiated = tls.get_ref().1.negotiated_cipher_suite().unwrap().suite();
    assert_eq!(first_choice, rustls::CipherSuite::TLS13_AES_256_GCM_SHA384);
    assert_eq!(negotiated, rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
}
