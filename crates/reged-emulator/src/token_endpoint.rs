//! `POST /oauth/token`: the client credentials grant over mutual TLS.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;

use crate::app::{AppState, thumbprint_prefix};
use crate::client_certificate::ClientCertificate;
use crate::jwt::AccessTokenClaims;
use crate::oauth_error::OAuthError;
use crate::token_request::{
    TokenRequest, authenticate_client, check_audience, check_grant_type, check_scopes, form_body,
    parse_token_request,
};

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    scope: &'a str,
    expires_in: u64,
    token_type: &'static str,
}

pub(crate) async fn token(
    State(state): State<Arc<AppState>>,
    certificate: Option<Extension<ClientCertificate>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    state.count_token_request();
    let certificate = certificate.map(|Extension(certificate)| certificate);

    let delay = state.token_delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let body = form_body(body);
    let request = body.as_ref().map_err(Clone::clone).and_then(|body| {
        parse_token_request(
            headers
                .get(header::CONTENT_TYPE)
                .map(|value| value.as_bytes()),
            headers.contains_key(header::AUTHORIZATION),
            body,
        )
    });
    // For the log line: the client_id the form named, even when the request is refused.
    let client_id = match (&request, &body) {
        (Ok(request), _) => Some(request.client_id.clone()),
        (Err(_), Ok(body)) => named_client_id(body),
        (Err(_), Err(_)) => None,
    };
    let outcome = match request {
        Ok(request) => grant(&state, &request, certificate.as_ref()),
        Err(error) => Err(error),
    };

    let client_id = client_id.as_deref().unwrap_or("-");
    let thumbprint = thumbprint_prefix(certificate.as_ref());
    let duration_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(response) => {
            state.count_token_issued();
            tracing::info!(
                client_id,
                thumbprint,
                status = 200,
                duration_ms,
                "token issued"
            );
            response
        }
        Err(error) => {
            tracing::info!(
                client_id,
                thumbprint,
                status = error.status().as_u16(),
                error = error.code.as_str(),
                reason = error
                    .reason
                    .as_deref()
                    .unwrap_or(error.description.as_ref()),
                duration_ms,
                "token refused"
            );
            error.into_response()
        }
    }
}

fn named_client_id(body: &[u8]) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs
        .into_iter()
        .find(|(name, value)| name == "client_id" && !value.is_empty())
        .map(|(_, value)| value)
}

/// Authenticates the client, checks what it asks for and issues the token.
fn grant(
    state: &AppState,
    request: &TokenRequest,
    certificate: Option<&ClientCertificate>,
) -> Result<Response, OAuthError> {
    let config = &state.config;
    let client = authenticate_client(
        config.clients(),
        &state.verifier,
        &request.client_id,
        certificate,
    )?;
    check_grant_type(client)?;
    check_scopes(client, &request.scopes)?;
    check_audience(client, &request.audience)?;
    let Some(certificate) = certificate else {
        return Err(OAuthError::server_error(
            "authenticated without a certificate",
        ));
    };

    let scope = request.scopes.join(" ");
    let lifetime = match state.faults.get().token_lifetime_s {
        Some(seconds) => std::time::Duration::from_secs(seconds),
        None => client.token_lifetime().unwrap_or(config.token_lifetime()),
    };
    let thumbprint = client.certificate_bound().then(|| certificate.thumbprint());
    let claims = AccessTokenClaims::new(
        config.issuer(),
        &request.audience,
        client.client_id(),
        scope.clone(),
        thumbprint,
        lifetime,
        state.now(),
    );
    let access_token = state
        .keys
        .issue(&claims)
        .map_err(|error| OAuthError::server_error(error.to_string()))?;

    let body = TokenResponse {
        access_token: &access_token,
        scope: &scope,
        expires_in: lifetime.as_secs(),
        token_type: "Bearer",
    };
    Ok((StatusCode::OK, Json(body)).into_response())
}
