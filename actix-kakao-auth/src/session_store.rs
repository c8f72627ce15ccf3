//! Server-side session stores that keep an ended session ended (features
//! `sql-sessions` and `redis-sessions`).
//!
//! Both implement actix-session's [`SessionStore`], so they plug into
//! [`KakaoAuth::session_middleware`](crate::KakaoAuth::session_middleware) like any
//! other store, and both keep the rules that a login needs and actix-session's own
//! stores do not:
//!
//! * **An ended session stays ended.** `update` writes only while the session still
//!   exists. A request that loaded a session before logout (or disconnect, or the
//!   unlink webhook) deleted it cannot write it back: its answer is a fresh key that
//!   names nothing, so the request completes and its cookie is useless (as Django's
//!   database backend raises `UpdateError`, without the 500). An update that leaves
//!   the session empty ends it too.
//! * **Anonymous sessions are short-lived.** A session without a logged-in user lives
//!   at most [`ANONYMOUS_TTL`] (a login flow's lifetime; change it with
//!   `with_anonymous_ttl`), not the two weeks of a login.
//! * **Expired sessions are never loaded and are purged**: Redis expires its keys;
//!   the SQL store purges expired rows every few saves and from an optional
//!   background task.
//! * **Every session of one user can be ended at once**:
//!   `end_user_sessions(&user_id)` (both stores index sessions by the logged-in user's
//!   id, read from the library's session entry).
//!
//! | store | feature | backends |
//! | --- | --- | --- |
//! | [`SqlSessionStore`] | `sql-sessions` | SQLite (bundled, no system library) or PostgreSQL (pure-Rust driver) |
//! | [`RedisSessionStore`] | `redis-sessions` | Redis 7 or newer (checked at connect) |
//!
//! ```no_run
//! # #[cfg(feature = "sql-sessions")]
//! # async fn example<S: actix_kakao_auth::UserStore>(auth: actix_kakao_auth::KakaoAuth<S>) -> Result<(), Box<dyn std::error::Error>> {
//! use actix_kakao_auth::session_store::SqlSessionStore;
//!
//! // Creates the `sessions` table when it is missing.
//! let sessions = SqlSessionStore::connect("sqlite://sessions.sqlite3").await?;
//! let _purge = sessions.spawn_purge_task(std::time::Duration::from_secs(300));
//! let app = actix_web::App::new()
//!     .configure(auth.routes())
//!     .wrap(auth.identity())
//!     .wrap(auth.session_middleware(sessions.clone()).build());
//! # Ok(()) }
//! ```
//!
//! [`testing::session_store_acceptance_suite`](crate::testing::session_store_acceptance_suite)
//! checks these rules, including the revival race, for any store.

use std::future::Future;

use actix_session::storage::SessionStore;
use serde::Serialize;

#[cfg(any(feature = "sql-sessions", feature = "redis-sessions"))]
mod shared;
#[cfg(any(feature = "sql-sessions", feature = "redis-sessions"))]
use shared::*;

#[cfg(feature = "redis-sessions")]
mod redis;
#[cfg(feature = "redis-sessions")]
mod redis_version;
#[cfg(feature = "sql-sessions")]
mod sql;
#[cfg(feature = "sql-sessions")]
pub mod sqlite_workers;

#[cfg(feature = "redis-sessions")]
pub use self::redis::{RedisSessionError, RedisSessionStore, DEFAULT_REDIS_PREFIX};
#[cfg(feature = "redis-sessions")]
pub use self::redis_version::require_redis_7;
#[cfg(feature = "sql-sessions")]
pub use self::sql::{SqlSessionError, SqlSessionStore, DEFAULT_PURGE_EVERY};
#[cfg(feature = "sql-sessions")]
pub use self::sqlite_workers::SqliteWorkers;

/// How long a session without a logged-in user lives on the server by default: the
/// lifetime of a login flow.
pub const ANONYMOUS_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// A session store that keeps an ended session ended and can end every session of one
/// user: what [`session_store_acceptance_suite`](crate::testing::session_store_acceptance_suite)
/// checks.
pub trait RevocableSessionStore: SessionStore {
    /// Ends every session whose logged-in user has the id `user_id` (the app's
    /// [`AuthUser::Id`](crate::AuthUser::Id)); returns how many ended.
    fn end_user_sessions<Id: Serialize + Sync + ?Sized>(
        &self,
        user_id: &Id,
    ) -> impl Future<Output = Result<u64, anyhow::Error>>;

    /// How long a session without a logged-in user lives.
    fn anonymous_ttl(&self) -> std::time::Duration;
}
