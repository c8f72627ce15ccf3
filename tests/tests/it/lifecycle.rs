//! Account lifecycle through the demo: tokens sealed at rest, refresh, logout with the
//! Kakao account, token revocation, disconnect, the unlink webhook, additional consent.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::{Browser, TestApp};
use kakao_emulator::UserChoice;
use url::Url;

const ADMIN_KEY: &str = "test-admin-key-0123456789";

/// The access token the app used at the emulator most recently.
fn last_bearer(app: &TestApp) -> String {
    let me = app.emulator().user_me_requests();
    me.last()
        .unwrap()
        .authorization
        .clone()
        .unwrap()
        .trim_start_matches("Bearer ")
        .to_owned()
}

/// Whether the emulator still accepts `token`.
async fn token_alive(app: &TestApp, token: &str) -> bool {
    let url = app.emulator().base_url().join("/v2/user/me").unwrap();
    let status = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status();
    status == 200
}

async fn logged_in(app: &TestApp, fixture: i64) -> (Browser, i64, String) {
    let browser = app.browser();
    browser.login(app, UserChoice::Fixture(fixture), None).await;
    let token = last_bearer(app);
    let user_id = app
        .store
        .user_id_by_uid(&fixture.to_string())
        .await
        .unwrap()
        .unwrap();
    (browser, user_id, token)
}

#[actix_web::test]
async fn stored_tokens_are_unreadable_in_the_database() {
    let app = TestApp::spawn().await;
    let (_browser, user_id, token) = logged_in(&app, 1001).await;
    let link = app.store.link_by_user(user_id).await.unwrap().unwrap();
    assert!(
        !link.extra_data.contains(&token),
        "access token in clear: {}",
        link.extra_data
    );
    let extra: serde_json::Value = serde_json::from_str(&link.extra_data).unwrap();
    assert!(extra["access_token"]["kid"].is_string());
    assert!(extra["expires_at"].is_string(), "expiry stays readable");
    let stored = app.store.tokens_of(user_id).await.unwrap().unwrap();
    assert_eq!(stored.access_token.secret(), &token);
    let refresh = stored.refresh_token.unwrap();
    assert!(!link.extra_data.contains(refresh.secret()));
}

#[actix_web::test]
async fn a_refresh_through_the_demo_store_seals_the_new_token() {
    let app =
        TestApp::spawn_with(|c| c.kakao_token_refresh_margin = Some(Duration::from_secs(7 * 3600)))
            .await;
    let (_browser, user_id, old) = logged_in(&app, 1001).await;
    let fresh = app.app.auth.access_token_for(&user_id).await.unwrap();
    assert_ne!(fresh.secret(), &old);
    let link = app.store.link_by_user(user_id).await.unwrap().unwrap();
    assert!(!link.extra_data.contains(fresh.secret()));
    assert_eq!(
        app.store
            .tokens_of(user_id)
            .await
            .unwrap()
            .unwrap()
            .access_token
            .secret(),
        fresh.secret()
    );
    assert!(token_alive(&app, fresh.secret()).await);
}

#[actix_web::test]
async fn plain_logout_revokes_the_token_at_kakao() {
    let app = TestApp::spawn().await;
    let (browser, _, token) = logged_in(&app, 1001).await;
    assert!(token_alive(&app, &token).await);
    let page = browser.post("/logout/").await;
    assert_eq!(page.status, 303);
    assert!(
        !token_alive(&app, &token).await,
        "the token was revoked with /v1/user/logout"
    );
}

#[actix_web::test]
async fn plain_logout_works_even_when_kakao_is_down() {
    let app = TestApp::spawn().await;
    let (browser, _, _) = logged_in(&app, 1001).await;
    app.emulator().faults().set(
        kakao_emulator::Endpoint::Logout,
        kakao_emulator::Fault::Delay(Duration::from_secs(30)),
    );
    let started = std::time::Instant::now();
    let page = browser.post("/logout/").await;
    assert_eq!(page.status, 303);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a slow Kakao never blocks a local logout"
    );
    assert_eq!(browser.get("/download-list/").await.status, 302);
}

