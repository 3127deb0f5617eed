//! The library against the emulator, over real TLS sockets on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reged_auth::http::{ApiRequest, parse_ca_bundle};
use reged_auth::secret::SecretString;
use reged_auth::{Client, Identity};
use reged_emulator::{DevCerts, Emulator, EmulatorConfig, Profile, RunningEmulator};
use reqwest::Method;
use url::Url;

struct Setup {
    certs: DevCerts,
    emulator: RunningEmulator,
}

async fn start(profile: Profile) -> Setup {
    let certs = DevCerts::generate().unwrap();
    let config = EmulatorConfig::for_dev_certs(&certs, profile);
    let emulator = Emulator::start(config, &certs, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    Setup { certs, emulator }
}

impl Setup {
    fn client_with(&self, identity: Identity, scope: &str) -> Client {
        self.client_for(identity, "https://uatapi.reged.com", scope)
    }

    fn client_for(&self, identity: Identity, audience: &str, scope: &str) -> Client {
        let pem = self.certs.ca_pem().as_bytes();
        Client::builder()
            .token_url(Url::parse(&self.emulator.token_url()).unwrap())
            .api_base(Url::parse(&self.emulator.base_url()).unwrap())
            .client_id("reged-dev-client")
            .audience(audience)
            .scope(scope)
            .add_root_certificates(parse_ca_bundle(pem, "dev CA").unwrap())
            .identity(identity)
            .build()
            .unwrap()
    }

    fn identity(&self) -> Identity {
        let client = self.certs.client();
        let pem = format!("{}\n{}", client.cert_pem(), client.key_pem());
        Identity::from_pem(pem.as_bytes(), "dev client", None).unwrap()
    }

    fn client(&self) -> Client {
        self.client_with(self.identity(), "read write")
    }
}

fn whoami() -> ApiRequest {
    ApiRequest::new(Method::GET, "/v1/whoami")
}

#[tokio::test]
async fn token_is_fetched_once_then_served_from_the_cache() {
    let setup = start(Profile::Uat).await;
    let client = setup.client();

    let first = client.token().await.unwrap();
    let second = client.token().await.unwrap();

    assert_eq!(first.access_token.secret(), second.access_token.secret());
    assert_eq!(setup.emulator.token_requests(), 1);
    assert_eq!(first.expires_in, Duration::from_secs(900));
    let cached_for = first
        .fresh_until()
        .duration_since(first.requested_at)
        .unwrap();
    assert_eq!(cached_for, Duration::from_secs(600));
}

#[tokio::test]
async fn api_accepts_the_token_and_names_the_client() {
    let setup = start(Profile::Prod).await;
    let client = setup.client_for(setup.identity(), "https://api.reged.com", "read");

    let response = client.send(&whoami()).await.unwrap();
    let second = client.send(&whoami()).await.unwrap();

    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["client_id"], "reged-dev-client");
    assert_eq!(second.status(), 200);
    assert_eq!(setup.emulator.token_requests(), 1);
    let token = client.token().await.unwrap();
    assert_eq!(token.expires_in, Duration::from_secs(3600));
}

#[tokio::test]
async fn api_refuses_a_token_bound_to_another_certificate() {
    let setup = start(Profile::Uat).await;
    let token = setup.client().token().await.unwrap();

    // The other client's certificate, with the dev client's token.
    let other = setup.certs.other_client();
    let other_pem = format!("{}\n{}", other.cert_pem(), other.key_pem());
    let other_identity = Identity::from_pem(other_pem.as_bytes(), "other", None).unwrap();
    let tls = reged_auth::http::client_config(
        &other_identity,
        &parse_ca_bundle(setup.certs.ca_pem().as_bytes(), "ca").unwrap(),
    )
    .unwrap();
    let raw = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    let response = raw
        .get(format!("{}/v1/whoami", setup.emulator.base_url()))
        .bearer_auth(token.access_token.secret())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("invalid_token"), "{challenge}");
}

#[tokio::test]
async fn fifty_concurrent_callers_on_a_slow_endpoint_cause_one_request() {
    let setup = start(Profile::Uat).await;
    setup.emulator.set_token_delay(Duration::from_secs(2));
    let client = setup.client();

    let started = Instant::now();
    let callers: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .token()
                    .await
                    .unwrap()
                    .access_token
                    .secret()
                    .to_owned()
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(caller.await.unwrap());
    }

    assert_eq!(setup.emulator.token_requests(), 1);
    assert!(tokens.iter().all(|token| token == &tokens[0]));
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[tokio::test]
async fn invalid_token_from_the_api_evicts_and_retries_once() {
    let setup = start(Profile::Uat).await;
    let client = setup.client();
    let before = client
        .token()
        .await
        .unwrap()
        .access_token
        .secret()
        .to_owned();

    setup.emulator.rotate_signing_key();
    let mut request = ApiRequest::new(Method::POST, "/v1/echo");
    request.body = Some("replayed body".into());
    let response = client.send(&request).await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "replayed body");
    assert_eq!(setup.emulator.token_requests(), 2);
    let after = client.token().await.unwrap();
    assert_ne!(after.access_token.secret(), before);
}

