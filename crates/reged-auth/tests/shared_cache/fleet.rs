//! Separate OS processes sharing one Redis: one token request for the whole fleet.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use reged_auth::cache::redis::{RedisCache, RedisConfig};
use reged_emulator::Profile;

use crate::fleet_member::{self, FleetSettings, MemberReport};
use crate::redis_server::{RedisCluster, RedisServer};
use crate::support::{MEMBER_ARGS, raw, start, this_binary};

/// Starts `count` members, lets them go together and collects their reports.
async fn run_fleet(settings: &FleetSettings, count: usize) -> Vec<MemberReport> {
    let settings = settings.clone();
    tokio::task::spawn_blocking(move || {
        let members: Vec<_> = (0..count)
            .map(|_| fleet_member::spawn(&this_binary(), MEMBER_ARGS, &settings))
            .collect();
        fleet_member::start_together(&settings, count);
        members.into_iter().map(fleet_member::report).collect()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_of_250_callers_make_one_token_request() {
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    // Long enough that every process misses while the first request is under way.
    setup.emulator.set_token_delay(Duration::from_millis(300));

    let reports = run_fleet(&setup.fleet(vec![redis.url()], false, 250), 4).await;

    assert_eq!(setup.emulator.token_requests(), 1);
    assert_eq!(
        reports.iter().map(|report| report.tokens).sum::<usize>(),
        1000
    );
    assert!(reports.iter().all(|report| report.distinct == 1));
    assert!(
        reports
            .iter()
            .all(|report| report.digest == reports[0].digest)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_lease_holder_delays_the_others_by_the_lease_time_at_most() {
    let redis = RedisServer::start();
    let setup = start(Profile::Uat).await;
    let lease = Duration::from_secs(2);
    let mut settings = setup.fleet(vec![redis.url()], false, 50);
    settings.lease = lease;
    // The holder's request hangs in the token endpoint until it is killed.
    setup.emulator.set_token_delay(Duration::from_secs(30));

    let holder_settings = FleetSettings {
        go: setup.dir.path().join("go-holder"),
        ..settings.clone()
    };
    let mut holder = fleet_member::spawn(&this_binary(), MEMBER_ARGS, &holder_settings);
    let holder_ready = holder_settings.clone();
    tokio::task::spawn_blocking(move || fleet_member::start_together(&holder_ready, 1))
        .await
        .unwrap();
    let mut connection = raw(&redis.url()).await;
    let started = Instant::now();
    loop {
        let leases: Vec<String> = connection.keys("reged:token:*:lease").await.unwrap();
        if !leases.is_empty() && setup.emulator.token_requests() == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no lease taken"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let others = {
        let settings = settings.clone();
        tokio::task::spawn_blocking(move || {
            let members: Vec<_> = (0..3)
                .map(|_| fleet_member::spawn(&this_binary(), MEMBER_ARGS, &settings))
                .collect();
            fleet_member::start_together(&settings, 3);
            let went = Instant::now();
            let reports: Vec<_> = members.into_iter().map(fleet_member::report).collect();
            (reports, went.elapsed())
        })
    };
    // Let the others find the lease taken, then kill its holder mid-request.
    tokio::time::sleep(Duration::from_millis(300)).await;
    holder.kill().unwrap();
    holder.wait().unwrap();
    setup.emulator.set_token_delay(Duration::ZERO);

    let (reports, waited) = others.await.unwrap();

    assert!(waited < lease + Duration::from_secs(2), "waited {waited:?}");
    assert!(
        reports
            .iter()
            .all(|report| report.tokens == 50 && report.distinct == 1)
    );
    assert!(
        reports
            .iter()
            .all(|report| report.digest == reports[0].digest)
    );
    // The killed holder's request, then one for the three others.
    assert_eq!(setup.emulator.token_requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_node_cluster_holds_and_shares_tokens_like_one_server() {
    let cluster = RedisCluster::start();
    let setup = start(Profile::Prod).await;
    let urls = cluster.urls();
    let cache =
        RedisCache::new(RedisConfig::cluster(urls.iter().map(String::as_str)).unwrap()).unwrap();

    let first = setup.client(&cache).token().await.unwrap();
    let second = setup.client(&cache).token().await.unwrap();

    assert!(
        first.access_token.secret() == second.access_token.secret(),
        "the tokens differ"
    );
    assert_eq!(setup.emulator.token_requests(), 1);
    let listed = cache.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    let remaining = listed[0].remaining.unwrap().as_millis();
    assert!(
        (3_290_000..=3_300_000).contains(&remaining),
        "PTTL {remaining}"
    );

    // Processes on the cluster share the token the first client stored.
    setup.emulator.set_token_delay(Duration::from_millis(300));
    let reports = run_fleet(&setup.fleet(urls.clone(), true, 250), 2).await;
    assert_eq!(setup.emulator.token_requests(), 1);
    assert!(
        reports
            .iter()
            .all(|report| report.distinct == 1 && report.tokens == 250)
    );

    // A cold cluster: one request for all the processes.
    assert_eq!(cache.clear().await.unwrap().deleted, 1);
    let reports = run_fleet(&setup.fleet(urls, true, 250), 4).await;
    assert_eq!(setup.emulator.token_requests(), 2);
    assert!(
        reports
            .iter()
            .all(|report| report.digest == reports[0].digest)
    );
    drop(Arc::clone(&cache));
}
