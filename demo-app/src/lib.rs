//! The demo application for `actix-kakao-auth`, as a library so tests can build it in-process.

pub mod db;
pub mod models;
pub mod schema;
pub mod session_store;
pub mod store;
