//! One key's place in the shared cache: read, lease, wait, write, evict.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant, SystemTime};

use redis::Script;

use super::config::MAX_LEASE_TIME;
use super::connection::CommandFailure;
use super::stored::Stored;
use super::{RedisCache, names};
use crate::cache::sealed::{Sealer, UnreadableValue};
use crate::cache::{CacheEncryptionKey, CacheKey, CachedToken};
use crate::token::TokenError;

/// Deletes `KEYS[1]` only while it still holds `ARGV[1]`: a lease is released only by its
/// holder, a token evicted only if no other instance has replaced it. A key of another type
/// than string is left alone (a GET of it would fail the script).
pub(super) static COMPARE_AND_DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('TYPE', KEYS[1]).ok == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// Takes the lease `KEYS[1]` with the value `ARGV[1]` for `ARGV[2]` ms, unless a live lease
/// holds it: answers 1 when taken, 2 when taken in place of a value that was no lease, 0 when
/// another instance holds it.
///
/// A live lease is a string of 32 lower-case hex digits with an expiry no longer than
/// `ARGV[3]` ms, the longest lease any instance takes, as this script writes it. `PTTL` answers 0 in a lease's last millisecond: that is
/// still a live lease. Anything else at the lease's name (a hash, a value without expiry or
/// with a longer one) would make every instance wait the whole wait limit and then fetch on its
/// own, at every cold start, for as long as it stays: it is replaced instead.
static TAKE_LEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
end
local left = redis.call('PTTL', KEYS[1])
if kind == 'string' and left >= 0 and left <= tonumber(ARGV[3]) then
    local held = redis.call('GET', KEYS[1])
    if string.len(held) == 32 and not string.find(held, '[^0-9a-f]') then
        return 0
    end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 2
",
    )
});

/// One key's entry in a [`RedisCache`], sealed with one encryption key.
///
/// Every failure of Redis is logged (once per outage) and treated as a miss: nothing here fails
/// the caller.
#[derive(Clone)]
pub struct RedisEntry {
    cache: Arc<RedisCache>,
    key: CacheKey,
    name: String,
    lease_name: String,
    sealer: Sealer,
    /// Set once an unusable value has been reported: a waiter polls, and one warning will do.
    reported_unreadable: Arc<AtomicBool>,
}

enum Read {
    Hit(CachedToken),
    Miss,
    Unavailable,
}

enum Turn {
    Hit(CachedToken),
    /// This instance holds the lease: it fetches and writes.
    Leased(Lease),
    /// The holder did not deliver in time: fetch without a lease, and write.
    Alone,
    /// Redis is unavailable: fetch, and do not try to write.
    Unavailable,
}

/// A lease on the token request for one key, held while its random value is in Redis.
struct Lease {
    value: String,
}

