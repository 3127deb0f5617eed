//! Fault injection: latency, failure answers, connections closed mid-response, a token
//! lifetime override and a clock offset, to rehearse what clients meet in production.
//!
//! Set at start (in the configuration) and changed at run time (the admin endpoint, or
//! [`RunningEmulator::set_faults`](crate::RunningEmulator::set_faults)).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};

use crate::app::{AppState, TOKEN_PATH};
use crate::config::MAX_TOKEN_LIFETIME;

/// The failure statuses that can be injected.
pub const FAILURE_STATUSES: [u16; 4] = [500, 502, 503, 429];

/// Which requests faults apply to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultTarget {
    /// Every request.
    #[default]
    All,
    /// The token endpoint only.
    Token,
    /// The API (`/v1/...`) only.
    Api,
}

/// The faults in force. The default injects nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSettings {
    /// Which requests the latency, failures and closed connections apply to.
    pub target: FaultTarget,
    /// Added before each answer, in milliseconds (at most 60000).
    pub latency_ms: u64,
    /// The share of requests, 0 to 1, answered with `failure_status` instead.
    pub failure_rate: f64,
    /// 500, 502 (with an HTML body, as a proxy sends), 503, or 429 (with `Retry-After`).
    pub failure_status: u16,
    /// The `Retry-After` of 429 and 503 answers, in seconds.
    pub retry_after_s: u64,
    /// The share of requests, 0 to 1, whose connection is closed halfway through the answer.
    pub close_rate: f64,
    /// The lifetime of every token issued, in seconds, instead of the configured one.
    pub token_lifetime_s: Option<u64>,
    /// Shifts the emulator's clock (issuing and checking tokens), in seconds.
    pub clock_offset_s: i64,
}

impl Default for FaultSettings {
    fn default() -> FaultSettings {
        FaultSettings {
            target: FaultTarget::All,
            latency_ms: 0,
            failure_rate: 0.0,
            failure_status: 503,
            retry_after_s: 1,
            close_rate: 0.0,
            token_lifetime_s: None,
            clock_offset_s: 0,
        }
    }
}

/// Why fault settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidFaults(String);

impl FaultSettings {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), InvalidFaults> {
        let rate = |name: &str, rate: f64| {
            if (0.0..=1.0).contains(&rate) {
                Ok(())
            } else {
                Err(InvalidFaults(format!(
                    "{name} must be between 0 and 1, not {rate}"
                )))
            }
        };
        rate("failure_rate", self.failure_rate)?;
        rate("close_rate", self.close_rate)?;
        if !FAILURE_STATUSES.contains(&self.failure_status) {
            return Err(InvalidFaults(format!(
                "failure_status must be one of 500, 502, 503, 429, not {}",
                self.failure_status
            )));
        }
        if self.latency_ms > 60_000 {
            return Err(InvalidFaults("latency_ms must be 60000 at most".into()));
        }
        if let Some(seconds) = self.token_lifetime_s
            && (seconds == 0 || seconds > MAX_TOKEN_LIFETIME.as_secs())
        {
            return Err(InvalidFaults(format!(
                "token_lifetime_s must be between 1 and {} (ten years), not {seconds}",
                MAX_TOKEN_LIFETIME.as_secs()
            )));
        }
        if self.retry_after_s > 86_400 {
            return Err(InvalidFaults(format!(
                "retry_after_s must be 86400 (a day) at most, not {}",
                self.retry_after_s
            )));
        }
        if self.clock_offset_s.unsigned_abs() > 10 * 365 * 24 * 3600 {
            return Err(InvalidFaults(
                "clock_offset_s must be within ten years".into(),
            ));
        }
        Ok(())
    }
}

/// The settings in force, shared by the handlers and the admin endpoint.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    settings: RwLock<FaultSettings>,
}

impl Faults {
    pub(crate) fn new(settings: FaultSettings) -> Faults {
        Faults {
            settings: RwLock::new(settings),
        }
    }

    pub(crate) fn get(&self) -> FaultSettings {
        self.settings
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }

    pub(crate) fn set(&self, settings: FaultSettings) -> Result<(), InvalidFaults> {
        settings.validate()?;
        *self
            .settings
            .write()
            .unwrap_or_else(|poison| poison.into_inner()) = settings;
        Ok(())
    }

    /// The clock offset in seconds.
    pub(crate) fn clock_offset(&self) -> i64 {
        self.settings
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .clock_offset_s
    }
}

/// Unix seconds shifted by `offset`.
pub(crate) fn shifted(now: u64, offset: i64) -> u64 {
    now.saturating_add_signed(offset)
}

/// The middleware: latency, then maybe a failure answer, then maybe a truncated answer.
pub(crate) async fn inject(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let settings = state.faults.get();
    let path = request.uri().path();
    let disturbs =
        settings.latency_ms > 0 || settings.failure_rate > 0.0 || settings.close_rate > 0.0;
    let applies = disturbs
        && match settings.target {
            FaultTarget::All => true,
            FaultTarget::Token => path == TOKEN_PATH,
            FaultTarget::Api => path.starts_with("/v1/"),
        };
    if !applies {
        return next.run(request).await;
    }
    let started = Instant::now();
    let path = path.to_owned();

    if settings.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(settings.latency_ms)).await;
    }
    if settings.failure_rate > 0.0 && fastrand::f64() < settings.failure_rate {
        let response = failure(&settings);
        tracing::info!(
            path,
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_millis() as u64,
            fault = "failure",
            "fault injected"
        );
        return response;
    }
    let response = next.run(request).await;
    if settings.close_rate > 0.0 && fastrand::f64() < settings.close_rate {
        tracing::info!(
            path,
            status = response.status().as_u16(),
            fault = "closed mid-response",
            "fault injected"
        );
        return truncated(response).await;
    }
    response
}

