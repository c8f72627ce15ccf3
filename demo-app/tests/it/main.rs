//! The integration tests of `demo-app`, as one test binary: one module per subject
//! (stores, sessions, revocation races, several instances, outages).
#![allow(clippy::unwrap_used)]

mod common;
mod deployment;
mod import_django;
mod multi_instance;
mod naver;
mod operations;
mod outage;
mod revocation;
mod session_stores;
mod store_postgres;
mod store_sqlite;
