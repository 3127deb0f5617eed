//! The emulator with the `curl` command line (OpenSSL's TLS) and the files of a state
//! directory, as a person would use them.

use std::process::Command;

use reged_emulator::{DEV_CLIENT_ID, Profile, RunningEmulator, StateDir, WHOAMI_PATH};
use serde_json::Value;

use crate::support::{TempDir, start_with};

/// Runs curl off the runtime's threads and returns its standard output.
async fn curl(args: Vec<String>) -> String {
    let output = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["--silent", "--show-error"])
            .args(&args)
            .output()
            .expect("curl runs")
    })
    .await
    .unwrap();

    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn path_arg(state: &StateDir, name: &str) -> String {
    state.file(name).display().to_string()
}

fn token_form_args(emulator: &RunningEmulator) -> Vec<String> {
    [
        "--data-urlencode".to_owned(),
        "grant_type=client_credentials".to_owned(),
        "--data-urlencode".to_owned(),
        format!("client_id={DEV_CLIENT_ID}"),
        "--data-urlencode".to_owned(),
        format!("audience={}", emulator.api_audience()),
        "--data-urlencode".to_owned(),
        "scope=read write".to_owned(),
        emulator.token_url(),
    ]
    .into()
}

async fn start_from(dir: &TempDir) -> (StateDir, RunningEmulator) {
    let state = StateDir::open_or_create(dir.path()).unwrap();
    let emulator = start_with(state.config(Profile::Uat), state.certs()).await;
    (state, emulator)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_with_pem_files_gets_a_token_and_calls_whoami() {
    let dir = TempDir::new();
    let (state, emulator) = start_from(&dir).await;
    let tls = vec![
        "--cacert".to_owned(),
        path_arg(&state, StateDir::CA_CERT),
        "--cert".to_owned(),
        path_arg(&state, StateDir::CLIENT_CERT),
        "--key".to_owned(),
        path_arg(&state, StateDir::CLIENT_KEY),
    ];

    let token_json = curl([tls.clone(), token_form_args(&emulator)].concat()).await;
    let token: Value = serde_json::from_str(&token_json).unwrap();
    let access_token = token["access_token"].as_str().unwrap();
    let whoami_json = curl(
        [
            tls,
            vec![
                "--header".to_owned(),
                format!("Authorization: Bearer {access_token}"),
                emulator.url(WHOAMI_PATH),
            ],
        ]
        .concat(),
    )
    .await;

    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 900);
    let whoami: Value = serde_json::from_str(&whoami_json).unwrap();
    assert_eq!(whoami["client_id"], DEV_CLIENT_ID);
    assert_eq!(whoami["thumbprint"], state.certs().client().thumbprint());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_with_the_pfx_and_its_password_gets_a_token() {
    let dir = TempDir::new();
    let (state, emulator) = start_from(&dir).await;
    let (_, password) = state.certs().client_pfx();
    let tls = vec![
        "--cacert".to_owned(),
        path_arg(&state, StateDir::CA_CERT),
        "--cert-type".to_owned(),
        "P12".to_owned(),
        "--cert".to_owned(),
        format!("{}:{password}", path_arg(&state, StateDir::CLIENT_PFX)),
    ];

    let token_json = curl([tls, token_form_args(&emulator)].concat()).await;

    let token: Value = serde_json::from_str(&token_json).unwrap();
    assert!(token["access_token"].is_string(), "{token}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_without_a_certificate_gets_invalid_client() {
    let dir = TempDir::new();
    let (state, emulator) = start_from(&dir).await;
    let args = [
        vec![
            "--cacert".to_owned(),
            path_arg(&state, StateDir::CA_CERT),
            "--write-out".to_owned(),
            "\n%{http_code}".to_owned(),
        ],
        token_form_args(&emulator),
    ]
    .concat();

    let output = curl(args).await;

    let (body, status) = output.rsplit_once('\n').unwrap();
    assert_eq!(status, "401");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"], "invalid_client");
}
