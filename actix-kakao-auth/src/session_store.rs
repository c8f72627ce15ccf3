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

use std::collections::HashMap;
use std::future::Future;

use actix_session::storage::{SessionKey, SessionStore};
use actix_web::cookie::time::Duration;
use rand::distributions::{Alphanumeric, DistString as _};
use serde::Serialize;

use crate::session::SESSION_USER_KEY;

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

/// The length of a session key in alphanumeric characters (about 380 bits, like
/// actix-session's own stores).
const KEY_LEN: usize = 64;

/// The session map as actix-session hands it over.
pub(crate) type SessionState = HashMap<String, String>;

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

/// A fresh random session key.
pub(crate) fn new_key() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), KEY_LEN)
}

/// A session key that names nothing: the answer to an update of a session that ended.
pub(crate) fn dead_key() -> Result<SessionKey, anyhow::Error> {
    session_key(new_key())
}

pub(crate) fn session_key(key: String) -> Result<SessionKey, anyhow::Error> {
    SessionKey::try_from(key).map_err(|e| anyhow::anyhow!("invalid session key: {e}"))
}

/// The index text of a user id: a JSON string's text, any other JSON value's
/// encoding (`42` for the number 42). The same for the id an app passes to
/// `end_user_sessions` and the id in a session entry.
pub(crate) fn user_index<Id: Serialize + ?Sized>(user_id: &Id) -> Option<String> {
    index_of(serde_json::to_value(user_id).ok()?)
}

fn index_of(value: serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The logged-in user's index text in a session state map, if any.
pub(crate) fn session_user(state: &SessionState) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Entry {
        id: serde_json::Value,
    }
    let raw = state.get(SESSION_USER_KEY)?;
    index_of(serde_json::from_str::<Entry>(raw).ok()?.id)
}

/// The lifetime of a session: `ttl` with a logged-in user, at most `anonymous`
/// without one.
pub(crate) fn lifetime(
    logged_in: bool,
    ttl: &Duration,
    anonymous: std::time::Duration,
) -> Duration {
    if logged_in {
        return *ttl;
    }
    let anonymous = Duration::try_from(anonymous).unwrap_or(Duration::MAX);
    (*ttl).min(anonymous)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged_in(entry: &str) -> SessionState {
        SessionState::from([(SESSION_USER_KEY.to_owned(), entry.to_owned())])
    }

    #[test]
    fn user_ids_index_alike_from_the_app_and_from_the_entry() {
        let number = logged_in(r#"{"id":42,"hash":"h","csrf":"c"}"#);
        assert_eq!(session_user(&number), Some("42".into()));
        assert_eq!(user_index(&42_i64), Some("42".into()));
        let text = logged_in(r#"{"id":"a-b","hash":"h","csrf":"c"}"#);
        assert_eq!(session_user(&text), Some("a-b".into()));
        assert_eq!(user_index("a-b"), Some("a-b".into()));
        assert_eq!(session_user(&logged_in("not json")), None);
        assert_eq!(session_user(&SessionState::new()), None);
    }

    #[test]
    fn anonymous_sessions_live_as_long_as_a_login_flow() {
        let fortnight = Duration::days(14);
        assert_eq!(lifetime(true, &fortnight, ANONYMOUS_TTL), fortnight);
        assert_eq!(
            lifetime(false, &fortnight, ANONYMOUS_TTL),
            Duration::seconds(600)
        );
        let minute = Duration::seconds(60);
        assert_eq!(lifetime(false, &minute, ANONYMOUS_TTL), minute);
    }
}