#[actix_web::test]
async fn logout_with_the_kakao_account_ends_the_session_and_goes_to_kakao() {
    let app = TestApp::spawn().await;
    let (browser, _, token) = logged_in(&app, 1001).await;
    let page = browser.post("/logout/kakao/").await;
    assert_eq!(page.status, 303);
    let location = Url::parse(&page.location().unwrap()).unwrap();
    assert!(location
        .as_str()
        .starts_with(app.emulator().base_url().as_str()));
    assert_eq!(location.path(), "/oauth/logout");
    let query = common::params(&location);
    assert_eq!(query["client_id"], app.emulator().client_id());
    assert_eq!(query["logout_redirect_uri"], app.url("/"));
    assert_eq!(
        browser.get("/download-list/").await.status,
        302,
        "local session ended"
    );
    assert!(!token_alive(&app, &token).await);
    // Kakao ends its own session and sends the browser back to the app.
    let back = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(location)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 302);
    assert_eq!(back.headers()["location"].to_str().unwrap(), app.url("/"));
    // Cross-site: refused.
    let (victim, _, _) = logged_in(&app, 1002).await;
    assert_eq!(
        victim
            .post_with("/logout/kakao/", &[("Origin", "https://evil.example")])
            .await
            .status,
        403
    );
    assert_eq!(victim.get("/download-list/").await.status, 200);
}

#[actix_web::test]
async fn disconnect_unlinks_at_kakao_and_removes_the_user_and_every_session() {
    let app = TestApp::spawn().await;
    let (browser, user_id, token) = logged_in(&app, 1001).await;
    let (other_device, _, _) = logged_in(&app, 1001).await;
    logged_in(&app, 1002).await;
    assert_eq!(app.users().await, 2);

    assert_eq!(
        browser
            .post_with(
                "/accounts/oauth/disconnect/kakao/",
                &[("Sec-Fetch-Site", "cross-site")]
            )
            .await
            .status,
        403
    );
    assert_eq!(
        browser
            .post_with(
                "/accounts/oauth/disconnect/kakao/",
                &[("Origin", "https://evil.example")]
            )
            .await
            .status,
        403
    );
    assert_eq!(app.users().await, 2, "a cross-site request removes nothing");

    let page = browser
        .post_with(
            "/accounts/oauth/disconnect/kakao/",
            &[("Origin", &app.app.url)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location().as_deref(), Some("/"));
    assert_eq!(app.store.user_by_id(user_id).await.unwrap(), None);
    assert_eq!(app.store.user_id_by_uid("1001").await.unwrap(), None);
    assert_eq!(
        (app.users().await, app.links().await),
        (1, 1),
        "the other user stays"
    );
    assert!(
        !token_alive(&app, &token).await,
        "unlinked at Kakao: the token is dead"
    );
    assert_eq!(browser.get("/download-list/").await.status, 302);
    assert_eq!(
        other_device.get("/download-list/").await.status,
        302,
        "every session of the user ended"
    );
    // Anonymous disconnect goes to login.
    assert_eq!(
        app.browser()
            .post("/accounts/oauth/disconnect/kakao/")
            .await
            .status,
        302
    );
}

#[actix_web::test]
async fn disconnect_with_the_admin_key_works_without_a_live_user_token() {
    let app = TestApp::spawn_with(|c| c.kakao_admin_key = Some(ADMIN_KEY.into())).await;
    let (browser, user_id, _) = logged_in(&app, 1001).await;
    app.emulator().revoke_tokens_of(1001);
    let page = browser.post("/accounts/oauth/disconnect/kakao/").await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(app.store.user_by_id(user_id).await.unwrap(), None);
}

#[actix_web::test]
async fn a_failed_unlink_at_kakao_removes_nothing() {
    let app = TestApp::spawn().await;
    let (browser, user_id, _) = logged_in(&app, 1001).await;
    app.emulator().faults().set(
        kakao_emulator::Endpoint::Unlink,
        kakao_emulator::Fault::Html5xx(502),
    );
    let page = browser.post("/accounts/oauth/disconnect/kakao/").await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location().as_deref(),
        Some("/login/error/?reason=kakao_unavailable")
    );
    assert!(app.store.user_by_id(user_id).await.unwrap().is_some());
    assert_eq!(
        browser.get("/download-list/").await.status,
        200,
        "still logged in, can retry"
    );
}

