//! `DieselUserStore` checks beyond the generic acceptance suite, run on each backend.
//! Each takes a database of its own (a temp SQLite file or a fresh PostgreSQL schema).

use std::collections::HashMap;
use std::time::Duration;

use actix_kakao_auth::session::SESSION_USER_KEY;
use actix_kakao_auth::store::{AuthUser, UserStore};
use actix_kakao_auth::testing::{random_kakao_id, sample_login, CONCURRENT_LOGINS};
use actix_session::storage::SessionStore;
use demo_app::db::Db;
use demo_app::sessions::Sessions;
use demo_app::store::{DieselUserStore, StoreError};
use diesel_async::SimpleAsyncConnection;
use futures_util::future::join_all;

use super::{exec, links_for_uid, users_for_uid};

/// The generic suite from `actix_kakao_auth::testing`.
pub async fn acceptance_suite(db: &Db) {
    actix_kakao_auth::testing::store_acceptance_suite(|| {
        std::future::ready(DieselUserStore::new(db.clone()))
    })
    .await;
}

/// 20 concurrent first logins of one id leave exactly one user and one link.
pub async fn concurrent_first_logins_write_one_user_and_one_link(db: &Db) {
    let store = DieselUserStore::new(db.clone());
    let id = random_kakao_id();
    let uid = id.to_string();
    let logins: Vec<_> = (0..CONCURRENT_LOGINS)
        .map(|i| sample_login(id, &format!("racer {i}"), None))
        .collect();
    let users = join_all(logins.iter().map(|l| store.find_or_create(l))).await;
    let mut ids: Vec<i64> = users.into_iter().map(|u| u.unwrap().id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "logins returned users {ids:?}");
    assert_eq!(users_for_uid(db, &uid).await, 1, "users for {uid}");
    assert_eq!(links_for_uid(db, &uid).await, 1, "links for {uid}");
    assert_eq!(
        store.count_users().await.unwrap(),
        store.count_links().await.unwrap(),
        "every user has exactly one link"
    );
}

/// `rounds` runs of [`concurrent_first_logins_write_one_user_and_one_link`] on an empty
/// database leave exactly `rounds` users and `rounds` links.
pub async fn rounds_of_concurrent_first_logins(db: &Db, rounds: i64) {
    for _ in 0..rounds {
        concurrent_first_logins_write_one_user_and_one_link(db).await;
    }
    let store = DieselUserStore::new(db.clone());
    assert_eq!(store.count_users().await.unwrap(), rounds);
    assert_eq!(store.count_links().await.unwrap(), rounds);
}

/// A first login that runs while another connection holds an uncommitted first login
/// of the same id ends up with the other connection's user, and nothing extra is
/// written. The winner writes through `winner_db`, a second [`Db`] on the same
/// database, as another process would. (PostgreSQL: the store's user insert waits,
/// fails on the unique username, rolls back and the retry reads the winner's link.
/// SQLite: the store's `BEGIN IMMEDIATE` waits for the winner's commit and then finds
/// its link.)
pub async fn a_racing_first_login_gets_the_committed_winner(db: &Db, winner_db: &Db) {
    let store = DieselUserStore::new(db.clone());
    let id = random_kakao_id();
    let uid = id.to_string();
    let begin = match db.backend() {
        "sqlite" => "BEGIN IMMEDIATE",
        _ => "BEGIN",
    };
    let winner_sql = format!(
        "{begin};
         INSERT INTO users (username, nickname) VALUES ('kakao_{uid}', 'winner');
         INSERT INTO social_auth_usersocialauth (user_id, provider, uid, extra_data)
             VALUES ((SELECT id FROM users WHERE username = 'kakao_{uid}'), 'kakao', '{uid}', '{{}}');"
    );
    async fn race(
        winner_db: &Db,
        store: DieselUserStore,
        id: i64,
        winner_sql: String,
    ) -> Result<demo_app::models::User, StoreError> {
        demo_app::db_run!(
            winner_db,
            write | conn | {
                conn.batch_execute(&winner_sql).await?;
                let loser = tokio::spawn(async move {
                    store.find_or_create(&sample_login(id, "loser", None)).await
                });
                tokio::time::sleep(Duration::from_millis(300)).await;
                assert!(
                    !loser.is_finished(),
                    "the loser did not wait for the winner"
                );
                conn.batch_execute("COMMIT").await?;
                loser.await.expect("login task")
            }
        )
    }
    let got = race(winner_db, store.clone(), id, winner_sql)
        .await
        .unwrap();
    let winner = store.user_id_by_uid(&uid).await.unwrap();
    assert_eq!(Some(got.id), winner);
    assert_eq!(
        got.nickname, "loser",
        "the login refreshed the winner's profile"
    );
    assert_eq!(users_for_uid(db, &uid).await, 1);
    assert_eq!(links_for_uid(db, &uid).await, 1);
}

