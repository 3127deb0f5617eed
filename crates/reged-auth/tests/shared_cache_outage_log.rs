//! The Redis tier's log during an outage: one warning when it starts, one when it ends.
//!
//! A test binary of its own: it installs a log subscriber, and tests running beside it on other
//! threads would share tracing's per-callsite state.

#[path = "shared_cache/redis_server.rs"]
#[allow(dead_code)]
mod redis_server;

use std::time::{Duration, Instant};

use redis_server::RedisServer;
use reged_auth::cache::redis::{RedisCache, RedisConfig};
use reged_auth::http::parse_ca_bundle;
use reged_auth::{Client, Identity};
use reged_emulator::{DevCerts, Emulator, EmulatorConfig, Profile};
use url::Url;

/// The log lines written while `during` runs, on this thread.
#[derive(Clone, Default)]
struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn outage_is_reported_once_and_its_end_once() {
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut redis = RedisServer::start();
    let certs = DevCerts::generate().unwrap();
    let config = EmulatorConfig::for_dev_certs(&certs, Profile::Uat);
    let emulator = Emulator::start(config, &certs, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let cache = RedisCache::new(
        RedisConfig::new(&redis.url())
            .unwrap()
            .command_timeout(Duration::from_millis(300)),
    )
    .unwrap();
    let pem = format!(
        "{}\n{}",
        certs.client().cert_pem(),
        certs.client().key_pem()
    );
    let client = || {
        Client::builder()
            .token_url(Url::parse(&emulator.token_url()).unwrap())
            .client_id("reged-dev-client")
            .audience("https://uatapi.reged.com")
            .scope("read write")
            .add_root_certificates(parse_ca_bundle(certs.ca_pem().as_bytes(), "ca").unwrap())
            .identity(Identity::from_pem(pem.as_bytes(), "dev client", None).unwrap())
            .shared_cache(cache.clone())
            .build()
            .unwrap()
    };
    let token = client().token().await.unwrap();

    redis.stop();
    for _ in 0..5 {
        client().token().await.unwrap();
    }
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log.text().contains("cache is back") {
        assert!(Instant::now() < deadline, "{}", log.text());
        client().token().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client().token().await.unwrap();

    let text = log.text();
    assert_eq!(text.matches("is unavailable").count(), 1, "{text}");
    assert_eq!(text.matches("cache is back").count(), 1, "{text}");
    assert!(
        !text.contains(token.access_token.secret()),
        "the token reached the logs"
    );
}
