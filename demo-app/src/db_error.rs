//! [`DbError`]: why the database could not be opened or used.

use std::time::Duration;

use actix_kakao_auth::session_store::sqlite_workers::SqliteWorkerError;
use diesel::ConnectionError;
use diesel_async::pooled_connection::deadpool::{BuildError, PoolError};

/// Why the database could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL is neither a SQLite path / `sqlite://` URL nor a `postgres://` URL.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The database could not be reached or opened.
    #[error("could not connect to {target}: {source}")]
    Connect {
        /// The database, with any password hidden.
        target: String,
        /// The driver's error.
        #[source]
        source: ConnectionError,
    },
    /// Establishing a connection took longer than `DbOptions::connect_timeout`.
    #[error("could not connect to {target}: no answer within {timeout:?}")]
    ConnectTimeout {
        /// The database, with any password hidden.
        target: String,
        /// The time waited.
        timeout: Duration,
    },
    /// Running the embedded migrations failed.
    #[error("migrations failed on {target}: {source}")]
    Migration {
        /// The database, with any password hidden.
        target: String,
        /// The migration harness's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The connection pool could not be built.
    #[error("could not build the connection pool: {0}")]
    PoolBuild(#[from] BuildError),
    /// No pooled connection could be had (database down, pool exhausted, timeout).
    #[error("no database connection available: {0}")]
    Pool(#[from] PoolError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// A background task (migrations, a detached store write) panicked or was
    /// cancelled.
    #[error("database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A SQLite query panicked, or its worker thread is gone.
    #[error("a SQLite worker failed while running the query")]
    WorkerPanicked,
    /// A SQLite query waited longer than `DbOptions::acquire_timeout` for a
    /// connection and was not run.
    #[error("the database is overloaded: a query waited {waited:?} for a connection")]
    Overloaded {
        /// How long it waited.
        waited: Duration,
    },
}

impl From<SqliteWorkerError> for DbError {
    fn from(error: SqliteWorkerError) -> Self {
        match error {
            SqliteWorkerError::Panicked => Self::WorkerPanicked,
            SqliteWorkerError::Overloaded { waited } => Self::Overloaded { waited },
        }
    }
}
