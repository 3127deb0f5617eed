//! nginx as a real TLS-terminating proxy in front of the emulator: it verifies the client
//! certificate and forwards it URL-encoded (`$ssl_client_escaped_cert`); the emulator trusts
//! it by address. Needs `nginx` on PATH; `.ci/run` installs it and runs this test.

use std::process::{Command, Stdio};
use std::time::Duration;

use reged_emulator::{DEV_CLIENT_ID, Profile, StateDir, WHOAMI_PATH};
use serde_json::Value;

use crate::support::{TempDir, client, init_logging, jwt_parts};

struct Nginx(std::process::Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_nginx(dir: &std::path::Path, state: &StateDir, port: u16, upstream: &str) -> Nginx {
    let file = |name: &str| state.file(name).display().to_string();
    let config = format!(
        r#"
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  server {{
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate {server_cert};
    ssl_certificate_key {server_key};
    ssl_client_certificate {ca};
    ssl_verify_client optional;
    location / {{
      proxy_pass {upstream};
      proxy_ssl_trusted_certificate {ca};
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
    }}
  }}
}}
"#,
        dir = dir.display(),
        server_cert = file(StateDir::SERVER_CERT),
        server_key = file(StateDir::SERVER_KEY),
        ca = file(StateDir::CA_CERT),
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, config).unwrap();

    let child = Command::new("nginx")
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nginx runs");
    Nginx(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nginx on PATH; .ci/run installs it and runs this test"]
async fn token_and_api_call_through_nginx_are_bound_to_the_forwarded_certificate() {
    init_logging();
    let dir = TempDir::new();
    let state = StateDir::open_or_create(dir.path().join("state")).unwrap();
    let config = state
        .config(Profile::Uat)
        .with_trusted_proxy("127.0.0.1".parse::<std::net::IpAddr>().unwrap());
    let emulator =
        reged_emulator::Emulator::start(config, state.certs(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let port = free_port();
    let nginx_dir = dir.path().join("nginx");
    std::fs::create_dir_all(&nginx_dir).unwrap();
    let _nginx = start_nginx(&nginx_dir, &state, port, &emulator.base_url());
    let proxy_url = format!("https://localhost:{port}");
    let client = client(state.certs(), Some(state.certs().client()));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", DEV_CLIENT_ID),
        ("audience", emulator.api_audience()),
        ("scope", "read write"),
    ];

    let mut response = None;
    for _ in 0..50 {
        match client
            .post(format!("{proxy_url}/oauth/token"))
            .form(&form)
            .send()
            .await
        {
            Ok(answer) => {
                response = Some(answer);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let response = response.expect("nginx answers within 5 s");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    let (_, claims) = jwt_parts(token);
    let whoami = client
        .get(format!("{proxy_url}{WHOAMI_PATH}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let other = crate::support::client(state.certs(), Some(state.certs().other_client()))
        .get(format!("{proxy_url}{WHOAMI_PATH}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();

    assert_eq!(
        claims["cnf"]["x5t#S256"],
        state.certs().client().thumbprint()
    );
    assert_eq!(whoami.status(), 200);
    assert_eq!(
        other.status(),
        401,
        "another client's certificate through nginx"
    );
}
