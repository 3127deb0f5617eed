//! `reged demo`: the main job end to end, in one process on loopback.

use std::time::Instant;

use reged_auth::http::{ApiRequest, parse_ca_bundle};
use reged_auth::{Client, Identity};
use reged_emulator::{DEV_CLIENT_ID, DEV_SCOPES, DevCerts, Emulator, EmulatorConfig, Profile};
use reqwest::Method;
use url::Url;

use crate::exit;
use crate::failure::Failure;
use crate::output::print_line;

pub async fn run() -> Result<(), Failure> {
    let profile = Profile::Uat;
    let certs = DevCerts::generate()?;
    let config = EmulatorConfig::for_dev_certs(&certs, profile);
    let emulator = Emulator::start(config, &certs, ([127, 0, 0, 1], 0).into()).await?;
    print_line(&format!(
        "emulator listening on {} ({profile} profile, fresh certificates)",
        emulator.base_url()
    ))?;

    let client_pem = format!(
        "{}\n{}",
        certs.client().cert_pem(),
        certs.client().key_pem()
    );
    let identity = Identity::from_pem(client_pem.as_bytes(), "the demo client identity", None)?;
    print_line(&format!(
        "client certificate {} (x5t#S256 {})",
        identity.subject(),
        identity.thumbprint()
    ))?;
    let client = Client::builder()
        .token_url(demo_url(&emulator.token_url())?)
        .api_base(demo_url(&emulator.base_url())?)
        .client_id(DEV_CLIENT_ID)
        .audience(emulator.api_audience())
        .scope(&DEV_SCOPES.join(" "))
        .add_root_certificates(parse_ca_bundle(certs.ca_pem().as_bytes(), "the demo CA")?)
        .identity(identity)
        .build()?;

    let started = Instant::now();
    let token = client.token().await?;
    print_line(&format!(
        "1. token fetched over mutual TLS in {} ms: expires_in {} s, cached for {} s",
        started.elapsed().as_millis(),
        token.expires_in.as_secs(),
        token.remaining_cached_life().as_secs_f64().round(),
    ))?;
    drop(token);

    for step in [2, 3] {
        let started = Instant::now();
        let response = client
            .send(&ApiRequest::new(Method::GET, "/v1/whoami"))
            .await?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(Failure::new(
                exit::API_STATUS,
                format!("the emulator's API answered HTTP {status}: {body}"),
            ));
        }
        print_line(&format!(
            "{step}. GET /v1/whoami with the bearer token and the same certificate: {status} in {} ms\n   {body}",
            started.elapsed().as_millis()
        ))?;
    }

    let token_requests = emulator.token_requests();
    emulator.shutdown().await;
    if token_requests != 1 {
        return Err(Failure::new(
            exit::FAILURE,
            format!(
                "expected one token request for both calls, the emulator counted {token_requests}"
            ),
        ));
    }
    print_line("the second call used the cached token: the emulator counted 1 token request")
}

fn demo_url(url: &str) -> Result<Url, Failure> {
    Url::parse(url)
        .map_err(|error| Failure::new(exit::FAILURE, format!("bad emulator URL {url}: {error}")))
}
