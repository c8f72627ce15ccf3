//! Naver Login in the demo, in emulator mode (both emulators): a login through the
//! shared flow into the demo's tables, accounts never joined by email, and Naver's signed
//! unlink notification.
#![allow(clippy::unwrap_used)]

use crate::common::{self, TempSqlite};

use actix_kakao_auth::naver::NaverUserInfo;
use actix_kakao_auth::store::{ProviderUser, SocialLogin, UserStore};
use actix_kakao_auth::testing::sample_login;
use demo_app::app::RunningApp;
use demo_app::config::DemoConfig;
use demo_app::db::Db;
use demo_app::store::DieselUserStore;
use kakao_auth_e2e::Browser;
use kakao_emulator::naver::unlink_notification_form;
use url::Url;

const BASE64_LIKE: &str = "Ab3dE+f/GhI9jKlMnOpQrStUvWxYz0123456789+/AbC=";
const UNLINK: &str = "/accounts/oauth/unlink/naver/";

async fn start(database_url: &str) -> RunningApp {
    let mut config =
        DemoConfig::on_free_port(&std::env::temp_dir().join("unused.sqlite3")).unwrap();
    config.database_url = database_url.to_owned();
    let mut app = demo_app::app::start(config).await.unwrap();
    app.spawn();
    app
}

/// A Naver login as `user` through the demo; returns the last page.
async fn naver_login(app: &RunningApp, browser: &Browser, user: &str) -> kakao_auth_e2e::Page {
    let begin = browser
        .get("/accounts/oauth/login/naver/?next=%2Fdownload-list%2F")
        .await;
    let authorize = Url::parse(&begin.expect_redirect()).unwrap();
    let naver = app.naver_emulator.as_ref().unwrap();
    let callback = naver.approve(&authorize, user).await.unwrap();
    browser.get(callback.as_str()).await
}

/// `(provider, uid, email of the user)` of every link row.
async fn links(db: &Db) -> Vec<(String, String, Option<String>)> {
    use demo_app::db_run;
    use demo_app::schema::{social_auth_usersocialauth as links, users};
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    async fn run(db: &Db) -> Result<Vec<(String, String, Option<String>)>, demo_app::db::DbError> {
        Ok(db_run!(db, |conn| {
            links::table
                .inner_join(users::table)
                .select((links::provider, links::uid, users::email))
                .order(links::id)
                .load(conn)
                .await
        })?)
    }
    run(db).await.unwrap()
}

