//! The cache's hit path against a cache guarded by a `Mutex`, the design of Go's x/oauth2
//! `ReuseTokenSource` (lock, check validity against the clock, copy the token out, unlock).
//!
//! Two baselines, both measured in this run: Go's design as written, with the precise clock
//! (`Instant::now()`, like Go's `time.Now()`), and the same mutex with our coarse clock, which
//! isolates the cost of the lock. Run with `cargo bench -p reged-auth --bench cache_hit`. Each
//! figure is the median of several rounds; a ratio is a baseline's time per hit over ours.

use std::hint::black_box;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use reged_auth::cache::{CacheKey, CachedToken, MemoryCache};
use reged_auth::token::{AccessToken, LifetimePolicy, Scope, TokenResponse};

const HITS_PER_THREAD: u64 = 2_000_000;
const ROUNDS: usize = 7;

fn token() -> CachedToken {
    let response = TokenResponse {
        access_token: AccessToken::new("x".repeat(900)),
        token_type: "Bearer".into(),
        expires_in: Duration::from_secs(3600),
        expires_in_defaulted: false,
        scope: Some("read write".into()),
    };
    CachedToken::new(
        response,
        (Instant::now(), SystemTime::now()),
        &LifetimePolicy::default(),
    )
}

/// Go's ReuseTokenSource, transcribed: one mutex around the current token.
struct MutexCache {
    token: Mutex<Option<(Arc<CachedToken>, Instant)>>,
}

impl MutexCache {
    /// Validity checked on the precise clock, as Go's `Token.Valid()` does.
    fn get_precise(&self) -> Option<Arc<CachedToken>> {
        let token = self.token.lock().unwrap();
        match token.as_ref() {
            Some((cached, fresh_until)) if Instant::now() < *fresh_until => {
                Some(Arc::clone(cached))
            }
            _ => None,
        }
    }

    /// Validity checked on the same coarse clock as ours: the difference is the lock alone.
    fn get_coarse(&self) -> Option<Arc<CachedToken>> {
        let token = self.token.lock().unwrap();
        match token.as_ref() {
            Some((cached, _)) if cached.is_fresh() => Some(Arc::clone(cached)),
            _ => None,
        }
    }
}

/// Nanoseconds per hit, per thread, with `threads` threads hitting at once.
fn measure(threads: usize, hit: impl Fn() -> usize + Sync) -> f64 {
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Barrier::new(threads + 1);
            let elapsed = thread::scope(|scope| {
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        scope.spawn(|| {
                            start.wait();
                            let began = Instant::now();
                            for _ in 0..HITS_PER_THREAD {
                                black_box(hit());
                            }
                            began.elapsed()
                        })
                    })
                    .collect();
                start.wait();
                workers
                    .into_iter()
                    .map(|worker| worker.join().unwrap())
                    .max()
                    .unwrap()
            });
            elapsed.as_nanos() as f64 / HITS_PER_THREAD as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[ROUNDS / 2]
}

fn main() {
    let key = CacheKey::new(
        "https://mtls.auth.reged.com/oauth/token",
        "client",
        "https://api.reged.com",
        &Scope::parse("read write"),
        "thumbprint",
    );
    let cache = MemoryCache::new();
    let ours = cache.entry(&key);
    ours.insert(token());
    let baseline = MutexCache {
        token: Mutex::new(Some((
            Arc::new(token()),
            Instant::now() + Duration::from_secs(3300),
        ))),
    };

    println!(
        "cache hit path, ns per hit (median of {ROUNDS} rounds of {HITS_PER_THREAD} hits a thread)"
    );
    println!("  go:     Mutex<Option<Arc<Token>>> + Instant::now(), Go's ReuseTokenSource design");
    println!("  mutex:  the same mutex + our coarse clock (the lock alone)");
    println!("  reged:  CacheEntry::get");
    println!("threads      go   mutex   reged   go/reged  mutex/reged");
    for threads in [1, 2] {
        let go = measure(threads, || {
            let hit = baseline.get_precise().unwrap();
            hit.access_token.secret().len()
        });
        let mutex = measure(threads, || {
            let hit = baseline.get_coarse().unwrap();
            hit.access_token.secret().len()
        });
        let reged = measure(threads, || {
            let hit = ours.get().unwrap();
            hit.access_token.secret().len()
        });
        println!(
            "{threads:>7} {go:>7.1} {mutex:>7.1} {reged:>7.1} {:>9.2}x {:>11.2}x",
            go / reged,
            mutex / reged
        );
    }
}
