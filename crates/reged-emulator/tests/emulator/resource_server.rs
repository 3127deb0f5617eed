//! The API behind the resource server layer: scopes, the read and write endpoints, the
//! streamed and the slow endpoints, and key rotation with an overlap.

use std::time::Duration;

use reged_emulator::{
    DEV_CLIENT_ID, Profile, RECORDS_PATH, RunningEmulator, SLOW_PATH, STREAM_PATH, WHOAMI_PATH,
};
use serde_json::{Value, json};

use crate::support::{client, fetch_token, request_token, start, token_form};

async fn token_with_scope(
    client: &reqwest::Client,
    emulator: &RunningEmulator,
    scope: &str,
) -> String {
    let mut form = token_form(emulator);
    form.retain(|(name, _)| *name != "scope");
    form.push(("scope", scope.to_owned()));
    let response = request_token(client, emulator, &form).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn write_with_a_read_only_token_is_403_insufficient_scope_naming_write() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = token_with_scope(&client, &emulator, "read").await;

    let response = client
        .post(emulator.url(RECORDS_PATH))
        .bearer_auth(&token)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 403);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with(r#"Bearer realm="reged-emulator", error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.ends_with(r#"scope="write""#), "{challenge}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(body["scope"], "write");
}

#[tokio::test]
async fn read_with_a_write_only_token_is_403_naming_read() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = token_with_scope(&client, &emulator, "write").await;

    let response = client
        .get(emulator.url(RECORDS_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn written_record_is_read_back_with_its_author() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;

    let created = client
        .post(emulator.url(RECORDS_PATH))
        .bearer_auth(&token)
        .json(&json!({"name": "first"}))
        .send()
        .await
        .unwrap();
    let listed: Value = client
        .get(emulator.url(RECORDS_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(created.status(), 201);
    assert_eq!(listed["records"][0]["created_by"], DEV_CLIENT_ID);
    assert_eq!(listed["records"][0]["data"]["name"], "first");
}

#[tokio::test]
async fn record_that_is_not_json_is_a_400() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;

    let response = client
        .post(emulator.url(RECORDS_PATH))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn stream_sends_exactly_the_bytes_asked_for() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;
    let size = 3 * 1024 * 1024 + 17;

    let response = client
        .get(emulator.url(&format!("{STREAM_PATH}?bytes={size}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), size);
}

#[tokio::test]
async fn stream_without_a_token_is_refused_before_any_byte() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));

    let response = client.get(emulator.url(STREAM_PATH)).send().await.unwrap();

    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn slow_endpoint_answers_after_the_wait() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;
    let started = std::time::Instant::now();

    let response = client
        .get(emulator.url(&format!("{SLOW_PATH}?ms=300")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["waited_ms"], 300);
}

#[tokio::test]
async fn slow_endpoint_with_a_bad_query_is_a_400() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;

    let response = client
        .get(emulator.url(&format!("{SLOW_PATH}?ms=soon")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn token_signed_before_a_rolled_key_stays_valid_during_the_overlap() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let old_token = fetch_token(&client, &emulator).await;
    let old_kids = emulator.published_kids();

    emulator.roll_signing_key(Duration::from_secs(60));
    let during = client
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(&old_token)
        .send()
        .await
        .unwrap();
    let kids = emulator.published_kids();

    assert_eq!(during.status(), 200);
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[1], old_kids[0], "the old key is still published");
}

#[tokio::test]
async fn token_signed_with_a_key_past_its_overlap_is_refused() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let old_token = fetch_token(&client, &emulator).await;

    emulator.roll_signing_key(Duration::from_millis(200));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = client
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(&old_token)
        .send()
        .await
        .unwrap();

    assert_eq!(after.status(), 401);
    assert_eq!(emulator.published_kids().len(), 1);
}
