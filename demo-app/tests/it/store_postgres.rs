//! `DieselUserStore` on PostgreSQL, when `TEST_DATABASE_URL` is set (else skipped,
//! unless `REQUIRE_SERVICES=1`). Each test works in a fresh schema that it drops.
#![allow(clippy::unwrap_used)]

use crate::common;

use actix_kakao_auth::store::UserStore;
use actix_kakao_auth::testing::{random_kakao_id, sample_login};
use common::{postgres_url, store_checks, PgSchema};
use demo_app::db::{Db, DbError};
use demo_app::store::DieselUserStore;

/// A fresh schema on the test server, or `None` (skip).
async fn schema(test: &str) -> Option<PgSchema> {
    Some(PgSchema::create(&postgres_url(test)?).await)
}

#[tokio::test]
async fn passes_the_store_acceptance_suite() {
    let Some(pg) = schema("passes_the_store_acceptance_suite").await else {
        return;
    };
    let db = pg.connect().await;
    store_checks::acceptance_suite(&db).await;
    // Again on the same database, as on a shared server: runs never interfere.
    store_checks::acceptance_suite(&db).await;
}

#[tokio::test]
async fn concurrent_first_logins_write_one_user_and_one_link() {
    let Some(pg) = schema("concurrent_first_logins_write_one_user_and_one_link").await else {
        return;
    };
    store_checks::rounds_of_concurrent_first_logins(&pg.connect().await, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_logins_on_a_multi_thread_runtime() {
    let Some(pg) = schema("concurrent_first_logins_on_a_multi_thread_runtime").await else {
        return;
    };
    store_checks::rounds_of_concurrent_first_logins(&pg.connect().await, 3).await;
}

#[tokio::test]
async fn a_racing_first_login_gets_the_committed_winner() {
    let Some(pg) = schema("a_racing_first_login_gets_the_committed_winner").await else {
        return;
    };
    store_checks::a_racing_first_login_gets_the_committed_winner(
        &pg.connect().await,
        &pg.connect().await,
    )
    .await;
}

#[tokio::test]
async fn a_failed_link_insert_leaves_nothing_behind() {
    let Some(pg) = schema("a_failed_link_insert_leaves_nothing_behind").await else {
        return;
    };
    store_checks::a_failed_link_insert_leaves_nothing_behind(&pg.connect().await).await;
}

#[tokio::test]
async fn a_taken_username_is_never_matched() {
    let Some(pg) = schema("a_taken_username_is_never_matched").await else {
        return;
    };
    store_checks::a_taken_username_is_never_matched(&pg.connect().await).await;
}

#[tokio::test]
async fn a_returning_login_refreshes_profile_and_extra_data() {
    let Some(pg) = schema("a_returning_login_refreshes_profile_and_extra_data").await else {
        return;
    };
    store_checks::a_returning_login_refreshes_profile_and_extra_data(&pg.connect().await).await;
}

#[tokio::test]
async fn delete_user_removes_links_and_sessions() {
    let Some(pg) = schema("delete_user_removes_links_and_sessions").await else {
        return;
    };
    store_checks::delete_user_removes_links_and_sessions(&pg.connect().await).await;
}

#[tokio::test]
async fn a_broken_database_gives_errors_not_panics() {
    let Some(pg) = schema("a_broken_database_gives_errors_not_panics").await else {
        return;
    };
    store_checks::a_broken_database_gives_errors_not_panics(&pg.connect().await).await;
}

#[tokio::test]
async fn concurrent_connects_race_the_migrations_safely() {
    let Some(pg) = schema("concurrent_connects_race_the_migrations_safely").await else {
        return;
    };
    store_checks::concurrent_connects_all_succeed(&pg.url).await;
}

#[tokio::test]
async fn a_login_in_the_shared_schema_cleans_up_after_itself() {
    let Some(url) = postgres_url("a_login_in_the_shared_schema_cleans_up_after_itself") else {
        return;
    };
    let store = DieselUserStore::new(Db::connect(&url).await.unwrap());
    let id = random_kakao_id();
    let user = store
        .find_or_create(&sample_login(id, "tmp", None))
        .await
        .unwrap();
    assert!(store.delete_user(user.id).await.unwrap());
    assert_eq!(store.user_id_by_uid(&id.to_string()).await.unwrap(), None);
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error() {
    let err = Db::connect("postgres://postgres:secret@127.0.0.1:1/test")
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(err, DbError::Connect { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("PostgreSQL at postgres://postgres:***@127.0.0.1:1/test"),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");
}