impl RedisEntry {
    pub(super) fn new(
        cache: Arc<RedisCache>,
        key: &CacheKey,
        encryption_key: CacheEncryptionKey,
    ) -> Self {
        let name = cache.entry_name(key);
        Self {
            lease_name: names::lease_name(&name),
            name,
            key: key.clone(),
            cache,
            sealer: Sealer::new(&encryption_key),
            reported_unreadable: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The name of the entry in Redis.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The token in Redis, while it is fresh and opens with this entry's key.
    pub async fn get(&self) -> Option<CachedToken> {
        match self.read().await {
            Read::Hit(token) => Some(token),
            Read::Miss | Read::Unavailable => None,
        }
    }

    /// The token in Redis, or the token that one instance of the fleet fetches for all.
    ///
    /// On a miss this instance takes the lease and calls `fetch`, renewing the lease while the
    /// request is under way, or waits for the instance that holds it. A holder that dies stops
    /// renewing, its lease expires within the lease time, and a waiter takes it over. `fetch` is
    /// called without a lease when Redis is unavailable or when no token came within the wait
    /// limit. A fetched token is written to Redis; an error is returned and never stored.
    pub async fn get_or_fetch<F, Fut>(&self, fetch: F) -> Result<CachedToken, TokenError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<CachedToken, TokenError>>,
    {
        let lease = match self.wait_for_turn().await {
            Turn::Hit(token) => return Ok(token),
            Turn::Leased(lease) => Some(lease),
            Turn::Alone => None,
            Turn::Unavailable => return fetch().await,
        };

        // If every caller of this request is cancelled, the lease is not released: it expires
        // within the lease time, and the others take it over then.
        let fetched = match &lease {
            Some(lease) => {
                let fetch = std::pin::pin!(fetch());
                tokio::select! {
                    fetched = fetch => fetched,
                    never = self.renew(lease) => match never {},
                }
            }
            None => fetch().await,
        };
        if let Ok(token) = &fetched {
            self.insert(token).await;
        }
        if let Some(lease) = lease {
            self.release(lease).await;
        }
        fetched
    }

    /// Writes `token`, to expire from Redis when its cached life ends. A token with no life
    /// left is not written.
    pub async fn insert(&self, token: &CachedToken) {
        let ttl_ms = remaining_ms(token.fresh_until());
        if ttl_ms == 0 {
            return;
        }
        let value = self.sealer.seal(&self.name, &self.key, token);

        let written: Result<(), _> = self
            .cache
            .connection
            .query(
                redis::cmd("SET")
                    .arg(&self.name)
                    .arg(value)
                    .arg("PX")
                    .arg(ttl_ms),
            )
            .await;
        if written.is_ok() {
            tracing::debug!(entry = %self.name, ttl_ms, "token written to the shared cache");
        }
    }

    /// Removes `stale` from Redis, unless another token has replaced it there.
    pub async fn evict(&self, stale: &CachedToken) {
        // A hash or a list in its place: nothing of ours to evict.
        let Ok(Stored::Bytes { value, .. }) = self.cache.connection.read(&self.name).await else {
            return;
        };
        let holds_stale = self
            .sealer
            .open_times(&self.name, &value)
            .is_ok_and(|(_, token)| token.secret() == stale.access_token.secret());
        if holds_stale {
            self.compare_and_delete(&self.name, &value).await;
            tracing::debug!(entry = %self.name, "token evicted from the shared cache");
        }
    }

    async fn wait_for_turn(&self) -> Turn {
        let lease = Lease::random();
        let wait_limit = self.cache.config.wait_limit;
        let deadline = Instant::now() + wait_limit;

        loop {
            match self.read().await {
                Read::Hit(token) => return Turn::Hit(token),
                Read::Unavailable => return Turn::Unavailable,
                Read::Miss => {}
            }
            match self.take(&lease).await {
                Ok(true) => {
                    // The previous holder may have written and released between our read and
                    // our lease: look once more before asking the token endpoint.
                    if let Read::Hit(token) = self.read().await {
                        self.release(lease).await;
                        return Turn::Hit(token);
                    }
                    return Turn::Leased(lease);
                }
                Ok(false) => {}
                Err(_) => return Turn::Unavailable,
            }
            if Instant::now() >= deadline {
                tracing::warn!(
                    entry = %self.name,
                    waited_ms = wait_limit.as_millis() as u64,
                    "the instance holding the token lease did not deliver; fetching directly"
                );
                return Turn::Alone;
            }
            tokio::time::sleep(self.cache.config.poll_interval).await;
        }
    }

    async fn read(&self) -> Read {
        let (value, left) = match self.cache.connection.read(&self.name).await {
            Ok(Stored::Bytes {
                value,
                remaining: Some(left),
            }) => (value, left),
            Ok(Stored::Absent) => return Read::Miss,
            // Found in review: this was replaced without the warning other garbage gets.
            Ok(Stored::Bytes { .. }) => {
                self.report_unusable(&"the value has no expiry, so this crate did not write it");
                return Read::Miss;
            }
            // Redis answered, about the value: a miss, and the write replaces it.
            Ok(Stored::Unusable { reason, .. }) => {
                self.report_unusable(&reason);
                return Read::Miss;
            }
            Err(_) => return Read::Unavailable,
        };
        if left.is_zero() {
            return Read::Miss;
        }

        match self.restore(&value, left) {
            Ok(Some(token)) => Read::Hit(token),
            Ok(None) => Read::Miss,
            Err(unreadable) => {
                self.report_unusable(&unreadable);
                Read::Miss
            }
        }
    }

    /// Warns of the unusable value at this entry's name, once: a waiter reads it at every poll.
    fn report_unusable(&self, reason: &dyn std::fmt::Display) {
        if !self.reported_unreadable.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                entry = %self.name,
                reason = %reason,
                "unusable value in the shared cache; treating it as a miss and replacing it"
            );
        }
    }

