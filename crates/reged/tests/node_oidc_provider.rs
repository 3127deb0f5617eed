//! Our client library and CLI against node-oidc-provider 9 (interop/node, lockfile
//! committed), configured for tls_client_auth and certificate-bound JWT access tokens on
//! Node's https server: token fetched over mTLS, cached, and its binding checked by our
//! resource server against the provider's JWKS.
//!
//! Needs `node` and `npm ci` run in interop/node; `.ci/run` does both and runs this test.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reged_auth::http::parse_ca_bundle;
use reged_auth::{Client, Identity};
use reged_emulator::StateDir;
use reged_emulator::resource_server::{StaticKeys, TokenChecks, TokenRejection, check_token};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use url::Url;

const AUDIENCE: &str = "https://uatapi.reged.com";

struct Provider {
    issuer: String,
    _child: Child,
}

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/node")
}

/// Starts the provider on a free port with the certificates of `state`.
async fn start_provider(state: &StateDir) -> Provider {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("node")
        .arg("provider.js")
        .arg(state.path())
        .arg(port.to_string())
        .current_dir(interop_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");

    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(issuer) = line.strip_prefix("listening ") {
                return issuer.to_owned();
            }
        }
        panic!("the provider stopped before listening");
    });
    let issuer = ready.await.expect("the provider listens within 30 s");
    Provider {
        issuer,
        _child: child,
    }
}

fn client_for(state: &StateDir, provider: &Provider) -> Client {
    let client = state.certs().client();
    let pem = format!("{}\n{}", client.cert_pem(), client.key_pem());
    Client::builder()
        .token_url(Url::parse(&format!("{}/token", provider.issuer)).unwrap())
        .client_id("reged-dev-client")
        .audience(AUDIENCE)
        .scope("read write")
        .add_root_certificates(
            parse_ca_bundle(state.certs().ca_pem().as_bytes(), "dev CA").unwrap(),
        )
        .identity(Identity::from_pem(pem.as_bytes(), "dev client", None).unwrap())
        .build()
        .unwrap()
}

async fn provider_keys(state: &StateDir, provider: &Provider) -> StaticKeys {
    let ca = reqwest::Certificate::from_pem(state.certs().ca_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let jwks = http
        .get(format!("{}/jwks", provider.issuer))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    StaticKeys::from_jwks_json(&jwks).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
#[ignore = "needs node and `npm ci` in interop/node; .ci/run runs it"]
async fn library_gets_a_bound_token_from_node_oidc_provider_caches_it_and_checks_the_binding() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::open_or_create(dir.path()).unwrap();
    let provider = start_provider(&state).await;
    let client = client_for(&state, &provider);

    let first = client.token().await.unwrap();
    let second = client.token().await.unwrap();

    assert_eq!(
        first.access_token.secret(),
        second.access_token.secret(),
        "served from the cache"
    );
    assert_eq!(first.expires_in, Duration::from_secs(900));
    let keys = provider_keys(&state, &provider).await;
    let checks = TokenChecks {
        issuer: provider.issuer.clone(),
        audience: AUDIENCE.to_owned(),
        algorithms: vec![jsonwebtoken_es256()],
        leeway: 5,
        require_binding: true,
    };
    let token = first.access_token.secret();
    let verified = check_token(
        &checks,
        &keys,
        token,
        Some(state.certs().client().thumbprint()),
        now(),
    )
    .unwrap();
    assert_eq!(verified.client_id, "reged-dev-client");
    assert_eq!(verified.scopes, ["read", "write"]);
    assert_eq!(
        check_token(
            &checks,
            &keys,
            token,
            Some(state.certs().other_client().thumbprint()),
            now()
        ),
        Err(TokenRejection::WrongCertificate)
    );
}

#[tokio::test]
#[ignore = "needs node and `npm ci` in interop/node; .ci/run runs it"]
async fn cli_prints_a_token_from_node_oidc_provider() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::open_or_create(dir.path()).unwrap();
    let provider = start_provider(&state).await;
    let file = |name: &str| state.file(name).display().to_string();

    let output = Command::new(env!("CARGO_BIN_EXE_reged"))
        .args([
            "token",
            "--token-url",
            &format!("{}/token", provider.issuer),
        ])
        .args([
            "--client-id",
            "reged-dev-client",
            "--audience",
            AUDIENCE,
            "--scope",
            "read write",
        ])
        .args([
            "--cert",
            &file(StateDir::CLIENT_CERT),
            "--key",
            &file(StateDir::CLIENT_KEY),
        ])
        .args(["--ca", &file(StateDir::CA_CERT)])
        .env_clear()
        .output()
        .await
        .unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap();
    assert_eq!(token.trim_end().split('.').count(), 3);
}

#[tokio::test]
#[ignore = "needs node and `npm ci` in interop/node; .ci/run runs it"]
async fn node_oidc_provider_refuses_another_clients_certificate_and_we_report_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::open_or_create(dir.path()).unwrap();
    let provider = start_provider(&state).await;
    let other = state.certs().other_client();
    let pem = format!("{}\n{}", other.cert_pem(), other.key_pem());
    let client = Client::builder()
        .token_url(Url::parse(&format!("{}/token", provider.issuer)).unwrap())
        .client_id("reged-dev-client")
        .audience(AUDIENCE)
        .scope("read write")
        .add_root_certificates(
            parse_ca_bundle(state.certs().ca_pem().as_bytes(), "dev CA").unwrap(),
        )
        .identity(Identity::from_pem(pem.as_bytes(), "other client", None).unwrap())
        .build()
        .unwrap();

    let error = client.token().await.unwrap_err();

    assert_eq!(error.token_error_code(), Some("invalid_client"));
}

fn jsonwebtoken_es256() -> reged_emulator::resource_server::Algorithm {
    reged_emulator::resource_server::Algorithm::ES256
}
