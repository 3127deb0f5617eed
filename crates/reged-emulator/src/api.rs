//! The protected API: `GET /v1/whoami` and `POST /v1/echo`, reachable with a certificate-bound
//! access token over the connection of the certificate it is bound to. Errors follow RFC 6750
//! section 3.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;

use crate::app::{AppState, ClientCertificate, thumbprint_prefix};
use crate::jwt::{AccessTokenClaims, TokenRejection, check_binding};
use crate::oauth_error::quote_for_description;

/// The path of the endpoint that tells who the caller is.
pub const WHOAMI_PATH: &str = "/v1/whoami";

/// The path of the endpoint that answers with the request body.
pub const ECHO_PATH: &str = "/v1/echo";

/// The realm in `WWW-Authenticate` challenges.
pub const REALM: &str = "reged-emulator";

#[derive(Serialize)]
struct Whoami<'a> {
    client_id: &'a str,
    scope: &'a str,
    audience: &'a str,
    thumbprint: &'a str,
}

pub(crate) async fn whoami(
    State(state): State<Arc<AppState>>,
    certificate: Option<Extension<ClientCertificate>>,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let certificate = certificate.map(|Extension(certificate)| certificate);

    let result = authorize(&state, &headers, certificate.as_ref()).map(|claims| {
        let body = Whoami {
            client_id: &claims.client_id,
            scope: &claims.scope,
            audience: &claims.aud,
            thumbprint: &claims.cnf.x5t_s256,
        };
        let response = Json(body).into_response();
        (claims, response)
    });

    finish("GET", WHOAMI_PATH, started, certificate.as_ref(), result)
}

pub(crate) async fn echo(
    State(state): State<Arc<AppState>>,
    certificate: Option<Extension<ClientCertificate>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let certificate = certificate.map(|Extension(certificate)| certificate);

    let result = authorize(&state, &headers, certificate.as_ref()).map(|claims| {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        let response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
        (claims, response)
    });

    finish("POST", ECHO_PATH, started, certificate.as_ref(), result)
}

/// Logs the call, then answers.
fn finish(
    method: &'static str,
    path: &'static str,
    started: Instant,
    certificate: Option<&ClientCertificate>,
    result: Result<(AccessTokenClaims, Response), BearerError>,
) -> Response {
    let thumbprint = thumbprint_prefix(certificate);
    let duration_ms = started.elapsed().as_millis() as u64;

    match result {
        Ok((claims, response)) => {
            let status = response.status().as_u16();
            let client_id = claims.client_id.as_str();
            tracing::info!(
                method,
                path,
                client_id,
                thumbprint,
                status,
                duration_ms,
                "api call"
            );
            response
        }
        Err(error) => {
            let status = error.status().as_u16();
            let reason = error.description();
            let client_id = error.client_id().unwrap_or("-");
            tracing::info!(
                method,
                path,
                client_id,
                thumbprint,
                status,
                reason,
                duration_ms,
                "api call refused"
            );
            error.into_response()
        }
    }
}

/// Why a call did not get through, in RFC 6750's terms.
#[derive(Debug)]
enum BearerError {
    /// No bearer credentials at all: the challenge carries no error code.
    Missing,
    InvalidRequest(&'static str),
    /// With the token's client id when its signature verified, for the log.
    InvalidToken(TokenRejection, Option<String>),
}

impl BearerError {
    fn status(&self) -> StatusCode {
        match self {
            BearerError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            BearerError::Missing | BearerError::InvalidToken(..) => StatusCode::UNAUTHORIZED,
        }
    }

    fn code(&self) -> Option<&'static str> {
        match self {
            BearerError::Missing => None,
            BearerError::InvalidRequest(_) => Some("invalid_request"),
            BearerError::InvalidToken(..) => Some("invalid_token"),
        }
    }

    fn client_id(&self) -> Option<&str> {
        match self {
            BearerError::InvalidToken(_, client_id) => client_id.as_deref(),
            _ => None,
        }
    }

    fn description(&self) -> String {
        match self {
            BearerError::Missing => {
                "this API needs an access token: send Authorization: Bearer <token>".to_owned()
            }
            BearerError::InvalidRequest(description) => (*description).to_owned(),
            BearerError::InvalidToken(rejection, _) => rejection.to_string(),
        }
    }

    fn challenge(&self) -> String {
        match self.code() {
            None => format!("Bearer realm=\"{REALM}\""),
            Some(code) => format!(
                "Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{}\"",
                quote_for_description(&self.description())
            ),
        }
    }
}

#[derive(Serialize)]
struct BearerErrorBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    error_description: &'a str,
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let description = self.description();
        let body = BearerErrorBody {
            error: self.code(),
            error_description: &description,
        };
        let challenge = HeaderValue::from_str(&self.challenge())
            .unwrap_or(HeaderValue::from_static("Bearer realm=\"reged-emulator\""));

        (
            self.status(),
            [(header::WWW_AUTHENTICATE, challenge)],
            Json(body),
        )
            .into_response()
    }
}

/// Finds the bearer token, verifies it and checks that it is bound to the certificate of
/// this connection.
fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    certificate: Option<&ClientCertificate>,
) -> Result<AccessTokenClaims, BearerError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(BearerError::Missing);
    };
    if values.next().is_some() {
        return Err(BearerError::InvalidRequest(
            "the request has more than one Authorization header",
        ));
    }
    let Ok(value) = value.to_str() else {
        return Err(BearerError::InvalidRequest(
            "the Authorization header is not ASCII",
        ));
    };

    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return Err(BearerError::Missing);
    }
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        return Err(BearerError::InvalidRequest(
            "the Authorization header must be Bearer followed by one token",
        ));
    }

    let profile = state.config.profile();
    let claims = state
        .keys
        .verify(token, profile.issuer(), profile.api_audience())
        .map_err(|rejection| BearerError::InvalidToken(rejection, None))?;
    check_binding(&claims, certificate.map(ClientCertificate::thumbprint)).map_err(
        |rejection| BearerError::InvalidToken(rejection, Some(claims.client_id.clone())),
    )?;

    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_token_challenge_has_no_error_code() {
        assert_eq!(
            BearerError::Missing.challenge(),
            "Bearer realm=\"reged-emulator\""
        );
    }

    #[test]
    fn invalid_token_challenge_names_the_error_and_why() {
        let error = BearerError::InvalidToken(TokenRejection::Expired, None);

        assert_eq!(
            error.challenge(),
            "Bearer realm=\"reged-emulator\", error=\"invalid_token\", \
             error_description=\"the access token has expired; get a new one\""
        );
    }
}
