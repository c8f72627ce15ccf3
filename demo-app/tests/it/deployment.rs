//! SDK sign-in as real deployments run it: the demo's guard stores (database and Redis)
//! pass the acceptance suite; two instances share the attempt limit and the replay guard;
//! an SDK-only user can log out (their token revoked) and disconnect.
#![allow(clippy::unwrap_used)]

use crate::common;
use crate::common::instance::Instance;

use common::{PgSchema, TempSqlite};
use demo_app::config::DemoConfig;
use demo_app::guards::{DbGuardStore, RedisGuardStore};
use kakao_auth_e2e::Browser;
use kakao_emulator::{KakaoEmulator, SdkClient};

const ROUTE: &str = "/accounts/oauth/token/kakao/";
/// The emulator's default app id.
const APP_ID: i64 = 100_001;

#[actix_web::test]
async fn the_database_guard_store_passes_the_acceptance_suite_on_sqlite() {
    let file = TempSqlite::new();
    let store = DbGuardStore::new(file.connect().await);
    actix_kakao_auth::testing::guard_store_acceptance_suite(&store).await;
    // Expired rows are purged.
    store.purge_expired().await.unwrap();
}

#[actix_web::test]
async fn the_database_guard_store_passes_the_acceptance_suite_on_postgres() {
    let Some(pg) = common::postgres_url("guard store on PostgreSQL") else {
        return;
    };
    let schema = PgSchema::create(&pg).await;
    let store = DbGuardStore::new(schema.connect().await);
    actix_kakao_auth::testing::guard_store_acceptance_suite(&store).await;
}

#[actix_web::test]
async fn the_redis_guard_store_passes_the_acceptance_suite() {
    let Some(redis) = common::redis_url("guard store on Redis") else {
        return;
    };
    let prefix = common::unique_redis_prefix();
    let store = RedisGuardStore::connect(&redis, &prefix).await.unwrap();
    actix_kakao_auth::testing::guard_store_acceptance_suite(&store).await;
    // Every key expires by itself: nothing is left without a TTL.
    let mut conn = redis::Client::open(redis.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for key in common::redis_keys(&redis, &prefix).await {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} has no expiry ({ttl})");
    }
    common::delete_redis_prefix(&redis, &prefix).await;
}

/// One demo-app process.
/// Posts `form` to the SDK route of `instance`, as a native app (no cookie, no origin).
async fn sdk_post(instance: &Instance, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{ROUTE}", instance.base))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Two instances on one SQLite file (and Redis, when `redis` is given) against one
/// emulator: refused attempts on either count toward one limit, and an id_token with a
/// nonce signs in once across both.
async fn two_instances_share_the_limit_and_the_replay_guard(redis: Option<(String, String)>) {
    let kakao = KakaoEmulator::builder()
        .client_id("deployment")
        .redirect_uri("http://demo.localhost:8000/accounts/oauth/complete/kakao/")
        .start()
        .await
        .unwrap();
    let db = TempSqlite::new();
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    let mut env = vec![
        ("APP_URL", "http://demo.localhost:8000".to_owned()),
        ("KAKAO_CLIENT_ID", "deployment".to_owned()),
        ("KAKAO_AUTH_URL", base.clone()),
        ("KAKAO_API_URL", base),
        ("KAKAO_APP_ID", APP_ID.to_string()),
        (
            "KAKAO_SDK_AUDIENCES",
            kakao.sdk_key(SdkClient::NativeApp).to_owned(),
        ),
        ("SDK_ATTEMPTS_PER_MINUTE", "3".to_owned()),
        ("DATABASE_URL", db.url.clone()),
        ("SESSION_SECRET", "d".repeat(64)),
    ];
    if let Some((url, prefix)) = &redis {
        env.push(("REDIS_URL", url.clone()));
        env.push(("REDIS_KEY_PREFIX", prefix.clone()));
        env.push(("SESSION_STORE", "db".to_owned()));
    }
    let a = Instance::start(&env).await;
    let b = Instance::start(&env).await;

    // The replay guard: once, whichever instance sees it second.
    let tokens = kakao
        .mint_sdk_tokens(SdkClient::NativeApp, 1001, Some("nonce-shared"))
        .unwrap();
    let form = [
        ("id_token", tokens.id_token.as_str()),
        ("nonce", "nonce-shared"),
    ];
    let (status, body) = sdk_post(&a, &form).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = sdk_post(&b, &form).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("replayed")));

    // The attempt limit: the replay was one refusal, two more spread over both make
    // three, then both refuse at once.
    for instance in [&a, &b] {
        let (status, _) = sdk_post(instance, &[("access_token", "guess")]).await;
        assert_eq!(status, 401);
    }
    let fresh = kakao
        .mint_sdk_tokens(SdkClient::NativeApp, 1002, None)
        .unwrap();
    for instance in [&b, &a] {
        let (status, body) =
            sdk_post(instance, &[("access_token", fresh.access_token.as_str())]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (429, Some("too_many_attempts")),
            "on {}",
            instance.base
        );
    }
    drop((a, b));
    kakao.stop().await;
    if let Some((url, prefix)) = redis {
        common::delete_redis_prefix(&url, &prefix).await;
    }
}

