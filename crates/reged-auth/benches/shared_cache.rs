//! The Redis tier, against baselines measured in the same run on the same machine:
//!
//! 1. a hit in the Redis tier (GET and PTTL in one round trip, AES-256-GCM open, label parse)
//!    against a bare redis-rs GET of a value of the same size on the same connection, and
//!    against the same GET and PTTL without the tier's work;
//! 2. the two-tier client's hit path against the in-memory client's (both are memory hits);
//! 3. the time until 1000 callers in four processes all hold a token on a cold cache, with the
//!    Redis tier (one token request) and without it (one request a process), for token endpoint
//!    latencies of 0 and 100 ms, and for several poll intervals of the waiting processes;
//! 4. for the choice of waiting strategy: how long pub/sub takes to deliver a message, beside the
//!    poll's expected delay of half an interval.
//!
//! Needs `redis-server` (see the README). Run with
//! `cargo bench -p reged-auth --bench shared_cache`. Each figure is the median of several rounds.

#[path = "../tests/shared_cache/fleet_member.rs"]
mod fleet_member;
#[path = "../tests/shared_cache/redis_server.rs"]
#[allow(dead_code)] // the cluster and restart helpers serve the tests
mod redis_server;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use reged_auth::cache::CacheEncryptionKey;
use reged_auth::cache::redis::{RedisCache, RedisConfig};
use reged_auth::cache::sealed::Sealer;
use reged_auth::http::parse_ca_bundle;
use reged_auth::{Client, Identity};
use reged_emulator::{DevCerts, Emulator, EmulatorConfig, Profile, RunningEmulator};
use url::Url;

use fleet_member::FleetSettings;
use redis_server::RedisServer;

const ROUNDS: usize = 7;

