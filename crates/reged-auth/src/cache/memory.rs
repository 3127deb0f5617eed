use std::collections::HashMap;
use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::{ArcSwap, ArcSwapOption, Guard};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use super::{CacheKey, CachedToken};
use crate::token::TokenError;

/// The outcome of one token request, shared by every caller that waited for it.
type Flight = Shared<BoxFuture<'static, Result<Arc<CachedToken>, Arc<TokenError>>>>;

/// An in-process token cache.
///
/// A hit reads two atomic pointers and the clock; it takes no lock and writes no shared memory,
/// so threads do not slow each other down. On a miss, the first caller starts the token request
/// and everyone who arrives before it completes waits for that same request and shares its token
/// or its error. Errors are never stored: the next call after a failure asks again.
#[derive(Default)]
pub struct MemoryCache {
    // Copied on write: a new key is rare (one per client configuration), lookups are constant.
    slots: ArcSwap<HashMap<CacheKey, Arc<Slot>>>,
    adding: Mutex<()>,
}

#[derive(Default)]
struct Slot {
    token: ArcSwapOption<CachedToken>,
    flight: Mutex<Option<Flight>>,
}

impl Slot {
    #[inline]
    fn fresh(&self) -> Option<TokenHandle> {
        let token = self.token.load();
        match token.as_ref() {
            Some(cached) if cached.is_fresh() => Some(TokenHandle(Inner::Loaded(token))),
            _ => None,
        }
    }
}

/// One key's place in a [`MemoryCache`]. A client that always asks for the same key holds one,
/// so that its hits skip the lookup by key.
#[derive(Clone)]
pub struct CacheEntry {
    slot: Arc<Slot>,
}

impl CacheEntry {
    /// The token while it is fresh. This is the hit path: two atomic loads and the coarse clock.
    #[inline]
    pub fn get(&self) -> Option<TokenHandle> {
        self.slot.fresh()
    }

    /// The token, or the result of `fetch` when there is none.
    ///
    /// `fetch` is called only by the caller that starts a token request; it is not called when
    /// another caller's request for the same key is under way.
    pub async fn get_or_fetch<F, Fut>(&self, fetch: F) -> Result<TokenHandle, Arc<TokenError>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<CachedToken, TokenError>> + Send + 'static,
    {
        if let Some(hit) = self.get() {
            return Ok(hit);
        }

        let flight = {
            let mut flight = lock(&self.slot.flight);
            // A request may have completed since the lookup above.
            if let Some(hit) = self.get() {
                return Ok(hit);
            }
            flight
                .get_or_insert_with(|| start_flight(Arc::clone(&self.slot), fetch()))
                .clone()
        };

        flight.await.map(|token| TokenHandle(Inner::Shared(token)))
    }

    /// Stores `token`, replacing what was there.
    pub fn insert(&self, token: CachedToken) {
        self.slot.token.store(Some(Arc::new(token)));
    }

    /// Removes `stale`, unless another token has replaced it meanwhile.
    ///
    /// Used when the resource server rejected `stale` as `invalid_token`; a token that another
    /// caller has fetched in the meantime is left in place.
    pub fn evict(&self, stale: &CachedToken) {
        let current = self.slot.token.load();
        if current
            .as_deref()
            .is_some_and(|cached| std::ptr::eq(cached, stale))
        {
            self.slot.token.compare_and_swap(&*current, None);
        }
    }
}

impl MemoryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The token under `key` while it is fresh.
    pub fn get(&self, key: &CacheKey) -> Option<TokenHandle> {
        self.slots.load().get(key)?.fresh()
    }

    /// The place of `key` in this cache, created if missing.
    pub fn entry(&self, key: &CacheKey) -> CacheEntry {
        CacheEntry {
            slot: self.slot(key),
        }
    }

    /// The token under `key`, or the result of `fetch` when there is none; see
    /// [`CacheEntry::get_or_fetch`].
    pub async fn get_or_fetch<F, Fut>(
        &self,
        key: &CacheKey,
        fetch: F,
    ) -> Result<TokenHandle, Arc<TokenError>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<CachedToken, TokenError>> + Send + 'static,
    {
        self.entry(key).get_or_fetch(fetch).await
    }

    /// Stores `token` under `key`, replacing what was there.
    pub fn insert(&self, key: &CacheKey, token: CachedToken) {
        self.entry(key).insert(token);
    }

    /// Removes `stale` from under `key`, unless another token has replaced it meanwhile.
    pub fn evict(&self, key: &CacheKey, stale: &CachedToken) {
        if let Some(slot) = self.slots.load().get(key) {
            CacheEntry {
                slot: Arc::clone(slot),
            }
            .evict(stale);
        }
    }

    /// Removes every token.
    pub fn clear(&self) {
        for slot in self.slots.load().values() {
            slot.token.store(None);
        }
    }

    fn slot(&self, key: &CacheKey) -> Arc<Slot> {
        if let Some(slot) = self.slots.load().get(key) {
            return Arc::clone(slot);
        }

        let _adding = lock(&self.adding);
        let slots = self.slots.load();
        if let Some(slot) = slots.get(key) {
            return Arc::clone(slot);
        }
        let slot = Arc::new(Slot::default());
        let mut grown = HashMap::clone(&slots);
        grown.insert(key.clone(), Arc::clone(&slot));
        self.slots.store(Arc::new(grown));
        slot
    }
}

