//! The database: SQLite or PostgreSQL, chosen from `DATABASE_URL` at run time.
//!
//! PostgreSQL goes through a `deadpool` pool of the pure-Rust [`AsyncPgConnection`]
//! (no system `libpq` is needed). SQLite is a blocking library, so its connections
//! live on dedicated threads ([`SqliteWorkers`]): each [`db_run!`](crate::db_run) body
//! is queued to one of them and runs there whole, every statement and the transaction
//! around them in one hand-off (see [`SqliteConn`]), and the Actix worker awaits the
//! answer.
//!
//! SQLite has one writer at a time, so [`Db`] keeps two groups of SQLite connections:
//! readers (`PRAGMA query_only`, several at once under WAL) and a single writer. Writes
//! queue for the writer in order and without sleeping, instead of meeting in SQLite's
//! busy handler, which sleeps in steps of milliseconds.
//!
//! [`Db::connect`] runs the embedded migrations before it returns:
//! `migrations/sqlite` inside one `BEGIN IMMEDIATE` transaction, `migrations/postgres`
//! under `pg_advisory_lock`, so several processes starting at once do not race.
//!
//! Queries are written once for both backends with [`db_run!`](crate::db_run):
//!
//! ```no_run
//! # async fn demo(db: &demo_app::db::Db) -> Result<i64, demo_app::db::DbError> {
//! use demo_app::schema::users;
//! use diesel::prelude::*;
//! use diesel_async::RunQueryDsl;
//!
//! let n: i64 = demo_app::db_run!(db, |conn| users::table.count().get_result(conn).await)?;
//! # Ok(n) }
//! ```

use std::fmt;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection as _};
use diesel::{Connection as _, SqliteConnection};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncTransactionManagerWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, TransactionManager as _};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness as _};

#[doc(hidden)]
pub use diesel_async as __diesel_async;

pub use crate::db_error::DbError;
use actix_kakao_auth::session_store::sqlite_workers::{sqlite_opener, SQLITE_PRAGMAS};
pub use actix_kakao_auth::session_store::sqlite_workers::{
    OnCurrentThread, SqliteConn, SqliteWorkers,
};

/// The PostgreSQL connection type (pure Rust, tokio-postgres).
pub type PgConn = AsyncPgConnection;

/// Migrations for SQLite, embedded at compile time.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
/// Migrations for PostgreSQL, embedded at compile time.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// The `pg_advisory_lock` key held while migrations run (any constant; ASCII "kakaomig").
const MIGRATION_LOCK_KEY: i64 = 0x6b61_6b61_6f6d_6967;

/// A pooled connection to the database: SQLite or PostgreSQL.
///
/// Cloning is cheap (the pools are shared).
#[derive(Clone)]
pub enum Db {
    /// A SQLite file: connections on their own threads, in two groups.
    Sqlite {
        /// Read-only connections (`PRAGMA query_only`), used concurrently under WAL.
        readers: SqliteWorkers,
        /// The one connection that writes; writers wait for it in order.
        writer: SqliteWorkers,
    },
    /// A PostgreSQL server.
    Postgres(Pool<PgConn>),
}

/// Pool settings for [`Db::connect_with`].
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Maximum pooled connections; `None` picks 8 for PostgreSQL, and for SQLite 2
    /// reader threads (plus the one writer).
    pub max_connections: Option<usize>,
    /// How long to wait for a new connection to be established.
    pub connect_timeout: Duration,
    /// How long a query waits for a free pooled connection (SQLite: how long it may
    /// wait in the queue before it is dropped with [`DbError::Overloaded`]).
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            connect_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A SQLite file path.
    Sqlite(String),
    /// A PostgreSQL URL (the full URL, and a form safe to print).
    Postgres { url: String, shown: String },
}

impl Target {
    fn parse(database_url: &str) -> Result<Self, DbError> {
        let url = database_url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let parsed = url::Url::parse(url)
                .map_err(|e| DbError::InvalidUrl(format!("not a valid postgres:// URL ({e})")))?;
            return Ok(Self::Postgres {
                url: url.to_owned(),
                shown: redact(parsed),
            });
        }
        let path = match url.strip_prefix("sqlite:") {
            Some(rest) => rest.strip_prefix("//").unwrap_or(rest),
            None => match url.split_once("://") {
                Some((scheme, _)) => return Err(unsupported_scheme(scheme)),
                None => url,
            },
        };
        if path.is_empty() {
            return Err(DbError::InvalidUrl("empty SQLite path".into()));
        }
        if path == ":memory:" || path.contains("mode=memory") {
            return Err(DbError::InvalidUrl(
                "in-memory SQLite is not supported (every pooled connection would see its own \
                 empty database): use a file path"
                    .into(),
            ));
        }
        if path.contains('?') && !path.starts_with("file:") {
            return Err(DbError::InvalidUrl(format!(
                "query parameters are not supported in SQLite URLs: {path:?}"
            )));
        }
        Ok(Self::Sqlite(path.to_owned()))
    }

    /// A description safe for logs and error messages.
    fn shown(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("SQLite database {path:?}"),
            Self::Postgres { shown, .. } => format!("PostgreSQL at {shown}"),
        }
    }
}