fn main() {
    if fleet_member::run_if_member() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

struct Setup {
    certs: DevCerts,
    emulator: RunningEmulator,
    dir: tempfile::TempDir,
}

async fn run() {
    let redis = RedisServer::start();
    let setup = start_emulator().await;

    redis_hit_against_bare_get(&setup, &redis).await;
    two_tier_hit_against_memory_hit(&setup, &redis).await;
    cold_fleet(&setup, &redis).await;
    pubsub_delivery(&redis).await;
}

async fn start_emulator() -> Setup {
    let certs = DevCerts::generate().unwrap();
    let config = EmulatorConfig::for_dev_certs(&certs, Profile::Uat);
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
    fn client(&self, cache: Option<&Arc<RedisCache>>) -> Client {
        let identity =
            Identity::from_pem_files(&[&self.dir.path().join("client.pem")], None).unwrap();
        let mut builder = Client::builder()
            .token_url(Url::parse(&self.emulator.token_url()).unwrap())
            .client_id("reged-dev-client")
            .audience("https://uatapi.reged.com")
            .scope("read write")
            .add_root_certificates(parse_ca_bundle(self.certs.ca_pem().as_bytes(), "ca").unwrap())
            .identity(identity);
        if let Some(cache) = cache {
            builder = builder.shared_cache(Arc::clone(cache));
        }
        builder.build().unwrap()
    }
}

fn median(mut rounds: Vec<f64>) -> f64 {
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

/// Microseconds per operation of `operation` run `count` times by `callers` concurrent tasks.
async fn time_ops<F, Fut>(count: usize, callers: usize, operation: &F) -> f64
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let started = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let operation = operation.clone();
            tokio::spawn(async move {
                for _ in 0..count / callers {
                    operation().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed().as_secs_f64() * 1e6 / count as f64
}

async fn redis_hit_against_bare_get(setup: &Setup, redis: &RedisServer) {
    let cache = RedisCache::new(RedisConfig::new(&redis.url()).unwrap()).unwrap();
    let client = setup.client(Some(&cache));
    client.token().await.unwrap();
    let entry = client.shared_cache_entry().unwrap().clone();
    let manager = cache.single_node_connection().unwrap();
    // A plain value of the same size as the sealed token, under another name.
    let sealed: Vec<u8> = redis::cmd("GET")
        .arg(entry.name())
        .query_async(&mut manager.clone())
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("bench:plain")
        .arg(&sealed)
        .query_async(&mut manager.clone())
        .await
        .unwrap();

    let bare = {
        let manager = manager.clone();
        move || {
            let mut manager = manager.clone();
            async move {
                let value: Vec<u8> = redis::cmd("GET")
                    .arg("bench:plain")
                    .query_async(&mut manager)
                    .await
                    .unwrap();
                black_box(value);
            }
        }
    };
    let bare_with_pttl = {
        let manager = manager.clone();
        move || {
            let mut manager = manager.clone();
            async move {
                let mut pipeline = redis::pipe();
                pipeline
                    .cmd("GET")
                    .arg("bench:plain")
                    .cmd("PTTL")
                    .arg("bench:plain");
                let value: (Vec<u8>, i64) = pipeline.query_async(&mut manager).await.unwrap();
                black_box(value);
            }
        }
    };
    let ours = {
        // Shared, as a client holds it: cloning the entry itself would copy its names.
        let entry = Arc::new(entry.clone());
        move || {
            let entry = Arc::clone(&entry);
            async move {
                let token = entry.get().await.unwrap();
                black_box(token.access_token.secret().len());
            }
        }
    };

    let sealer = {
        let identity =
            Identity::from_pem_files(&[&setup.dir.path().join("client.pem")], None).unwrap();
        let key = CacheEncryptionKey::derive_from_private_key(identity.private_key().secret_der());
        Sealer::new(&key)
    };
    let opens = 100_000;
    let started = Instant::now();
    for _ in 0..opens {
        black_box(sealer.open_times(entry.name(), &sealed).unwrap());
    }
    let open_us = started.elapsed().as_secs_f64() * 1e6 / opens as f64;

    // Each measurement lasts about half a second: a shorter one at 16 callers (8000 ops, 50 ms)
    // swung by ±25% from run to run with the scheduling of two cores.
    let ops_for = |callers: usize| if callers == 1 { 8_000 } else { 80_000 };
    println!(
        "1. Redis-tier hit vs bare redis-rs GET of {} bytes on the same connection, µs per op \
         (median of {ROUNDS} interleaved rounds of {} ops, {} at 16 callers)",
        sealed.len(),
        ops_for(1),
        ops_for(16)
    );
    println!("   callers   bare GET  GET+PTTL   tier hit   tier/GET  tier/GET+PTTL");
    for callers in [1, 16] {
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        let ops = ops_for(callers);
        for index in 0..ROUNDS {
            if index % 2 == 0 {
                a.push(time_ops(ops, callers, &bare).await);
                b.push(time_ops(ops, callers, &bare_with_pttl).await);
                c.push(time_ops(ops, callers, &ours).await);
            } else {
                c.push(time_ops(ops, callers, &ours).await);
                b.push(time_ops(ops, callers, &bare_with_pttl).await);
                a.push(time_ops(ops, callers, &bare).await);
            }
        }
        let (bare, with_pttl, ours) = (median(a), median(b), median(c));
        println!(
            "   {callers:>7} {bare:>10.1} {with_pttl:>9.1} {ours:>10.1} {:>+9.1}% {:>+13.1}%",
            (ours / bare - 1.0) * 100.0,
            (ours / with_pttl - 1.0) * 100.0
        );
    }
    println!("   of which opening the sealed value (AES-256-GCM and label): {open_us:.2} µs");
}

async fn two_tier_hit_against_memory_hit(setup: &Setup, redis: &RedisServer) {
    let cache = RedisCache::new(RedisConfig::new(&redis.url()).unwrap()).unwrap();
    let two_tier = setup.client(Some(&cache));
    let memory_only = setup.client(None);
    two_tier.token().await.unwrap();
    memory_only.token().await.unwrap();

    const HITS: usize = 2_000_000;
    let round = |client: &Client| {
        let client = client.clone();
        async move {
            let started = Instant::now();
            for _ in 0..HITS {
                let token = client.token().await.unwrap();
                black_box(token.access_token.secret().len());
            }
            started.elapsed().as_secs_f64() * 1e9 / HITS as f64
        }
    };
    let (mut memory, mut both) = (Vec::new(), Vec::new());
    // In the order ABBA, so that a drift of the machine's speed favours neither.
    for index in 0..ROUNDS {
        if index % 2 == 0 {
            memory.push(round(&memory_only).await);
            both.push(round(&two_tier).await);
        } else {
            both.push(round(&two_tier).await);
            memory.push(round(&memory_only).await);
        }
    }
    let (memory, both) = (median(memory), median(both));

    println!(
        "2. Client::token() hit path, ns per hit (median of {ROUNDS} interleaved rounds of {HITS}, 1 task)"
    );
    println!(
        "   memory only {memory:>6.1}   memory + Redis {both:>6.1}   ratio {:.2}x",
        both / memory
    );
}

async fn pubsub_delivery(redis: &RedisServer) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut subscriber = client.get_async_pubsub().await.unwrap();
    subscriber.subscribe("bench:ready").await.unwrap();
    let mut publisher = client.get_multiplexed_async_connection().await.unwrap();
    let mut messages = subscriber.on_message();

    let mut rounds = Vec::new();
    for _ in 0..ROUNDS {
        let mut total = Duration::ZERO;
        for _ in 0..200 {
            let started = Instant::now();
            let _: i64 = redis::cmd("PUBLISH")
                .arg("bench:ready")
                .arg("x")
                .query_async(&mut publisher)
                .await
                .unwrap();
            messages.next().await.unwrap();
            total += started.elapsed();
        }
        rounds.push(total.as_secs_f64() * 1e6 / 200.0);
    }
    println!(
        "4. waiting strategy: pub/sub delivers a message {:.0} µs after PUBLISH is sent; a poll \
         every P ms delivers P/2 ms after the write on average, with two round trips (GET+PTTL, the \
         lease script) a waiting process every P ms",
        median(rounds)
    );
}

async fn cold_fleet(setup: &Setup, redis: &RedisServer) {
    println!(
        "3. four processes of 250 callers on a cold cache: ms until all 1000 hold a token \
         (median of 3 rounds), token requests"
    );
    println!(
        "   endpoint latency   poll     with Redis   requests   Redis commands   without Redis   requests"
    );
    for delay in [Duration::ZERO, Duration::from_millis(100)] {
        setup.emulator.set_token_delay(delay);
        for poll in [2, 10, 50] {
            let poll = Duration::from_millis(poll);
            let before = commands_processed(redis).await;
            let (with, with_requests) = fleet_rounds(setup, Some(redis), poll).await;
            // Three rounds, each with a CLEAR (SCAN and DEL) and this INFO.
            let commands = (commands_processed(redis).await - before) / 3;
            let (without, without_requests) = fleet_rounds(setup, None, poll).await;
            println!(
                "   {:>13} ms {:>4} ms {:>11.1} {:>10} {:>16} {:>15.1} {:>10}",
                delay.as_millis(),
                poll.as_millis(),
                with,
                with_requests,
                commands,
                without,
                without_requests
            );
        }
    }
}

/// The server's count of commands processed so far.
async fn commands_processed(redis: &RedisServer) -> u64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut connection)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("total_commands_processed:"))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0)
}