fn start_flight<Fut>(slot: Arc<Slot>, fetch: Fut) -> Flight
where
    Fut: Future<Output = Result<CachedToken, TokenError>> + Send + 'static,
{
    async move {
        let result = fetch.await.map(Arc::new).map_err(Arc::new);
        if let Ok(token) = &result {
            slot.token.store(Some(Arc::clone(token)));
        }
        // Stored before the flight ends, so a caller that finds no flight finds the token.
        *lock(&slot.flight) = None;
        result
    }
    .boxed()
    .shared()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A token from the cache.
///
/// A hit holds the cache's own pointer without touching its reference count; hold it for the
/// span of one request, not longer.
pub struct TokenHandle(Inner);

enum Inner {
    Loaded(Guard<Option<Arc<CachedToken>>>),
    Shared(Arc<CachedToken>),
}

impl Deref for TokenHandle {
    type Target = CachedToken;

    #[inline]
    fn deref(&self) -> &CachedToken {
        match &self.0 {
            // `Slot::fresh` builds `Loaded` only from a `Some`.
            Inner::Loaded(guard) => guard.as_deref().expect("a loaded handle holds a token"),
            Inner::Shared(token) => token,
        }
    }
}

impl std::fmt::Debug for TokenHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        CachedToken::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::token::{AccessToken, LifetimePolicy, Scope, TokenResponse};

    fn key() -> CacheKey {
        CacheKey::new(
            "https://t/oauth/token",
            "c",
            "a",
            &Scope::parse("read"),
            "tp",
        )
    }

    fn token(value: &str, expires_in: u64) -> CachedToken {
        let response = TokenResponse {
            access_token: AccessToken::new(value.into()),
            token_type: "Bearer".into(),
            expires_in: Duration::from_secs(expires_in),
            expires_in_defaulted: false,
            scope: None,
        };
        CachedToken::new(
            response,
            (std::time::Instant::now(), SystemTime::now()),
            &LifetimePolicy::default(),
        )
    }

    fn refused() -> TokenError {
        TokenError::InvalidResponse {
            status: 500,
            reason: "test".into(),
        }
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_request() {
        let cache = Arc::new(MemoryCache::new());
        let requests = Arc::new(AtomicUsize::new(0));

        let callers = (0..20).map(|_| {
            let cache = Arc::clone(&cache);
            let requests = Arc::clone(&requests);
            tokio::spawn(async move {
                let handle = cache
                    .get_or_fetch(&key(), || async move {
                        requests.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok(token("shared", 3600))
                    })
                    .await
                    .unwrap();
                handle.access_token.secret().to_owned()
            })
        });
        let tokens = futures_util::future::join_all(callers).await;

        assert_eq!(requests.load(Ordering::SeqCst), 1);
        assert!(tokens.into_iter().all(|t| t.unwrap() == "shared"));
    }

    #[tokio::test]
    async fn error_is_shared_then_forgotten() {
        let cache = MemoryCache::new();

        let key = key();
        let first = cache.get_or_fetch(&key, || async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err(refused())
        });
        let second = cache.get_or_fetch(&key, || async { Ok(token("unused", 3600)) });
        let (first, second) = tokio::join!(first, second);
        assert!(first.is_err());
        assert!(
            second.is_err(),
            "the waiter shares the error of the request under way"
        );

        let retried = cache
            .get_or_fetch(&key, || async { Ok(token("fresh", 3600)) })
            .await
            .unwrap();
        assert_eq!(retried.access_token.secret(), "fresh");
    }

    #[tokio::test]
    async fn hit_does_not_call_fetch() {
        let cache = MemoryCache::new();
        cache.insert(&key(), token("cached", 3600));

        let handle = cache
            .get_or_fetch(&key(), || async { panic!("fetched on a hit") })
            .await
            .unwrap();

        assert_eq!(handle.access_token.secret(), "cached");
    }

    #[tokio::test]
    async fn stale_token_is_refetched() {
        let cache = MemoryCache::new();
        cache.insert(&key(), token("stale", 0));

        assert!(cache.get(&key()).is_none());
        let handle = cache
            .get_or_fetch(&key(), || async { Ok(token("new", 3600)) })
            .await
            .unwrap();
        assert_eq!(handle.access_token.secret(), "new");
    }

    #[test]
    fn evict_removes_only_the_stale_token() {
        let cache = MemoryCache::new();
        cache.insert(&key(), token("old", 3600));
        let old = cache.get(&key()).unwrap();
        cache.insert(&key(), token("newer", 3600));

        cache.evict(&key(), &old);
        assert_eq!(cache.get(&key()).unwrap().access_token.secret(), "newer");

        let newer = cache.get(&key()).unwrap();
        cache.evict(&key(), &newer);
        assert!(cache.get(&key()).is_none());
    }

    #[tokio::test]
    async fn cancelled_first_caller_does_not_strand_the_others() {
        let cache = Arc::new(MemoryCache::new());
        let first = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move {
                cache
                    .get_or_fetch(&key(), || async {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok(token("survives", 3600))
                    })
                    .await
                    .map(|_| ())
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        first.abort();

        let handle = tokio::time::timeout(
            Duration::from_secs(2),
            cache.get_or_fetch(&key(), || async { Ok(token("second", 3600)) }),
        )
        .await
        .unwrap()
        .unwrap();

        assert_eq!(handle.access_token.secret(), "survives");
    }
}