fn unsupported_scheme(scheme: &str) -> DbError {
    DbError::InvalidUrl(format!(
        "unsupported scheme {scheme:?}: use a SQLite file path, sqlite://PATH or postgres://…"
    ))
}

/// The URL with its password replaced by `***`.
fn redact(mut url: url::Url) -> String {
    if url.password().is_some() {
        // Cannot fail for a URL that already has a password.
        let _ = url.set_password(Some("***"));
    }
    url.to_string()
}

impl Db {
    /// Opens the database named by `database_url` with default [`DbOptions`] and runs
    /// pending migrations.
    ///
    /// `database_url` is a SQLite file path, `sqlite://PATH` (`sqlite:///abs/path` for
    /// an absolute path), or a `postgres://` / `postgresql://` URL.
    pub async fn connect(database_url: &str) -> Result<Db, DbError> {
        Self::connect_with(database_url, DbOptions::default()).await
    }

    /// Like [`Db::connect`], with explicit pool settings.
    pub async fn connect_with(database_url: &str, options: DbOptions) -> Result<Db, DbError> {
        let target = Target::parse(database_url)?;
        let db = match &target {
            Target::Sqlite(path) => {
                migrate_sqlite(path.clone(), &target).await?;
                let start = |name, threads, read_only| {
                    let open = sqlite_opener(path, read_only);
                    SqliteWorkers::start(name, threads, options.acquire_timeout, open)
                };
                let connect_error = |source| DbError::Connect {
                    target: target.shown(),
                    source,
                };
                Db::Sqlite {
                    readers: start("sqlite-reader", options.max_connections.unwrap_or(2), true)
                        .await
                        .map_err(connect_error)?,
                    writer: start("sqlite-writer", 1, false)
                        .await
                        .map_err(connect_error)?,
                }
            }
            Target::Postgres { url, .. } => {
                migrate_postgres(url, &target, options.connect_timeout).await?;
                // `Fast`: no `SELECT 1` round trip on every checkout (diesel-async's default,
                // `Verified`, doubled the round trips of the page and login queries). A
                // connection whose socket closed is still replaced: the pool drops it when
                // `is_broken` reports it closed.
                let mut config = ManagerConfig::<PgConn>::default();
                config.recycling_method = RecyclingMethod::Fast;
                let manager =
                    AsyncDieselConnectionManager::<PgConn>::new_with_config(url.as_str(), config);
                Db::Postgres(build_pool(
                    manager,
                    options.max_connections.unwrap_or(8),
                    &options,
                )?)
            }
        };
        db.ping().await.map_err(|e| match e {
            DbError::Pool(PoolError::Backend(
                diesel_async::pooled_connection::PoolError::ConnectionError(source),
            )) => DbError::Connect {
                target: target.shown(),
                source,
            },
            other => other,
        })?;
        Ok(db)
    }

    /// Checks that the database answers (`SELECT 1`), for health checks. On SQLite
    /// both pools are tried: a page can need the reader and a login the writer.
    pub async fn ping(&self) -> Result<(), DbError> {
        use diesel::IntoSql as _;
        use diesel_async::RunQueryDsl as _;
        let _one: i32 = crate::db_run!(self, |conn| {
            diesel::select(1_i32.into_sql::<diesel::sql_types::Integer>())
                .get_result(conn)
                .await
        })?;
        if let Db::Sqlite { .. } = self {
            let _one: i32 = crate::db_run!(
                self,
                write | conn | {
                    diesel::select(1_i32.into_sql::<diesel::sql_types::Integer>())
                        .get_result(conn)
                        .await
                }
            )?;
        }
        Ok(())
    }

    /// The library's session store on this database's connections (on SQLite, one
    /// writer queue serves the app's writes and the sessions' alike). The `sessions`
    /// table comes from the migrations.
    pub fn session_store(&self) -> actix_kakao_auth::session_store::SqlSessionStore {
        use actix_kakao_auth::session_store::SqlSessionStore;
        match self {
            Db::Sqlite { readers, writer } => {
                SqlSessionStore::sqlite(readers.clone(), writer.clone())
            }
            Db::Postgres(pool) => SqlSessionStore::postgres(pool.clone()),
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Db::Sqlite { readers, writer } => f
                .debug_struct("Db::Sqlite")
                .field("readers", readers)
                .field("writer", writer)
                .finish(),
            Db::Postgres(pool) => f
                .debug_struct("Db::Postgres")
                .field("pool", &pool.status())
                .finish(),
        }
    }
}

