//! End-to-end tests for the Waypoint workspace live in `tests/`; this library holds what they
//! share: [`redis::RedisServer`], a real `redis-server` (or `valkey-server`) on a loopback port.

pub mod redis;
