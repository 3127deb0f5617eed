use std::fmt;
use std::time::Duration;

use url::Url;

use crate::cache::CacheEncryptionKey;

/// The key prefix by default.
pub const DEFAULT_PREFIX: &str = "reged:token:";
/// How long a connection attempt may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
/// How long one command may take by default.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a lease on a token request lasts by default: longer than a token request takes,
/// short enough that a crashed holder delays the others only this much.
pub const DEFAULT_LEASE_TIME: Duration = Duration::from_secs(5);
/// How long an instance waits for another's token request by default before it sends its own:
/// the client's whole-request time-out.
pub const DEFAULT_WAIT_LIMIT: Duration = Duration::from_secs(30);
/// The longest lease any instance takes: see [`RedisConfig::lease_time`].
pub const MAX_LEASE_TIME: Duration = Duration::from_secs(60);
/// How often a waiter looks for the lease holder's token by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Where the shared cache is and how to use it.
///
/// Debug shows the servers without their password, and never the encryption key.
#[derive(Clone)]
pub struct RedisConfig {
    pub(super) nodes: Vec<Url>,
    pub(super) cluster: bool,
    pub(super) prefix: String,
    pub(super) encryption_key: Option<CacheEncryptionKey>,
    pub(super) connect_timeout: Duration,
    pub(super) command_timeout: Duration,
    pub(super) lease_time: Duration,
    pub(super) wait_limit: Duration,
    pub(super) poll_interval: Duration,
    pub(super) tls_roots: Option<Vec<u8>>,
}

/// A cache URL that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cache URL `{shown}`: {reason}")]
pub struct InvalidCacheUrl {
    shown: String,
    reason: String,
}

/// A key prefix that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "the cache key prefix is empty, which would make every key in the Redis database one of the \
     cache's: leave it unset for `{DEFAULT_PREFIX}`, or name a prefix of your own such as \
     `myapp:token:`"
)]
pub struct InvalidCachePrefix {
    _private: (),
}

impl InvalidCacheUrl {
    pub(super) fn new(shown: String, reason: String) -> Self {
        Self { shown, reason }
    }
}

impl RedisConfig {
    /// One Redis server (or a proxy in front of several): `redis://host:port/db` or
    /// `rediss://` for TLS.
    pub fn new(url: &str) -> Result<Self, InvalidCacheUrl> {
        Ok(Self::with_nodes(vec![parse_url(url)?], false))
    }

    /// A Redis Cluster, reached through any of these nodes; the rest are discovered.
    pub fn cluster<'a>(urls: impl IntoIterator<Item = &'a str>) -> Result<Self, InvalidCacheUrl> {
        let nodes = urls
            .into_iter()
            .map(parse_url)
            .collect::<Result<Vec<_>, _>>()?;
        if nodes.is_empty() {
            return Err(InvalidCacheUrl {
                shown: String::new(),
                reason: "a cluster needs at least one node".into(),
            });
        }
        Ok(Self::with_nodes(nodes, true))
    }

    fn with_nodes(nodes: Vec<Url>, cluster: bool) -> Self {
        Self {
            nodes,
            cluster,
            prefix: DEFAULT_PREFIX.to_owned(),
            encryption_key: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            lease_time: DEFAULT_LEASE_TIME,
            wait_limit: DEFAULT_WAIT_LIMIT,
            poll_interval: DEFAULT_POLL_INTERVAL,
            tls_roots: None,
        }
    }

    /// The prefix of every key this cache writes; `reged:token:` by default.
    ///
    /// An empty prefix is refused: the cache's keys would then be spread among every other key
    /// of the database, and listing or clearing the cache would have to look at all of them.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Result<Self, InvalidCachePrefix> {
        let prefix = prefix.into();
        if prefix.is_empty() {
            return Err(InvalidCachePrefix { _private: () });
        }
        self.prefix = prefix;
        Ok(self)
    }

    /// Seals every token with this key instead of one derived from each client's private key.
    pub fn encryption_key(mut self, key: CacheEncryptionKey) -> Self {
        self.encryption_key = Some(key);
        self
    }

    /// How long a connection attempt may take; 1 s by default.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one command may take before the cache counts as unavailable; 500 ms by default.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// How long the lease on a token request lasts without renewal; 5 s by default. Its holder
    /// renews it every third of that while its request is under way, so this is how long a
    /// crashed holder delays the others: its lease expires, and one of them takes it over.
    ///
    /// Kept between 3 ms and [`MAX_LEASE_TIME`]: any live lease of any instance is at most that
    /// long, whatever each instance's setting, so a longer-lived value at a lease's name is
    /// garbage to all of them.
    pub fn lease_time(mut self, lease_time: Duration) -> Self {
        self.lease_time = lease_time.clamp(Duration::from_millis(3), MAX_LEASE_TIME);
        self
    }

    /// How long an instance waits for a live lease holder's token before it sends a token
    /// request of its own; 30 s by default.
    /// At most an hour.
    pub fn wait_limit(mut self, limit: Duration) -> Self {
        self.wait_limit = limit.min(Duration::from_secs(3600));
        self
    }

    /// How often a waiting instance looks for the token; 10 ms by default.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// For `rediss://`: trusts the CA certificates in `pem` instead of the system's. The server
    /// certificate and its host name are always verified.
    pub fn tls_root_certificates(mut self, pem: Vec<u8>) -> Self {
        self.tls_roots = Some(pem);
        self
    }

    /// True for a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// The servers, as they may be shown: without password.
    pub fn shown_nodes(&self) -> String {
        self.nodes.iter().map(shown).collect::<Vec<_>>().join(",")
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("nodes", &self.shown_nodes())
            .field("cluster", &self.cluster)
            .field("prefix", &self.prefix)
            .field("encryption_key", &self.encryption_key)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("lease_time", &self.lease_time)
            .field("wait_limit", &self.wait_limit)
            .field("poll_interval", &self.poll_interval)
            .field("tls_roots", &self.tls_roots.as_ref().map(|_| "custom"))
            .finish()
    }
}

