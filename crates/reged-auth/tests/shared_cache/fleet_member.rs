//! A member of a fleet: a separate OS process (this test binary, or the bench, run again) with
//! many concurrent callers of one client that shares a Redis cache.
//!
//! The parent passes the settings in `REGED_FLEET_*` variables, waits until every member is
//! ready, then creates the "go" file; each member prints one line: how many callers got a token,
//! how many different tokens they got and the SHA-256 of the token (never the token).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reged_auth::cache::redis::{RedisCache, RedisConfig};
use reged_auth::http::parse_ca_bundle;
use reged_auth::{Client, Identity};
use sha2::{Digest, Sha256};
use url::Url;

/// What a member needs to know.
#[derive(Clone, Debug)]
pub struct FleetSettings {
    pub token_url: String,
    pub audience: String,
    pub ca: PathBuf,
    pub identity: PathBuf,
    /// Redis URLs; none: no shared cache.
    pub cache: Vec<String>,
    pub cluster: bool,
    pub callers: usize,
    pub lease: Duration,
    /// How often a waiting member looks for the lease holder's token.
    pub poll: Duration,
    pub go: PathBuf,
}

/// One member's answer.
#[derive(Debug)]
pub struct MemberReport {
    pub tokens: usize,
    pub distinct: usize,
    pub digest: String,
    /// When the last caller had its token, in ms since the Unix epoch.
    #[allow(dead_code)] // the bench reads it; the tests share this module
    pub done_at_ms: u128,
}

impl FleetSettings {
    fn to_env(&self, command: &mut Command) {
        command
            .env("REGED_FLEET_MEMBER", "1")
            .env("REGED_FLEET_TOKEN_URL", &self.token_url)
            .env("REGED_FLEET_AUDIENCE", &self.audience)
            .env("REGED_FLEET_CA", &self.ca)
            .env("REGED_FLEET_IDENTITY", &self.identity)
            .env("REGED_FLEET_CACHE", self.cache.join(","))
            .env("REGED_FLEET_CLUSTER", if self.cluster { "1" } else { "0" })
            .env("REGED_FLEET_CALLERS", self.callers.to_string())
            .env("REGED_FLEET_LEASE_MS", self.lease.as_millis().to_string())
            .env("REGED_FLEET_POLL_MS", self.poll.as_millis().to_string())
            .env("REGED_FLEET_GO", &self.go);
    }

    fn from_env() -> Option<Self> {
        std::env::var_os("REGED_FLEET_MEMBER")?;
        let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} missing"));
        let cache = var("REGED_FLEET_CACHE");
        Some(Self {
            token_url: var("REGED_FLEET_TOKEN_URL"),
            audience: var("REGED_FLEET_AUDIENCE"),
            ca: var("REGED_FLEET_CA").into(),
            identity: var("REGED_FLEET_IDENTITY").into(),
            cache: cache
                .split(',')
                .filter(|url| !url.is_empty())
                .map(str::to_owned)
                .collect(),
            cluster: var("REGED_FLEET_CLUSTER") == "1",
            callers: var("REGED_FLEET_CALLERS").parse().unwrap(),
            lease: Duration::from_millis(var("REGED_FLEET_LEASE_MS").parse().unwrap()),
            poll: Duration::from_millis(var("REGED_FLEET_POLL_MS").parse().unwrap()),
            go: var("REGED_FLEET_GO").into(),
        })
    }

    /// The client a member uses.
    pub fn client(&self) -> Client {
        let ca = std::fs::read(&self.ca).unwrap();
        let identity = Identity::from_pem_files(&[&self.identity], None).unwrap();
        let mut builder = Client::builder()
            .token_url(Url::parse(&self.token_url).unwrap())
            .client_id("reged-dev-client")
            .audience(&self.audience)
            .scope("read write")
            .add_root_certificates(parse_ca_bundle(&ca, "dev CA").unwrap())
            .identity(identity);
        if !self.cache.is_empty() {
            let config = if self.cluster {
                RedisConfig::cluster(self.cache.iter().map(String::as_str)).unwrap()
            } else {
                RedisConfig::new(&self.cache[0]).unwrap()
            };
            let config = config.lease_time(self.lease).poll_interval(self.poll);
            builder = builder.shared_cache(RedisCache::new(config).unwrap());
        }
        builder.build().unwrap()
    }
}

/// Starts a member: `program` run again with `args` that select its member entry point.
pub fn spawn(program: &Path, args: &[&str], settings: &FleetSettings) -> Child {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    settings.to_env(&mut command);
    command.spawn().unwrap()
}

/// Waits until `count` members are ready, then lets them all go at once.
pub fn start_together(settings: &FleetSettings, count: usize) {
    let started = Instant::now();
    while ready_files(&settings.go) < count {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "members not ready"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(&settings.go, b"go").unwrap();
}

fn ready_files(go: &Path) -> usize {
    let prefix = format!("{}.ready.", go.file_name().unwrap().to_str().unwrap());
    std::fs::read_dir(go.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .count()
}

/// The report a member printed, once it has exited.
pub fn report(child: Child) -> MemberReport {
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "member failed: {stdout}");
    let line = stdout
        .lines()
        .find_map(|line| Some(&line[line.find("fleet-member ")? + "fleet-member ".len()..]))
        .unwrap_or_else(|| panic!("no report in: {stdout}"));
    let field = |name: &str| {
        line.split(' ')
            .find_map(|part| part.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    MemberReport {
        tokens: field("tokens").parse().unwrap(),
        distinct: field("distinct").parse().unwrap(),
        digest: field("digest"),
        done_at_ms: field("done_at_ms").parse().unwrap(),
    }
}

/// Runs as a member when the variables say so; returns false when they do not.
pub fn run_if_member() -> bool {
    let Some(settings) = FleetSettings::from_env() else {
        return false;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(run(settings));
    true
}

async fn run(settings: FleetSettings) {
    let client = settings.client();
    let ready = settings.go.with_file_name(format!(
        "{}.ready.{}",
        settings.go.file_name().unwrap().to_str().unwrap(),
        std::process::id()
    ));
    std::fs::write(&ready, b"").unwrap();
    while !settings.go.exists() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    let client = Arc::new(client);
    let callers = (0..settings.callers).map(|_| {
        let client = Arc::clone(&client);
        tokio::spawn(async move {
            let token = client.token().await.unwrap();
            hex(&Sha256::digest(token.access_token.secret().as_bytes()))
        })
    });
    let digests: Vec<String> = futures_util::future::join_all(callers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let done_at_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();

    let mut distinct = digests.clone();
    distinct.sort();
    distinct.dedup();
    println!(
        "fleet-member tokens={} distinct={} digest={} done_at_ms={done_at_ms}",
        digests.len(),
        distinct.len(),
        distinct[0],
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
