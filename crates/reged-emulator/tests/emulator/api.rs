//! The protected API: certificate-bound tokens and RFC 6750 errors.

use std::time::Duration;

use reged_emulator::{
    ClientRegistration, DEV_CLIENT_ID, DevCerts, EmulatorConfig, Profile, WHOAMI_PATH,
};
use serde_json::Value;

use crate::support::{client, fetch_token, request_token, start, start_with};

/// Calls whoami and checks a refusal with `invalid_token`; returns the description.
async fn assert_invalid_token(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with(
            r#"Bearer realm="reged-emulator", error="invalid_token", error_description=""#
        ),
        "{challenge}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    body["error_description"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn whoami_accepts_a_token_over_its_certificate() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;

    let response = client
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["client_id"], DEV_CLIENT_ID);
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["audience"], "https://uatapi.reged.com");
    assert_eq!(body["thumbprint"], certs.client().thumbprint());
}

#[tokio::test]
async fn echo_answers_with_the_request_body() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;

    let response = client
        .post(emulator.url("/v1/echo"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("replay me")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.text().await.unwrap(), "replay me");
}

#[tokio::test]
async fn token_presented_with_another_clients_certificate_is_refused() {
    let (certs, emulator) = start(Profile::Uat).await;
    let owner = client(&certs, Some(certs.client()));
    let thief = client(&certs, Some(certs.other_client()));
    let token = fetch_token(&owner, &emulator).await;

    let response = thief
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    let description = assert_invalid_token(response).await;
    assert_eq!(
        description,
        "the access token is bound to another client certificate than the one presented"
    );
}

#[tokio::test]
async fn token_presented_without_a_certificate_is_refused() {
    let (certs, emulator) = start(Profile::Uat).await;
    let owner = client(&certs, Some(certs.client()));
    let anonymous = client(&certs, None);
    let token = fetch_token(&owner, &emulator).await;

    let response = anonymous
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_invalid_token(response).await;
}

#[tokio::test]
async fn call_without_a_token_gets_a_bare_challenge() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let response = client.get(emulator.url(WHOAMI_PATH)).send().await.unwrap();

    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer realm="reged-emulator""#
    );
}

#[tokio::test]
async fn basic_credentials_count_as_no_token() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let response = client
        .get(emulator.url(WHOAMI_PATH))
        .basic_auth("user", Some("password"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer realm="reged-emulator""#
    );
}

#[tokio::test]
async fn bearer_without_a_token_is_an_invalid_request() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let response = client
        .get(emulator.url(WHOAMI_PATH))
        .header("authorization", "Bearer ")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="invalid_request""#),
        "{challenge}"
    );
}

#[tokio::test]
async fn garbage_token_is_an_invalid_token() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let response = client
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth("not-a-jwt")
        .send()
        .await
        .unwrap();

    assert_eq!(
        assert_invalid_token(response).await,
        "the access token is not a JWT"
    );
}

#[tokio::test]
async fn token_from_before_a_key_rotation_is_an_invalid_token_and_a_new_one_works() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let old_token = fetch_token(&client, &emulator).await;

    emulator.rotate_signing_key();
    let response = client
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(&old_token)
        .send()
        .await
        .unwrap();
    let description = assert_invalid_token(response).await;
    let new_token = fetch_token(&client, &emulator).await;
    let retried = client
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(&new_token)
        .send()
        .await
        .unwrap();

    assert!(description.contains("no longer uses"), "{description}");
    assert_eq!(retried.status(), 200);
}

#[tokio::test]
async fn expired_token_is_an_invalid_token() {
    let certs = DevCerts::generate().unwrap();
    let config = EmulatorConfig::for_dev_certs(&certs, Profile::Uat)
        .with_token_lifetime(Duration::from_secs(1));
    let emulator = start_with(config, &certs).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = client
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(
        assert_invalid_token(response).await,
        "the access token has expired; get a new one"
    );
}

#[tokio::test]
async fn token_for_another_audience_is_an_invalid_token() {
    let certs = DevCerts::generate().unwrap();
    let client_registration =
        ClientRegistration::new(DEV_CLIENT_ID, certs.client().subject().clone())
            .with_scopes(["read"])
            .with_audiences(["https://api.reged.com"]);
    let config = EmulatorConfig::new(Profile::Uat).with_client(client_registration);
    let emulator = start_with(config, &certs).await;
    let client = client(&certs, Some(certs.client()));
    let form = [
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", DEV_CLIENT_ID.to_owned()),
        ("audience", "https://api.reged.com".to_owned()),
        ("scope", "read".to_owned()),
    ];
    let response = request_token(&client, &emulator, &form).await;
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();

    let response = client
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();

    assert_eq!(
        assert_invalid_token(response).await,
        "the access token is not meant for this API (audience https://uatapi.reged.com)"
    );
}

#[tokio::test]
async fn api_calls_do_not_count_as_token_requests() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;

    for _ in 0..3 {
        client
            .get(emulator.url(WHOAMI_PATH))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
    }

    assert_eq!(emulator.token_requests(), 1);
}
