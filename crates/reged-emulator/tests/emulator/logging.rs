//! What the emulator logs: one line per token request and API call, never a token.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reged_emulator::{Profile, WHOAMI_PATH};
use tracing_subscriber::fmt::MakeWriter;

use crate::support::{client, fetch_token, start, token_form};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// The test runtime has one thread, so the emulator's tasks log to this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn logs_at_trace_level_hold_no_token_and_one_line_per_call() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (certs, emulator) = start(Profile::Uat).await;
    let owner = client(&certs, Some(certs.client()));
    let thief = client(&certs, Some(certs.other_client()));
    let token = fetch_token(&owner, &emulator).await;
    owner
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    thief
        .get(emulator.url(WHOAMI_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    emulator.shutdown().await;

    let logs = captured.text();
    let signature = token.rsplit('.').next().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    assert!(!logs.contains(signature), "a token signature was logged");
    assert!(!logs.contains(payload), "a token payload was logged");
    assert!(!logs.contains("PRIVATE KEY"));
    assert!(!logs.contains(certs.client().key_pem().lines().nth(1).unwrap()));
    assert_eq!(logs.matches("token issued").count(), 1, "{logs}");
    assert_eq!(
        logs.lines()
            .filter(|line| line.contains("api call"))
            .count(),
        2
    );
    assert_eq!(logs.matches("api call refused").count(), 1, "{logs}");
}

#[tokio::test]
async fn refused_token_request_is_logged_under_the_client_id_it_named() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (certs, emulator) = start(Profile::Uat).await;
    let client = client(&certs, Some(certs.client()));
    let mut form = token_form(&emulator);
    form.push(("client_secret", "hunter2".to_owned()));
    client
        .post(emulator.token_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    emulator.shutdown().await;

    let logs = captured.text();
    let refused = logs
        .lines()
        .find(|line| line.contains("token refused"))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(
        refused.contains("client_id=\"reged-dev-client\""),
        "{refused}"
    );
    assert!(!logs.contains("hunter2"), "{logs}");
}
