//! Ended sessions stay ended: copies of a session cookie replayed concurrently around a
//! logout, a disconnect and the unlink webhook never leave a session that reaches a
//! protected page, on SQLite and PostgreSQL, with database, Redis and cookie sessions.
//! Also: anonymous begins write no session, and state-changing posts need proof of
//! origin.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{PgSchema, TempSqlite};
use demo_app::app::RunningApp;
use demo_app::config::{DemoConfig, SessionBackend};
use kakao_auth_e2e::Browser;
use kakao_emulator::UserChoice;

const ADMIN_KEY: &str = "revocation-test-admin-key";
/// Concurrent replayers of the copied cookie in each round.
const REPLAYERS: usize = 8;
/// Rounds of each race.
const ROUNDS: usize = 20;

#[derive(Debug, Clone, Copy)]
enum Ending {
    Logout,
    Disconnect,
    Webhook,
}

async fn start(
    database_url: &str,
    backend: SessionBackend,
    redis: Option<(String, String)>,
) -> RunningApp {
    let dir = std::env::temp_dir();
    let mut config = DemoConfig::on_free_port(&dir.join("unused.sqlite3")).unwrap();
    config.database_url = database_url.to_owned();
    config.session_backend = backend;
    config.kakao_admin_key = Some(ADMIN_KEY.into());
    if let Some((url, prefix)) = redis {
        config.redis_url = Some(url);
        config.redis_key_prefix = prefix;
    }
    let mut app = demo_app::app::start(config).await.unwrap();
    app.spawn();
    app
}

fn logged_in_status(page_status: u16) -> bool {
    page_status == 200
}

