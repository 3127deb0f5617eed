//! Fault injection: failure answers, latency, closed connections, lifetime and clock.

use std::time::{Duration, Instant};

use reged_emulator::{FaultSettings, FaultTarget, Profile, WHOAMI_PATH};
use serde_json::Value;

use crate::support::{client, fetch_token, jwt_parts, request_token, start, token_form};

fn failing(status: u16, target: FaultTarget) -> FaultSettings {
    FaultSettings {
        target,
        failure_rate: 1.0,
        failure_status: status,
        retry_after_s: 7,
        ..FaultSettings::default()
    }
}

#[tokio::test]
async fn token_endpoint_answers_429_with_retry_after() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    emulator
        .set_faults(failing(429, FaultTarget::Token))
        .unwrap();

    let response = request_token(&client, &emulator, &token_form(&emulator)).await;

    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
}

#[tokio::test]
async fn api_faults_leave_the_token_endpoint_alone() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    emulator.set_faults(failing(503, FaultTarget::Api)).unwrap();

    let token = fetch_token(&client, &emulator).await;
    let response = client
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "7");
}

#[tokio::test]
async fn bad_gateway_comes_with_an_html_body_like_a_proxy_sends() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    emulator.set_faults(failing(502, FaultTarget::All)).unwrap();

    let response = request_token(&client, &emulator, &token_form(&emulator)).await;

    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()["content-type"], "text/html");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<h1>502 Bad Gateway</h1>")
    );
}

#[tokio::test]
async fn server_error_is_500() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    emulator.set_faults(failing(500, FaultTarget::All)).unwrap();

    let response = request_token(&client, &emulator, &token_form(&emulator)).await;

    assert_eq!(response.status(), 500);
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    emulator
        .set_faults(FaultSettings {
            latency_ms: 300,
            ..FaultSettings::default()
        })
        .unwrap();
    let started = Instant::now();

    fetch_token(&client, &emulator).await;

    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn connection_closed_mid_response_is_an_error_for_the_client() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    emulator
        .set_faults(FaultSettings {
            close_rate: 1.0,
            ..FaultSettings::default()
        })
        .unwrap();

    // Over HTTP/2 the stream is reset, which may come before or after the head.
    let sent = client
        .post(emulator.token_url())
        .form(&token_form(&emulator))
        .send()
        .await;
    let body = match sent {
        Ok(response) => response.bytes().await.map(|_| ()),
        Err(error) => Err(error),
    };

    assert!(body.is_err(), "the answer should have been cut");
}

#[tokio::test]
async fn answer_cut_over_http2_delivers_its_first_half_before_the_reset() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;
    emulator
        .set_faults(FaultSettings {
            close_rate: 1.0,
            target: FaultTarget::Api,
            ..FaultSettings::default()
        })
        .unwrap();

    let mut response = client
        .get(emulator.url("/v1/stream?bytes=1000000"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let version = response.version();
    let mut received = 0;
    let ended = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        }
    };

    assert_eq!(version, reqwest::Version::HTTP_2);
    assert!(ended.is_err(), "the answer should have been cut");
    assert_eq!(received, 500_000);
}

#[tokio::test]
async fn lifetime_override_makes_short_tokens() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    emulator
        .set_faults(FaultSettings {
            token_lifetime_s: Some(5),
            ..FaultSettings::default()
        })
        .unwrap();

    let response = request_token(&client, &emulator, &token_form(&emulator)).await;

    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 5);
}

#[tokio::test]
async fn clock_moved_past_the_lifetime_makes_the_api_refuse_the_token_as_expired() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let token = fetch_token(&client, &emulator).await;

    emulator
        .set_faults(FaultSettings {
            clock_offset_s: 901,
            ..FaultSettings::default()
        })
        .unwrap();
    let response = client
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "the access token has expired; get a new one"
    );
}

#[tokio::test]
async fn clock_offset_shifts_the_issued_at_of_new_tokens() {
    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    emulator
        .set_faults(FaultSettings {
            clock_offset_s: -3600,
            ..FaultSettings::default()
        })
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();

    let token = fetch_token(&client, &emulator).await;

    let (_, claims) = jwt_parts(&token);
    let issued_at = claims["iat"].as_u64().unwrap();
    assert!(
        now - issued_at >= 3599 && now - issued_at <= 3610,
        "iat {issued_at}, now {now}"
    );
}

#[tokio::test]
async fn invalid_faults_are_refused_and_the_old_ones_stay() {
    let (_, emulator) = start(Profile::Uat).await;

    let result = emulator.set_faults(FaultSettings {
        failure_status: 404,
        ..FaultSettings::default()
    });

    assert!(result.is_err());
    assert_eq!(emulator.faults(), FaultSettings::default());
}
