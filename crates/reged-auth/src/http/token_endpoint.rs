use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use url::Url;

use super::hint::{body_hint, transport_hint};
use crate::cache::CachedToken;
use crate::token::{
    LifetimePolicy, TokenEndpointError, TokenError, TokenRequest, parse_token_response,
};

/// The largest token response read; RegEd's are under 2 KiB.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Sends one client credentials request to `token_url` over `http` (whose TLS presents the
/// client certificate) and reads the answer.
///
/// The token's life is counted from the moment before the request is sent.
pub async fn request_token(
    http: &reqwest::Client,
    token_url: &Url,
    request: &TokenRequest,
    policy: &LifetimePolicy,
) -> Result<CachedToken, TokenError> {
    let host = token_url
        .host_str()
        .unwrap_or("the token endpoint")
        .to_owned();
    let transport = |source: reqwest::Error| TokenError::Transport {
        hint: transport_hint(&source, &host),
        // The caller names the token URL; the cause need not repeat it.
        source: source.without_url(),
    };
    let cut_short = |source: reqwest::Error| TokenError::Transport {
        hint: body_hint(&source, &host),
        source: source.without_url(),
    };
    let sent = (Instant::now(), SystemTime::now());

    let response = http
        .post(token_url.clone())
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(request.form_body())
        .send()
        .await
        .map_err(transport)?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let retry_after = retry_after(response.headers());
    let body = read_limited(response).await.map_err(cut_short)?;

    let parsed = parse_token_response(
        status,
        content_type.as_deref(),
        &body,
        policy.default_expires_in,
    )
    .map_err(|error| match error {
        TokenError::Endpoint(refused) => TokenError::Endpoint(TokenEndpointError {
            retry_after,
            ..refused
        }),
        other => other,
    });
    tracing::debug!(
        host = %host,
        status,
        elapsed_ms = sent.0.elapsed().as_millis() as u64,
        ok = parsed.is_ok(),
        "token request"
    );
    let parsed = parsed?;
    if parsed.expires_in_defaulted {
        tracing::warn!(
            host = %host,
            assumed_seconds = policy.default_expires_in.as_secs(),
            "token response has no expires_in; assuming the default lifetime"
        );
    }
    Ok(CachedToken::new(parsed, sent, policy))
}

/// A `Retry-After` in seconds (RFC 9110 section 10.2.3), as 429 and 503 answers carry; the
/// HTTP-date form is rare from token endpoints and is ignored.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_RESPONSE_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    Ok(body)
}
