//! The example tokio game server (`examples/tokio-server`) run for real: two engines on one
//! runtime, concurrent matches, and a drifting player who hops between the servers. With a real
//! `redis-server` as the shared player store the drifter climbs one ladder across both servers;
//! without it each server starts the ladder over.

#![expect(
    clippy::expect_used,
    reason = "test set-up failures should stop the test loudly"
)]

use std::sync::Arc;

use tokio_server::{Config, DRIFTER, Summary, run};
use waypoint::ResponseLevel;
use waypoint_integration_tests::redis::RedisServer;

fn play(store_url: Option<String>) -> Summary {
    let config = Config {
        store_url,
        ..Config::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime
        .block_on(run(&config, Arc::new(|_| {})))
        .expect("the example runs")
}

fn drifter_levels(summary: &Summary) -> Vec<(usize, ResponseLevel)> {
    summary
        .for_player(DRIFTER)
        .map(|d| (d.server, d.level))
        .collect()
}

#[test]
fn the_drifter_climbs_one_ladder_across_servers_with_a_shared_store() {
    let server = RedisServer::start().expect("redis-server starts (scripts/install-test-deps.sh)");
    let shared = play(Some(server.url()));
    assert_eq!(shared.dropped, 0);
    let levels = drifter_levels(&shared);
    let servers: std::collections::BTreeSet<usize> = levels.iter().map(|(s, _)| *s).collect();
    assert!(
        servers.len() > 1,
        "the drifter is answered on both servers: {levels:?}"
    );
    // One ladder: the levels never step back, and each step up comes once.
    assert!(
        levels.windows(2).all(|w| w[0].1 <= w[1].1),
        "one graduated ladder across servers: {levels:?}"
    );
    let reviews = levels
        .iter()
        .filter(|(_, l)| *l == ResponseLevel::Review)
        .count();
    assert!(reviews <= 1, "one referral, not one per server: {levels:?}");

    // Without the store each server keeps its own state, and the ladder starts over.
    let separate = drifter_levels(&play(None));
    assert!(
        separate.windows(2).any(|w| w[1].1 < w[0].1),
        "without a shared store the ladder restarts on the other server: {separate:?}"
    );
}