fn parse_url(text: &str) -> Result<Url, InvalidCacheUrl> {
    let text = text.trim();
    let url = Url::parse(text).map_err(|error| InvalidCacheUrl {
        shown: without_userinfo_text(text),
        reason: format!("not a URL ({error}); write redis://host:port or rediss://host:port"),
    })?;
    if !matches!(url.scheme(), "redis" | "rediss") {
        return Err(InvalidCacheUrl {
            shown: without_userinfo_text(text),
            reason: "the scheme must be redis:// or rediss:// (TLS)".into(),
        });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(InvalidCacheUrl {
            shown: shown(&url),
            reason: "no host; write redis://host:port/db, or rediss://host:port/db for TLS".into(),
        });
    }
    Ok(url)
}

/// The URL without its password.
pub(super) fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("[redacted]"));
    }
    shown.to_string()
}

/// What can be shown of text that did not parse as a URL: nothing before an `@`.
fn without_userinfo_text(text: &str) -> String {
    match text.rsplit_once('@') {
        Some((_, host)) => format!("[redacted]@{host}"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password_and_the_key() {
        let config = RedisConfig::new("redis://user:hunter2@cache.internal:6379/0")
            .unwrap()
            .encryption_key(CacheEncryptionKey::from_bytes([7; 32]));

        let shown = format!("{config:?}");

        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("cache.internal:6379"), "{shown}");
        assert!(shown.contains("CacheEncryptionKey([redacted])"), "{shown}");
        assert!(!shown.contains("[7, 7"), "{shown}");
    }

    #[test]
    fn a_url_that_is_not_redis_is_refused_with_the_fix() {
        let error = RedisConfig::new("http://cache:6379")
            .unwrap_err()
            .to_string();
        assert!(error.contains("redis:// or rediss://"), "{error}");

        let error = RedisConfig::new("cache:6379 with:hunter2@x")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn a_url_without_a_host_names_the_expected_form() {
        let error = RedisConfig::new("redis://").unwrap_err().to_string();

        assert!(error.contains("no host"), "{error}");
        assert!(error.contains("redis://host:port/db"), "{error}");
    }

    #[test]
    fn an_empty_prefix_is_refused() {
        let config = RedisConfig::new("redis://cache.internal:6379").unwrap();

        let error = config.clone().prefix("").unwrap_err().to_string();

        assert!(error.contains("prefix is empty"), "{error}");
        assert_eq!(config.prefix("app:").unwrap().prefix, "app:");
    }

    #[test]
    fn an_empty_cluster_is_refused() {
        assert!(RedisConfig::cluster([]).is_err());
    }
}
