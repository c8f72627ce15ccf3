//! Hardening items of the security bar that the other suites do not cover: a login while
//! already logged in, and size limits on Kakao's answers.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{Browser, TestApp};
use kakao_emulator::{Endpoint, Fault, UserChoice};

#[actix_web::test]
async fn a_login_while_logged_in_switches_user_with_a_fresh_session_and_links_nothing() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let first = browser.login(&app, UserChoice::Fixture(1001), None).await;
    assert_eq!(first.location().as_deref(), Some("/download-list/"));
    let ryan = app.store.user_id_by_uid("1001").await.unwrap().unwrap();
    let first_session = browser.cookie("sessionid").unwrap();
    assert!(browser.get("/download-list/").await.body.contains("라이언"));

    // Same browser, still logged in as 1001, logs in with another Kakao account.
    let second = browser.login(&app, UserChoice::Fixture(1002), None).await;
    assert_eq!(second.location().as_deref(), Some("/download-list/"));
    let second_session = browser.cookie("sessionid").unwrap();
    assert_ne!(second_session, first_session, "a fresh session id");
    let page = browser.get("/download-list/").await;
    assert!(page.body.contains("어피치"), "the session is 1002's user");
    assert!(!page.body.contains("라이언"));

    // 1002 got its own user; 1001's user still has exactly its own link.
    let apeach = app.store.user_id_by_uid("1002").await.unwrap().unwrap();
    assert_ne!(
        apeach, ryan,
        "no second Kakao account linked to the current user"
    );
    let link = app.store.link_by_user(ryan).await.unwrap().unwrap();
    assert_eq!(
        (link.provider.as_str(), link.uid.as_str()),
        ("kakao", "1001")
    );
    assert_eq!(app.store.user_id_by_uid("1001").await.unwrap(), Some(ryan));
    assert_eq!((app.users().await, app.links().await), (2, 2));

    // The session 1001 had is gone: its cookie no longer logs anyone in.
    let stale = Browser::new(&app.app.url);
    stale.set_cookie("sessionid", &first_session);
    assert_eq!(stale.get("/download-list/").await.status, 302);
}

/// A body just over the 256 KiB limit, as valid JSON.
fn oversized_json() -> String {
    format!(r#"{{"id":1001,"padding":"{}"}}"#, "x".repeat(256 * 1024))
}

async fn refused_as_invalid_response(endpoint: Endpoint) {
    let app = TestApp::spawn().await;
    app.emulator().faults().set(
        endpoint,
        Fault::Status {
            status: 200,
            content_type: "application/json;charset=UTF-8".into(),
            body: oversized_json(),
        },
    );
    let browser = app.browser();
    let page = browser.login(&app, UserChoice::Fixture(1001), None).await;
    assert_eq!(
        page.location().as_deref(),
        Some("/login/error/?reason=invalid_response")
    );
    assert_eq!(browser.get("/download-list/").await.status, 302);
    assert_eq!((app.users().await, app.links().await), (0, 0));
    assert_eq!(app.browser().get("/healthz").await.status, 200);
}

#[actix_web::test]
async fn an_oversized_token_response_is_refused() {
    refused_as_invalid_response(Endpoint::Token).await;
}

#[actix_web::test]
async fn an_oversized_user_me_response_is_refused() {
    refused_as_invalid_response(Endpoint::UserMe).await;
}
