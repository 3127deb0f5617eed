//! One Redis server: sharing, lifetimes, sealing, outages, eviction.

use std::time::{Duration, Instant};

use redis::AsyncCommands;
use reged_auth::cache::CacheEncryptionKey;
use reged_auth::cache::redis::{RedisCache, RedisConfig};
use reged_auth::cache::sealed;
use reged_auth::http::ApiRequest;
use reged_emulator::Profile;
use reqwest::Method;

use crate::redis_server::RedisServer;
use crate::support::{cache_at, raw, start, start_with};

fn whoami() -> ApiRequest {
    ApiRequest::new(Method::GET, "/v1/whoami")
}

#[tokio::test]
async fn clients_with_separate_memory_share_one_token_through_redis() {
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let cache = cache_at(&redis.url());

    let first = setup.client(&cache).token().await.unwrap();
    let second = setup.client(&cache).token().await.unwrap();

    assert!(
        first.access_token.secret() == second.access_token.secret(),
        "the tokens differ"
    );
    assert_eq!(setup.emulator.token_requests(), 1);
}

#[tokio::test]
async fn slow_lease_holder_renews_its_lease_and_the_others_keep_waiting() {
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let cache = RedisCache::new(
        RedisConfig::new(&redis.url())
            .unwrap()
            .lease_time(Duration::from_millis(600)),
    )
    .unwrap();
    // The request takes more than three lease times.
    setup.emulator.set_token_delay(Duration::from_secs(2));
    let (holder, waiter) = (setup.client(&cache), setup.client(&cache));

    let (first, second) = tokio::join!(holder.token(), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waiter.token().await
    });

    assert!(
        first.unwrap().access_token.secret() == second.unwrap().access_token.secret(),
        "the tokens differ"
    );
    assert_eq!(setup.emulator.token_requests(), 1);
}

#[tokio::test]
async fn prod_token_lives_3300_s_in_redis() {
    let redis = RedisServer::start();
    let setup = start(Profile::Prod).await;
    let cache = cache_at(&redis.url());
    let client = setup.client(&cache);

    client.token().await.unwrap();

    let name = cache.entry_name(client.cache_key());
    let pttl: i64 = raw(&redis.url()).await.pttl(&name).await.unwrap();
    assert!((3_290_000..=3_300_000).contains(&pttl), "PTTL {pttl}");
}

#[tokio::test]
async fn sixty_second_token_lives_30_s_in_redis() {
    let redis = RedisServer::start();
    let setup = start_with(
        |config| config.with_token_lifetime(Duration::from_secs(60)),
        Profile::Uat,
    )
    .await;
    let cache = cache_at(&redis.url());
    let client = setup.client(&cache);

    client.token().await.unwrap();

    let name = cache.entry_name(client.cache_key());
    let pttl: i64 = raw(&redis.url()).await.pttl(&name).await.unwrap();
    assert!((29_000..=30_000).contains(&pttl), "PTTL {pttl}");
}

#[tokio::test]
async fn value_in_redis_cannot_be_read_as_a_token_without_the_key() {
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let cache = cache_at(&redis.url());
    let client = setup.client(&cache);
    let token = client.token().await.unwrap();

    let name = cache.entry_name(client.cache_key());
    let value: Vec<u8> = raw(&redis.url()).await.get(&name).await.unwrap();

    let secret = token.access_token.secret().as_bytes();
    assert!(!value.windows(secret.len()).any(|window| window == secret));
    // No 20-byte run of the token appears either (its JWT header or claims, for instance).
    assert!(
        secret
            .chunks(20)
            .all(|piece| !value.windows(piece.len()).any(|window| window == piece))
    );
    let another_key = CacheEncryptionKey::from_bytes([0x5a; 32]);
    assert!(sealed::open(&another_key, &name, &value).is_err());
    let (label, opened) = sealed::open(&setup.derived_key(), &name, &value).unwrap();
    assert!(
        opened.secret() == token.access_token.secret(),
        "the tokens differ"
    );
    assert_eq!(label.client_id, "reged-dev-client");
}

#[tokio::test]
async fn explicit_key_seals_instead_of_the_derived_one() {
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let explicit = CacheEncryptionKey::from_bytes([0x11; 32]);
    let cache = RedisCache::new(
        RedisConfig::new(&redis.url())
            .unwrap()
            .encryption_key(explicit.clone()),
    )
    .unwrap();
    let client = setup.client(&cache);
    client.token().await.unwrap();

    let name = cache.entry_name(client.cache_key());
    let value: Vec<u8> = raw(&redis.url()).await.get(&name).await.unwrap();

    assert!(sealed::open(&explicit, &name, &value).is_ok());
    assert!(sealed::open(&setup.derived_key(), &name, &value).is_err());
}

