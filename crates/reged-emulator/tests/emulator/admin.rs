//! The admin endpoint: faults and key rotation at run time, only with the admin token.

use reged_emulator::admin::{AdminSettings, AdminToken};
use reged_emulator::{DevCerts, Emulator, EmulatorConfig, FaultSettings, Profile, RunningEmulator};
use serde_json::{Value, json};

use crate::support::{client, init_logging, request_token, token_form};

async fn start_with_admin() -> (DevCerts, RunningEmulator, AdminToken) {
    init_logging();
    let certs = DevCerts::generate().unwrap();
    let token = AdminToken::generate().unwrap();
    let config = EmulatorConfig::for_dev_certs(&certs, Profile::Uat).with_admin(AdminSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: token.clone(),
    });
    let emulator = Emulator::start(config, &certs, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (certs, emulator, token)
}

#[tokio::test]
async fn faults_put_through_the_admin_endpoint_take_effect() {
    let (certs, emulator, token) = start_with_admin().await;
    let admin = reqwest::Client::new();
    let url = format!("{}/faults", emulator.admin_url().unwrap());

    let put = admin
        .put(&url)
        .bearer_auth(token.expose())
        .json(&json!({"failure_rate": 1.0, "failure_status": 429, "target": "token"}))
        .send()
        .await
        .unwrap();
    let refused = request_token(
        &client(&certs, Some(certs.client())),
        &emulator,
        &token_form(&emulator),
    )
    .await;
    let cleared = admin
        .delete(&url)
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap();

    assert_eq!(put.status(), 200);
    assert_eq!(refused.status(), 429);
    assert_eq!(cleared.status(), 200);
    assert_eq!(emulator.faults(), FaultSettings::default());
}

#[tokio::test]
async fn admin_request_without_the_token_is_refused_and_changes_nothing() {
    let (_, emulator, _) = start_with_admin().await;
    let url = format!("{}/faults", emulator.admin_url().unwrap());

    let response = reqwest::Client::new()
        .put(&url)
        .bearer_auth("guess")
        .json(&json!({"failure_rate": 1.0}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    assert_eq!(emulator.faults(), FaultSettings::default());
}

#[tokio::test]
async fn invalid_faults_get_a_400_naming_the_field() {
    let (_, emulator, token) = start_with_admin().await;
    let url = format!("{}/faults", emulator.admin_url().unwrap());

    let response = reqwest::Client::new()
        .put(&url)
        .bearer_auth(token.expose())
        .json(&json!({"close_rate": 2}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "close_rate must be between 0 and 1, not 2");
}

#[tokio::test]
async fn key_rotation_with_overlap_publishes_both_keys() {
    let (_, emulator, token) = start_with_admin().await;
    let url = format!(
        "{}/signing-key/rotate?overlap_s=60",
        emulator.admin_url().unwrap()
    );

    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(emulator.published_kids().len(), 2);
}

#[tokio::test]
async fn key_rotation_with_an_overlap_beyond_a_week_is_refused_and_keeps_the_key() {
    let (_, emulator, token) = start_with_admin().await;
    let kids = emulator.published_kids();
    let url = format!(
        "{}/signing-key/rotate?overlap_s=18446744073709551615",
        emulator.admin_url().unwrap()
    );

    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "overlap_s must be at most 604800 (7 days)");
    assert_eq!(emulator.published_kids(), kids);
}

#[tokio::test]
async fn admin_endpoint_beyond_loopback_is_refused() {
    let certs = DevCerts::generate().unwrap();
    let config = EmulatorConfig::for_dev_certs(&certs, Profile::Uat).with_admin(AdminSettings {
        listen: "0.0.0.0:0".parse().unwrap(),
        token: AdminToken::generate().unwrap(),
    });

    let error = Emulator::start(config, &certs, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();

    assert!(
        error
            .to_string()
            .starts_with("the admin endpoint listens on loopback only")
    );
}

#[test]
fn admin_token_debug_is_redacted() {
    let token = AdminToken::generate().unwrap();

    let debug = format!("{token:?}");

    assert!(!debug.contains(token.expose()));
    assert_eq!(token.expose().len(), 64);
}