#[actix_web::test]
async fn the_unlink_webhook_removes_the_user_and_ends_all_their_sessions() {
    let app = TestApp::spawn_with(|c| c.kakao_admin_key = Some(ADMIN_KEY.into())).await;
    let (phone, user_id, _) = logged_in(&app, 1001).await;
    let (laptop, _, _) = logged_in(&app, 1001).await;
    let (bystander, _, _) = logged_in(&app, 1002).await;
    let hook = Url::parse(&app.url("/accounts/oauth/unlink/kakao/")).unwrap();

    for referrer in ["UNLINK_FROM_APPS", "ACCOUNT_DELETE"] {
        let status = app
            .emulator()
            .send_unlink_webhook(&hook, 424242, referrer, true)
            .await
            .unwrap();
        assert_eq!(status, 200, "an unknown user is still a 200");
    }
    let status = app
        .emulator()
        .send_unlink_webhook(&hook, 1001, "UNLINK_FROM_APPS", false)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(app.store.user_by_id(user_id).await.unwrap(), None);
    for browser in [&phone, &laptop] {
        assert_eq!(
            browser.get("/download-list/").await.status,
            302,
            "every browser of the user is anonymous"
        );
    }
    assert_eq!(bystander.get("/download-list/").await.status, 200);
}

#[actix_web::test]
async fn the_unlink_webhook_refuses_a_wrong_or_missing_key_and_deletes_nothing() {
    let app = TestApp::spawn_with(|c| {
        c.kakao_admin_key = Some(ADMIN_KEY.into());
        c.kakao_app_id = Some(100001);
    })
    .await;
    let (browser, user_id, _) = logged_in(&app, 1001).await;
    let hook = app.url("/accounts/oauth/unlink/kakao/");
    let client = reqwest::Client::new();
    let form = [
        ("app_id", "100001"),
        ("user_id", "1001"),
        ("referrer_type", "UNLINK_FROM_APPS"),
    ];
    let wrong = client
        .post(&hook)
        .header("Authorization", "KakaoAK wrong-key")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let missing = client.post(&hook).form(&form).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let other_app = [
        ("app_id", "999"),
        ("user_id", "1001"),
        ("referrer_type", "UNLINK_FROM_APPS"),
    ];
    let foreign = client
        .post(&hook)
        .header("Authorization", format!("KakaoAK {ADMIN_KEY}"))
        .form(&other_app)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 401, "another app_id is refused");
    assert!(
        app.store.user_by_id(user_id).await.unwrap().is_some(),
        "nothing deleted"
    );
    assert_eq!(browser.get("/download-list/").await.status, 200);
    let right = client
        .get(format!(
            "{hook}?app_id=100001&user_id=1001&referrer_type=UNLINK_FROM_ADMIN"
        ))
        .header("Authorization", format!("KakaoAK {ADMIN_KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(app.store.user_by_id(user_id).await.unwrap().is_none());
}

#[actix_web::test]
async fn without_an_admin_key_the_webhook_does_not_exist() {
    let app = TestApp::spawn().await;
    let status = reqwest::Client::new()
        .post(app.url("/accounts/oauth/unlink/kakao/"))
        .header("Authorization", "KakaoAK x")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn additional_consent_adds_scopes_to_the_link() {
    let app = TestApp::spawn_with(|c| c.kakao_scope = vec!["profile_nickname".into()]).await;
    let (browser, user_id, _) = logged_in(&app, 1001).await;
    let scopes = |text: &str| -> Vec<String> {
        let extra: serde_json::Value = serde_json::from_str(text).unwrap();
        extra["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let link = app.store.link_by_user(user_id).await.unwrap().unwrap();
    assert_eq!(scopes(&link.extra_data), ["profile_nickname"]);

    // Anonymous visitors cannot widen the request.
    let anonymous = app.browser().begin(None).await;
    assert_eq!(common::params(&anonymous)["scope"], "profile_nickname");
    let widened = app
        .browser()
        .get("/accounts/oauth/login/kakao/?scope=account_email")
        .await;
    assert!(!widened.location().unwrap().contains("account_email"));

    let page = browser
        .get("/accounts/oauth/login/kakao/?scope=account_email&next=%2Fdownload-list%2F")
        .await;
    let authorize = Url::parse(&page.location().unwrap()).unwrap();
    assert_eq!(
        common::params(&authorize)["scope"],
        "profile_nickname account_email"
    );
    let callback = app
        .emulator()
        .approve(&authorize, UserChoice::Fixture(1001))
        .await
        .unwrap();
    assert_eq!(
        browser.get(callback.as_str()).await.location().as_deref(),
        Some("/download-list/")
    );
    let link = app.store.link_by_user(user_id).await.unwrap().unwrap();
    assert_eq!(
        scopes(&link.extra_data),
        ["profile_nickname", "account_email"]
    );
    assert_eq!(
        app.store
            .user_by_id(user_id)
            .await
            .unwrap()
            .unwrap()
            .email
            .as_deref(),
        Some("ryan@kakao.example")
    );

    // A later plain login keeps the scopes granted before.
    browser.login(&app, UserChoice::Fixture(1001), None).await;
    let link = app.store.link_by_user(user_id).await.unwrap().unwrap();
    assert_eq!(
        scopes(&link.extra_data),
        ["profile_nickname", "account_email"]
    );
}

#[actix_web::test]
async fn the_home_page_offers_kakao_logout_and_a_confirmed_disconnect() {
    let app = TestApp::spawn().await;
    let (browser, _, _) = logged_in(&app, 1001).await;
    let home = browser.get("/").await;
    assert!(home.body.contains("action=\"/logout/kakao/\""));
    assert!(home.body.contains("카카오 계정과 함께 로그아웃"));
    assert!(
        home.body.contains("<details class=\"danger\">"),
        "disconnect sits behind a confirmation"
    );
    assert!(home
        .body
        .contains("action=\"/accounts/oauth/disconnect/kakao/\""));
    assert!(home.body.contains("연결 끊기"));
    let csp = home.header("content-security-policy").unwrap();
    let kakao_origin = app.emulator().base_url().origin().ascii_serialization();
    assert!(
        csp.contains(&format!("form-action 'self' {kakao_origin}")),
        "{csp}"
    );
}

#[actix_web::test]
async fn the_unlink_webhook_ends_redis_sessions_too() {
    let test = "the_unlink_webhook_ends_redis_sessions_too";
    let redis = match std::env::var("TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var("REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{test}: TEST_REDIS_URL not set but REQUIRE_SERVICES=1"
            );
            eprintln!("SKIP: TEST_REDIS_URL not set ({test} needs Redis)");
            return;
        }
    };
    let prefix = format!("lifecycle-test-{}:", std::process::id());
    let app = TestApp::spawn_with(|c| {
        c.kakao_admin_key = Some(ADMIN_KEY.into());
        c.redis_url = Some(redis.clone());
        c.redis_key_prefix = prefix.clone();
        c.session_backend = demo_app::config::SessionBackend::Redis;
    })
    .await;
    let (phone, user_id, _) = logged_in(&app, 1001).await;
    let (laptop, _, _) = logged_in(&app, 1001).await;
    let (bystander, _, _) = logged_in(&app, 1002).await;
    let hook = Url::parse(&app.url("/accounts/oauth/unlink/kakao/")).unwrap();
    let started = std::time::Instant::now();
    let status = app
        .emulator()
        .send_unlink_webhook(&hook, 1001, "UNLINK_FROM_APPS", true)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered within Kakao's 3 s"
    );
    assert_eq!(app.store.user_by_id(user_id).await.unwrap(), None);
    for browser in [&phone, &laptop] {
        assert_eq!(
            browser.get("/download-list/").await.status,
            302,
            "Redis sessions of the user ended"
        );
    }
    assert_eq!(bystander.get("/download-list/").await.status, 200);
    app.app.stop().await;
}