    /// The token of `value`, served no longer than Redis keeps it (`left`).
    fn restore(
        &self,
        value: &[u8],
        left: Duration,
    ) -> Result<Option<CachedToken>, UnreadableValue> {
        let (label, access_token) = self.sealer.open_times(&self.name, value)?;
        // Times from Redis are untrusted: a sum that does not fit makes the token stale, never
        // a panic.
        let now = SystemTime::now();
        let fresh_until = label
            .fresh_until()
            .min(now.checked_add(left).unwrap_or(now));
        let requested_at = SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_millis(label.requested_at_ms))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let token = CachedToken::restored(
            access_token,
            label.granted_scope,
            Duration::from_millis(label.expires_in_ms),
            requested_at,
            fresh_until,
        );
        Ok(token.is_fresh().then_some(token))
    }

    async fn take(&self, lease: &Lease) -> Result<bool, CommandFailure> {
        let lease_ms = self.cache.config.lease_time.as_millis() as u64;
        let mut invocation = TAKE_LEASE.key(&self.lease_name);
        invocation
            .arg(&lease.value)
            .arg(lease_ms.max(1))
            .arg(MAX_LEASE_TIME.as_millis() as u64);
        let answer: i64 = self.cache.connection.invoke(&invocation).await?;
        if answer == 2 {
            tracing::warn!(
                lease = %self.lease_name,
                "unusable value at a lease's name in the shared cache; replaced it with a lease"
            );
        }
        Ok(answer != 0)
    }

    /// Extends the lease every third of its time while it is still ours; never returns, and
    /// stops renewing once the lease is lost or Redis fails.
    async fn renew(&self, lease: &Lease) -> Infallible {
        let lease_ms = self.cache.config.lease_time.as_millis() as u64;
        loop {
            tokio::time::sleep(self.cache.config.lease_time / 3).await;
            let mut invocation = COMPARE_AND_EXTEND.key(&self.lease_name);
            invocation.arg(&lease.value).arg(lease_ms.max(1));
            let renewed: Result<i64, _> = self.cache.connection.invoke(&invocation).await;
            if !matches!(renewed, Ok(1)) {
                return std::future::pending().await;
            }
        }
    }

    async fn release(&self, lease: Lease) {
        self.compare_and_delete(&self.lease_name, lease.value.as_bytes())
            .await;
    }

    async fn compare_and_delete(&self, name: &str, expected: &[u8]) {
        let mut invocation = COMPARE_AND_DELETE.key(name);
        invocation.arg(expected);
        let _: Result<i64, _> = self.cache.connection.invoke(&invocation).await;
    }
}

/// Extends `KEYS[1]` to `ARGV[2]` ms only while it still holds `ARGV[1]`.
static COMPARE_AND_EXTEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('TYPE', KEYS[1]).ok == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
",
    )
});

impl Lease {
    fn random() -> Self {
        let bytes: [u8; names::LEASE_VALUE_HEX_LEN / 2] = rand::random();
        Self {
            value: bytes.iter().map(|byte| format!("{byte:02x}")).collect(),
        }
    }
}

fn remaining_ms(until: SystemTime) -> u64 {
    until
        .duration_since(SystemTime::now())
        .map(|left| left.as_millis() as u64)
        .unwrap_or(0)
}

impl std::fmt::Debug for RedisEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisEntry")
            .field("name", &self.name)
            .field("sealer", &self.sealer)
            .finish()
    }
}