#[tokio::test]
async fn corrupted_value_is_a_miss_and_is_overwritten() {
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let cache = cache_at(&redis.url());
    let client = setup.client(&cache);
    let name = cache.entry_name(client.cache_key());
    let mut connection = raw(&redis.url()).await;
    let _: () = connection
        .set_ex(&name, b"RGT1\x00\x00\x00\x02{}garbage".as_slice(), 600)
        .await
        .unwrap();

    let token = client.token().await.unwrap();

    assert_eq!(setup.emulator.token_requests(), 1);
    let value: Vec<u8> = connection.get(&name).await.unwrap();
    let (_, stored) = sealed::open(&setup.derived_key(), &name, &value).unwrap();
    assert!(
        stored.secret() == token.access_token.secret(),
        "the tokens differ"
    );
}

#[tokio::test]
async fn value_sealed_with_another_key_is_a_miss_and_is_overwritten() {
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let other_fleet = RedisCache::new(
        RedisConfig::new(&redis.url())
            .unwrap()
            .encryption_key(CacheEncryptionKey::from_bytes([0x22; 32])),
    )
    .unwrap();
    let foreign = setup.client(&other_fleet).token().await.unwrap();
    let cache = cache_at(&redis.url());

    let ours = setup.client(&cache).token().await.unwrap();

    assert!(
        ours.access_token.secret() != foreign.access_token.secret(),
        "the token did not change"
    );
    assert_eq!(setup.emulator.token_requests(), 2);
}

#[tokio::test]
async fn memory_copy_never_outlives_the_redis_entry() {
    let redis = RedisServer::start();
    let setup = start(Profile::Prod).await;
    let cache = cache_at(&redis.url());
    let writer = setup.client(&cache);
    writer.token().await.unwrap();
    let name = cache.entry_name(writer.cache_key());
    let _: bool = raw(&redis.url()).await.pexpire(&name, 2_000).await.unwrap();

    let reader = setup.client(&cache);
    let token = reader.token().await.unwrap();

    assert!(
        token.remaining_cached_life() <= Duration::from_secs(2),
        "{:?}",
        token.remaining_cached_life()
    );
    assert_eq!(setup.emulator.token_requests(), 1);
}

