//! Shared test support: the PostgreSQL skip/require rule, throw-away databases and
//! raw SQL helpers.
#![allow(dead_code, clippy::unwrap_used)]

pub mod instance;
pub mod store_checks;

use std::io::Write as _;
use std::path::PathBuf;

use demo_app::db::{Db, DbError};
use demo_app::db_run;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use rand::distributions::{Alphanumeric, DistString};

/// The PostgreSQL URL from `TEST_DATABASE_URL`. When it is unset, prints a `SKIP:` line
/// to stderr and returns `None`, unless `REQUIRE_SERVICES=1`, which turns the skip
/// into a failure.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{test}: TEST_DATABASE_URL not set but REQUIRE_SERVICES=1"
            );
            // Straight to stderr: libtest captures `eprintln!`, and a skip should show.
            let _ = writeln!(
                std::io::stderr(),
                "SKIP: TEST_DATABASE_URL not set ({test} needs PostgreSQL)"
            );
            None
        }
    }
}

fn random_suffix() -> String {
    Alphanumeric
        .sample_string(&mut rand::thread_rng(), 12)
        .to_lowercase()
}

/// A SQLite file in a fresh temporary directory, removed on drop.
pub struct TempSqlite {
    dir: PathBuf,
    /// `sqlite://` URL of the file (it does not exist until the first connect).
    pub url: String,
}

impl TempSqlite {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "demo-app-test-{}-{}",
            std::process::id(),
            random_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("test.sqlite3").display());
        Self { dir, url }
    }

    pub async fn connect(&self) -> Db {
        Db::connect(&self.url).await.unwrap()
    }
}

impl Drop for TempSqlite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh PostgreSQL schema (`search_path` set through the URL's `options`), dropped
/// with everything in it on drop, so each test has its own tables and leaves no rows.
pub struct PgSchema {
    base_url: String,
    schema: String,
    /// URL whose connections use only this schema.
    pub url: String,
}

impl PgSchema {
    pub async fn create(base_url: &str) -> Self {
        let schema = format!("demo_test_{}", random_suffix());
        let mut conn = AsyncPgConnection::establish(base_url).await.unwrap();
        conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .unwrap();
        let separator = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{separator}options=-csearch_path%3D{schema}");
        Self {
            base_url: base_url.to_owned(),
            schema,
            url,
        }
    }

    pub async fn connect(&self) -> Db {
        Db::connect(&self.url).await.unwrap()
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let base_url = self.base_url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        // Drop may run inside a runtime (or while unwinding): use a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = AsyncPgConnection::establish(&base_url).await.ok()?;
                conn.batch_execute(&sql).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop test schema {}", self.schema);
        }
    }
}

/// Runs raw SQL (several statements allowed).
pub async fn exec(db: &Db, sql: &str) {
    async fn run(db: &Db, sql: &str) -> Result<(), DbError> {
        let sql = sql.to_owned();
        Ok(db_run!(db, write | conn | conn.batch_execute(&sql).await)?)
    }
    run(db, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Users whose username belongs to Kakao id `uid` (`kakao_<uid>` or `kakao_<uid>_<n>`).
pub async fn users_for_uid(db: &Db, uid: &str) -> i64 {
    use demo_app::schema::users;
    async fn run(db: &Db) -> Result<Vec<String>, DbError> {
        Ok(db_run!(db, |conn| {
            users::table
                .select(users::username)
                .load::<String>(conn)
                .await
        })?)
    }
    let base = format!("kakao_{uid}");
    let prefix = format!("{base}_");
    run(db)
        .await
        .unwrap()
        .iter()
        .filter(|name| **name == base || name.starts_with(&prefix))
        .count() as i64
}

/// Link rows for Kakao id `uid`.
pub async fn links_for_uid(db: &Db, uid: &str) -> i64 {
    use demo_app::schema::social_auth_usersocialauth as links;
    async fn run(db: &Db, uid: &str) -> Result<i64, DbError> {
        let uid = uid.to_owned();
        Ok(db_run!(db, |conn| {
            links::table
                .filter(links::uid.eq(&uid))
                .count()
                .get_result(conn)
                .await
        })?)
    }
    run(db, uid).await.unwrap()
}

/// The Redis URL from `TEST_REDIS_URL`, with the same skip/require rule as
/// [`postgres_url`].
pub fn redis_url(test: &str) -> Option<String> {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{test}: TEST_REDIS_URL not set but REQUIRE_SERVICES=1"
            );
            let _ = writeln!(
                std::io::stderr(),
                "SKIP: TEST_REDIS_URL not set ({test} needs Redis)"
            );
            None
        }
    }
}

/// A key prefix unique to one test run, so Redis tests never see each other's keys.
pub fn unique_redis_prefix() -> String {
    format!("demo-test-{}:", random_suffix())
}

/// Deletes every Redis key under `prefix` (a test's cleanup).
pub async fn delete_redis_prefix(url: &str, prefix: &str) {
    let keys = redis_keys(url, prefix).await;
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    if !keys.is_empty() {
        let _: i64 = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

/// Every Redis key under `prefix`.
pub async fn redis_keys(url: &str, prefix: &str) -> Vec<String> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// The number of rows in `sessions`, expired or not.
pub async fn session_rows(db: &Db) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    async fn run(db: &Db) -> Result<i64, DbError> {
        let count: Count = db_run!(db, |conn| diesel::sql_query(
            "SELECT COUNT(*) AS n FROM sessions"
        )
        .get_result(conn)
        .await)?;
        Ok(count.n)
    }
    run(db).await.unwrap()
}
