//! What the authorization server publishes about itself: its metadata (RFC 8414, with the
//! RFC 8705 additions) and its signing keys (the JWKS, RFC 7517).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::{AppState, INTROSPECTION_PATH, JWKS_PATH, TOKEN_PATH};

/// The path of the metadata document.
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// The client authentication methods of the token and introspection endpoints.
pub(crate) const AUTH_METHODS: [&str; 2] = ["tls_client_auth", "self_signed_tls_client_auth"];

/// The metadata. Every endpoint needs mutual TLS, so the `mtls_endpoint_aliases` name the
/// same URLs as the endpoints themselves (RFC 8705 section 5).
pub(crate) async fn metadata(State(state): State<Arc<AppState>>) -> Response {
    let base = &state.base_url;
    let token_endpoint = format!("{base}{TOKEN_PATH}");
    let introspection_endpoint = format!("{base}{INTROSPECTION_PATH}");
    let mut scopes: Vec<&str> = state
        .config
        .clients()
        .iter()
        .flat_map(|client| client.scopes().iter().map(String::as_str))
        .collect();
    scopes.sort_unstable();
    scopes.dedup();

    let body = json!({
        "issuer": state.config.issuer(),
        "token_endpoint": token_endpoint,
        "jwks_uri": format!("{base}{JWKS_PATH}"),
        "introspection_endpoint": introspection_endpoint,
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "scopes_supported": scopes,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "tls_client_certificate_bound_access_tokens": true,
        "mtls_endpoint_aliases": {
            "token_endpoint": token_endpoint,
            "introspection_endpoint": introspection_endpoint,
        },
    });
    Json(body).into_response()
}

/// The published signing keys: the current one and any still in its rotation overlap.
pub(crate) async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    let mut response = Json(state.keys.jwks()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    response
}