/// Median ms until every caller of four members holds a token, and token requests a round.
async fn fleet_rounds(setup: &Setup, redis: Option<&RedisServer>, poll: Duration) -> (f64, u64) {
    let mut rounds = Vec::new();
    let mut requests = 0;
    for round in 0..3 {
        if let Some(redis) = redis {
            RedisCache::new(RedisConfig::new(&redis.url()).unwrap())
                .unwrap()
                .clear()
                .await
                .unwrap();
        }
        let settings = FleetSettings {
            token_url: setup.emulator.token_url(),
            audience: setup.emulator.api_audience().to_owned(),
            ca: setup.dir.path().join("ca.pem"),
            identity: setup.dir.path().join("client.pem"),
            cache: redis.map(RedisServer::url).into_iter().collect(),
            cluster: false,
            callers: 250,
            lease: Duration::from_secs(5),
            poll,
            go: setup.dir.path().join(format!(
                "go-{}-{round}-{}",
                poll.as_millis(),
                redis.is_some()
            )),
        };
        let settings_had_no_cache = settings.cache.is_empty();
        let before = setup.emulator.token_requests();
        let elapsed_ms = tokio::task::spawn_blocking(move || {
            let program = std::env::current_exe().unwrap();
            let members: Vec<_> = (0..4)
                .map(|_| fleet_member::spawn(&program, &[], &settings))
                .collect();
            fleet_member::start_together(&settings, 4);
            let went_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis();
            let reports: Vec<_> = members.into_iter().map(fleet_member::report).collect();
            let done_ms = reports
                .iter()
                .map(|report| report.done_at_ms)
                .max()
                .unwrap();
            assert!(reports.iter().all(|report| report.tokens == 250));
            let shared = reports
                .iter()
                .all(|report| report.distinct == 1 && report.digest == reports[0].digest);
            assert!(
                shared || settings_had_no_cache,
                "the fleet got different tokens"
            );
            done_ms.saturating_sub(went_ms) as f64
        })
        .await
        .unwrap();
        requests = setup.emulator.token_requests() - before;
        rounds.push(elapsed_ms);
    }
    (median(rounds), requests)
}
