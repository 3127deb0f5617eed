//! The protected API, behind the [`resource_server`](crate::resource_server) layer: whoami, a
//! read and a write endpoint, an echo, a large streamed body and a slow answer.
//!
//! Every call is logged once, by [`log_api_call`], with the client, the thumbprint prefix,
//! the status and the duration; never the token.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::resource_server::{AccessToken, BearerError, PeerCertificate};

/// The path of the endpoint that tells who the caller is.
pub const WHOAMI_PATH: &str = "/v1/whoami";

/// The path of the endpoint that answers with the request body.
pub const ECHO_PATH: &str = "/v1/echo";

/// The records: `GET` needs scope `read`, `POST` needs scope `write`.
pub const RECORDS_PATH: &str = "/v1/records";

/// A large body, streamed in chunks: `GET /v1/stream?bytes=N` (default 8 MiB, at most 1 GiB).
pub const STREAM_PATH: &str = "/v1/stream";

/// An answer that comes late: `GET /v1/slow?ms=N` (default 2000, at most 60000).
pub const SLOW_PATH: &str = "/v1/slow";

/// The scope `GET /v1/records` needs.
pub const READ_SCOPE: &str = "read";

/// The scope `POST /v1/records` needs.
pub const WRITE_SCOPE: &str = "write";

/// The realm in `WWW-Authenticate` challenges.
pub const REALM: &str = "reged-emulator";

const DEFAULT_STREAM_BYTES: u64 = 8 * 1024 * 1024;
const MAX_STREAM_BYTES: u64 = 1024 * 1024 * 1024;
const STREAM_CHUNK: usize = 64 * 1024;
const DEFAULT_SLOW_MS: u64 = 2000;
const MAX_SLOW_MS: u64 = 60_000;
const MAX_RECORDS: usize = 10_000;

/// The API routes, each behind the bearer token layer with the scopes it needs.
pub(crate) fn routes(state: &AppState) -> Router<Arc<AppState>> {
    let auth = state.resource_server.layer();
    let read = auth.clone().require_scope(READ_SCOPE);
    let write = auth.clone().require_scope(WRITE_SCOPE);

    Router::new()
        .route(WHOAMI_PATH, get(whoami.layer(auth.clone())))
        .route(ECHO_PATH, post(echo.layer(auth.clone())))
        .route(
            RECORDS_PATH,
            get(list_records.layer(read)).post(create_record.layer(write)),
        )
        .route(STREAM_PATH, get(stream.layer(auth.clone())))
        .route(SLOW_PATH, get(slow.layer(auth)))
        .layer(axum::middleware::from_fn(log_api_call))
}

#[derive(Serialize)]
struct Whoami<'a> {
    client_id: &'a str,
    scope: String,
    audience: &'a str,
    thumbprint: Option<&'a str>,
}

async fn whoami(Extension(token): Extension<AccessToken>) -> Response {
    let body = Whoami {
        client_id: &token.client_id,
        scope: token.scope(),
        audience: token.audiences.first().map(String::as_str).unwrap_or(""),
        thumbprint: token.certificate_thumbprint.as_deref(),
    };
    Json(body).into_response()
}

async fn echo(headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A record the write endpoint stored.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Record {
    id: u64,
    created_by: String,
    data: serde_json::Value,
}

async fn list_records(State(state): State<Arc<AppState>>) -> Response {
    let records = state.records().clone();
    Json(serde_json::json!({ "records": records })).into_response()
}

async fn create_record(
    State(state): State<Arc<AppState>>,
    Extension(token): Extension<AccessToken>,
    body: Bytes,
) -> Response {
    let Ok(data) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "the body is not JSON"})),
        )
            .into_response();
    };

    let mut records = state.records();
    if records.len() >= MAX_RECORDS {
        return (
            StatusCode::INSUFFICIENT_STORAGE,
            Json(serde_json::json!({"error": "the emulator holds too many records; restart it"})),
        )
            .into_response();
    }
    let record = Record {
        id: records.len() as u64 + 1,
        created_by: token.client_id,
        data,
    };
    records.push(record.clone());
    (StatusCode::CREATED, Json(record)).into_response()
}

#[derive(Deserialize)]
struct StreamQuery {
    bytes: Option<u64>,
}

async fn stream(Query(query): Query<StreamQuery>) -> Response {
    let total = query
        .bytes
        .unwrap_or(DEFAULT_STREAM_BYTES)
        .min(MAX_STREAM_BYTES);
    let chunk = Bytes::from(vec![b'r'; STREAM_CHUNK]);

    let chunks = futures_util::stream::unfold(total, move |remaining| {
        let chunk = chunk.clone();
        async move {
            if remaining == 0 {
                return None;
            }
            let size = remaining.min(STREAM_CHUNK as u64);
            let piece = chunk.slice(..size as usize);
            Some((Ok::<_, Infallible>(piece), remaining - size))
        }
    });
    (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from_stream(chunks),
    )
        .into_response()
}

#[derive(Deserialize)]
struct SlowQuery {
    ms: Option<u64>,
}

async fn slow(Query(query): Query<SlowQuery>) -> Response {
    let waited_ms = query.ms.unwrap_or(DEFAULT_SLOW_MS).min(MAX_SLOW_MS);
    tokio::time::sleep(Duration::from_millis(waited_ms)).await;
    Json(serde_json::json!({ "waited_ms": waited_ms })).into_response()
}

/// One line per API call: method, path, client, thumbprint prefix, status, duration, and the
/// reason of a refusal. The token layer leaves the verified token or the refusal in the
/// response's extensions.
async fn log_api_call(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let thumbprint = request
        .extensions()
        .get::<PeerCertificate>()
        .map(|certificate| certificate.thumbprint_prefix().to_owned());

    let response = next.run(request).await;

    let client_id = response
        .extensions()
        .get::<AccessToken>()
        .map(|token| token.client_id.as_str())
        .unwrap_or("-");
    let refusal = response.extensions().get::<BearerError>();
    let thumbprint = thumbprint.as_deref().unwrap_or("-");
    let status = response.status().as_u16();
    let duration_ms = started.elapsed().as_millis() as u64;
    match refusal {
        None => tracing::info!(
            %method, path, client_id, thumbprint, status, duration_ms, "api call"
        ),
        Some(refusal) => tracing::info!(
            %method,
            path,
            client_id,
            thumbprint,
            status,
            reason = %refusal,
            duration_ms,
            "api call refused"
        ),
    }
    response
}
