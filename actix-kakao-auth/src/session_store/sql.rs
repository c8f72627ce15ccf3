//! [`SqlSessionStore`]: sessions in a `sessions` table, SQLite or PostgreSQL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{ExpressionMethods as _, Insertable, OptionalExtension as _, QueryDsl as _};
use diesel_async::pooled_connection::deadpool::{BuildError, Pool, PoolError};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _, SimpleAsyncConnection as _};
use serde::Serialize;

use super::sqlite_workers::{sqlite_opener, SqliteConn, SqliteWorkerError, SqliteWorkers};
use super::{
    lifetime, new_key, session_key, session_user, update_while_live, user_index,
    RevocableSessionStore, SessionState, ANONYMOUS_TTL,
};

/// By default, every this many saves also purge expired rows.
pub const DEFAULT_PURGE_EVERY: u64 = 100;

diesel::table! {
    /// Server-side session state.
    sessions (key) {
        /// The session key (the cookie value): 64 random alphanumeric characters.
        key -> Text,
        /// JSON object of the session map.
        state -> Text,
        /// The logged-in user's id as text, `NULL` for anonymous sessions.
        user_id -> Nullable<Text>,
        /// Expiry time, UTC.
        expires_at -> Timestamp,
    }
}

/// One row of `sessions`.
#[derive(Insertable)]
#[diesel(table_name = sessions)]
struct NewSession<'a> {
    key: &'a str,
    state: &'a str,
    user_id: Option<&'a str>,
    expires_at: NaiveDateTime,
}