fn failure(settings: &FaultSettings) -> Response {
    let retry_after = HeaderValue::from(settings.retry_after_s);
    match settings.failure_status {
        502 => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/html"))],
            "<html><head><title>502 Bad Gateway</title></head>\
             <body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>\
             </body></html>\n",
        )
            .into_response(),
        429 => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after)],
            // Registered codes (RFC 6749 section 4.1.2.1), as RegEd's gateway would send.
            axum::Json(serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": "too many requests"
            })),
        )
            .into_response(),
        503 => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, retry_after)],
            axum::Json(serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": "the service is unavailable"
            })),
        )
            .into_response(),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({"error": "server_error"})),
        )
            .into_response(),
    }
}

/// The answer's head and the first half of its body, then an error that makes hyper drop
/// the connection (HTTP/1.1) or reset the stream (HTTP/2).
async fn truncated(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    // Streamed bodies are cut as they flow; only a body of unknown length is read first.
    let (length, data) = match HttpBody::size_hint(&body).exact() {
        Some(length) => (length, StreamExt::boxed(body.into_data_stream())),
        None => {
            let bytes = body
                .collect()
                .await
                .map(|collected| collected.to_bytes())
                .unwrap_or_default();
            let length = bytes.len() as u64;
            (
                length,
                StreamExt::boxed(futures_util::stream::iter([Ok(bytes)])),
            )
        }
    };
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length.max(2)));

    let cut = Cut {
        data,
        sent: 0,
        keep: length / 2,
        over: false,
    };
    let chunks = futures_util::stream::unfold(cut, Cut::next);
    Response::from_parts(parts, Body::from_stream(chunks))
}

/// The first half of a body, then an error that makes the server drop the connection (HTTP/1)
/// or reset the stream (HTTP/2).
struct Cut {
    data: futures_util::stream::BoxStream<'static, Result<Bytes, axum::Error>>,
    sent: u64,
    keep: u64,
    over: bool,
}

/// How long the cut waits before it breaks the answer: an HTTP/2 reset discards the DATA
/// frames still queued in the server, so those sent must have left first.
const FLUSH_PAUSE: Duration = Duration::from_millis(50);

impl Cut {
    async fn next(mut self) -> Option<(Result<Bytes, std::io::Error>, Cut)> {
        if self.over {
            return None;
        }
        if self.sent < self.keep {
            match self.data.next().await {
                Some(Ok(mut chunk)) => {
                    let room = usize::try_from(self.keep - self.sent).unwrap_or(usize::MAX);
                    chunk.truncate(room);
                    self.sent += chunk.len() as u64;
                    return Some((Ok(chunk), self));
                }
                Some(Err(error)) => {
                    self.over = true;
                    return Some((Err(std::io::Error::other(error)), self));
                }
                None => {}
            }
        }

        tokio::time::sleep(FLUSH_PAUSE).await;
        self.over = true;
        let closed = std::io::Error::other("connection closed by fault injection");
        Some((Err(closed), self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_are_valid_and_inject_nothing() {
        let settings = FaultSettings::default();

        assert_eq!(settings.validate(), Ok(()));
        assert_eq!(settings.failure_rate, 0.0);
        assert_eq!(settings.latency_ms, 0);
    }

    #[test]
    fn lifetime_and_retry_after_beyond_their_bounds_are_refused() {
        let endless = FaultSettings {
            token_lifetime_s: Some(u64::MAX),
            ..FaultSettings::default()
        };
        let patient = FaultSettings {
            retry_after_s: 99_999_999_999,
            ..FaultSettings::default()
        };

        assert!(
            endless
                .validate()
                .unwrap_err()
                .to_string()
                .starts_with("token_lifetime_s must be between 1 and 315360000")
        );
        assert!(
            patient
                .validate()
                .unwrap_err()
                .to_string()
                .starts_with("retry_after_s must be 86400")
        );
    }

    #[test]
    fn out_of_range_settings_are_refused_with_the_field_named() {
        let bad_rate = FaultSettings {
            failure_rate: 1.5,
            ..FaultSettings::default()
        };
        let bad_status = FaultSettings {
            failure_status: 418,
            ..FaultSettings::default()
        };

        assert_eq!(
            bad_rate.validate().unwrap_err().to_string(),
            "failure_rate must be between 0 and 1, not 1.5"
        );
        assert!(
            bad_status
                .validate()
                .unwrap_err()
                .to_string()
                .contains("not 418")
        );
    }

    #[test]
    fn nan_rate_is_refused() {
        let settings = FaultSettings {
            close_rate: f64::NAN,
            ..FaultSettings::default()
        };

        assert!(settings.validate().is_err());
    }

    #[test]
    fn unknown_field_is_refused() {
        let result: Result<FaultSettings, _> = serde_json::from_str(r#"{"latency":5}"#);

        assert!(
            result
                .unwrap_err()
                .to_string()
                .contains("unknown field `latency`")
        );
    }

    #[test]
    fn clock_shift_saturates_instead_of_wrapping() {
        assert_eq!(shifted(10, -20), 0);
        assert_eq!(shifted(10, 5), 15);
    }
}
