//! The emulator with Python `requests` as the client and PyJWT as the verifier, both on
//! OpenSSL and written by others. Needs the packages of `interop/python/requirements.txt`:
//! `.ci/run` installs them into `target/interop-venv`, which this test uses when it exists
//! (or the interpreter named by `REGED_INTEROP_PYTHON`).

use std::path::PathBuf;
use std::process::Command;

use reged_emulator::{DEV_CLIENT_ID, Profile, StateDir};
use serde_json::Value;

use crate::support::{TempDir, start_with};

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("REGED_INTEROP_PYTHON") {
        return python.into();
    }
    let venv = workspace_root().join("target/interop-venv/bin/python");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PyJWT and requests (interop/python/requirements.txt); .ci/run runs it"]
async fn python_requests_gets_a_token_and_pyjwt_verifies_it_with_its_binding() {
    let dir = TempDir::new();
    let state = StateDir::open_or_create(dir.path()).unwrap();
    let emulator = start_with(state.config(Profile::Uat), state.certs()).await;
    let args = vec![
        workspace_root()
            .join("interop/python/check_emulator.py")
            .display()
            .to_string(),
        emulator.base_url(),
        dir.path().display().to_string(),
        DEV_CLIENT_ID.to_owned(),
        emulator.api_audience().to_owned(),
        emulator.issuer().to_owned(),
    ];

    let output = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .args(&args)
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["whoami"], DEV_CLIENT_ID);
    assert_eq!(report["verified_client_id"], DEV_CLIENT_ID);
    assert_eq!(report["binding"], "ok");
    assert_eq!(report["alg_none_status"], 401);
}