#[actix_web::test]
async fn two_instances_on_redis_share_the_attempt_limit_and_the_replay_guard() {
    let Some(redis) = common::redis_url("two instances on Redis") else {
        return;
    };
    two_instances_share_the_limit_and_the_replay_guard(Some((
        redis,
        common::unique_redis_prefix(),
    )))
    .await;
}

#[actix_web::test]
async fn two_instances_on_one_database_share_the_attempt_limit_and_the_replay_guard() {
    two_instances_share_the_limit_and_the_replay_guard(None).await;
}

/// The demo in-process in emulator mode, accepting this emulator app's SDK tokens.
async fn sdk_app(db: &TempSqlite) -> demo_app::app::RunningApp {
    let mut config = DemoConfig::on_free_port(std::path::Path::new("unused.sqlite3")).unwrap();
    config.database_url = db.url.clone();
    config.kakao_app_id = Some(APP_ID);
    let mut app = demo_app::app::start(config).await.unwrap();
    app.spawn();
    app
}

/// Signs `browser` in with a fresh SDK access token of `user`; returns the token.
async fn sdk_sign_in(app: &demo_app::app::RunningApp, browser: &Browser, user: i64) -> String {
    let kakao = app.emulator.as_ref().unwrap();
    let token = kakao
        .mint_sdk_tokens(SdkClient::NativeApp, user, None)
        .unwrap()
        .access_token;
    let page = browser.post_form(ROUTE, &[("access_token", &token)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(browser.get("/download-list/").await.status, 200);
    token
}

async fn token_is_valid(app: &demo_app::app::RunningApp, token: &str) -> bool {
    let token = actix_kakao_auth::kakao::secret::AccessToken::new(token.to_owned());
    app.auth.client().access_token_info(&token).await.is_ok()
}

#[actix_web::test]
async fn an_sdk_only_user_logs_out_with_the_token_revoked_and_can_disconnect() {
    let db = TempSqlite::new();
    let app = sdk_app(&db).await;

    // Logout revokes the posted token at Kakao.
    let browser = Browser::new(&app.url);
    let token = sdk_sign_in(&app, &browser, 1001).await;
    assert!(token_is_valid(&app, &token).await);
    let out = browser.post("/logout/").await;
    assert_eq!(out.status, 303);
    assert_eq!(browser.get("/download-list/").await.status, 302);
    assert!(
        !token_is_valid(&app, &token).await,
        "logout did not revoke the SDK token"
    );

    // Disconnect (no admin key): unlinked at Kakao with the posted token, user gone.
    let browser = Browser::new(&app.url);
    let token = sdk_sign_in(&app, &browser, 1001).await;
    let store = demo_app::store::DieselUserStore::new(app.db.clone());
    assert!(store.user_id_by_uid("1001").await.unwrap().is_some());
    let gone = browser.post("/accounts/oauth/disconnect/kakao/").await;
    assert_eq!(gone.status, 303);
    assert_eq!(gone.location().as_deref(), Some("/"), "disconnect failed");
    assert!(store.user_id_by_uid("1001").await.unwrap().is_none());
    assert!(!token_is_valid(&app, &token).await);
    assert_eq!(browser.get("/download-list/").await.status, 302);
    app.stop().await;
}

/// With an https `APP_URL` (behind a TLS-terminating proxy), every cookie the demo sets
/// is `Secure`, and the pending-login cookies of both providers are `__Host-` prefixed,
/// `Path=/`, without `Domain`: a sibling subdomain cannot plant one.
#[actix_web::test]
async fn an_https_app_url_makes_every_cookie_secure_and_pending_cookies_host_prefixed() {
    let db = TempSqlite::new();
    let mut config =
        DemoConfig::on_free_port(&std::env::temp_dir().join("unused.sqlite3")).unwrap();
    config.database_url = db.url.clone();
    config.app_url = "https://demo.example".into();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    config.bind = format!("127.0.0.1:{port}");
    let mut app = demo_app::app::start(config).await.unwrap();
    app.spawn();
    // The proxy's side: plain http to the instance, for the public https URL.
    let local = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for begin in [
        "/accounts/oauth/login/kakao/",
        "/accounts/oauth/login/naver/",
    ] {
        let response = client.get(format!("{local}{begin}")).send().await.unwrap();
        assert_eq!(response.status(), 302, "{begin}");
        let cookies: Vec<String> = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert!(!cookies.is_empty(), "{begin}");
        for cookie in &cookies {
            assert!(cookie.starts_with("__Host-"), "{begin}: {cookie}");
            assert!(cookie.contains("; Secure"), "{begin}: {cookie}");
            assert!(
                cookie.contains("Path=/;") || cookie.ends_with("Path=/"),
                "{begin}: {cookie}"
            );
            assert!(
                !cookie.to_ascii_lowercase().contains("domain="),
                "{begin}: {cookie}"
            );
        }
    }
    app.stop().await;
}