/// When the link insert fails, the user insert before it is rolled back too.
pub async fn a_failed_link_insert_leaves_nothing_behind(db: &Db) {
    let store = DieselUserStore::new(db.clone());
    let id = random_kakao_id();
    let uid = id.to_string();
    let (users_before, links_before) = (
        store.count_users().await.unwrap(),
        store.count_links().await.unwrap(),
    );
    let (arm, disarm) = match db.backend() {
        "sqlite" => (
            format!(
                "CREATE TRIGGER fail_{uid} BEFORE INSERT ON social_auth_usersocialauth
                 WHEN NEW.uid = '{uid}' BEGIN SELECT RAISE(ABORT, 'simulated link failure'); END;"
            ),
            format!("DROP TRIGGER fail_{uid};"),
        ),
        _ => (
            format!(
                "CREATE FUNCTION fail_{uid}() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                   IF NEW.uid = '{uid}' THEN RAISE EXCEPTION 'simulated link failure'; END IF;
                   RETURN NEW;
                 END $$;
                 CREATE TRIGGER fail_{uid} BEFORE INSERT ON social_auth_usersocialauth
                   FOR EACH ROW EXECUTE FUNCTION fail_{uid}();"
            ),
            format!(
                "DROP TRIGGER fail_{uid} ON social_auth_usersocialauth; DROP FUNCTION fail_{uid}();"
            ),
        ),
    };
    exec(db, &arm).await;
    let failed = store.find_or_create(&sample_login(id, "half", None)).await;
    assert!(
        matches!(failed, Err(StoreError::Query(_))),
        "expected the simulated failure, got {failed:?}"
    );
    assert_eq!(users_for_uid(db, &uid).await, 0, "user row left behind");
    assert_eq!(store.count_users().await.unwrap(), users_before);
    assert_eq!(store.count_links().await.unwrap(), links_before);
    exec(db, &disarm).await;
    store
        .find_or_create(&sample_login(id, "whole", None))
        .await
        .unwrap();
    assert_eq!(users_for_uid(db, &uid).await, 1);
    assert_eq!(links_for_uid(db, &uid).await, 1);
}

/// A user who already has the username `kakao_<uid>` (but no link) is never given to
/// Kakao id `uid`; the new user gets `kakao_<uid>_2`.
pub async fn a_taken_username_is_never_matched(db: &Db) {
    let store = DieselUserStore::new(db.clone());
    let id = random_kakao_id();
    let uid = id.to_string();
    exec(
        db,
        &format!(
            "INSERT INTO users (username, email, nickname)
             VALUES ('kakao_{uid}', 'same@example.com', 'squatter');"
        ),
    )
    .await;
    let user = store
        .find_or_create(&sample_login(id, "squatter", Some("same@example.com")))
        .await
        .unwrap();
    assert_eq!(user.username, format!("kakao_{uid}_2"));
    assert_eq!(users_for_uid(db, &uid).await, 2);
    let link = store.link_by_user(user.id).await.unwrap().unwrap();
    assert_eq!(link.uid, uid);
    assert_eq!(store.user_id_by_uid(&uid).await.unwrap(), Some(user.id));
}

