//! The metadata (RFC 8414), the JWKS and introspection (RFC 7662).

use jsonwebtoken::jwk::JwkSet;
use reged_emulator::resource_server::{StaticKeys, check_token};
use reged_emulator::{
    ClientRegistration, DEV_CLIENT_ID, DevCerts, EmulatorConfig, INTROSPECTION_PATH, JWKS_PATH,
    METADATA_PATH, OTHER_CLIENT_ID, Profile, RunningEmulator,
};
use serde_json::{Value, json};

use crate::support::{client, fetch_token, start, start_with};

async fn introspect(
    client: &reqwest::Client,
    emulator: &RunningEmulator,
    client_id: &str,
    token: &str,
) -> reqwest::Response {
    client
        .post(emulator.url(INTROSPECTION_PATH))
        .form(&[("token", token), ("client_id", client_id)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn metadata_names_the_endpoints_and_certificate_bound_tokens() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let metadata: Value = client
        .get(emulator.url(METADATA_PATH))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(metadata["issuer"], emulator.issuer());
    assert_eq!(metadata["token_endpoint"], emulator.token_url());
    assert_eq!(metadata["jwks_uri"], emulator.url(JWKS_PATH));
    assert_eq!(metadata["tls_client_certificate_bound_access_tokens"], true);
    assert_eq!(
        metadata["mtls_endpoint_aliases"]["token_endpoint"],
        emulator.token_url()
    );
    assert_eq!(
        metadata["mtls_endpoint_aliases"]["introspection_endpoint"],
        emulator.url(INTROSPECTION_PATH)
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!(["tls_client_auth", "self_signed_tls_client_auth"])
    );
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["client_credentials"])
    );
}

#[tokio::test]
async fn token_verifies_against_the_published_jwks() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;

    let response = client.get(emulator.url(JWKS_PATH)).send().await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/jwk-set+json"
    );
    let jwks: JwkSet = response.json().await.unwrap();
    let keys = StaticKeys::from_jwks(&jwks).unwrap();
    let server = reged_emulator::resource_server::ResourceServer::new(
        emulator.issuer(),
        emulator.api_audience(),
        keys.clone(),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();

    let verified = check_token(
        server.checks(),
        &keys,
        &token,
        Some(certs.client().thumbprint()),
        now,
    )
    .unwrap();

    assert_eq!(verified.client_id, DEV_CLIENT_ID);
}

#[tokio::test]
async fn introspection_of_a_good_token_is_active_with_its_binding() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;

    let response = introspect(&client, &emulator, DEV_CLIENT_ID, &token).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], DEV_CLIENT_ID);
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["cnf"]["x5t#S256"], certs.client().thumbprint());
}

#[tokio::test]
async fn introspection_of_a_bad_token_is_exactly_active_false() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let response = introspect(&client, &emulator, DEV_CLIENT_ID, "not-a-token").await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"active":false}"#);
}

#[tokio::test]
async fn introspection_of_a_token_from_before_a_key_rotation_is_active_false() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;

    emulator.rotate_signing_key();
    let response = introspect(&client, &emulator, DEV_CLIENT_ID, &token).await;

    assert_eq!(response.text().await.unwrap(), r#"{"active":false}"#);
}

#[tokio::test]
async fn introspection_without_a_certificate_is_invalid_client() {
    let (certs, emulator) = start(Profile::Uat).await;
    let owner = client(&certs, Some(certs.client()));
    let anonymous = client(&certs, None);
    let token = fetch_token(&owner, &emulator).await;

    let response = introspect(&anonymous, &emulator, DEV_CLIENT_ID, &token).await;

    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn introspection_with_another_clients_certificate_is_invalid_client() {
    let (certs, emulator) = start(Profile::Uat).await;
    let owner = client(&certs, Some(certs.client()));
    let other = client(&certs, Some(certs.other_client()));
    let token = fetch_token(&owner, &emulator).await;

    let response = introspect(&other, &emulator, DEV_CLIENT_ID, &token).await;

    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn introspection_of_another_clients_token_is_active_false_unless_registered_for_it() {
    let certs = DevCerts::generate().unwrap();
    let resource_server =
        ClientRegistration::new("resource-server", certs.other_client().subject().clone())
            .with_introspection_of_any_token(true);
    let config = EmulatorConfig::for_dev_certs(&certs, Profile::Uat).with_client(resource_server);
    let emulator = start_with(config, &certs).await;
    let owner = client(&certs, Some(certs.client()));
    let other = client(&certs, Some(certs.other_client()));
    let token = fetch_token(&owner, &emulator).await;

    let scanned: Value = introspect(&other, &emulator, OTHER_CLIENT_ID, &token)
        .await
        .json()
        .await
        .unwrap();
    let allowed: Value = introspect(&other, &emulator, "resource-server", &token)
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(scanned, json!({ "active": false }));
    assert_eq!(allowed["active"], true);
    assert_eq!(allowed["client_id"], DEV_CLIENT_ID);
}

#[tokio::test]
async fn introspection_without_the_token_parameter_is_invalid_request() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let response = client
        .post(emulator.url(INTROSPECTION_PATH))
        .form(&[("client_id", DEV_CLIENT_ID)])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn issuer_set_in_the_config_is_in_the_metadata_the_tokens_and_accepted_by_the_api() {
    let certs = reged_emulator::DevCerts::generate().unwrap();
    let config = reged_emulator::EmulatorConfig::for_dev_certs(&certs, Profile::Uat)
        .with_issuer("https://issuer.test");
    let emulator = crate::support::start_with(config, &certs).await;
    let client = client(&certs, Some(certs.client()));

    let token = fetch_token(&client, &emulator).await;
    let metadata: Value = client
        .get(emulator.url(METADATA_PATH))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let whoami = client
        .get(emulator.url(reged_emulator::WHOAMI_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(metadata["issuer"], "https://issuer.test");
    assert_eq!(
        crate::support::jwt_parts(&token).1["iss"],
        "https://issuer.test"
    );
    assert_eq!(emulator.issuer(), "https://issuer.test");
    assert_eq!(whoami.status(), 200);
}
