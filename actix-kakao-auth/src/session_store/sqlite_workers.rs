//! [`SqliteWorkers`]: dedicated threads that own SQLite connections and run queued
//! work on them, so SQLite (a blocking library) never runs on an Actix worker.
//!
//! Every thread owns one connection and takes work from one queue shared by the
//! group. A thread that finishes a piece of work takes the next one without sleeping
//! while the queue is not empty, and a caller only wakes a thread when one is idle, so
//! under load many queries share one wake-up instead of paying a thread hand-off each
//! (tokio's `spawn_blocking` wakes a pool thread for every call). Callers wait for the
//! answer on a oneshot channel, without blocking.
//!
//! The group stops when its last handle is dropped: the threads finish the queued
//! work, close their connections and exit.
//!
//! [`SqlSessionStore`](super::SqlSessionStore) runs its SQLite queries here. An app that
//! queries the same SQLite file can run its own queries on the same workers
//! ([`SqliteWorkers::run`]) and hand them to
//! [`SqlSessionStore::sqlite`](super::SqlSessionStore::sqlite), so that one writer
//! connection serves both and writes queue in order instead of meeting in SQLite's
//! busy handler, which sleeps in steps of milliseconds.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, ConnectionError, SqliteConnection};
use diesel_async::sync_connection_wrapper::{SpawnBlocking, SyncConnectionWrapper};
use futures_util::future::{BoxFuture, FutureExt as _};

/// Settings for every SQLite connection: a wait instead of an immediate `SQLITE_BUSY`
/// (first, so the rest already waits for locks), concurrent readers with one writer
/// (WAL), enforced foreign keys.
pub const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

/// Set after [`SQLITE_PRAGMAS`] on reader connections: a write through one of them
/// fails instead of waiting for the write lock.
const SQLITE_READER_PRAGMAS: &str = "PRAGMA query_only = ON;";

/// Why work queued on [`SqliteWorkers`] did not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum SqliteWorkerError {
    /// The work panicked, or its worker thread is gone.
    #[error("a SQLite worker failed while running the query")]
    Panicked,
    /// The work waited in the queue longer than the workers' wait timeout and was not
    /// run.
    #[error("the database is overloaded: a query waited {waited:?} for a connection")]
    Overloaded {
        /// How long it waited.
        waited: Duration,
    },
}

/// A piece of work for one connection.
/// The SQLite connection type: a sync diesel connection behind diesel-async's
/// interface, whose statements run on the thread that polls them.
///
/// That thread is always one of the workers' own threads: the connections live
/// there, and [`SqliteWorkers::run`] queues a whole body of statements to one of them:
/// one body, one thread hand-off, whatever the number of statements.
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection, OnCurrentThread>;
/// The [`SpawnBlocking`] of [`SqliteConn`]: runs each statement at once, on the
/// calling thread.
///
/// Right only on a thread that may block, which [`SqliteWorkers`] guarantees: their
/// threads are the only place a [`SqliteConn`] is used, so no statement ever runs on
/// an Actix worker.
#[derive(Debug, Clone, Copy, Default)]
pub struct OnCurrentThread;

impl SpawnBlocking for OnCurrentThread {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> BoxFuture<'a, Result<R, Box<dyn std::error::Error + Send + Sync + 'static>>>
    where
        R: Send + 'static,
    {
        std::future::ready(Ok(task())).boxed()
    }

    fn get_runtime() -> Self {
        Self
    }
}

type Job = Box<dyn FnOnce(&mut SqliteConn) + Send>;

/// Opens a connection for a worker thread (again after a panic left it in an unknown
/// state).
pub type Opener = Arc<dyn Fn() -> diesel::ConnectionResult<SqliteConn> + Send + Sync>;

/// An [`Opener`] for the SQLite file at `path` that applies [`SQLITE_PRAGMAS`], and
/// makes the connection read-only when `read_only` is set.
pub fn sqlite_opener(path: &str, read_only: bool) -> Opener {
    let path = path.to_owned();
    Arc::new(move || open_sqlite(&path, read_only))
}

/// Opens one SQLite connection with [`SQLITE_PRAGMAS`] (and the reader pragmas).
/// Blocking: called on a worker thread or tokio's blocking pool.
fn open_sqlite(path: &str, read_only: bool) -> diesel::ConnectionResult<SqliteConn> {
    let mut conn = SqliteConnection::establish(path)?;
    let setup = |conn: &mut SqliteConnection| {
        conn.batch_execute(SQLITE_PRAGMAS)?;
        if read_only {
            conn.batch_execute(SQLITE_READER_PRAGMAS)?;
        }
        Ok(())
    };
    setup(&mut conn).map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(SqliteConn::with_runtime(conn, OnCurrentThread))
}

/// Threads owning SQLite connections, and their shared queue. Cheap to clone; the
/// threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct SqliteWorkers {
    handle: Arc<Handle>,
}