/// Builds a pool with the size and timeouts from `options`.
fn build_pool<C>(
    manager: AsyncDieselConnectionManager<C>,
    max_size: usize,
    options: &DbOptions,
) -> Result<Pool<C>, DbError>
where
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager<Type = C>,
{
    Ok(Pool::builder(manager)
        .max_size(max_size.max(1))
        .runtime(deadpool::Runtime::Tokio1)
        .create_timeout(Some(options.connect_timeout))
        .wait_timeout(Some(options.acquire_timeout))
        .recycle_timeout(Some(options.connect_timeout))
        .build()?)
}

/// Takes a connection from `pool` (used by [`db_run!`](crate::db_run)).
#[doc(hidden)]
pub async fn checkout<C>(pool: &Pool<C>) -> Result<Object<C>, DbError>
where
    AsyncDieselConnectionManager<C>:
        deadpool::managed::Manager<Type = C, Error = diesel_async::pooled_connection::PoolError>,
{
    Ok(pool.get().await?)
}

/// Runs `work` inside `BEGIN IMMEDIATE` … `COMMIT` on a SQLite connection, rolling back
/// when it returns `Err` (used by [`db_run!`](crate::db_run)).
#[doc(hidden)]
pub async fn immediate_transaction<R, E, F>(conn: &mut SqliteConn, work: F) -> Result<R, E>
where
    F: AsyncFnOnce(&mut SqliteConn) -> Result<R, E>,
    E: From<diesel::result::Error>,
{
    type Manager = SyncTransactionManagerWrapper<AnsiTransactionManager>;
    conn.spawn_blocking(|conn| {
        AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN IMMEDIATE")
    })
    .await?;
    match work(&mut *conn).await {
        Ok(value) => {
            Manager::commit_transaction(&mut *conn).await?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) = Manager::rollback_transaction(&mut *conn).await {
                // The connection reports itself broken and the pool drops it.
                tracing::error!(error = %rollback, "SQLite rollback failed");
            }
            Err(error)
        }
    }
}

/// Runs the SQLite migrations on a dedicated connection, on the blocking pool, inside
/// one `BEGIN IMMEDIATE` transaction (so two processes starting at once take turns).
///
/// SQLite answers "database is locked" without waiting when two connections would
/// deadlock (both switching a new file to WAL, for instance); that case is retried.
async fn migrate_sqlite(path: String, target: &Target) -> Result<(), DbError> {
    let shown = target.shown();
    tokio::task::spawn_blocking(move || {
        let mut conn = SqliteConnection::establish(&path).map_err(|source| DbError::Connect {
            target: shown.clone(),
            source,
        })?;
        let migrate = |conn: &mut SqliteConnection| -> Result<(), MigrationError> {
            conn.batch_execute(SQLITE_PRAGMAS)?;
            conn.immediate_transaction(|conn| {
                conn.run_pending_migrations(SQLITE_MIGRATIONS).map(drop)
            })
        };
        let mut attempt = 1;
        loop {
            match migrate(&mut conn) {
                Err(e) if is_sqlite_busy(&*e) && attempt < SQLITE_BUSY_RETRIES => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(20 * u64::from(attempt)));
                }
                result => {
                    return result.map_err(|source| DbError::Migration {
                        target: shown,
                        source,
                    })
                }
            }
        }
    })
    .await?
}

/// How often [`migrate_sqlite`] tries when SQLite reports a lock conflict.
const SQLITE_BUSY_RETRIES: u32 = 25;

/// Whether `e` is SQLite's "database is locked" (`SQLITE_BUSY`).
fn is_sqlite_busy(e: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        e.downcast_ref::<diesel::result::Error>(),
        Some(diesel::result::Error::DatabaseError(_, info))
            if info.message().contains("database is locked")
    )
}

