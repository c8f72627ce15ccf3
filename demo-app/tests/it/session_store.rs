//! `DbSessionStore` on SQLite and (when `TEST_DATABASE_URL` is set) PostgreSQL.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::HashMap;

use actix_kakao_auth::session::SESSION_USER_KEY;
use actix_session::storage::{SessionKey, SessionStore};
use actix_web::cookie::time::Duration;
use common::{postgres_url, PgSchema, TempSqlite};
use demo_app::db::{Db, DbError};
use demo_app::db_run;
use demo_app::schema::sessions;
use demo_app::session_store::DbSessionStore;
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _};

type State = HashMap<String, String>;

fn state(pairs: &[(&str, &str)]) -> State {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The state of a logged-in user as the login writes it.
fn logged_in(user_id: i64) -> State {
    state(&[
        (
            SESSION_USER_KEY,
            &format!(r#"{{"id":{user_id},"hash":"h","csrf":"c"}}"#),
        ),
        ("theme", "\"dark\""),
    ])
}

async fn row_user_id(db: &Db, key: &SessionKey) -> Option<Option<i64>> {
    async fn run(db: &Db, key: &str) -> Result<Option<Option<i64>>, DbError> {
        use diesel_async::RunQueryDsl;
        let key = key.to_owned();
        Ok(db_run!(db, |conn| {
            sessions::table
                .filter(sessions::key.eq(&key))
                .select(sessions::user_id)
                .first(conn)
                .await
                .optional()
        })?)
    }
    run(db, key.as_ref()).await.unwrap()
}

fn copy(key: &SessionKey) -> SessionKey {
    SessionKey::try_from(key.as_ref().to_owned()).unwrap()
}

async fn save_load_update_delete(db: &Db) {
    let store = DbSessionStore::new(db.clone());
    let ttl = Duration::hours(1);
    let key = store.save(state(&[("a", "1")]), &ttl).await.unwrap();
    assert_eq!(key.as_ref().len(), 64);
    assert!(key.as_ref().chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(store.load(&key).await.unwrap(), Some(state(&[("a", "1")])));
    assert_eq!(row_user_id(db, &key).await, Some(None), "anonymous → NULL");

    let other = store.save(state(&[("a", "1")]), &ttl).await.unwrap();
    assert_ne!(key, other, "every save draws a fresh key");

    let updated = store
        .update(copy(&key), state(&[("a", "2"), ("b", "3")]), &ttl)
        .await
        .unwrap();
    assert_eq!(updated, key, "an existing row keeps its key");
    assert_eq!(
        store.load(&key).await.unwrap(),
        Some(state(&[("a", "2"), ("b", "3")]))
    );

    store.update_ttl(&key, &Duration::hours(2)).await.unwrap();
    assert!(store.load(&key).await.unwrap().is_some());

    store.delete(&key).await.unwrap();
    assert_eq!(store.load(&key).await.unwrap(), None);
    store.delete(&key).await.unwrap();

    // Updating a deleted session never re-creates it: the key it answers names nothing.
    let before = common::session_rows(db).await;
    let answered = store
        .update(copy(&key), state(&[("c", "4")]), &ttl)
        .await
        .unwrap();
    assert_ne!(answered, key);
    assert_eq!(store.load(&answered).await.unwrap(), None);
    assert_eq!(store.load(&key).await.unwrap(), None);
    assert_eq!(common::session_rows(db).await, before, "no row was written");

    // An update that empties a session ends it.
    let emptied = store.save(state(&[("a", "1")]), &ttl).await.unwrap();
    let answered = store
        .update(copy(&emptied), State::new(), &ttl)
        .await
        .unwrap();
    assert_eq!(store.load(&emptied).await.unwrap(), None);
    assert_eq!(store.load(&answered).await.unwrap(), None);

    let missing = SessionKey::try_from("x".repeat(64)).unwrap();
    assert_eq!(store.load(&missing).await.unwrap(), None);
}

async fn expired_rows_are_not_loaded_and_are_purged(db: &Db) {
    let store = DbSessionStore::new(db.clone()).with_purge_every(0);
    let live = store
        .save(state(&[("a", "1")]), &Duration::hours(1))
        .await
        .unwrap();
    let expired = store
        .save(state(&[("a", "1")]), &Duration::seconds(-5))
        .await
        .unwrap();
    assert_eq!(store.load(&expired).await.unwrap(), None);
    store
        .update_ttl(&expired, &Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        store.load(&expired).await.unwrap(),
        None,
        "expired stays expired"
    );
    let refreshed = store
        .update(copy(&expired), state(&[("b", "2")]), &Duration::hours(1))
        .await
        .unwrap();
    assert_ne!(
        refreshed, expired,
        "an expired session is not revived under its key"
    );

    assert_eq!(store.purge_expired().await.unwrap(), 1);
    assert_eq!(row_user_id(db, &expired).await, None, "row gone");
    assert!(store.load(&live).await.unwrap().is_some());
    assert_eq!(store.purge_expired().await.unwrap(), 0);

    // Automatic purging: every save with `with_purge_every(1)`.
    let auto = DbSessionStore::new(db.clone()).with_purge_every(1);
    let stale = auto.save(state(&[]), &Duration::seconds(-5)).await.unwrap();
    assert_eq!(
        row_user_id(db, &stale).await,
        None,
        "purged by its own save"
    );
    let before = common::session_rows(db).await;
    let fresh = auto.save(state(&[]), &Duration::hours(1)).await.unwrap();
    assert_eq!(common::session_rows(db).await, before + 1);
    assert!(auto.load(&fresh).await.unwrap().is_some());

    // The background task: its first run is immediate.
    let quiet = DbSessionStore::new(db.clone()).with_purge_every(0);
    let stale = quiet
        .save(state(&[]), &Duration::seconds(-5))
        .await
        .unwrap();
    assert_eq!(
        row_user_id(db, &stale).await,
        Some(None),
        "not purged by its save"
    );
    let task = quiet.spawn_purge_task(std::time::Duration::from_secs(3600));
    let mut purged = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        if row_user_id(db, &stale).await.is_none() {
            purged = true;
            break;
        }
    }
    task.abort();
    assert!(purged, "the purge task did not remove the expired row");
    assert!(quiet.load(&fresh).await.unwrap().is_some());
}

async fn the_user_id_column_follows_the_login_entry(db: &Db) {
    let store = DbSessionStore::new(db.clone());
    let ttl = Duration::hours(1);
    let key = store.save(logged_in(42), &ttl).await.unwrap();
    assert_eq!(row_user_id(db, &key).await, Some(Some(42)));

    let key = store.update(key, logged_in(43), &ttl).await.unwrap();
    assert_eq!(row_user_id(db, &key).await, Some(Some(43)));

    let key = store
        .update(
            key,
            state(&[(SESSION_USER_KEY, r#"{"id":"not-a-number"}"#)]),
            &ttl,
        )
        .await
        .unwrap();
    assert_eq!(row_user_id(db, &key).await, Some(None));

    let emptied = store.update(copy(&key), state(&[]), &ttl).await.unwrap();
    assert_eq!(
        row_user_id(db, &key).await,
        None,
        "an emptied session is deleted"
    );
    assert_eq!(row_user_id(db, &emptied).await, None);
}

async fn anonymous_rows_expire_with_the_login_flow(db: &Db) {
    let store = DbSessionStore::new(db.clone());
    let fortnight = Duration::days(14);
    let anonymous = store.save(state(&[("a", "1")]), &fortnight).await.unwrap();
    let login = store.save(logged_in(7), &fortnight).await.unwrap();
    let anonymous_left = row_seconds_left(db, &anonymous).await;
    let login_left = row_seconds_left(db, &login).await;
    assert!(
        (590..=600).contains(&anonymous_left),
        "an anonymous row lives {anonymous_left} s"
    );
    assert!(
        login_left > 13 * 24 * 3600,
        "a login row lives {login_left} s"
    );
}

/// Seconds until the row of `key` expires.
async fn row_seconds_left(db: &Db, key: &SessionKey) -> i64 {
    async fn run(db: &Db, key: &str) -> Result<chrono::NaiveDateTime, DbError> {
        use diesel_async::RunQueryDsl;
        let key = key.to_owned();
        Ok(db_run!(db, |conn| {
            sessions::table
                .filter(sessions::key.eq(&key))
                .select(sessions::expires_at)
                .first(conn)
                .await
        })?)
    }
    let expires_at = run(db, key.as_ref()).await.unwrap();
    (expires_at - chrono::Utc::now().naive_utc()).num_seconds()
}

async fn delete_user_sessions_ends_only_that_users_sessions(db: &Db) {
    let store = DbSessionStore::new(db.clone());
    let ttl = Duration::hours(1);
    let user = rand::random::<u32>() as i64 + 1_000;
    let mine = [
        store.save(logged_in(user), &ttl).await.unwrap(),
        store.save(logged_in(user), &ttl).await.unwrap(),
        store.save(logged_in(user), &ttl).await.unwrap(),
    ];
    let theirs = store.save(logged_in(user + 1), &ttl).await.unwrap();
    let anonymous = store.save(state(&[("a", "1")]), &ttl).await.unwrap();

    assert_eq!(store.delete_user_sessions(user).await.unwrap(), 3);
    for key in &mine {
        assert_eq!(store.load(key).await.unwrap(), None);
    }
    assert!(store.load(&theirs).await.unwrap().is_some());
    assert!(store.load(&anonymous).await.unwrap().is_some());
    assert_eq!(store.delete_user_sessions(user).await.unwrap(), 0);
}

async fn all_checks(db: &Db) {
    save_load_update_delete(db).await;
    expired_rows_are_not_loaded_and_are_purged(db).await;
    the_user_id_column_follows_the_login_entry(db).await;
    delete_user_sessions_ends_only_that_users_sessions(db).await;
    anonymous_rows_expire_with_the_login_flow(db).await;
}

#[tokio::test]
async fn sessions_on_sqlite() {
    let tmp = TempSqlite::new();
    all_checks(&tmp.connect().await).await;
}

#[tokio::test]
async fn sessions_on_postgres() {
    let Some(url) = postgres_url("sessions_on_postgres") else {
        return;
    };
    let pg = PgSchema::create(&url).await;
    all_checks(&pg.connect().await).await;
}

#[actix_web::test]
async fn sessions_work_on_the_actix_runtime() {
    // actix-web workers run a current-thread runtime; the store must work there.
    let tmp = TempSqlite::new();
    save_load_update_delete(&tmp.connect().await).await;
    if let Some(url) = postgres_url("sessions_work_on_the_actix_runtime") {
        let pg = PgSchema::create(&url).await;
        save_load_update_delete(&pg.connect().await).await;
    }
}