#[tokio::test]
async fn refused_scope_is_a_typed_error_and_is_not_cached() {
    let setup = start(Profile::Uat).await;
    let client = setup.client_with(setup.identity(), "read admin");

    let first = client.token().await.unwrap_err();
    let second = client.token().await.unwrap_err();

    assert_eq!(first.token_error_code(), Some("invalid_scope"));
    assert_eq!(second.token_error_code(), Some("invalid_scope"));
    assert_eq!(
        setup.emulator.token_requests(),
        2,
        "errors are never cached"
    );
}

#[tokio::test]
async fn pfx_identity_gets_a_token() {
    let setup = start(Profile::Uat).await;
    let (pfx, password) = setup.certs.client_pfx();
    let identity =
        Identity::from_pkcs12(pfx, "client.pfx", &SecretString::from(password.to_owned())).unwrap();

    let token = setup.client_with(identity, "read").token().await;

    assert!(token.is_ok(), "{token:?}");
}

#[tokio::test]
async fn server_signed_by_an_unknown_ca_is_refused_with_a_hint() {
    let setup = start(Profile::Uat).await;
    let stranger = DevCerts::generate().unwrap();
    let client = Client::builder()
        .token_url(Url::parse(&setup.emulator.token_url()).unwrap())
        .client_id("reged-dev-client")
        .audience("https://uatapi.reged.com")
        .add_root_certificates(parse_ca_bundle(stranger.ca_pem().as_bytes(), "ca").unwrap())
        .identity(setup.identity())
        .build()
        .unwrap();

    let error = client.token().await.unwrap_err();

    let chain = error_chain(&error);
    assert!(chain.contains("not signed by a trusted CA"), "{chain}");
    assert!(chain.contains(&setup.emulator.token_url()), "{chain}");
    assert_eq!(setup.emulator.token_requests(), 0);
}

#[tokio::test]
async fn client_shares_nothing_with_a_client_of_another_certificate() {
    let setup = start(Profile::Uat).await;
    let cache = Arc::new(reged_auth::cache::MemoryCache::new());
    let pem = parse_ca_bundle(setup.certs.ca_pem().as_bytes(), "ca").unwrap();
    let build = |identity: Identity, client_id: &str| {
        Client::builder()
            .token_url(Url::parse(&setup.emulator.token_url()).unwrap())
            .client_id(client_id)
            .audience("https://uatapi.reged.com")
            .scope("read")
            .add_root_certificates(pem.clone())
            .identity(identity)
            .cache(Arc::clone(&cache))
            .build()
            .unwrap()
    };
    let other = setup.certs.other_client();
    let other_pem = format!("{}\n{}", other.cert_pem(), other.key_pem());
    let other_identity = Identity::from_pem(other_pem.as_bytes(), "other", None).unwrap();

    let mine = build(setup.identity(), "reged-dev-client")
        .token()
        .await
        .unwrap();
    let theirs = build(other_identity, "reged-other-client")
        .token()
        .await
        .unwrap();

    assert_ne!(mine.access_token.secret(), theirs.access_token.secret());
    assert_eq!(setup.emulator.token_requests(), 2);
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        text.push_str(" | ");
        text.push_str(&current.to_string());
        cause = current.source();
    }
    text
}

#[tokio::test]
async fn client_certificate_from_an_untrusted_ca_is_refused_with_a_hint() {
    let setup = start(Profile::Uat).await;
    let stranger = DevCerts::generate().unwrap();
    let pem = format!(
        "{}\n{}",
        stranger.client().cert_pem(),
        stranger.client().key_pem()
    );
    let identity = Identity::from_pem(pem.as_bytes(), "stranger", None).unwrap();

    let error = setup
        .client_with(identity, "read")
        .token()
        .await
        .unwrap_err();

    let chain = error_chain(&error);
    assert!(chain.contains("refused the client certificate"), "{chain}");
}

#[tokio::test]
async fn debug_output_of_client_identity_and_token_shows_no_secret() {
    let setup = start(Profile::Uat).await;
    let client = setup.client();
    let token = client.token().await.unwrap();

    let shown = format!("{client:?} {:?} {token:?}", setup.identity());

    assert!(shown.contains("reged-dev-client"), "{shown}");
    assert!(!shown.contains(token.access_token.secret()), "{shown}");
    let key_body: String = setup
        .certs
        .client()
        .key_pem()
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    assert!(!shown.contains(&key_body[..40]), "{shown}");
}

/// Found in review: the CLI refused `-H 'Content-Length: 1'`, but the library sent it, and the
/// HTTP/2 stream reset that followed blamed the server.
#[tokio::test]
async fn framing_header_in_an_api_request_is_refused_before_anything_is_sent() {
    let setup = start(Profile::Uat).await;
    let client = setup.client();
    let mut request = ApiRequest::new(Method::POST, "/v1/echo");
    request.body = Some("hello".into());
    request
        .headers
        .insert("content-length", "1".parse().unwrap());

    let error = client.send(&request).await.unwrap_err().to_string();

    assert!(
        error.contains("`content-length` is set by the client"),
        "{error}"
    );
    assert_eq!(setup.emulator.token_requests(), 0);
}