/// The migration harness's error type.
type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// Runs the PostgreSQL migrations on a dedicated connection while holding
/// `pg_advisory_lock(MIGRATION_LOCK_KEY)`, through diesel-async's
/// [`AsyncConnectionWrapper`] on the blocking pool.
async fn migrate_postgres(url: &str, target: &Target, timeout: Duration) -> Result<(), DbError> {
    let shown = target.shown();
    let conn = tokio::time::timeout(timeout, PgConn::establish(url))
        .await
        .map_err(|_| DbError::ConnectTimeout {
            target: shown.clone(),
            timeout,
        })?
        .map_err(|source| DbError::Connect {
            target: shown.clone(),
            source,
        })?;
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl as _;
        let mut conn: AsyncConnectionWrapper<PgConn> = AsyncConnectionWrapper::from(conn);
        let lock = |sql: &'static str, conn: &mut AsyncConnectionWrapper<PgConn>| {
            diesel::sql_query(sql)
                .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK_KEY)
                .execute(conn)
                .map(drop)
        };
        let run = |conn: &mut AsyncConnectionWrapper<PgConn>| -> Result<(), MigrationError> {
            lock("SELECT pg_advisory_lock($1)", conn)?;
            let migrated = conn.run_pending_migrations(POSTGRES_MIGRATIONS).map(drop);
            // Released also when the connection closes, which follows right after.
            let unlocked = lock("SELECT pg_advisory_unlock($1)", conn);
            migrated?;
            Ok(unlocked?)
        };
        run(&mut conn).map_err(|source| DbError::Migration {
            target: shown,
            source,
        })
    })
    .await?
}

/// Runs a query written once for both backends.
///
/// * `db_run!(db, |conn| expr)` — `expr` (usually ending in `.await`) runs with `conn`
///   bound to `&mut` the backend's connection type. On SQLite this is a read-only
///   connection.
/// * `db_run!(db, write |conn| expr)` — the same on SQLite's one writer connection.
/// * `db_run!(db, transaction |conn| expr)` — `expr` runs inside a transaction that is
///   committed when it evaluates to `Ok` and rolled back on `Err`. On SQLite the
///   transaction runs on the writer connection and is `BEGIN IMMEDIATE`, so a
///   writer from another process makes it wait rather than fail half-way.
///
/// On SQLite `expr` runs on a worker thread (see [`SqliteConn`]) as the body of
/// an `async move` closure, so it must own what it uses (clone a `String`, do not
/// borrow a local). The macro uses `?` to turn a [`DbError`] (no connection
/// available, the blocking task failed) into the enclosing function's error type, and
/// needs `diesel_async::RunQueryDsl` in scope for the queries in `expr`. The error
/// type of a transaction's body must implement `From<diesel::result::Error>`.
#[macro_export]
macro_rules! db_run {
    ($db:expr, |$conn:ident| $body:expr) => {
        $crate::db_run!(@on $db, readers, |$conn| $body)
    };
    ($db:expr, write |$conn:ident| $body:expr) => {
        $crate::db_run!(@on $db, writer, |$conn| $body)
    };
    (@on $db:expr, $sqlite_workers:ident, |$conn:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite {
                $sqlite_workers: workers,
                ..
            } => {
                workers
                    .run(async move |$conn: &mut $crate::db::SqliteConn| $body)
                    .await
                    .map_err($crate::db::DbError::from)?
            }
            $crate::db::Db::Postgres(pool) => {
                let mut pooled = $crate::db::checkout(pool).await?;
                let $conn = &mut *pooled;
                async { $body }.await
            }
        }
    };
    ($db:expr, transaction |$conn:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { writer, .. } => {
                writer
                    .run(async move |conn: &mut $crate::db::SqliteConn| {
                        $crate::db::immediate_transaction(conn, async |$conn| $body).await
                    })
                    .await
                    .map_err($crate::db::DbError::from)?
            }
            $crate::db::Db::Postgres(pool) => {
                let mut pooled = $crate::db::checkout(pool).await?;
                $crate::db::__diesel_async::AsyncConnection::transaction(
                    &mut *pooled,
                    async |$conn| $body,
                )
                .await
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(
            Target::parse("demo.sqlite3").ok(),
            Some(Target::Sqlite("demo.sqlite3".into()))
        );
        assert_eq!(
            Target::parse("sqlite://demo.sqlite3").ok(),
            Some(Target::Sqlite("demo.sqlite3".into()))
        );
        assert_eq!(
            Target::parse("sqlite:///tmp/x.db").ok(),
            Some(Target::Sqlite("/tmp/x.db".into()))
        );
        assert!(matches!(
            Target::parse("postgresql://u:pw@localhost/db"),
            Ok(Target::Postgres { .. })
        ));
    }

    #[test]
    fn bad_urls_are_rejected_with_a_reason() {
        for bad in [
            "",
            "sqlite://",
            "sqlite::memory:",
            ":memory:",
            "mysql://x/y",
            "postgres://[::1",
        ] {
            assert!(
                matches!(Target::parse(bad), Err(DbError::InvalidUrl(_))),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn passwords_never_show() {
        let target = Target::parse("postgres://app:hunter2@db.example:5432/app").ok();
        let shown = target.map(|t| t.shown()).unwrap_or_default();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.example"), "{shown}");
    }
}
