//! The HTTP application: shared state and the axum router, independent of sockets and TLS.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::api::Record;
use crate::client_certificate::ClientCertificate;
use crate::config::EmulatorConfig;
use crate::faults::{self, Faults, shifted};
use crate::jwt::SigningKeys;
use crate::resource_server::ResourceServer;
use crate::resource_server::system_time;
use crate::tls::ClientVerifier;
use crate::token_request::MAX_FORM_LEN;
use crate::{api, introspection, metadata, token_endpoint};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};

/// The path of the token endpoint.
pub const TOKEN_PATH: &str = "/oauth/token";

/// The path of the JWKS: the public keys that verify the access tokens.
pub const JWKS_PATH: &str = "/oauth/jwks";

/// The path of the introspection endpoint (RFC 7662).
pub const INTROSPECTION_PATH: &str = "/oauth/introspect";

/// What the handlers share: configuration, signing keys and the counters tests read.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) config: EmulatorConfig,
    pub(crate) keys: Arc<SigningKeys>,
    pub(crate) resource_server: ResourceServer,
    /// `https://localhost:PORT`, for the URLs of the metadata.
    pub(crate) base_url: String,
    /// The handshake's client certificate verifier, also for certificates from a proxy.
    pub(crate) verifier: Arc<ClientVerifier>,
    pub(crate) faults: Arc<Faults>,
    records: Mutex<Vec<Record>>,
    token_requests: AtomicU64,
    tokens_issued: AtomicU64,
    token_delay: Mutex<Duration>,
}

impl AppState {
    pub(crate) fn new(
        config: EmulatorConfig,
        keys: SigningKeys,
        base_url: String,
        verifier: Arc<ClientVerifier>,
    ) -> AppState {
        let keys = Arc::new(keys);
        let profile = config.profile();
        let faults = Arc::new(Faults::new(config.faults().clone()));
        let clock = faults.clone();
        let resource_server =
            ResourceServer::new(config.issuer(), profile.api_audience(), keys.clone())
                .with_realm(api::REALM)
                .allow_unbound_tokens()
                .with_clock(move || shifted(system_time(), clock.clock_offset()));

        AppState {
            config,
            keys,
            resource_server,
            base_url,
            verifier,
            faults,
            records: Mutex::new(Vec::new()),
            token_requests: AtomicU64::new(0),
            tokens_issued: AtomicU64::new(0),
            token_delay: Mutex::new(Duration::ZERO),
        }
    }

    pub(crate) fn records(&self) -> std::sync::MutexGuard<'_, Vec<Record>> {
        self.records
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The emulator's clock, in Unix seconds, with the fault injection's offset.
    pub(crate) fn now(&self) -> u64 {
        shifted(system_time(), self.faults.clock_offset())
    }

    pub(crate) fn count_token_request(&self) {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_token_issued(&self) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    pub(crate) fn tokens_issued(&self) -> u64 {
        self.tokens_issued.load(Ordering::Relaxed)
    }

    pub(crate) fn token_delay(&self) -> Duration {
        *self
            .token_delay
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn set_token_delay(&self, delay: Duration) {
        *self
            .token_delay
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = delay;
    }
}

/// The start of a thumbprint, enough to tell certificates apart in a log.
pub(crate) fn thumbprint_prefix(certificate: Option<&ClientCertificate>) -> &str {
    certificate
        .map(|certificate| certificate.peer().thumbprint_prefix())
        .unwrap_or("-")
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let no_store = axum::middleware::map_response(no_store);
    let form_limit = DefaultBodyLimit::max(MAX_FORM_LEN);
    let token_route = post(token_endpoint::token)
        .layer(form_limit)
        .layer(no_store.clone());
    let introspection_route = post(introspection::introspect)
        .layer(form_limit)
        .layer(no_store);

    Router::new()
        .route(TOKEN_PATH, token_route)
        .route(INTROSPECTION_PATH, introspection_route)
        .route(JWKS_PATH, get(metadata::jwks))
        .route(metadata::METADATA_PATH, get(metadata::metadata))
        .merge(api::routes(&state))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        .with_state(state)
}

/// Token endpoint answers, errors included, must not be cached (RFC 6749 section 5.1).
async fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
