//! The library's session stores on the demo's own database: the `sessions` table its
//! migrations create passes the session-store acceptance suite, on SQLite and
//! PostgreSQL, sharing the app's connections. (The library's own tests run the suite on
//! a table the store creates, and on Redis.)

use crate::common;

use std::time::Duration;

use actix_kakao_auth::testing::session_store_acceptance_suite;
use common::{postgres_url, PgSchema, TempSqlite};
use demo_app::db::Db;

async fn suite_on(db: &Db) {
    let store = db
        .session_store()
        .with_anonymous_ttl(Duration::from_secs(1));
    session_store_acceptance_suite(&store).await;
}

#[actix_web::test]
async fn the_migrated_sessions_table_passes_the_suite_on_sqlite() {
    let tmp = TempSqlite::new();
    suite_on(&tmp.connect().await).await;
}

#[actix_web::test]
async fn the_migrated_sessions_table_passes_the_suite_on_postgres() {
    let Some(url) = postgres_url("the_migrated_sessions_table_passes_the_suite_on_postgres") else {
        return;
    };
    let pg = PgSchema::create(&url).await;
    suite_on(&pg.connect().await).await;
}

#[actix_web::test]
async fn sessions_of_numeric_user_ids_survive_the_move_to_text_ids() {
    use diesel::connection::SimpleConnection as _;
    use diesel::Connection as _;
    use diesel_migrations::MigrationHarness as _;

    // A database as the demo left it before the session store moved to the library:
    // every migration up to the one that turns `sessions.user_id` into text, and a
    // session of user 42 stored with an integer id.
    let tmp = TempSqlite::new();
    let path = tmp.url.trim_start_matches("sqlite://").to_owned();
    let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
    let pending = conn
        .pending_migrations(demo_app::db::SQLITE_MIGRATIONS)
        .unwrap();
    for migration in &pending {
        if migration
            .name()
            .to_string()
            .contains("session_user_id_text")
        {
            break;
        }
        conn.run_migration(migration.as_ref()).unwrap();
    }
    let key = "k".repeat(64);
    conn.batch_execute(&format!(
        "INSERT INTO sessions (\"key\", state, user_id, expires_at) VALUES \
         ('{key}', '{{\"a\":\"1\"}}', 42, '9999-01-01 00:00:00')"
    ))
    .unwrap();
    drop(conn);

    let db = tmp.connect().await;
    let store = db.session_store();
    assert_eq!(store.live_sessions().await.unwrap(), 1);
    assert_eq!(store.end_user_sessions(&42_i64).await.unwrap(), 1);
    assert_eq!(store.live_sessions().await.unwrap(), 0);
}
