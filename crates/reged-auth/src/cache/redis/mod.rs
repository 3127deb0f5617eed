//! The shared tier: tokens in Redis or Redis Cluster, sealed with AES-256-GCM, and a lease so
//! that one instance of a fleet fetches the token the others use.
//!
//! Keys are the prefix and the [`CacheKey`] digest in a hash tag, `reged:token:{<hex>}`, so a
//! token and its lease, `reged:token:{<hex>}:lease`, live on the same cluster slot. A token's
//! entry expires (`PX`) when its cached life ends. The prefix may not be empty, and
//! [`RedisCache::clear`] deletes only the keys of that shape whose value is a sealed token or a
//! lease: other keys that share the prefix are left alone.
//!
//! A value that is not a token this crate can open, of any type (a string sealed with another
//! key, a hash, a list), is a miss and is overwritten by the token fetched; it is logged once per
//! entry and is no outage, since Redis answered. Likewise a value at a lease's name that is not a
//! live lease (a string of 32 hex digits with an expiry) is replaced by the lease of the instance
//! that finds it, so it cannot hold the fleet up until the wait limit.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use reged_auth::cache::redis::{RedisCache, RedisConfig};
//! use reged_auth::{Client, Environment, Identity};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let identity = Identity::from_pem_files(&[Path::new("client.pem")], None)?;
//! let shared = RedisCache::new(RedisConfig::new("redis://cache.internal:6379")?)?;
//! let client = Client::builder()
//!     .environment(Environment::Prod)
//!     .client_id("your-client-id")
//!     .audience("https://api.reged.com")
//!     .scope("read")
//!     .identity(identity)
//!     .shared_cache(shared)
//!     .build()?;
//!
//! // Memory first, then Redis; on a miss in both, one process of the fleet asks for a token.
//! let token = client.token().await?;
//! # drop(token);
//! # Ok(())
//! # }
//! ```
//!
//! Waiting instances poll for the token every [`RedisConfig::poll_interval`] (10 ms) rather than
//! subscribe: a token request happens once per key per cached life, so the poll costs a couple of
//! round trips per waiting process every 10 ms for the length of one request, and needs no second
//! connection (pub/sub would) nor a server setting (keyspace notifications would). The benchmark
//! `benches/shared_cache.rs` measured pub/sub delivering in about 0.1 ms against the poll's 5 ms on
//! average, beside token requests of tens to hundreds of milliseconds, and a cold round of four
//! processes costing about a hundred Redis commands with the 10 ms poll.

mod config;
mod connection;
mod entry;
mod names;
mod stored;

use std::sync::Arc;
use std::time::Duration;

pub use config::{
    DEFAULT_COMMAND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_LEASE_TIME, DEFAULT_POLL_INTERVAL,
    DEFAULT_PREFIX, DEFAULT_WAIT_LIMIT, InvalidCachePrefix, InvalidCacheUrl, MAX_LEASE_TIME,
    RedisConfig,
};
pub use connection::CommandFailure;
pub use entry::RedisEntry;

use self::connection::Connection;
use self::names::OwnName;
use self::stored::Stored;
use super::sealed::{self, TokenLabel};
use super::{CacheEncryptionKey, CacheKey};

/// A token cache in Redis, shared by every process that uses the same server and client
/// identity.
///
/// Opening it does not connect: the first command does, and redis-rs reconnects after a failure.
/// Debug shows the servers without password and never an encryption key.
pub struct RedisCache {
    connection: Connection,
    config: RedisConfig,
}

/// A listing or clearing of the cache that did not complete.
#[derive(Debug)]
pub struct RedisCacheError {
    cache: String,
    source: CommandFailure,
}

impl std::fmt::Display for RedisCacheError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            // The server answered: the credentials are wrong, not the network.
            CommandFailure::CredentialsRefused(_) => write!(
                f,
                "the token cache at {} refused the credentials; check the user name and \
                 password in the URL",
                self.cache
            ),
            CommandFailure::PasswordRequired(_) => write!(
                f,
                "the token cache at {} asks for a password and the URL has none; write \
                 redis://:PASSWORD@host:port/db",
                self.cache
            ),
            // WRONGTYPE, NOPERM, READONLY…: the error itself, in the source, says which.
            failure if failure.is_error_reply() => {
                write!(
                    f,
                    "the token cache at {} answered with an error",
                    self.cache
                )
            }
            _ => write!(f, "the token cache at {} did not answer", self.cache),
        }
    }
}

impl std::error::Error for RedisCacheError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.source {
            // Its message is already in this one's.
            CommandFailure::CredentialsRefused(error) | CommandFailure::PasswordRequired(error) => {
                Some(error)
            }
            other => Some(other),
        }
    }
}

/// What [`RedisCache::clear`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cleared {
    /// The token entries and leases deleted.
    pub deleted: usize,
    /// The keys under the prefix left alone because this crate did not write them.
    pub kept: usize,
}

/// An entry as `reged cache list` shows it: never the token.
#[derive(Clone, Debug)]
pub struct ListedToken {
    /// The entry's name in Redis.
    pub name: String,
    /// Whose token it is and how long it lives; `None` when the value is not one this crate
    /// wrote.
    pub label: Option<TokenLabel>,
    /// How long Redis keeps it; `None` when it has no expiry.
    pub remaining: Option<Duration>,
}

