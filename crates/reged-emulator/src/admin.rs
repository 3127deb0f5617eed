//! The admin endpoint: plain HTTP on loopback, for changing faults and rotating the signing
//! key while the emulator runs (`reged emulator faults ...`).
//!
//! Every request needs `Authorization: Bearer <admin token>`; the token is random per start
//! and `reged emulator` writes it to a file only its owner can read.
//!
//! - `GET /faults`: the faults in force, as JSON ([`FaultSettings`]).
//! - `PUT /faults`: puts the JSON body in force; 400 with the reason when it is not valid.
//! - `DELETE /faults`: back to no faults.
//! - `POST /signing-key/rotate?overlap_s=N`: a new signing key; the old one stays published
//!   for N seconds (0 drops it at once).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::app::AppState;
use crate::faults::FaultSettings;

/// The secret that admin requests carry. Its Debug output is redacted.
#[derive(Clone)]
pub struct AdminToken(String);

impl AdminToken {
    /// A new random token: 256 bits from the TLS provider's secure random generator, hex.
    pub fn generate() -> Result<AdminToken, crate::EmulatorError> {
        let mut bytes = [0u8; 32];
        rustls::crypto::aws_lc_rs::default_provider()
            .secure_random
            .fill(&mut bytes)
            .map_err(|_| crate::EmulatorError::Random)?;
        let token = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        bytes.zeroize();
        Ok(AdminToken(token))
    }

    /// Takes a token read from a file or the environment.
    pub fn from_secret(secret: impl Into<String>) -> AdminToken {
        AdminToken(secret.into())
    }

    /// The token, to write into the owner-only file or to send.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn matches(&self, presented: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }
}

impl Drop for AdminToken {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken([redacted])")
    }
}

/// Where the admin endpoint listens, and its token.
#[derive(Clone, Debug)]
pub struct AdminSettings {
    /// A loopback address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The token requests must carry.
    pub token: AdminToken,
}

#[derive(Clone)]
struct AdminState {
    app: Arc<AppState>,
    token: AdminToken,
}

pub(crate) fn router(app: Arc<AppState>, token: AdminToken) -> Router {
    let state = AdminState { app, token };

    Router::new()
        .route(
            "/faults",
            get(show_faults).put(set_faults).delete(clear_faults),
        )
        .route("/signing-key/rotate", post(rotate_key))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .with_state(state)
}

async fn require_token(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));

    match presented {
        Some(presented) if state.token.matches(presented) => next.run(request).await,
        _ => {
            tracing::info!(path = request.uri().path(), "admin request refused");
            (
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    "Bearer realm=\"reged-emulator-admin\"",
                )],
                "the admin endpoint needs the admin token of this emulator\n",
            )
                .into_response()
        }
    }
}

async fn show_faults(State(state): State<AdminState>) -> Response {
    Json(state.app.faults.get()).into_response()
}

async fn set_faults(State(state): State<AdminState>, body: Bytes) -> Response {
    let faults: FaultSettings = match serde_json::from_slice(&body) {
        Ok(faults) => faults,
        Err(error) => return bad_request(format!("the faults are not valid JSON: {error}")),
    };
    if let Err(invalid) = state.app.faults.set(faults) {
        return bad_request(invalid.to_string());
    }

    let faults = state.app.faults.get();
    tracing::info!(?faults, "faults changed by the admin endpoint");
    Json(faults).into_response()
}

async fn clear_faults(State(state): State<AdminState>) -> Response {
    let _ = state.app.faults.set(FaultSettings::default());
    tracing::info!("faults cleared by the admin endpoint");
    Json(state.app.faults.get()).into_response()
}

#[derive(Deserialize)]
struct RotateQuery {
    overlap_s: Option<u64>,
}

/// The longest overlap a rotation may have: a week is far beyond the life of any token.
const MAX_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);

async fn rotate_key(State(state): State<AdminState>, Query(query): Query<RotateQuery>) -> Response {
    let overlap = Duration::from_secs(query.overlap_s.unwrap_or(0));
    if overlap > MAX_OVERLAP {
        return bad_request(format!(
            "overlap_s must be at most {} (7 days)",
            MAX_OVERLAP.as_secs()
        ));
    }

    match state.app.keys.rotate(overlap) {
        Ok(()) => {
            let kid = state.app.keys.current_kid();
            tracing::info!(
                kid,
                overlap_s = overlap.as_secs(),
                "signing key rotated by the admin endpoint"
            );
            Json(serde_json::json!({ "kid": kid, "overlap_s": overlap.as_secs() })).into_response()
        }
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

fn bad_request(reason: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": reason })),
    )
        .into_response()
}