/// One round: log in, replay copies of the cookie from [`REPLAYERS`] clients on every
/// route while the session is ended, then check that no cookie anyone holds reaches
/// `/download-list/`.
async fn race_round(app: &RunningApp, ending: Ending, round: usize) {
    let kakao = app.emulator.as_ref().unwrap();
    let browser = Browser::new(&app.url);
    browser.login(kakao, UserChoice::Fixture(1001), None).await;
    assert!(logged_in_status(
        browser.get("/download-list/").await.status
    ));
    let copy = browser.cookie("sessionid").unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let replayers: Vec<_> = (0..REPLAYERS)
        .map(|i| {
            let replayer = Browser::new(&app.url);
            replayer.set_cookie("sessionid", &copy);
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                let paths = [
                    "/accounts/oauth/login/kakao/?next=%2Fdownload-list%2F",
                    "/download-list/",
                    "/",
                    "/accounts/oauth/login/kakao/?scope=account_email",
                    "/download/kakao-login-guide.txt",
                ];
                for n in 0..200 {
                    if stop.load(Ordering::SeqCst) && n >= paths.len() {
                        break;
                    }
                    replayer.get(paths[(i + n) % paths.len()]).await;
                }
                replayer
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(3)).await;
    match ending {
        Ending::Logout => assert_eq!(browser.post("/logout/").await.status, 303),
        Ending::Disconnect => {
            let page = browser.post("/accounts/oauth/disconnect/kakao/").await;
            assert_eq!(page.status, 303, "{}", page.body);
            assert_eq!(page.location().as_deref(), Some("/"));
        }
        Ending::Webhook => {
            let hook =
                url::Url::parse(&format!("{}/accounts/oauth/unlink/kakao/", app.url)).unwrap();
            let status = kakao
                .send_unlink_webhook(&hook, 1001, "UNLINK_FROM_APPS", true)
                .await
                .unwrap();
            assert_eq!(status, 200);
        }
    }
    stop.store(true, Ordering::SeqCst);
    for handle in replayers {
        let replayer = handle.await.unwrap();
        let status = replayer.get("/download-list/").await.status;
        assert!(
            !logged_in_status(status),
            "{ending:?} round {round}: a replayed copy still reaches the protected page (cookie {:?})",
            replayer.cookie("sessionid")
        );
    }
    let thief = Browser::new(&app.url);
    thief.set_cookie("sessionid", &copy);
    assert_eq!(
        thief.get("/download-list/").await.status,
        302,
        "{ending:?} round {round}: the copied cookie still works"
    );
    assert_eq!(browser.get("/download-list/").await.status, 302);
}

async fn races(app: &RunningApp, endings: &[Ending]) {
    for ending in endings {
        for round in 0..ROUNDS {
            race_round(app, *ending, round).await;
        }
    }
}

const ALL: [Ending; 3] = [Ending::Logout, Ending::Disconnect, Ending::Webhook];

#[actix_web::test]
async fn replayed_cookies_never_outlive_an_ended_session_on_sqlite_with_database_sessions() {
    let tmp = TempSqlite::new();
    let app = start(&tmp.url, SessionBackend::Database, None).await;
    races(&app, &ALL).await;
    app.stop().await;
}

#[actix_web::test]
async fn replayed_cookies_never_outlive_an_ended_session_on_postgres_with_database_sessions() {
    let test = "replayed_cookies_never_outlive_an_ended_session_on_postgres_with_database_sessions";
    let Some(url) = common::postgres_url(test) else {
        return;
    };
    let pg = PgSchema::create(&url).await;
    let app = start(&pg.url, SessionBackend::Database, None).await;
    races(&app, &ALL).await;
    app.stop().await;
}

#[actix_web::test]
async fn replayed_cookies_never_outlive_an_ended_session_with_redis_sessions() {
    let test = "replayed_cookies_never_outlive_an_ended_session_with_redis_sessions";
    let (Some(pg_url), Some(redis)) = (common::postgres_url(test), common::redis_url(test)) else {
        return;
    };
    let prefix = common::unique_redis_prefix();
    let pg = PgSchema::create(&pg_url).await;
    let app = start(
        &pg.url,
        SessionBackend::Redis,
        Some((redis.clone(), prefix.clone())),
    )
    .await;
    races(&app, &ALL).await;
    app.stop().await;
    let tmp = TempSqlite::new();
    let app = start(
        &tmp.url,
        SessionBackend::Redis,
        Some((redis.clone(), prefix.clone())),
    )
    .await;
    races(&app, &ALL).await;
    app.stop().await;
    common::delete_redis_prefix(&redis, &prefix).await;
}

#[actix_web::test]
async fn a_cookie_only_session_of_a_disconnected_or_unlinked_user_is_refused() {
    let tmp = TempSqlite::new();
    let app = start(&tmp.url, SessionBackend::Cookie, None).await;
    // A logout cannot revoke a copy of a cookie-only session (documented); the user's
    // removal does.
    races(&app, &[Ending::Disconnect, Ending::Webhook]).await;
    app.stop().await;
}

/// Begins from `n` cookie-less visitors; each gets its redirect to Kakao.
async fn anonymous_begins(app: &RunningApp, n: usize) {
    for _ in 0..n {
        let visitor = Browser::new(&app.url);
        let page = visitor
            .get("/accounts/oauth/login/kakao/?next=%2Fdownload-list%2F")
            .await;
        assert_eq!(page.status, 302);
        assert_eq!(visitor.cookie("sessionid"), None);
    }
}

#[actix_web::test]
async fn anonymous_begins_write_no_session_row() {
    let tmp = TempSqlite::new();
    let app = start(&tmp.url, SessionBackend::Database, None).await;
    anonymous_begins(&app, 300).await;
    assert_eq!(common::session_rows(&app.db).await, 0);
    app.stop().await;

    let test = "anonymous_begins_write_no_session_row";
    let Some(redis) = common::redis_url(test) else {
        return;
    };
    let prefix = common::unique_redis_prefix();
    let tmp = TempSqlite::new();
    let app = start(
        &tmp.url,
        SessionBackend::Redis,
        Some((redis.clone(), prefix.clone())),
    )
    .await;
    anonymous_begins(&app, 300).await;
    assert_eq!(common::redis_keys(&redis, &prefix).await.len(), 0);
    app.stop().await;
}

/// The hidden CSRF field of the first form posting to `action` on `html`.
fn csrf_token_in(html: &str, action: &str) -> String {
    let form = html
        .split("<form")
        .find(|f| f.contains(&format!("action=\"{action}\"")))
        .unwrap_or_else(|| panic!("no form posting to {action} in {html}"));
    let start = form.find("name=\"csrf_token\" value=\"").unwrap() + 25;
    form[start..].split('"').next().unwrap().to_owned()
}

#[actix_web::test]
async fn a_header_less_token_less_post_to_each_state_changing_route_changes_nothing() {
    let tmp = TempSqlite::new();
    let app = start(&tmp.url, SessionBackend::Database, None).await;
    let kakao = app.emulator.as_ref().unwrap();
    let browser = Browser::new(&app.url);
    browser.login(kakao, UserChoice::Fixture(1001), None).await;
    let users = app.auth.store().count_users().await.unwrap();
    for route in [
        "/logout/",
        "/logout/kakao/",
        "/accounts/oauth/disconnect/kakao/",
    ] {
        let page = browser.post_bare(route).await;
        assert_eq!(page.status, 403, "{route}");
        let page = browser.post_form(route, &[("csrf_token", "forged")]).await;
        assert_eq!(page.status, 403, "{route} with a wrong token");
        assert_eq!(browser.get("/download-list/").await.status, 200, "{route}");
        assert_eq!(app.auth.store().count_users().await.unwrap(), users);
    }
    // The token the page renders stands in for the headers.
    let home = browser.get("/").await;
    let token = csrf_token_in(&home.body, "/accounts/oauth/disconnect/kakao/");
    assert_eq!(token, csrf_token_in(&home.body, "/logout/"));
    let page = browser
        .post_form(
            "/accounts/oauth/disconnect/kakao/",
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(app.auth.store().count_users().await.unwrap(), users - 1);
    assert_eq!(browser.get("/download-list/").await.status, 302);
    app.stop().await;
}