#[tokio::test]
async fn redis_stopped_mid_run_fails_no_call_and_is_used_again_after_restart() {
    let mut redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let cache = cache_at(&redis.url());
    let steady = setup.client(&cache);
    for _ in 0..5 {
        assert_eq!(steady.send(&whoami()).await.unwrap().status(), 200);
    }

    redis.stop();
    for _ in 0..5 {
        assert_eq!(steady.send(&whoami()).await.unwrap().status(), 200);
    }
    // A client with a cold memory cache during the outage: a direct token request.
    let started = Instant::now();
    let during = setup.client(&cache);
    assert_eq!(during.send(&whoami()).await.unwrap().status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(setup.emulator.token_requests(), 2);

    redis.restart();
    let after = setup.client(&cache);
    let deadline = Instant::now() + Duration::from_secs(10);
    let name = cache.entry_name(after.cache_key());
    let mut connection = raw(&redis.url()).await;
    // The first command after the restart may meet the dead connection; redis-rs reconnects.
    assert_eq!(after.send(&whoami()).await.unwrap().status(), 200);
    while !connection.exists::<_, bool>(&name).await.unwrap() {
        assert!(Instant::now() < deadline, "the cache was not used again");
        let retry = setup.client(&cache);
        assert_eq!(retry.send(&whoami()).await.unwrap().status(), 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let requests = setup.emulator.token_requests();
    let from_redis = setup.client(&cache);
    assert_eq!(from_redis.send(&whoami()).await.unwrap().status(), 200);
    assert_eq!(
        setup.emulator.token_requests(),
        requests,
        "served from Redis"
    );
}

#[tokio::test]
async fn unreachable_or_silent_redis_costs_a_bounded_delay_and_no_failure() {
    let setup = start(Profile::Uat).await;
    // Nothing listens on this port.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // This one accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });

    for port in [closed, silent_port] {
        let cache = cache_at(&format!("redis://127.0.0.1:{port}"));
        let started = Instant::now();

        let token = setup.client(&cache).token().await;

        assert!(token.is_ok(), "{token:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn read_only_or_garbage_speaking_redis_is_no_failure() {
    let setup = start(Profile::Uat).await;
    let primary = RedisServer::start();
    let replica = RedisServer::start_replica_of(&primary);
    // A server that answers every connection with something that is not RESP.
    let garbage = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let garbage_port = garbage.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut socket, _)) = garbage.accept().await {
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n\x00\xff")
                .await;
        }
    });

    for url in [replica.url(), format!("redis://127.0.0.1:{garbage_port}")] {
        let cache = cache_at(&url);
        let started = Instant::now();

        let first = setup.client(&cache).token().await;
        let second = setup.client(&cache).token().await;

        assert!(first.is_ok(), "{url}: {first:?}");
        assert!(second.is_ok(), "{url}: {second:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{url}: {:?}",
            started.elapsed()
        );
    }
    // Nothing could be stored: every client asked the token endpoint.
    assert_eq!(setup.emulator.token_requests(), 4);
}

#[tokio::test]
async fn failed_token_request_is_not_stored_and_releases_the_lease() {
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let cache = cache_at(&redis.url());
    let refused = || {
        setup
            .builder()
            .scope("read admin")
            .shared_cache(cache.clone())
            .build()
            .unwrap()
    };

    let first = refused().token().await.unwrap_err();
    let started = Instant::now();
    let second = refused().token().await.unwrap_err();

    assert_eq!(first.token_error_code(), Some("invalid_scope"));
    assert_eq!(second.token_error_code(), Some("invalid_scope"));
    assert_eq!(
        setup.emulator.token_requests(),
        2,
        "errors are never cached"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the second waited for a lease that was not released: {:?}",
        started.elapsed()
    );
    let keys: Vec<String> = raw(&redis.url()).await.keys("reged:token:*").await.unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

#[tokio::test]
async fn invalid_token_evicts_from_both_tiers() {
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let cache = cache_at(&redis.url());
    let client = setup.client(&cache);
    let before = client
        .token()
        .await
        .unwrap()
        .access_token
        .secret()
        .to_owned();

    setup.emulator.rotate_signing_key();
    let response = client.send(&whoami()).await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(setup.emulator.token_requests(), 2);
    // A fresh client reads the new token from Redis, not the evicted one.
    let fresh = setup.client(&cache).token().await.unwrap();
    assert!(
        fresh.access_token.secret() != before,
        "the token did not change"
    );
    assert_eq!(setup.emulator.token_requests(), 2);
}

#[tokio::test]
async fn list_shows_whose_tokens_are_cached_and_clear_removes_them() {
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let cache = cache_at(&redis.url());
    let token = setup.client(&cache).token().await.unwrap();

    let listed = cache.list().await.unwrap();

    assert_eq!(listed.len(), 1);
    let label = listed[0].label.as_ref().unwrap();
    assert_eq!(label.client_id, "reged-dev-client");
    assert_eq!(label.audience, "https://uatapi.reged.com");
    assert_eq!(label.scopes, ["read", "write"]);
    let remaining = listed[0].remaining.unwrap();
    assert!(remaining > Duration::from_secs(590), "{remaining:?}");
    assert!(!format!("{listed:?}").contains(token.access_token.secret()));

    assert_eq!(cache.clear().await.unwrap().deleted, 1);
    assert!(cache.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn debug_of_the_cache_and_its_config_hides_key_and_password() {
    let key_hex = "ab".repeat(32);
    let config = RedisConfig::new("redis://:hunter2@127.0.0.1:1")
        .unwrap()
        .encryption_key(CacheEncryptionKey::parse(&key_hex).unwrap());

    let shown = format!("{config:?} {:?}", RedisCache::new(config.clone()).unwrap());

    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains(&key_hex), "{shown}");
    assert!(!shown.contains("171, 171"), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
}

#[tokio::test]
async fn rediss_verifies_the_server_and_shares_tokens_over_tls() {
    let setup = start(Profile::Uat).await;
    let server = setup.certs.server();
    let dir = setup.dir.path();
    std::fs::write(dir.join("server.pem"), server.cert_pem()).unwrap();
    std::fs::write(dir.join("server.key"), server.key_pem()).unwrap();
    let ca = dir.join("ca.pem");
    let (redis, tls_port) =
        RedisServer::start_tls(&dir.join("server.pem"), &dir.join("server.key"), &ca);
    let tls_url = format!("rediss://localhost:{tls_port}");
    let trusted = RedisCache::new(
        RedisConfig::new(&tls_url)
            .unwrap()
            .tls_root_certificates(std::fs::read(&ca).unwrap()),
    )
    .unwrap();
    // The system's roots do not include the dev CA: the server must be refused.
    let untrusted = cache_at(&tls_url);

    let first = setup.client(&trusted).token().await.unwrap();
    let second = setup.client(&trusted).token().await.unwrap();
    let refused = untrusted.list().await;

    assert!(
        first.access_token.secret() == second.access_token.secret(),
        "the tokens differ"
    );
    assert_eq!(setup.emulator.token_requests(), 1);
    let stored: Vec<String> = raw(&redis.url()).await.keys("reged:token:*").await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        refused.is_err(),
        "a server the client does not trust was used"
    );
}

#[tokio::test]
async fn clear_under_a_prefix_other_keys_share_deletes_only_the_caches_own_entries() {
    // The bug: prefix `user` made `clear` delete `user:1`, which `list` showed as not a sealed
    // token.
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let cache = RedisCache::new(
        RedisConfig::new(&redis.url())
            .unwrap()
            .prefix("user")
            .unwrap(),
    )
    .unwrap();
    let client = setup.client(&cache);
    client.token().await.unwrap();
    let entry = cache.entry_name(client.cache_key());
    let digest = "0123456789abcdef".repeat(4);
    let foreign = [
        // Another application's keys under the same prefix, some of the entries' shape.
        ("user:1".to_owned(), "alice".to_owned()),
        (format!("user{{{digest}}}"), "not a sealed token".to_owned()),
        (
            format!("user{{{digest}}}:lease"),
            "not a lease value".to_owned(),
        ),
        // Outside the prefix.
        ("session:9".to_owned(), "bob".to_owned()),
    ];
    let mut connection = raw(&redis.url()).await;
    for (name, value) in &foreign {
        let _: () = connection.set(name, value).await.unwrap();
    }
    // Not a string at all.
    let _: () = connection
        .hset(format!("user{{{}}}", "f".repeat(64)), "field", "value")
        .await
        .unwrap();
    // A lease held on the cache's entry.
    let _: () = connection
        .set(format!("{entry}:lease"), "ab".repeat(16))
        .await
        .unwrap();

    let cleared = cache.clear().await.unwrap();

    assert_eq!(cleared.deleted, 2, "{cleared:?}");
    assert_eq!(cleared.kept, 4, "{cleared:?}");
    for (name, value) in &foreign {
        let kept: Option<String> = connection.get(name).await.unwrap();
        assert_eq!(kept.as_deref(), Some(value.as_str()), "{name}");
    }
    let left: Vec<String> = connection.keys(format!("{entry}*")).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn wrong_password_is_reported_as_refused_credentials_not_as_silence() {
    let redis = RedisServer::start_with_password("s3cret-of-redis");
    let port = redis.url().rsplit(':').next().unwrap().to_owned();
    let wrong = cache_at(&format!("redis://:hunter2@127.0.0.1:{port}"));
    let missing = cache_at(&redis.url());

    let wrong = wrong.list().await.unwrap_err().to_string();
    let missing = missing.list().await.unwrap_err().to_string();

    assert!(wrong.contains("refused the credentials"), "{wrong}");
    assert!(wrong.contains("password in the URL"), "{wrong}");
    assert!(!wrong.contains("hunter2"), "{wrong}");
    assert!(missing.contains("asks for a password"), "{missing}");
}

#[tokio::test]
async fn rediss_against_a_plain_server_hints_that_it_may_not_speak_tls() {
    let redis = RedisServer::start();
    let port = redis.url().rsplit(':').next().unwrap().to_owned();
    let cache = cache_at(&format!("rediss://127.0.0.1:{port}"));

    let error = cache.list().await.unwrap_err();

    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(error.to_string().contains("did not answer"), "{error}");
    assert!(source.contains("may not speak TLS"), "{source}");
    assert!(source.contains("redis://"), "{source}");
}

#[tokio::test]
async fn hash_at_the_token_key_is_a_miss_not_an_outage_and_is_overwritten() {
    // The bug: the WRONGTYPE answer to GET counted as Redis being down, so the token was fetched
    // and never written, and every client after it asked the token endpoint again.
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let cache = cache_at(&redis.url());
    let client = setup.client(&cache);
    let name = cache.entry_name(client.cache_key());
    let mut connection = raw(&redis.url()).await;
    let _: () = connection.hset(&name, "field", "value").await.unwrap();

    let token = client.token().await.unwrap();
    let from_redis = setup.client(&cache).token().await.unwrap();

    assert_eq!(setup.emulator.token_requests(), 1);
    let value: Vec<u8> = connection.get(&name).await.unwrap();
    let (_, stored) = sealed::open(&setup.derived_key(), &name, &value).unwrap();
    assert!(
        stored.secret() == token.access_token.secret(),
        "the tokens differ"
    );
    assert!(
        from_redis.access_token.secret() == token.access_token.secret(),
        "the second client did not read the token from Redis"
    );
}

#[tokio::test]
async fn hash_string_without_expiry_or_long_lived_lease_at_the_lease_key_does_not_hold_the_fleet_up()
 {
    // Before: `SET NX` never took the lease over such a value, so every client waited the whole
    // wait limit and then asked the token endpoint on its own.
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let cache = RedisCache::new(
        RedisConfig::new(&redis.url())
            .unwrap()
            .wait_limit(Duration::from_secs(20)),
    )
    .unwrap();
    let lease = format!(
        "{}:lease",
        cache.entry_name(setup.client(&cache).cache_key())
    );
    let mut connection = raw(&redis.url()).await;
    // Slow enough that the second client finds the first one's lease.
    setup.emulator.set_token_delay(Duration::from_millis(300));

    // Found in review: a lease-shaped value with a day's expiry held the fleet up too.
    for squatter in ["hash", "string without expiry", "lease with a day's expiry"] {
        let _: () = redis::cmd("FLUSHALL")
            .query_async(&mut connection)
            .await
            .unwrap();
        if squatter == "hash" {
            let _: () = connection.hset(&lease, "field", "value").await.unwrap();
        } else if squatter == "string without expiry" {
            let _: () = connection.set(&lease, "ab".repeat(16)).await.unwrap();
        } else {
            let _: () = connection
                .pset_ex(&lease, "ab".repeat(16), 86_400_000)
                .await
                .unwrap();
        }
        let requests = setup.emulator.token_requests();
        let (first, second) = (setup.client(&cache), setup.client(&cache));
        let started = Instant::now();

        let (first, second) = tokio::join!(first.token(), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            second.token().await
        });

        assert!(
            first.unwrap().access_token.secret() == second.unwrap().access_token.secret(),
            "{squatter}: the tokens differ"
        );
        assert_eq!(setup.emulator.token_requests(), requests + 1, "{squatter}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{squatter}: {:?}",
            started.elapsed()
        );
        let left: bool = connection.exists(&lease).await.unwrap();
        assert!(!left, "{squatter}: the lease was not released");
    }
}

#[tokio::test]
async fn list_goes_on_past_a_hash_under_the_prefix_and_clear_keeps_it() {
    // The bug: the WRONGTYPE answer to GET in the listing's pipeline failed the whole listing.
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let cache = cache_at(&redis.url());
    setup.client(&cache).token().await.unwrap();
    let foreign = format!("reged:token:{{{}}}", "2".repeat(64));
    let mut connection = raw(&redis.url()).await;
    let _: () = connection.hset(&foreign, "a", "b").await.unwrap();
    let _: bool = connection.pexpire(&foreign, 600_000).await.unwrap();

    let listed = cache.list().await.unwrap();
    let cleared = cache.clear().await.unwrap();

    assert_eq!(listed.len(), 2, "{listed:?}");
    let hash = listed.iter().find(|entry| entry.name == foreign).unwrap();
    assert!(hash.label.is_none(), "{hash:?}");
    assert!(
        hash.remaining
            .is_some_and(|left| left > Duration::from_secs(590)),
        "{hash:?}"
    );
    assert!(
        listed.iter().any(|entry| entry.label.is_some()),
        "{listed:?}"
    );
    assert_eq!((cleared.deleted, cleared.kept), (1, 1), "{cleared:?}");
    let kept: bool = connection.exists(&foreign).await.unwrap();
    assert!(kept, "the hash was deleted");
}

#[tokio::test]
async fn error_reply_is_reported_as_an_answer_not_as_silence() {
    let redis = RedisServer::start();
    let mut connection = raw(&redis.url()).await;
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            "lister",
            "on",
            ">pw-of-lister",
            "~*",
            "+@all",
            "-scan",
        ])
        .query_async(&mut connection)
        .await
        .unwrap();
    let port = redis.url().rsplit(':').next().unwrap().to_owned();
    let cache = cache_at(&format!("redis://lister:pw-of-lister@127.0.0.1:{port}"));

    let error = cache.list().await.unwrap_err();

    let shown = error.to_string();
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(shown.contains("answered with an error"), "{shown}");
    assert!(!shown.contains("did not answer"), "{shown}");
    assert!(
        source.contains("no permissions to run the 'scan' command"),
        "{source}"
    );
}
