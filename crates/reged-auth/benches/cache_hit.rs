//! The cache's hit path against a cache guarded by a `Mutex`, the design of Go's x/oauth2
//! `ReuseTokenSource` (lock, check validity, copy the token out, unlock).
//!
//! Run with `cargo bench -p reged-auth --bench cache_hit`. Each figure is the median of several
//! rounds; the ratio is the baseline's time per hit over ours, both measured in this run.

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
    token: Mutex<Option<Arc<CachedToken>>>,
}

impl MutexCache {
    fn get(&self) -> Option<Arc<CachedToken>> {
        let token = self.token.lock().unwrap();
        match token.as_ref() {
            Some(cached) if cached.is_fresh(Instant::now()) => Some(Arc::clone(cached)),
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
    let ours = MemoryCache::new();
    ours.insert(&key, token());
    let baseline = MutexCache {
        token: Mutex::new(Some(Arc::new(token()))),
    };

    println!("cache hit path: reged MemoryCache vs Mutex<Option<Arc<Token>>> (Go ReuseTokenSource)");
    println!("threads  mutex ns/hit  reged ns/hit  ratio (mutex / reged)");
    for threads in [1, 2] {
        let mutex = measure(threads, || {
            let hit = baseline.get().unwrap();
            hit.access_token.secret().len()
        });
        let reged = measure(threads, || {
            let hit = ours.get(&key).unwrap();
            hit.access_token.secret().len()
        });
        println!(
            "{threads:>7}  {mutex:>12.1}  {reged:>12.1}  {:>6.2}x",
            mutex / reged
        );
    }
}
