//! `DieselUserStore` on SQLite (a temporary file per test).
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{store_checks, TempSqlite};
use demo_app::db::{Db, DbError};
use demo_app::store::DieselUserStore;

#[tokio::test]
async fn passes_the_store_acceptance_suite() {
    let tmp = TempSqlite::new();
    let db = tmp.connect().await;
    store_checks::acceptance_suite(&db).await;
    // Again on the same database: runs never interfere.
    store_checks::acceptance_suite(&db).await;
}

#[tokio::test]
async fn concurrent_first_logins_write_one_user_and_one_link() {
    let tmp = TempSqlite::new();
    store_checks::rounds_of_concurrent_first_logins(&tmp.connect().await, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_logins_on_a_multi_thread_runtime() {
    let tmp = TempSqlite::new();
    store_checks::rounds_of_concurrent_first_logins(&tmp.connect().await, 3).await;
}

#[tokio::test]
async fn a_racing_first_login_gets_the_committed_winner() {
    let tmp = TempSqlite::new();
    store_checks::a_racing_first_login_gets_the_committed_winner(
        &tmp.connect().await,
        &tmp.connect().await,
    )
    .await;
}

#[tokio::test]
async fn a_failed_link_insert_leaves_nothing_behind() {
    let tmp = TempSqlite::new();
    store_checks::a_failed_link_insert_leaves_nothing_behind(&tmp.connect().await).await;
}

#[tokio::test]
async fn a_taken_username_is_never_matched() {
    let tmp = TempSqlite::new();
    store_checks::a_taken_username_is_never_matched(&tmp.connect().await).await;
}

#[tokio::test]
async fn a_returning_login_refreshes_profile_and_extra_data() {
    let tmp = TempSqlite::new();
    store_checks::a_returning_login_refreshes_profile_and_extra_data(&tmp.connect().await).await;
}

#[tokio::test]
async fn delete_user_removes_links_and_sessions() {
    let tmp = TempSqlite::new();
    store_checks::delete_user_removes_links_and_sessions(&tmp.connect().await).await;
}

#[tokio::test]
async fn a_broken_database_gives_errors_not_panics() {
    let tmp = TempSqlite::new();
    store_checks::a_broken_database_gives_errors_not_panics(&tmp.connect().await).await;
}

#[tokio::test]
async fn migrations_run_twice_are_idempotent_and_keep_rows() {
    let tmp = TempSqlite::new();
    let store = DieselUserStore::new(tmp.connect().await);
    use actix_kakao_auth::store::UserStore;
    let login = actix_kakao_auth::testing::sample_login(7, "again", None);
    let user = store.find_or_create(&login).await.unwrap();
    let reopened = DieselUserStore::new(tmp.connect().await);
    assert_eq!(reopened.user_by_id(user.id).await.unwrap(), Some(user));
    assert_eq!(reopened.count_users().await.unwrap(), 1);
}

#[tokio::test]
async fn concurrent_connects_to_a_fresh_file_all_succeed() {
    let tmp = TempSqlite::new();
    store_checks::concurrent_connects_all_succeed(&tmp.url).await;
}

#[tokio::test]
async fn plain_paths_and_sqlite_urls_both_work() {
    let tmp = TempSqlite::new();
    let path = tmp.url.trim_start_matches("sqlite://").to_owned();
    let by_path = Db::connect(&path).await.unwrap();
    assert_eq!(by_path.backend(), "sqlite");
    by_path.ping().await.unwrap();
}

#[tokio::test]
async fn an_unopenable_file_names_the_path() {
    let err = Db::connect("/nonexistent-dir-for-demo-app/x/db.sqlite3")
        .await
        .expect_err("no such directory");
    assert!(matches!(err, DbError::Connect { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("/nonexistent-dir-for-demo-app/x/db.sqlite3"),
        "{err}"
    );
}

#[tokio::test]
async fn unsupported_urls_are_rejected() {
    for url in ["sqlite::memory:", "mysql://localhost/db", ""] {
        let err = Db::connect(url).await.expect_err(url);
        assert!(matches!(err, DbError::InvalidUrl(_)), "{url}: {err:?}");
    }
}

/// Reads go to `query_only` connections: a write sent there fails instead of waiting
/// for SQLite's write lock; the same write through the writer succeeds.
#[tokio::test]
async fn only_the_writer_connection_writes() {
    use diesel_async::SimpleAsyncConnection as _;
    let tmp = TempSqlite::new();
    let db = tmp.connect().await;
    let insert = "INSERT INTO users (username, nickname) VALUES ('reader_write', 'x');";
    async fn on_reader(db: &Db, sql: &'static str) -> Result<(), DbError> {
        Ok(demo_app::db_run!(db, |conn| conn.batch_execute(sql).await)?)
    }
    async fn on_writer(db: &Db, sql: &'static str) -> Result<(), DbError> {
        Ok(demo_app::db_run!(
            db,
            write | conn | conn.batch_execute(sql).await
        )?)
    }
    let refused = on_reader(&db, insert).await.expect_err("a reader wrote");
    assert!(refused.to_string().contains("readonly"), "{refused}");
    on_writer(&db, insert).await.unwrap();
    let store = DieselUserStore::new(db);
    assert_eq!(store.count_users().await.unwrap(), 1);
}

/// A SQLite body runs on one worker thread, not the caller's, every statement
/// of a transaction on that same thread (one hand-off per body, not per statement).
#[tokio::test]
async fn a_transaction_runs_in_one_hand_off_off_the_callers_thread() {
    use diesel::ExpressionMethods as _;
    use diesel_async::RunQueryDsl as _;
    use std::thread::ThreadId;
    let tmp = TempSqlite::new();
    let db = tmp.connect().await;
    async fn threads(db: &Db) -> Result<Vec<ThreadId>, DbError> {
        use demo_app::schema::users;
        demo_app::db_run!(
            db,
            transaction | conn | {
                let mut seen = vec![std::thread::current().id()];
                for name in ["hand_off_1", "hand_off_2"] {
                    diesel::insert_into(users::table)
                        .values((users::username.eq(name), users::nickname.eq(name)))
                        .execute(conn)
                        .await?;
                    seen.push(std::thread::current().id());
                }
                Ok::<_, DbError>(seen)
            }
        )
    }
    let caller = std::thread::current().id();
    let seen = threads(&db).await.unwrap();
    assert_ne!(seen[0], caller, "the body ran on the caller's thread");
    assert!(seen.iter().all(|t| *t == seen[0]), "{seen:?}");
    assert_eq!(DieselUserStore::new(db).count_users().await.unwrap(), 2);
}

/// A query that panics half-way through a transaction is an error, not a crash: the
/// transaction is rolled back, the worker opens a fresh connection, and the next
/// write works.
#[tokio::test]
async fn a_panicking_query_is_an_error_and_the_writer_recovers() {
    use diesel::ExpressionMethods as _;
    use diesel_async::RunQueryDsl as _;
    let tmp = TempSqlite::new();
    let db = tmp.connect().await;
    async fn insert_then(db: &Db, name: &'static str, panic: bool) -> Result<(), DbError> {
        use demo_app::schema::users;
        demo_app::db_run!(
            db,
            transaction | conn | {
                diesel::insert_into(users::table)
                    .values((users::username.eq(name), users::nickname.eq(name)))
                    .execute(conn)
                    .await?;
                assert!(!panic, "a bug in a query body");
                Ok::<_, DbError>(())
            }
        )
    }
    let err = insert_then(&db, "panicked", true)
        .await
        .expect_err("panicked");
    assert!(matches!(err, DbError::WorkerPanicked), "{err:?}");
    insert_then(&db, "after", false).await.unwrap();
    let store = DieselUserStore::new(db);
    assert_eq!(
        store.count_users().await.unwrap(),
        1,
        "the panicked insert stayed"
    );
}

/// Work that waited in the queue longer than `acquire_timeout` is dropped with
/// `Overloaded` and never runs.
#[tokio::test]
async fn work_that_waited_too_long_is_not_run() {
    use demo_app::db::DbOptions;
    use std::time::Duration;
    let tmp = TempSqlite::new();
    let options = DbOptions {
        acquire_timeout: Duration::from_millis(100),
        ..DbOptions::default()
    };
    let db = Db::connect_with(&tmp.url, options).await.unwrap();
    async fn hold_writer(db: &Db) -> Result<(), DbError> {
        demo_app::db_run!(
            db,
            write | _conn | std::thread::sleep(Duration::from_millis(400))
        );
        Ok(())
    }
    async fn insert(db: &Db) -> Result<(), DbError> {
        use diesel_async::SimpleAsyncConnection as _;
        Ok(demo_app::db_run!(
            db,
            write | conn | {
                conn.batch_execute("INSERT INTO users (username, nickname) VALUES ('late', 'x');")
                    .await
            }
        )?)
    }
    let holder = {
        let db = db.clone();
        tokio::spawn(async move { hold_writer(&db).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = insert(&db).await.expect_err("ran after waiting 350 ms");
    assert!(matches!(err, DbError::Overloaded { .. }), "{err:?}");
    holder.await.unwrap().unwrap();
    let store = DieselUserStore::new(db);
    assert_eq!(store.count_users().await.unwrap(), 0);
}
