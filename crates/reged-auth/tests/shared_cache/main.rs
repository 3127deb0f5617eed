//! The Redis tier against real `redis-server` processes and the emulator, over real sockets.
//!
//! Needs `redis-server` and `redis-cli` on `PATH`, or `REGED_REDIS_SERVER` naming the server
//! (with `redis-cli` beside it).

mod fleet;
mod fleet_member;
mod redis_server;
mod single_node;
mod support;

/// The entry point of the member processes that the fleet tests start; a no-op when this binary
/// runs as the test suite.
#[test]
fn fleet_member() {
    fleet_member::run_if_member();
}
