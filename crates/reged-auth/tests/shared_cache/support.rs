//! An emulator, its certificates written to files for member processes, and clients that share
//! a Redis cache.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reged_auth::cache::CacheEncryptionKey;
use reged_auth::cache::redis::{RedisCache, RedisConfig};
use reged_auth::http::parse_ca_bundle;
use reged_auth::{Client, Identity};
use reged_emulator::{DevCerts, Emulator, EmulatorConfig, Profile, RunningEmulator};
use url::Url;

use crate::fleet_member::FleetSettings;

pub struct Setup {
    pub certs: DevCerts,
    pub emulator: RunningEmulator,
    pub dir: tempfile::TempDir,
}

pub async fn start(profile: Profile) -> Setup {
    start_with(|config| config, profile).await
}

pub async fn start_with(
    adjust: impl FnOnce(EmulatorConfig) -> EmulatorConfig,
    profile: Profile,
) -> Setup {
    let certs = DevCerts::generate().unwrap();
    let config = adjust(EmulatorConfig::for_dev_certs(&certs, profile));
    let emulator = Emulator::start(config, &certs, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = certs.client();
    std::fs::write(
        dir.path().join("client.pem"),
        format!("{}\n{}", client.cert_pem(), client.key_pem()),
    )
    .unwrap();
    std::fs::write(dir.path().join("ca.pem"), certs.ca_pem()).unwrap();
    Setup {
        certs,
        emulator,
        dir,
    }
}

impl Setup {
    pub fn identity(&self) -> Identity {
        Identity::from_pem_files(&[&self.dir.path().join("client.pem")], None).unwrap()
    }

    /// The key a client derives from the dev client's private key.
    pub fn derived_key(&self) -> CacheEncryptionKey {
        let key = self.identity().private_key();
        CacheEncryptionKey::derive_from_private_key(key.secret_der())
    }

    /// A client with its own memory cache, sharing `cache`.
    pub fn client(&self, cache: &Arc<RedisCache>) -> Client {
        self.builder()
            .shared_cache(Arc::clone(cache))
            .build()
            .unwrap()
    }

    pub fn builder(&self) -> reged_auth::http::ClientBuilder {
        Client::builder()
            .token_url(Url::parse(&self.emulator.token_url()).unwrap())
            .api_base(Url::parse(&self.emulator.base_url()).unwrap())
            .client_id("reged-dev-client")
            .audience(self.emulator.api_audience())
            .scope("read write")
            .add_root_certificates(parse_ca_bundle(self.certs.ca_pem().as_bytes(), "ca").unwrap())
            .identity(self.identity())
    }

    /// Settings for member processes of a fleet.
    pub fn fleet(&self, cache: Vec<String>, cluster: bool, callers: usize) -> FleetSettings {
        FleetSettings {
            token_url: self.emulator.token_url(),
            audience: self.emulator.api_audience().to_owned(),
            ca: self.dir.path().join("ca.pem"),
            identity: self.dir.path().join("client.pem"),
            cache,
            cluster,
            callers,
            lease: Duration::from_secs(5),
            poll: Duration::from_millis(10),
            go: self.dir.path().join("go"),
        }
    }
}

/// A cache at one server, with short time-outs so that tests of outages stay quick.
pub fn cache_at(url: &str) -> Arc<RedisCache> {
    RedisCache::new(
        RedisConfig::new(url)
            .unwrap()
            .connect_timeout(Duration::from_millis(300))
            .command_timeout(Duration::from_millis(300)),
    )
    .unwrap()
}

/// A plain redis-rs connection, to look at what the cache wrote.
pub async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// This test binary, to run again as a fleet member.
pub fn this_binary() -> PathBuf {
    std::env::current_exe().unwrap()
}

/// The arguments that make this binary run only the member entry point.
pub const MEMBER_ARGS: &[&str] = &["fleet_member", "--exact", "--nocapture", "--test-threads=1"];