impl RedisCache {
    /// A cache at the servers of `config`.
    pub fn new(config: RedisConfig) -> Result<Arc<Self>, InvalidCacheUrl> {
        let connection = Connection::new(&config).map_err(|error| {
            InvalidCacheUrl::new(config.shown_nodes(), format!("unusable: {error}"))
        })?;
        Ok(Arc::new(Self { connection, config }))
    }

    /// The entry for `key`, sealed with the configured key or else with `derived_key` (by
    /// default derived from the client's private key).
    pub fn entry(self: &Arc<Self>, key: &CacheKey, derived_key: CacheEncryptionKey) -> RedisEntry {
        let encryption_key = self.config.encryption_key.clone().unwrap_or(derived_key);
        RedisEntry::new(Arc::clone(self), key, encryption_key)
    }

    /// The name in Redis of the entry for `key`.
    pub fn entry_name(&self, key: &CacheKey) -> String {
        names::entry_name(&self.config.prefix, &key.digest_hex())
    }

    /// The connection to a single server that this cache uses, for commands of your own (the
    /// benchmark compares a bare GET on it with a cache hit); `None` for a cluster.
    pub fn single_node_connection(&self) -> Option<redis::aio::ConnectionManager> {
        self.connection.single_node()
    }

    /// The configuration.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// Every token entry under the prefix, with what may be shown of it.
    pub async fn list(&self) -> Result<Vec<ListedToken>, RedisCacheError> {
        let mut names = self.names().await?;
        names.retain(|name| !name.ends_with(":lease"));
        names.sort();

        let mut listed = Vec::with_capacity(names.len());
        for name in names {
            let stored = self
                .connection
                .read_quietly(&name)
                .await
                .map_err(|source| self.error(source))?;
            let (label, remaining) = match stored {
                // Gone between the listing and now.
                Stored::Absent => continue,
                Stored::Bytes { value, remaining } => (sealed::read_label(&value).ok(), remaining),
                // A hash, a list or a set: another application's, listed as not a token.
                Stored::Unusable { remaining, .. } => (None, remaining),
            };
            listed.push(ListedToken {
                name,
                label,
                remaining,
            });
        }
        Ok(listed)
    }

    /// Deletes the token entries and leases under the prefix, and only them.
    ///
    /// A key counts as this crate's when its name has the shape of an entry or a lease (the
    /// prefix, then a 64-digit hex digest in braces, then nothing or `:lease`) and its value has
    /// the layout of a sealed token or of a lease. It is deleted only while it still holds the
    /// value checked. Any other key that shares the prefix (`user:1` under the prefix `user`) is
    /// counted in [`Cleared::kept`] and left alone.
    pub async fn clear(&self) -> Result<Cleared, RedisCacheError> {
        let mut cleared = Cleared {
            deleted: 0,
            kept: 0,
        };
        let under_prefix = self.names().await?;
        // One key a command: in a cluster the keys live on different slots.
        for name in &under_prefix {
            let Some(kind) = names::own_name(&self.config.prefix, name) else {
                cleared.kept += 1;
                continue;
            };
            let stored = self
                .connection
                .read_quietly(name)
                .await
                .map_err(|source| self.error(source))?;
            let value = match stored {
                Stored::Bytes { value, .. } => value,
                // Gone since the listing.
                Stored::Absent => continue,
                // A hash, a list or a set: another application's.
                Stored::Unusable { .. } => {
                    cleared.kept += 1;
                    continue;
                }
            };
            let ours = match kind {
                OwnName::Token => sealed::has_sealed_layout(&value),
                OwnName::Lease => names::is_lease_value(&value),
            };
            if !ours {
                cleared.kept += 1;
                continue;
            }
            let mut invocation = entry::COMPARE_AND_DELETE.key(name);
            invocation.arg(&value);
            let removed: usize = self
                .connection
                .invoke_quietly(&invocation)
                .await
                .map_err(|source| self.error(source))?;
            cleared.deleted += removed;
        }
        Ok(cleared)
    }

    /// Every name under the prefix.
    async fn names(&self) -> Result<Vec<String>, RedisCacheError> {
        let pattern = format!("{}*", names::glob_escape(&self.config.prefix));
        if self.config.cluster {
            // KEYS goes to every primary and redis-rs joins the answers. A cluster scan would
            // block no server for long; KEYS over the few keys of a token cache does not either.
            let mut keys = redis::cmd("KEYS");
            keys.arg(&pattern);
            return self
                .connection
                .query_all_primaries(keys)
                .await
                .map_err(|source| self.error(source));
        }

        let mut names = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = self
                .connection
                .query_quietly(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000),
                )
                .await
                .map_err(|source| self.error(source))?;
            names.extend(batch);
            if next == 0 {
                return Ok(names);
            }
            cursor = next;
        }
    }

    fn error(&self, source: CommandFailure) -> RedisCacheError {
        RedisCacheError {
            cache: self.connection.shown_nodes().to_owned(),
            source,
        }
    }
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("config", &self.config)
            .finish()
    }
}