/// A returning login keeps the mapping, refreshes nickname, image and `extra_data`,
/// keeps the email when Kakao sends none, and the id above 2^53 is stored exactly.
pub async fn a_returning_login_refreshes_profile_and_extra_data(db: &Db) {
    let store = DieselUserStore::new(db.clone());
    let id: i64 = 9_007_199_254_740_993;
    let first = store
        .find_or_create(&sample_login(id, "라이언", Some("ryan@example.com")))
        .await
        .unwrap();
    assert_eq!(first.username, "kakao_9007199254740993");
    assert_eq!(first.nickname, "라이언");
    assert_eq!(first.email.as_deref(), Some("ryan@example.com"));
    assert_eq!(
        first.profile_image_url.as_deref(),
        Some("https://k.kakaocdn.net/dn/9007199254740993.jpg")
    );
    assert_eq!(AuthUser::id(&first), first.id);
    assert_eq!(
        store.get_user(&first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.user_id_by_uid("9007199254740993").await.unwrap(),
        Some(first.id)
    );
    assert_eq!(
        store.user_id_by_uid("9007199254740992").await.unwrap(),
        None
    );

    let link = store.link_by_user(first.id).await.unwrap().unwrap();
    assert_eq!(
        (link.provider.as_str(), link.uid.as_str()),
        ("kakao", "9007199254740993")
    );
    let extra: serde_json::Value = serde_json::from_str(&link.extra_data).unwrap();
    assert_eq!(extra["id"], "9007199254740993");
    assert_eq!(extra["nickname"], "라이언");
    assert_eq!(extra["scopes"][0], "profile_nickname");
    assert!(extra["expires_at"].is_string());
    assert!(extra["refresh_token_expires_at"].is_string());
    assert!(extra["connected_at"].is_string());
    // Tokens are sealed at rest: the text holds a key id and ciphertext, not the token.
    assert!(!link.extra_data.contains("test-access-9007199254740993"));
    assert!(extra["access_token"]["kid"].is_string() && extra["access_token"]["ct"].is_string());
    let tokens = store
        .tokens_of(first.id)
        .await
        .unwrap()
        .expect("the store opens its tokens");
    assert_eq!(tokens.access_token.secret(), "test-access-9007199254740993");

    tokio::time::sleep(Duration::from_millis(5)).await;
    let again = store
        .find_or_create(&sample_login(id, "라이언 2", None))
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.username, first.username);
    assert_eq!(again.nickname, "라이언 2");
    assert_eq!(
        again.email.as_deref(),
        Some("ryan@example.com"),
        "no email → kept"
    );
    assert_eq!(again.created_at, first.created_at);
    assert!(again.last_login_at > first.last_login_at);
    let link2 = store.link_by_user(first.id).await.unwrap().unwrap();
    assert_eq!(link2.id, link.id);
    assert!(link2.modified > link.modified);
    assert_eq!(link2.created, link.created);
    let extra: serde_json::Value = serde_json::from_str(&link2.extra_data).unwrap();
    assert_eq!(extra["nickname"], "라이언 2");
    assert_eq!(store.user_by_id(first.id).await.unwrap(), Some(again));
}

/// Deleting a user removes the link (cascade) and every session of theirs.
pub async fn delete_user_removes_links_and_sessions(db: &Db) {
    let sessions = db.session_store();
    let store =
        DieselUserStore::new(db.clone()).with_sessions(Sessions::Database(sessions.clone()));
    let id = random_kakao_id();
    let user = store
        .find_or_create(&sample_login(id, "leaving", None))
        .await
        .unwrap();
    let state = HashMap::from([(
        SESSION_USER_KEY.to_owned(),
        format!(r#"{{"id":{},"hash":"","csrf":"c"}}"#, user.id),
    )]);
    let ttl = actix_web::cookie::time::Duration::hours(1);
    let key = sessions.save(state, &ttl).await.unwrap();
    assert!(sessions.load(&key).await.unwrap().is_some());

    assert!(store.delete_user(user.id).await.unwrap());
    assert_eq!(store.user_by_id(user.id).await.unwrap(), None);
    assert_eq!(store.link_by_user(user.id).await.unwrap(), None);
    assert_eq!(store.user_id_by_uid(&id.to_string()).await.unwrap(), None);
    assert_eq!(links_for_uid(db, &id.to_string()).await, 0);
    assert!(
        sessions.load(&key).await.unwrap().is_none(),
        "session survived"
    );
    assert!(!store.delete_user(user.id).await.unwrap());
}

/// With the link table gone, logins fail with an error (no panic). Destroys the schema.
pub async fn a_broken_database_gives_errors_not_panics(db: &Db) {
    let store = DieselUserStore::new(db.clone());
    exec(db, "DROP TABLE social_auth_usersocialauth;").await;
    let result = store
        .find_or_create(&sample_login(random_kakao_id(), "x", None))
        .await;
    let err = result.expect_err("a login without the link table");
    assert!(matches!(err, StoreError::Query(_)), "{err:?}");
    assert!(
        err.to_string().contains("social_auth_usersocialauth"),
        "{err}"
    );
    assert!(store.count_links().await.is_err());
}

/// Several processes (here tasks) opening the same fresh database at once all succeed.
pub async fn concurrent_connects_all_succeed(url: &str) {
    let connects = (0..6).map(|_| {
        let url = url.to_owned();
        tokio::spawn(async move { Db::connect(&url).await })
    });
    for db in join_all(connects).await {
        let db = db.expect("connect task").expect("connect");
        db.ping().await.unwrap();
    }
    let db = Db::connect(url).await.unwrap();
    let store = DieselUserStore::new(db);
    assert!(store.count_users().await.unwrap() >= 0);
}
