//! The Redis session store against a real Redis (`TEST_REDIS_URL`).
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::HashMap;

use actix_kakao_auth::session::SESSION_USER_KEY;
use actix_session::storage::{SessionKey, SessionStore};
use actix_web::cookie::time::Duration;
use demo_app::redis_session_store::RedisSessionStore;

fn state(user: Option<i64>) -> HashMap<String, String> {
    let mut map = HashMap::from([("k".to_owned(), "\"v\"".to_owned())]);
    if let Some(user) = user {
        map.insert(
            SESSION_USER_KEY.to_owned(),
            format!(r#"{{"id":{user},"hash":"h","csrf":"c"}}"#),
        );
    }
    map
}

#[actix_web::test]
async fn sessions_round_trip_expire_and_end_per_user() {
    let Some(url) = common::redis_url("sessions_round_trip_expire_and_end_per_user") else {
        return;
    };
    let prefix = common::unique_redis_prefix();
    let store = RedisSessionStore::connect_with_prefix(&url, &prefix)
        .await
        .unwrap();
    store.ping().await.unwrap();

    let a = store
        .save(state(Some(7)), &Duration::minutes(5))
        .await
        .unwrap();
    let b = store
        .save(state(Some(7)), &Duration::minutes(5))
        .await
        .unwrap();
    let other = store
        .save(state(Some(8)), &Duration::minutes(5))
        .await
        .unwrap();
    let anonymous = store
        .save(state(None), &Duration::minutes(5))
        .await
        .unwrap();
    assert_ne!(a.as_ref(), b.as_ref());
    assert_eq!(store.load(&a).await.unwrap(), Some(state(Some(7))));

    // update keeps the key; a session that is gone is never re-created.
    let mut changed = state(Some(7));
    changed.insert("x".into(), "1".into());
    let a2 = store
        .update(a, changed.clone(), &Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(store.load(&a2).await.unwrap(), Some(changed.clone()));
    let gone = SessionKey::try_from("x".repeat(64)).unwrap();
    let answered = store
        .update(gone, changed.clone(), &Duration::minutes(5))
        .await
        .unwrap();
    assert_ne!(answered.as_ref(), "x".repeat(64));
    assert_eq!(
        store.load(&answered).await.unwrap(),
        None,
        "nothing re-created"
    );

    assert_eq!(store.delete_user_sessions(7).await.unwrap(), 2);
    assert_eq!(store.load(&a2).await.unwrap(), None);
    assert_eq!(store.load(&b).await.unwrap(), None);
    // A request that loaded `a2` before its user's sessions were ended cannot write it back.
    let a3 = SessionKey::try_from(a2.as_ref().to_owned()).unwrap();
    let answered = store
        .update(a3, changed, &Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(store.load(&a2).await.unwrap(), None);
    assert_eq!(store.load(&answered).await.unwrap(), None);
    assert!(
        store.load(&other).await.unwrap().is_some(),
        "another user's session survives"
    );
    assert!(store.load(&anonymous).await.unwrap().is_some());

    store.delete(&other).await.unwrap();
    assert_eq!(store.load(&other).await.unwrap(), None);
    assert_eq!(
        store.delete_user_sessions(8).await.unwrap(),
        0,
        "delete also left the user index"
    );

    // Anonymous sessions live no longer than a login flow; logins keep their TTL.
    let anonymous_long = store.save(state(None), &Duration::days(14)).await.unwrap();
    let login_long = store
        .save(state(Some(9)), &Duration::days(14))
        .await
        .unwrap();
    let ttl = |key: SessionKey| {
        let url = url.clone();
        let prefix = prefix.clone();
        async move {
            let client = redis::Client::open(url).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let seconds: i64 = redis::cmd("TTL")
                .arg(format!("{prefix}s:{}", key.as_ref()))
                .query_async(&mut conn)
                .await
                .unwrap();
            seconds
        }
    };
    let anonymous_ttl = ttl(anonymous_long).await;
    assert!((590..=600).contains(&anonymous_ttl), "{anonymous_ttl}");
    assert!(ttl(login_long).await > 13 * 24 * 3600);

    let short = store
        .save(state(None), &Duration::seconds(1))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        store.load(&short).await.unwrap(),
        None,
        "Redis expires the session"
    );
    common::delete_redis_prefix(&url, &prefix).await;
}

#[actix_web::test]
async fn an_unreachable_redis_is_a_clear_error() {
    let err = RedisSessionStore::connect("redis://127.0.0.1:1")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Redis"), "{err}");
}
