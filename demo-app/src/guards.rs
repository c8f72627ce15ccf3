//! The demo's shared [`GuardStore`]s: SDK sign-in attempt counts, id_token replay markers
//! and refresh locks, seen by every instance. [`RedisGuardStore`] when `REDIS_URL` is set,
//! else [`DbGuardStore`] on the app's database (`auth_guards` table).

use std::sync::Arc;
use std::time::Duration;

use actix_kakao_auth::guard_store::{GuardFuture, GuardStore, GuardStoreError};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use redis::aio::ConnectionManager;

use crate::db::{Db, DbError};
use crate::db_run;
use crate::models::now_utc;
use crate::schema::auth_guards;

/// Why a database guard query failed.
#[derive(Debug, thiserror::Error)]
pub enum GuardQueryError {
    /// No database connection could be had.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A query failed.
    #[error("guard query failed: {0}")]
    Query(#[from] diesel::result::Error),
}

fn expiry(now: NaiveDateTime, ttl: Duration) -> NaiveDateTime {
    now + TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX / 2)
}

/// The row of `key` when it has expired by `now`.
type ExpiredRow = diesel::dsl::Filter<
    diesel::dsl::Filter<auth_guards::table, diesel::dsl::Eq<auth_guards::key, String>>,
    diesel::dsl::LtEq<auth_guards::expires_at, NaiveDateTime>,
>;

/// The row of `key` if it has expired: deleted before the key is written again, so an
/// old counter or marker never outlives its window.
fn expired_row(key: String, now: NaiveDateTime) -> ExpiredRow {
    auth_guards::table
        .filter(auth_guards::key.eq(key))
        .filter(auth_guards::expires_at.le(now))
}

/// Guards in the `auth_guards` table. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DbGuardStore {
    db: Db,
}

impl DbGuardStore {
    /// A store on `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Deletes every expired row; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, GuardQueryError> {
        let now = now_utc();
        let deleted = db_run!(
            &self.db,
            write | conn | {
                diesel::delete(auth_guards::table.filter(auth_guards::expires_at.le(now)))
                    .execute(conn)
                    .await
            }
        )?;
        Ok(deleted as u64)
    }

    /// Spawns a task that purges expired rows every `every`.
    pub fn spawn_purge_task(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every.max(Duration::from_secs(1)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(e) = store.purge_expired().await {
                    tracing::warn!(error = %e, "purging expired guards failed");
                }
            }
        })
    }

    async fn count_of(&self, key: String) -> Result<u64, GuardQueryError> {
        let now = now_utc();
        let count: Option<i64> = db_run!(&self.db, |conn| {
            auth_guards::table
                .filter(auth_guards::key.eq(key))
                .filter(auth_guards::expires_at.gt(now))
                .select(auth_guards::counter)
                .first::<i64>(conn)
                .await
                .optional()
        })?;
        Ok(count.unwrap_or(0).max(0) as u64)
    }

    async fn add_one(&self, key: String, window: Duration) -> Result<u64, GuardQueryError> {
        let now = now_utc();
        let expires = expiry(now, window);
        let count: i64 = db_run!(
            &self.db,
            transaction | conn | {
                diesel::delete(expired_row(key.clone(), now))
                    .execute(conn)
                    .await?;
                diesel::insert_into(auth_guards::table)
                    .values((
                        auth_guards::key.eq(key.clone()),
                        auth_guards::value.eq(""),
                        auth_guards::counter.eq(1i64),
                        auth_guards::expires_at.eq(expires),
                    ))
                    .on_conflict(auth_guards::key)
                    .do_update()
                    .set(auth_guards::counter.eq(auth_guards::counter + 1i64))
                    .returning(auth_guards::counter)
                    .get_result::<i64>(conn)
                    .await
            }
        )?;
        Ok(count.max(0) as u64)
    }

    async fn insert(
        &self,
        key: String,
        value: String,
        ttl: Duration,
    ) -> Result<bool, GuardQueryError> {
        let now = now_utc();
        let expires = expiry(now, ttl);
        let inserted: usize = db_run!(
            &self.db,
            transaction | conn | {
                diesel::delete(expired_row(key.clone(), now))
                    .execute(conn)
                    .await?;
                diesel::insert_into(auth_guards::table)
                    .values((
                        auth_guards::key.eq(key.clone()),
                        auth_guards::value.eq(value.clone()),
                        auth_guards::counter.eq(0i64),
                        auth_guards::expires_at.eq(expires),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await
            }
        )?;
        Ok(inserted == 1)
    }

    async fn remove(&self, key: String, value: String) -> Result<bool, GuardQueryError> {
        let now = now_utc();
        let removed: usize = db_run!(
            &self.db,
            write | conn | {
                diesel::delete(
                    auth_guards::table
                        .filter(auth_guards::key.eq(key))
                        .filter(auth_guards::value.eq(value))
                        .filter(auth_guards::expires_at.gt(now)),
                )
                .execute(conn)
                .await
            }
        )?;
        Ok(removed == 1)
    }
}

impl GuardStore for DbGuardStore {
    fn count<'a>(&'a self, key: &'a str) -> GuardFuture<'a, u64> {
        Box::pin(async move {
            self.count_of(key.to_owned())
                .await
                .map_err(GuardStoreError::new)
        })
    }

    fn increment<'a>(&'a self, key: &'a str, window: Duration) -> GuardFuture<'a, u64> {
        Box::pin(async move {
            self.add_one(key.to_owned(), window)
                .await
                .map_err(GuardStoreError::new)
        })
    }

    fn insert_once<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> GuardFuture<'a, bool> {
        Box::pin(async move {
            self.insert(key.to_owned(), value.to_owned(), ttl)
                .await
                .map_err(GuardStoreError::new)
        })
    }

    fn remove_if<'a>(&'a self, key: &'a str, value: &'a str) -> GuardFuture<'a, bool> {
        Box::pin(async move {
            self.remove(key.to_owned(), value.to_owned())
                .await
                .map_err(GuardStoreError::new)
        })
    }
}

