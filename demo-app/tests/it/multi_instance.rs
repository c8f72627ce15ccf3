//! Two demo-app processes sharing PostgreSQL and Redis behind one URL: a login begun on
//! one instance finishes on the other, sessions are shared, first logins race safely, and
//! users survive restarts. Needs `TEST_DATABASE_URL` and `TEST_REDIS_URL`.
#![allow(clippy::unwrap_used)]

use crate::common;
use crate::common::instance::Instance;

use actix_kakao_auth::session_store::RedisSessionStore;
use demo_app::db::Db;
use futures_util::stream::{self, StreamExt};
use kakao_auth_e2e::Browser;
use kakao_emulator::{KakaoEmulator, UserChoice};
use url::Url;

/// The public URL both instances answer for (what a load balancer would serve).
const PUBLIC_URL: &str = "http://demo.localhost:8000";

/// One login: begin on `first`, consent at the emulator, callback on `second`.
async fn login_across(
    browser: &Browser,
    kakao: &KakaoEmulator,
    first: &Instance,
    second: &Instance,
    user: UserChoice,
) -> u16 {
    let begin = browser
        .get(&first.path("/login/?next=%2Fdownload-list%2F"))
        .await;
    let begin = browser.get(&first.path(&begin.expect_redirect())).await;
    let authorize = Url::parse(&begin.expect_redirect()).unwrap();
    let callback = kakao.approve(&authorize, user).await.unwrap();
    let done = browser.get(&second.at(&callback)).await;
    assert_eq!(
        done.location().as_deref(),
        Some("/download-list/"),
        "login via {} then {}",
        first.base,
        second.base
    );
    browser.get(&first.path("/download-list/")).await.status
}

async fn user_for_uid(db: &Db, uid: &str) -> (i64, i64) {
    (
        common::users_for_uid(db, uid).await,
        common::links_for_uid(db, uid).await,
    )
}