/// The owner of the queue on the callers' side: dropping it closes the queue.
struct Handle {
    queue: Arc<Queue>,
    name: &'static str,
    threads: usize,
    wait_timeout: Duration,
    runtime: tokio::runtime::Handle,
}

struct Queue {
    state: Mutex<QueueState>,
    work_ready: Condvar,
}

struct QueueState {
    jobs: VecDeque<Job>,
    idle: usize,
    closed: bool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // A job never runs under this lock, so a poisoned lock has consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next job, waiting while there is none; `None` once closed and drained.
    fn next(&self) -> Option<Job> {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state.idle += 1;
            state = self
                .work_ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.idle -= 1;
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.work_ready.notify_all();
    }
}

impl SqliteWorkers {
    /// Opens `threads` connections with `open` (on tokio's blocking pool, so a slow
    /// disk does not stall the caller) and starts one named thread for each.
    ///
    /// Work that waited in the queue longer than `wait_timeout` is not started and
    /// fails with [`SqliteWorkerError::Overloaded`]. Call from inside a tokio runtime: bodies
    /// run with that runtime's handle, so they may use its timers.
    pub async fn start(
        name: &'static str,
        threads: usize,
        wait_timeout: Duration,
        open: Opener,
    ) -> Result<Self, ConnectionError> {
        let threads = threads.max(1);
        let opener = Arc::clone(&open);
        let connections = tokio::task::spawn_blocking(move || {
            (0..threads)
                .map(|_| opener())
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))??;
        let queue = Arc::new(Queue {
            state: Mutex::new(QueueState {
                jobs: VecDeque::new(),
                idle: 0,
                closed: false,
            }),
            work_ready: Condvar::new(),
        });
        for (n, conn) in connections.into_iter().enumerate() {
            let queue = Arc::clone(&queue);
            let open = Arc::clone(&open);
            std::thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || work_loop(&queue, conn, &open))
                .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
        }
        Ok(Self {
            handle: Arc::new(Handle {
                queue,
                name,
                threads,
                wait_timeout,
                runtime: tokio::runtime::Handle::current(),
            }),
        })
    }

    /// Runs `work` on one of the connections and returns its result.
    ///
    /// The work runs to its end even if the caller stops waiting (a transaction is
    /// never left half-done); work whose caller went away before it started is
    /// skipped. A panic in `work` is reported as [`SqliteWorkerError::Panicked`] and
    /// the thread reopens its connection.
    pub async fn run<R, F>(&self, work: F) -> Result<R, SqliteWorkerError>
    where
        F: AsyncFnOnce(&mut SqliteConn) -> R + Send + 'static,
        R: Send + 'static,
    {
        let handle = &self.handle;
        let (reply, answer) = oneshot::channel::<Result<R, SqliteWorkerError>>();
        let runtime = handle.runtime.clone();
        let queued_at = Instant::now();
        let wait_timeout = handle.wait_timeout;
        let job: Job = Box::new(move |conn: &mut SqliteConn| {
            if reply.is_closed() {
                return;
            }
            let waited = queued_at.elapsed();
            if waited > wait_timeout {
                let _ = reply.send(Err(SqliteWorkerError::Overloaded { waited }));
                return;
            }
            let outcome =
                std::panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(work(conn))));
            let _ = reply.send(outcome.map_err(|_| SqliteWorkerError::Panicked));
        });
        {
            let mut state = handle.queue.lock();
            state.jobs.push_back(job);
            if state.idle > 0 {
                handle.queue.work_ready.notify_one();
            }
        }
        answer.await.map_err(|_| SqliteWorkerError::Panicked)?
    }

    /// Work waiting in the queue right now.
    pub fn queued(&self) -> usize {
        self.handle.queue.lock().jobs.len()
    }
}

impl std::fmt::Debug for SqliteWorkers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteWorkers")
            .field("name", &self.handle.name)
            .field("threads", &self.handle.threads)
            .field("queued", &self.queued())
            .finish()
    }
}

/// One worker thread: runs jobs until the queue is closed and empty.
fn work_loop(queue: &Queue, mut conn: SqliteConn, open: &Opener) {
    while let Some(job) = queue.next() {
        // A job catches its own panics; one that stopped half-way through a transaction
        // leaves the connection in it, so start over with a fresh one.
        job(&mut conn);
        if conn_is_suspect(&mut conn) {
            reopen(&mut conn, open);
        }
    }
}

/// Whether diesel's transaction bookkeeping says the connection was left inside a
/// transaction or broken (a body that panicked half-way).
fn conn_is_suspect(conn: &mut SqliteConn) -> bool {
    use diesel_async::pooled_connection::PoolableConnection as _;
    conn.is_broken()
}

fn reopen(conn: &mut SqliteConn, open: &Opener) {
    match open() {
        Ok(fresh) => *conn = fresh,
        Err(error) => tracing::error!(%error, "could not reopen a SQLite connection"),
    }
}