/// The `sessions` table on SQLite, as [`SqlSessionStore::create_table`] creates it:
/// `WITHOUT ROWID`, so a session is one B-tree entry under its key, not a row plus an
/// index entry.
const SQLITE_TABLE: &str = r#"
CREATE TABLE IF NOT EXISTS sessions (
    "key" TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    user_id TEXT NULL,
    expires_at TIMESTAMP NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS sessions_user_id_idx ON sessions (user_id);
"#;

/// The `sessions` table on PostgreSQL, as [`SqlSessionStore::create_table`] creates it.
const POSTGRES_TABLE: &str = r#"
CREATE TABLE IF NOT EXISTS sessions (
    "key" TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    user_id TEXT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS sessions_user_id_idx ON sessions (user_id);
"#;

/// Why a SQL session store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum SqlSessionError {
    /// The URL names neither a SQLite file nor a PostgreSQL server.
    #[error("invalid session database URL: {0}")]
    InvalidUrl(String),
    /// The database could not be reached or opened.
    #[error("could not connect to the session database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// The PostgreSQL pool could not be built.
    #[error("could not build the session database pool: {0}")]
    PoolBuild(#[from] BuildError),
    /// No pooled PostgreSQL connection could be had.
    #[error("no session database connection available: {0}")]
    Pool(#[from] PoolError),
    /// A query failed.
    #[error("session query failed: {0}")]
    Query(#[from] DieselError),
    /// A SQLite worker could not run the query.
    #[error(transparent)]
    Worker(#[from] SqliteWorkerError),
}

/// Where the rows live.
#[derive(Clone)]
enum Backend {
    /// SQLite: read-only connections and the one writer, on their own threads.
    Sqlite {
        readers: SqliteWorkers,
        writer: SqliteWorkers,
    },
    /// PostgreSQL: a pool of pure-Rust connections.
    Postgres(Pool<AsyncPgConnection>),
}

/// Runs `body` with `conn` bound to a connection of `backend`: on SQLite one of the
/// `readers` or the `writer` (named by `$workers`), whose thread runs the whole body;
/// on PostgreSQL a pooled connection.
macro_rules! on_db {
    ($backend:expr, $workers:ident, |$conn:ident| $body:expr) => {
        match $backend {
            Backend::Sqlite {
                $workers: workers, ..
            } => {
                workers
                    .run(async move |$conn: &mut SqliteConn| $body)
                    .await?
            }
            Backend::Postgres(pool) => {
                let mut pooled = pool.get().await?;
                let $conn = &mut *pooled;
                $body
            }
        }
    };
}

/// Server-side sessions in a `sessions` table on SQLite or PostgreSQL, which keep an
/// ended session ended (see the [module documentation](super)).
///
/// Cheap to clone; clones share the connections and the purge counter.
///
/// The table has four columns: `key` (the primary key: the cookie's 64 random
/// alphanumeric characters), `state` (the session map as JSON text), `user_id` (the
/// logged-in user's id as text, `NULL` when anonymous, indexed) and `expires_at` (UTC,
/// indexed). [`connect`](Self::connect) creates it when it is missing; an app that
/// manages its schema with migrations creates it there (same names and types) and
/// builds the store with [`sqlite`](Self::sqlite) or [`postgres`](Self::postgres).
///
/// Expired rows are never loaded. They are deleted by every
/// [`DEFAULT_PURGE_EVERY`]th save (so a forgotten task cannot let the table grow
/// without bound; [`with_purge_every`](Self::with_purge_every) changes it) and by the
/// task [`spawn_purge_task`](Self::spawn_purge_task) starts.
#[derive(Clone)]
pub struct SqlSessionStore {
    backend: Backend,
    purge_every: u64,
    anonymous_ttl: StdDuration,
    saves: Arc<AtomicU64>,
}

impl std::fmt::Debug for SqlSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match &self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        };
        f.debug_struct("SqlSessionStore")
            .field("backend", &backend)
            .field("purge_every", &self.purge_every)
            .field("anonymous_ttl", &self.anonymous_ttl)
            .finish_non_exhaustive()
    }
}

impl SqlSessionStore {
    /// Opens the database named by `url` with connections of its own, and creates the
    /// `sessions` table when it is missing.
    ///
    /// `url` is a SQLite file path, `sqlite://PATH` (`sqlite:///abs/path` for an
    /// absolute path), or a `postgres://` / `postgresql://` URL. SQLite gets two reader
    /// threads and one writer thread; PostgreSQL a pool of 8 connections.
    pub async fn connect(url: &str) -> Result<Self, SqlSessionError> {
        let url = url.trim();
        let store = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut config = ManagerConfig::<AsyncPgConnection>::default();
            // No `SELECT 1` round trip on every checkout; a closed socket is still
            // noticed (`is_broken`) and the connection replaced.
            config.recycling_method = RecyclingMethod::Fast;
            let manager = AsyncDieselConnectionManager::new_with_config(url, config);
            let pool = Pool::builder(manager)
                .max_size(8)
                .runtime(deadpool::Runtime::Tokio1)
                .create_timeout(Some(StdDuration::from_secs(10)))
                .wait_timeout(Some(StdDuration::from_secs(30)))
                .build()?;
            Self::postgres(pool)
        } else {
            let path = sqlite_path(url)?;
            let wait = StdDuration::from_secs(30);
            let readers =
                SqliteWorkers::start("session-reader", 2, wait, sqlite_opener(path, true)).await?;
            let writer =
                SqliteWorkers::start("session-writer", 1, wait, sqlite_opener(path, false)).await?;
            Self::sqlite(readers, writer)
        };
        store.create_table().await?;
        Ok(store)
    }

    /// A store on SQLite connections the app already runs (see [`SqliteWorkers`]):
    /// `readers` for loads (they may be read-only) and `writer` for everything else.
    /// The table must exist (see [`create_table`](Self::create_table)).
    pub fn sqlite(readers: SqliteWorkers, writer: SqliteWorkers) -> Self {
        Self::on(Backend::Sqlite { readers, writer })
    }

    /// A store on the app's PostgreSQL pool. The table must exist (see
    /// [`create_table`](Self::create_table)).
    pub fn postgres(pool: Pool<AsyncPgConnection>) -> Self {
        Self::on(Backend::Postgres(pool))
    }

    fn on(backend: Backend) -> Self {
        Self {
            backend,
            purge_every: DEFAULT_PURGE_EVERY,
            anonymous_ttl: ANONYMOUS_TTL,
            saves: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Purges expired rows every `n` saves instead (`0` turns this off).
    pub fn with_purge_every(mut self, n: u64) -> Self {
        self.purge_every = n;
        self
    }

    /// Lets a session without a logged-in user live `ttl` instead of
    /// [`ANONYMOUS_TTL`](super::ANONYMOUS_TTL).
    pub fn with_anonymous_ttl(mut self, ttl: StdDuration) -> Self {
        self.anonymous_ttl = ttl;
        self
    }

    /// Creates the `sessions` table and its indexes when they are missing.
    pub async fn create_table(&self) -> Result<(), SqlSessionError> {
        let table = match self.backend {
            Backend::Sqlite { .. } => SQLITE_TABLE,
            Backend::Postgres(_) => POSTGRES_TABLE,
        };
        on_db!(&self.backend, writer, |conn| conn
            .batch_execute(table)
            .await)?;
        Ok(())
    }

    /// Ends every session of the user whose id is `user_id`; returns how many rows
    /// were deleted.
    pub async fn end_user_sessions<Id: Serialize + ?Sized>(
        &self,
        user_id: &Id,
    ) -> Result<u64, SqlSessionError> {
        let Some(user) = user_index(user_id) else {
            return Ok(0);
        };
        let deleted: usize = on_db!(&self.backend, writer, |conn| {
            diesel::delete(sessions::table.filter(sessions::user_id.eq(&user)))
                .execute(conn)
                .await
        })?;
        Ok(deleted as u64)
    }

    /// Deletes every expired row; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, SqlSessionError> {
        let now = now_utc();
        let deleted: usize = on_db!(&self.backend, writer, |conn| {
            diesel::delete(sessions::table.filter(sessions::expires_at.le(now)))
                .execute(conn)
                .await
        })?;
        Ok(deleted as u64)
    }

    /// The number of sessions that have not expired.
    pub async fn live_sessions(&self) -> Result<u64, SqlSessionError> {
        let now = now_utc();
        let live: i64 = on_db!(&self.backend, readers, |conn| {
            sessions::table
                .filter(sessions::expires_at.gt(now))
                .count()
                .get_result(conn)
                .await
        })?;
        Ok(live.max(0) as u64)
    }

    /// Spawns a tokio task that purges expired rows every `every` (the first run right
    /// away) until the runtime shuts down or the returned handle is aborted. Failures
    /// are logged and retried at the next tick. Call it from inside a tokio runtime.
    pub fn spawn_purge_task(&self, every: StdDuration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        let every = every.max(StdDuration::from_secs(1));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                store.purge_logged().await;
            }
        })
    }

    async fn purge_logged(&self) {
        match self.purge_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(purged = n, "expired sessions purged"),
            Err(e) => tracing::warn!(error = %e, "purging expired sessions failed"),
        }
    }

    /// Runs [`purge_expired`](Self::purge_expired) on every `purge_every`th save.
    async fn maybe_purge(&self) {
        if self.purge_every == 0 {
            return;
        }
        let saves = self.saves.fetch_add(1, Ordering::Relaxed) + 1;
        if saves.is_multiple_of(self.purge_every) {
            self.purge_logged().await;
        }
    }

    /// Inserts a row under a fresh key; returns the key.
    async fn insert(
        &self,
        state: String,
        user: Option<String>,
        expires_at: NaiveDateTime,
    ) -> Result<String, SqlSessionError> {
        loop {
            let key = new_key();
            let (row_key, state, user) = (key.clone(), state.clone(), user.clone());
            let inserted = on_db!(&self.backend, writer, |conn| {
                diesel::insert_into(sessions::table)
                    .values(NewSession {
                        key: &row_key,
                        state: &state,
                        user_id: user.as_deref(),
                        expires_at,
                    })
                    .execute(conn)
                    .await
            });
            match inserted {
                Ok(_) => return Ok(key),
                // A 380-bit key collided: draw again.
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Writes `state` over the live row `key`; returns whether there was one.
    async fn overwrite(
        &self,
        key: String,
        state: String,
        user: Option<String>,
        expires_at: NaiveDateTime,
    ) -> Result<bool, SqlSessionError> {
        let now = now_utc();
        let updated: usize = on_db!(&self.backend, writer, |conn| {
            diesel::update(
                sessions::table
                    .filter(sessions::key.eq(&key))
                    .filter(sessions::expires_at.gt(now)),
            )
            .set((
                sessions::state.eq(&state),
                sessions::user_id.eq(&user),
                sessions::expires_at.eq(expires_at),
            ))
            .execute(conn)
            .await
        })?;
        Ok(updated > 0)
    }

    /// `now + ttl` for a session with or without a logged-in user.
    fn expiry(&self, logged_in: bool, ttl: &Duration) -> NaiveDateTime {
        expiry(&lifetime(logged_in, ttl, self.anonymous_ttl))
    }
}

/// The path in a SQLite URL.
fn sqlite_path(url: &str) -> Result<&str, SqlSessionError> {
    let path = match url.strip_prefix("sqlite:") {
        Some(rest) => rest.strip_prefix("//").unwrap_or(rest),
        None if url.contains("://") => {
            return Err(SqlSessionError::InvalidUrl(
                "use a SQLite file path, sqlite://PATH or postgres://…".into(),
            ))
        }
        None => url,
    };
    if path.is_empty() || path == ":memory:" || path.contains("mode=memory") {
        return Err(SqlSessionError::InvalidUrl(
            "a SQLite session store needs a file path (an in-memory database is one per \
             connection)"
                .into(),
        ));
    }
    Ok(path)
}

fn now_utc() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// `now + ttl`, capped at the end of year 9999 (both databases, and SQLite's text
/// ordering of timestamps, handle four-digit years).
fn expiry(ttl: &Duration) -> NaiveDateTime {
    let latest = NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .unwrap_or(NaiveDateTime::MAX);
    let ttl = TimeDelta::try_milliseconds(ttl.whole_milliseconds().try_into().unwrap_or(i64::MAX))
        .unwrap_or(TimeDelta::MAX);
    now_utc()
        .checked_add_signed(ttl)
        .map_or(latest, |t| t.min(latest))
}

impl SessionStore for SqlSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let key = session_key.as_ref().to_owned();
        let now = now_utc();
        let state: Option<String> = async {
            Ok::<_, SqlSessionError>(on_db!(&self.backend, readers, |conn| {
                sessions::table
                    .filter(sessions::key.eq(&key))
                    .filter(sessions::expires_at.gt(now))
                    .select(sessions::state)
                    .get_result(conn)
                    .await
                    .optional()
            })?)
        }
        .await
        .map_err(|e| LoadError::Other(e.into()))?;
        state
            .map(|s| serde_json::from_str::<SessionState>(&s))
            .transpose()
            .map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(
        &self,
        session_state: SessionState,
        ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        let state = serde_json::to_string(&session_state)
            .map_err(|e| SaveError::Serialization(e.into()))?;
        let user = session_user(&session_state);
        let expires_at = self.expiry(user.is_some(), ttl);
        let key = self
            .insert(state, user, expires_at)
            .await
            .map_err(|e| SaveError::Other(e.into()))?;
        self.maybe_purge().await;
        session_key(key).map_err(SaveError::Other)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: SessionState,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        update_while_live(self, session_key, session_state, |key, state| async move {
            let user = session_user(&state);
            let expires_at = self.expiry(user.is_some(), ttl);
            let state = serde_json::to_string(&state).map_err(anyhow::Error::from)?;
            Ok::<_, anyhow::Error>(self.overwrite(key, state, user, expires_at).await?)
        })
        .await
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        ttl: &Duration,
    ) -> Result<(), anyhow::Error> {
        let key = session_key.as_ref().to_owned();
        let (logged_in, anonymous) = (self.expiry(true, ttl), self.expiry(false, ttl));
        let now = now_utc();
        async {
            on_db!(&self.backend, writer, |conn| {
                let live = sessions::table
                    .filter(sessions::key.eq(&key))
                    .filter(sessions::expires_at.gt(now));
                diesel::update(live.filter(sessions::user_id.is_not_null()))
                    .set(sessions::expires_at.eq(logged_in))
                    .execute(conn)
                    .await?;
                diesel::update(live.filter(sessions::user_id.is_null()))
                    .set(sessions::expires_at.eq(anonymous))
                    .execute(conn)
                    .await
            })?;
            Ok::<_, SqlSessionError>(())
        }
        .await?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let key = session_key.as_ref().to_owned();
        async {
            on_db!(&self.backend, writer, |conn| {
                diesel::delete(sessions::table.filter(sessions::key.eq(&key)))
                    .execute(conn)
                    .await
            })?;
            Ok::<_, SqlSessionError>(())
        }
        .await?;
        Ok(())
    }
}

impl RevocableSessionStore for SqlSessionStore {
    async fn end_user_sessions<Id: Serialize + Sync + ?Sized>(
        &self,
        user_id: &Id,
    ) -> Result<u64, anyhow::Error> {
        Ok(SqlSessionStore::end_user_sessions(self, user_id).await?)
    }

    fn anonymous_ttl(&self) -> StdDuration {
        self.anonymous_ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_ttls_saturate() {
        let latest = expiry(&Duration::MAX);
        assert_eq!(latest.format("%F %T").to_string(), "9999-12-31 23:59:59");
        assert!(expiry(&Duration::seconds(60)) > now_utc());
    }

    #[test]
    fn sqlite_urls_name_a_file() {
        assert_eq!(sqlite_path("s.db").ok(), Some("s.db"));
        assert_eq!(sqlite_path("sqlite://s.db").ok(), Some("s.db"));
        assert_eq!(sqlite_path("sqlite:///tmp/s.db").ok(), Some("/tmp/s.db"));
        for bad in [
            "",
            "sqlite://",
            ":memory:",
            "mysql://h/db",
            "file:x?mode=memory",
        ] {
            assert!(
                matches!(sqlite_path(bad), Err(SqlSessionError::InvalidUrl(_))),
                "{bad:?}"
            );
        }
    }
}