#[actix_web::test]
async fn two_instances_share_logins_sessions_and_users() {
    let test = "two_instances_share_logins_sessions_and_users";
    let (Some(pg), Some(redis)) = (common::postgres_url(test), common::redis_url(test)) else {
        return;
    };
    let schema = common::PgSchema::create(&pg).await;
    let prefix = common::unique_redis_prefix();
    let kakao = KakaoEmulator::builder()
        .client_id("multi-instance")
        .redirect_uri(format!("{PUBLIC_URL}/accounts/oauth/complete/kakao/"))
        .workers(2)
        .start()
        .await
        .unwrap();
    let env: Vec<(String, String)> = [
        ("APP_URL", PUBLIC_URL.to_owned()),
        ("KAKAO_CLIENT_ID", "multi-instance".to_owned()),
        (
            "KAKAO_AUTH_URL",
            kakao.base_url().as_str().trim_end_matches('/').to_owned(),
        ),
        (
            "KAKAO_API_URL",
            kakao.base_url().as_str().trim_end_matches('/').to_owned(),
        ),
        ("DATABASE_URL", schema.url.clone()),
        ("REDIS_URL", redis.clone()),
        ("REDIS_KEY_PREFIX", prefix.clone()),
        ("SESSION_SECRET", "s".repeat(32) + &"e".repeat(32)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    // Both start at once: migrations must not race.
    let (a, b) = tokio::join!(Instance::start(&env), Instance::start(&env));
    let db = schema.connect().await;

    // Begin on A, callback on B, protected page on A.
    let browser = Browser::new(&a.base);
    assert_eq!(
        login_across(&browser, &kakao, &a, &b, UserChoice::Fixture(1001)).await,
        200
    );
    assert_eq!(browser.get(&b.path("/download-list/")).await.status, 200);

    // Stop A in the middle of a login and finish it on B.
    let browser = Browser::new(&a.base);
    let begin = browser.get(&a.path("/accounts/oauth/login/kakao/")).await;
    let authorize = Url::parse(&begin.expect_redirect()).unwrap();
    a.stop();
    let callback = kakao
        .approve(&authorize, UserChoice::Fixture(1002))
        .await
        .unwrap();
    assert_eq!(
        browser.get(&b.at(&callback)).await.location().as_deref(),
        Some("/download-list/")
    );
    assert_eq!(browser.get(&b.path("/download-list/")).await.status, 200);
    let a = Instance::start(&env).await;

    // A few hundred concurrent logins spread over both, 40 distinct users.
    let instances = [&a, &b];
    let statuses: Vec<u16> = stream::iter(0..240usize)
        .map(|i| {
            let (first, second) = (instances[i % 2], instances[(i / 2) % 2]);
            let kakao = &kakao;
            async move {
                let browser = Browser::new(&first.base);
                login_across(
                    &browser,
                    kakao,
                    first,
                    second,
                    UserChoice::Nickname(format!("multi-{}", i % 40)),
                )
                .await
            }
        })
        .buffer_unordered(48)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every login succeeds: {statuses:?}"
    );

    // 50 concurrent first logins of one Kakao id across both: one user, one link.
    let store = demo_app::store::DieselUserStore::new(db.clone());
    assert_eq!(
        store.count_users().await.unwrap(),
        2 + 40,
        "1001, 1002 and 40 nickname users"
    );
    let racer = format!("racer-{}", std::process::id());
    let statuses: Vec<u16> = stream::iter(0..50usize)
        .map(|i| {
            let (first, second) = (instances[i % 2], instances[(i + 1) % 2]);
            let (kakao, racer) = (&kakao, racer.clone());
            async move {
                login_across(
                    &Browser::new(&first.base),
                    kakao,
                    first,
                    second,
                    UserChoice::Nickname(racer),
                )
                .await
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200));
    assert_eq!(
        store.count_users().await.unwrap(),
        43,
        "the racer got exactly one user"
    );
    assert_eq!(
        store.count_links().await.unwrap(),
        43,
        "and exactly one link"
    );

    // Ending all of one user's sessions works across instances.
    let phone = Browser::new(&a.base);
    let laptop = Browser::new(&b.base);
    login_across(&phone, &kakao, &a, &a, UserChoice::Fixture(1001)).await;
    login_across(&laptop, &kakao, &b, &b, UserChoice::Fixture(1001)).await;
    let user_id = store.user_id_by_uid("1001").await.unwrap().unwrap();
    let sessions = RedisSessionStore::connect_with_prefix(&redis, &prefix)
        .await
        .unwrap();
    assert!(sessions.end_user_sessions(&user_id).await.unwrap() >= 2);
    for browser in [&phone, &laptop] {
        for instance in [&a, &b] {
            assert_eq!(
                browser.get(&instance.path("/download-list/")).await.status,
                302
            );
        }
    }

    // Restart both: every user still logs in and maps to the same row.
    let before: Vec<(String, Option<i64>)> = {
        let mut v = Vec::new();
        for uid in ["1001", "1002"] {
            v.push((uid.to_owned(), store.user_id_by_uid(uid).await.unwrap()));
        }
        v
    };
    a.stop();
    b.stop();
    let (a, b) = tokio::join!(Instance::start(&env), Instance::start(&env));
    for (i, fixture) in [1001, 1002].into_iter().enumerate() {
        let browser = Browser::new(&a.base);
        assert_eq!(
            login_across(&browser, &kakao, &a, &b, UserChoice::Fixture(fixture)).await,
            200
        );
        assert_eq!(
            store.user_id_by_uid(&before[i].0).await.unwrap(),
            before[i].1
        );
    }
    for i in 0..40 {
        let browser = Browser::new(&b.base);
        assert_eq!(
            login_across(
                &browser,
                &kakao,
                &b,
                &a,
                UserChoice::Nickname(format!("multi-{i}"))
            )
            .await,
            200
        );
    }
    assert_eq!(
        (
            store.count_users().await.unwrap(),
            store.count_links().await.unwrap()
        ),
        (43, 43)
    );
    assert_eq!(user_for_uid(&db, "1001").await, (1, 1));

    a.stop();
    b.stop();
    kakao.stop().await;
    common::delete_redis_prefix(&redis, &prefix).await;
}