#[actix_web::test]
async fn a_naver_login_stores_its_text_id_and_no_email_and_the_unlink_notification_ends_it() {
    let tmp = TempSqlite::new();
    let app = start(&tmp.url).await;
    let browser = Browser::new(&app.url);
    let landing = naver_login(&app, &browser, BASE64_LIKE).await;
    assert_eq!(landing.location().as_deref(), Some("/download-list/"));
    let page = browser.get("/download-list/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("초록이"), "{}", page.body);
    assert_eq!(
        links(&app.db).await,
        [("naver".to_owned(), BASE64_LIKE.to_owned(), None)],
        "the id as Naver sent it, + / = kept; Naver's email is never stored as verified"
    );

    // Forged, stale and foreign notifications change nothing.
    let naver = app.naver_emulator.as_ref().unwrap();
    let now = chrono::Utc::now().timestamp();
    let post = |form: Vec<(&'static str, String)>| {
        let url = format!("{}{UNLINK}", app.url);
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let secret = naver.client_secret();
    let id = naver.client_id();
    for (what, form) in [
        (
            "another secret",
            unlink_notification_form(id, "not the secret", BASE64_LIKE, now, [1; 16], false),
        ),
        (
            "stale",
            unlink_notification_form(id, secret, BASE64_LIKE, now - 600, [1; 16], false),
        ),
        (
            "another app",
            unlink_notification_form("another-app", secret, BASE64_LIKE, now, [1; 16], true),
        ),
    ] {
        assert_eq!(post(form).await, 401, "{what}");
    }
    assert_eq!(links(&app.db).await.len(), 1);
    assert_eq!(browser.get("/download-list/").await.status, 200);

    // Naver's own notification (padded or not, it opens): the link and its user go.
    let status = naver
        .send_unlink_notification(
            &Url::parse(&format!("{}{UNLINK}", app.url)).unwrap(),
            BASE64_LIKE,
        )
        .await
        .unwrap();
    assert_eq!(status, 204);
    assert!(links(&app.db).await.is_empty());
    assert_eq!(
        browser.get("/download-list/").await.status,
        302,
        "the session of a user who is gone reaches nothing"
    );
    app.stop().await;
}

#[actix_web::test]
async fn a_naver_email_equal_to_a_kakao_users_verified_email_makes_a_new_user() {
    let tmp = TempSqlite::new();
    let db = Db::connect(&tmp.url).await.unwrap();
    let store = DieselUserStore::new(db.clone());
    let kakao = sample_login(1001, "라이언", Some("ryan@kakao.example"));
    let ryan = store.find_or_create(&kakao).await.unwrap();
    assert_eq!(ryan.email.as_deref(), Some("ryan@kakao.example"));
    let naver = SocialLogin::new(ProviderUser::Naver(NaverUserInfo {
        id: "1001".into(),
        nickname: Some("라이언".into()),
        name: None,
        email: Some("ryan@kakao.example".into()),
        profile_image: None,
    }));
    let other = store.find_or_create(&naver).await.unwrap();
    assert_ne!(
        other.id, ryan.id,
        "never joined by email, nickname or uid text"
    );
    assert_eq!(other.email, None);
    assert_eq!(
        store.find_or_create(&naver).await.unwrap().id,
        other.id,
        "the same Naver account finds its own user again"
    );
    assert_eq!(
        common::links_for_uid(&db, "1001").await,
        2,
        "kakao 1001 and naver 1001"
    );
}

/// Connects the Naver account `user` to the logged-in user of `browser`.
async fn connect_naver(app: &RunningApp, browser: &Browser, user: &str) -> kakao_auth_e2e::Page {
    let started = browser.post("/accounts/oauth/connect/naver/").await;
    assert_eq!(started.status, 303);
    let authorize = Url::parse(&started.expect_redirect()).unwrap();
    let naver = app.naver_emulator.as_ref().unwrap();
    let callback = naver.approve(&authorize, user).await.unwrap();
    browser.get(callback.as_str()).await
}

#[actix_web::test]
async fn a_user_with_two_links_disconnects_one_and_keeps_the_account_until_the_last() {
    let tmp = TempSqlite::new();
    let app = start(&tmp.url).await;
    let browser = Browser::new(&app.url);
    let kakao = app.emulator.as_ref().unwrap();
    browser
        .login(kakao, kakao_emulator::UserChoice::Fixture(1001), None)
        .await;
    let account = browser.get("/account/").await;
    assert_eq!(account.status, 200);
    assert!(
        account
            .body
            .contains("action=\"/accounts/oauth/connect/naver/\""),
        "{}",
        account.body
    );

    let done = connect_naver(&app, &browser, BASE64_LIKE).await;
    assert_eq!(done.location().as_deref(), Some("/account/"));
    let providers: Vec<String> = links(&app.db).await.into_iter().map(|l| l.0).collect();
    assert_eq!(providers, ["kakao", "naver"]);
    let account = browser.get("/account/").await;
    assert!(
        account.body.contains("라이언"),
        "the Kakao nickname stays: {}",
        account.body
    );
    assert!(
        account
            .body
            .contains("action=\"/accounts/oauth/disconnect/naver/\""),
        "{}",
        account.body
    );

    // Another browser logging in with the Naver account reaches the same user, and the
    // pages now show the nickname of the provider logged in with last.
    let phone = Browser::new(&app.url);
    naver_login(&app, &phone, BASE64_LIKE).await;
    let page = phone.get("/download-list/").await;
    assert!(page.body.contains("초록이"), "{}", page.body);
    assert_eq!(links(&app.db).await.len(), 2, "no new user, no new link");
    let account = browser.get("/account/").await;
    assert!(account.body.contains("초록이"), "{}", account.body);

    // Disconnect Naver: revoked at Naver, only that row goes, still logged in.
    let naver = app.naver_emulator.as_ref().unwrap();
    let out = browser.post("/accounts/oauth/disconnect/naver/").await;
    assert_eq!(out.location().as_deref(), Some("/account/"));
    assert_eq!(naver.revoke_requests().len(), 1);
    let providers: Vec<String> = links(&app.db).await.into_iter().map(|l| l.0).collect();
    assert_eq!(providers, ["kakao"]);
    assert_eq!(browser.get("/download-list/").await.status, 200);

    // Connected again, then Kakao goes (Kakao's unlink called), the Naver link stays.
    connect_naver(&app, &browser, BASE64_LIKE).await;
    let out = browser.post("/accounts/oauth/disconnect/kakao/").await;
    assert_eq!(out.location().as_deref(), Some("/account/"));
    let providers: Vec<String> = links(&app.db).await.into_iter().map(|l| l.0).collect();
    assert_eq!(providers, ["naver"]);
    assert_eq!(browser.get("/download-list/").await.status, 200);

    // The last link: the account and the session go.
    let out = browser.post("/accounts/oauth/disconnect/naver/").await;
    assert_eq!(out.location().as_deref(), Some("/"));
    assert!(links(&app.db).await.is_empty());
    assert_eq!(browser.get("/download-list/").await.status, 302);
    app.stop().await;
}

#[actix_web::test]
async fn kakaos_webhook_removes_only_the_kakao_link_of_a_user_with_two() {
    let tmp = TempSqlite::new();
    let mut config =
        DemoConfig::on_free_port(&std::env::temp_dir().join("unused.sqlite3")).unwrap();
    config.database_url = tmp.url.clone();
    config.kakao_admin_key = Some("admin-key-for-tests".into());
    let mut app = demo_app::app::start(config).await.unwrap();
    app.spawn();
    let browser = Browser::new(&app.url);
    let kakao = app.emulator.as_ref().unwrap();
    browser
        .login(kakao, kakao_emulator::UserChoice::Fixture(1001), None)
        .await;
    connect_naver(&app, &browser, BASE64_LIKE).await;
    let status = kakao
        .send_unlink_webhook(
            &Url::parse(&format!("{}/accounts/oauth/unlink/kakao/", app.url)).unwrap(),
            1001,
            "UNLINK_FROM_APPS",
            true,
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let providers: Vec<String> = links(&app.db).await.into_iter().map(|l| l.0).collect();
    assert_eq!(providers, ["naver"], "the user keeps their other way in");
    assert_eq!(browser.get("/download-list/").await.status, 200);
    app.stop().await;
}

#[actix_web::test]
async fn navers_unlink_notification_removes_only_the_naver_link_of_a_user_with_two() {
    let tmp = TempSqlite::new();
    let app = start(&tmp.url).await;
    let browser = Browser::new(&app.url);
    let kakao = app.emulator.as_ref().unwrap();
    browser
        .login(kakao, kakao_emulator::UserChoice::Fixture(1001), None)
        .await;
    connect_naver(&app, &browser, BASE64_LIKE).await;
    let naver = app.naver_emulator.as_ref().unwrap();
    let status = naver
        .send_unlink_notification(
            &Url::parse(&format!("{}{UNLINK}", app.url)).unwrap(),
            BASE64_LIKE,
        )
        .await
        .unwrap();
    assert_eq!(status, 204);
    let providers: Vec<String> = links(&app.db).await.into_iter().map(|l| l.0).collect();
    assert_eq!(providers, ["kakao"], "the user keeps their Kakao login");
    assert_eq!(browser.get("/download-list/").await.status, 200);
    app.stop().await;
}
