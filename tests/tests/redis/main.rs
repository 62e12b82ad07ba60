//! The Redis revocation store against a real redis-server (`scripts/with-redis.sh` starts one
//! on loopback): one test binary for the store.
//!
//! - [`sharing`]: logouts shared between instances over HTTP, and its configuration.
//! - [`store`]: what the store writes to Redis and what it reads back.
//! - [`faults`]: Redis lost, restarted, flushed or slow, and instances killed.
//! - [`trust`]: authenticated entries and messages, and what a Redis writer can't do.
//! - [`pending`]: the file of logouts a stop leaves unwritten.
//! - [`sentinel`]: `redis+sentinel://` against a real sentinel.
//! - [`replicas`]: logouts confirmed by a replica (`WAIT`), through Sentinel failovers.
//! - [`tls`]: `rediss://` with a private CA.

mod faults;
mod pending;
mod replicas;
mod sentinel;
mod sharing;
mod store;
mod tls;
mod trust;