/// Guards in Redis under `{prefix}g:{key}`, each with its own expiry. Counters are
/// `INCR` with the window set by the first increment, in one Lua script so a counter
/// can never live without an expiry; markers are `SET NX PX`; a lock is released only
/// by its owner (compare and delete in one script).
#[derive(Clone)]
pub struct RedisGuardStore {
    conn: ConnectionManager,
    prefix: Arc<str>,
}

impl std::fmt::Debug for RedisGuardStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisGuardStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

const INCREMENT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n";

const REMOVE_IF: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisGuardStore {
    /// A store on an existing connection (the session store's, or one of its own).
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: Arc::from(prefix),
        }
    }

    /// Connects to `url` and checks the server is Redis 7 or newer.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        let mut conn = tokio::time::timeout(Duration::from_secs(3), ConnectionManager::new(client))
            .await
            .map_err(|_| "Redis did not answer within 3 s".to_owned())?
            .map_err(|e| e.to_string())?;
        actix_kakao_auth::session_store::require_redis_7(&mut conn).await?;
        Ok(Self::new(conn, prefix))
    }

    fn key(&self, key: &str) -> String {
        format!("{}g:{key}", self.prefix)
    }
}

impl GuardStore for RedisGuardStore {
    fn count<'a>(&'a self, key: &'a str) -> GuardFuture<'a, u64> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let value: Option<u64> = redis::cmd("GET")
                .arg(self.key(key))
                .query_async(&mut conn)
                .await
                .map_err(GuardStoreError::new)?;
            Ok(value.unwrap_or(0))
        })
    }

    fn increment<'a>(&'a self, key: &'a str, window: Duration) -> GuardFuture<'a, u64> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            redis::Script::new(INCREMENT)
                .key(self.key(key))
                .arg(millis(window))
                .invoke_async(&mut conn)
                .await
                .map_err(GuardStoreError::new)
        })
    }

    fn insert_once<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> GuardFuture<'a, bool> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let set: Option<String> = redis::cmd("SET")
                .arg(self.key(key))
                .arg(value)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query_async(&mut conn)
                .await
                .map_err(GuardStoreError::new)?;
            Ok(set.is_some())
        })
    }

    fn remove_if<'a>(&'a self, key: &'a str, value: &'a str) -> GuardFuture<'a, bool> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let removed: i64 = redis::Script::new(REMOVE_IF)
                .key(self.key(key))
                .arg(value)
                .invoke_async(&mut conn)
                .await
                .map_err(GuardStoreError::new)?;
            Ok(removed == 1)
        })
    }
}
