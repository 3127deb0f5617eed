//! `POST /oauth/introspect`: token introspection (RFC 7662), for clients authenticated by
//! mutual TLS like at the token endpoint. A client sees its own tokens; another client's token
//! is `{"active":false}` to it unless it is registered to introspect any token.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

use crate::app::{AppState, thumbprint_prefix};
use crate::client_certificate::ClientCertificate;
use crate::oauth_error::OAuthError;
use crate::resource_server::AccessToken;
use crate::resource_server::check::{Caller, check};
use crate::token_request::{
    authenticate_client, form_body, is_form_content_type, parse_form, required,
};

const PARAMETERS: [&str; 3] = ["token", "token_type_hint", "client_id"];

pub(crate) async fn introspect(
    State(state): State<Arc<AppState>>,
    certificate: Option<Extension<ClientCertificate>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let certificate = certificate.map(|Extension(certificate)| certificate);
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes());

    let outcome =
        form_body(body).and_then(|body| answer(&state, content_type, &body, certificate.as_ref()));

    let thumbprint = thumbprint_prefix(certificate.as_ref());
    match outcome {
        Ok((client_id, active, response)) => {
            tracing::info!(
                client_id,
                thumbprint,
                active,
                status = 200,
                "token introspected"
            );
            response
        }
        Err(error) => {
            tracing::info!(
                thumbprint,
                status = error.status().as_u16(),
                error = error.code.as_str(),
                reason = error.reason.as_deref().unwrap_or(&error.description),
                "introspection refused"
            );
            error.into_response()
        }
    }
}

fn answer(
    state: &AppState,
    content_type: Option<&[u8]>,
    body: &[u8],
    certificate: Option<&ClientCertificate>,
) -> Result<(String, bool, Response), OAuthError> {
    if !is_form_content_type(content_type) {
        return Err(OAuthError::invalid_request(
            "the introspection request must have Content-Type application/x-www-form-urlencoded",
        ));
    }
    let parameters = parse_form(body, &PARAMETERS)?;
    let client_id = required(&parameters, "client_id")?;
    let token = required(&parameters, "token")?;
    let client = authenticate_client(
        state.config.clients(),
        &state.verifier,
        client_id,
        certificate,
    )?;

    let checked = check(
        state.resource_server.checks(),
        &*state.keys,
        token,
        Caller::Introspection,
        state.now(),
    );
    let (active, body) = match checked {
        Ok(token) if token.client_id == client.client_id() || client.introspects_any_token() => {
            (true, active_body(&token))
        }
        Ok(_) => {
            tracing::info!(
                client_id = client.client_id(),
                "introspection of another client's token, which this client may not see"
            );
            (false, json!({ "active": false }))
        }
        Err(_) => (false, json!({ "active": false })),
    };
    Ok((
        client.client_id().to_owned(),
        active,
        Json(body).into_response(),
    ))
}

fn active_body(token: &AccessToken) -> serde_json::Value {
    let mut body = json!({
        "active": true,
        "iss": token.issuer,
        "sub": token.subject,
        "client_id": token.client_id,
        "aud": token.audiences,
        "scope": token.scope(),
        "token_type": "Bearer",
        "exp": token.expires_at,
    });
    if let Some(issued_at) = token.issued_at {
        body["iat"] = issued_at.into();
    }
    if let Some(jwt_id) = &token.jwt_id {
        body["jti"] = jwt_id.as_str().into();
    }
    if let Some(thumbprint) = &token.certificate_thumbprint {
        body["cnf"] = json!({ "x5t#S256": thumbprint });
    }
    body
}
