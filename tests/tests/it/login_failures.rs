//! Every way a login can fail ends on the error page: no session, no row, server up.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::{params, Browser, TestApp};
use kakao_emulator::{ConsentDecision, Endpoint, Fault, UserChoice};

/// Asserts the aftermath of a failed login: the error page with `reason`, nobody logged
/// in, no rows, and the server still serving.
async fn assert_clean_failure(app: &TestApp, browser: &Browser, page: &common::Page, reason: &str) {
    assert_eq!(page.status, 302, "{}", page.body);
    assert_eq!(
        page.location().unwrap(),
        format!("/login/error/?reason={reason}")
    );
    assert_eq!(
        browser.get("/download-list/").await.status,
        302,
        "nobody is logged in"
    );
    assert_eq!(
        (app.users().await, app.links().await),
        (0, 0),
        "no row written"
    );
    let health = app.browser().get("/healthz").await;
    assert_eq!(health.status, 200, "the server keeps serving");
    let error_page = browser.get(&page.location().unwrap()).await;
    assert_eq!(error_page.status, 200);
    assert!(error_page.body.contains(reason));
}

async fn approved_callback(app: &TestApp, browser: &Browser) -> url::Url {
    let authorize = browser.begin(None).await;
    app.emulator()
        .approve(&authorize, UserChoice::Fixture(1001))
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_missing_state_is_refused() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let mut callback = approved_callback(&app, &browser).await;
    let code = params(&callback)["code"].clone();
    callback.set_query(Some(&format!("code={code}")));
    let page = browser.get(callback.as_str()).await;
    assert_clean_failure(&app, &browser, &page, "state_mismatch").await;
    assert!(
        app.emulator().token_requests().is_empty(),
        "no token request without a valid state"
    );
}

#[actix_web::test]
async fn a_forged_state_is_refused() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let mut callback = approved_callback(&app, &browser).await;
    let code = params(&callback)["code"].clone();
    callback.set_query(Some(&format!("code={code}&state=forged-state-value")));
    let page = browser.get(callback.as_str()).await;
    assert_clean_failure(&app, &browser, &page, "state_mismatch").await;
    assert!(
        !page
            .headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("sessionid=")),
        "a forged state changes no session"
    );
    assert_eq!(browser.cookie("sessionid"), None);
    assert!(
        app.emulator().token_requests().is_empty(),
        "no token request with a forged state"
    );
}

#[actix_web::test]
async fn a_state_from_another_browser_is_refused() {
    let app = TestApp::spawn().await;
    let victim = app.browser();
    let attacker = app.browser();
    let callback = approved_callback(&app, &attacker).await;
    victim.get("/").await;
    let page = victim.get(callback.as_str()).await;
    assert_clean_failure(&app, &victim, &page, "state_mismatch").await;
}

#[actix_web::test]
async fn a_replayed_callback_is_refused_after_it_succeeded() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let callback = approved_callback(&app, &browser).await;
    assert_eq!(
        browser.get(callback.as_str()).await.location().as_deref(),
        Some("/download-list/")
    );
    browser.post("/logout/").await;
    let replay = browser.get(callback.as_str()).await;
    assert_eq!(
        replay.location().as_deref(),
        Some("/login/error/?reason=state_mismatch")
    );
    assert_eq!(browser.get("/download-list/").await.status, 302);
}

#[actix_web::test]
async fn a_replayed_code_is_refused_by_kakao() {
    let app = TestApp::spawn().await;
    let first = app.browser();
    let old = approved_callback(&app, &first).await;
    first.get(old.as_str()).await;
    app.store
        .delete_user(app.store.user_id_by_uid("1001").await.unwrap().unwrap())
        .await
        .unwrap();

    let browser = app.browser();
    let authorize = browser.begin(None).await;
    let state = params(&authorize)["state"].clone();
    let code = params(&old)["code"].clone();
    let page = browser
        .get(&format!(
            "/accounts/oauth/complete/kakao/?code={code}&state={state}"
        ))
        .await;
    assert_clean_failure(&app, &browser, &page, "invalid_code").await;
}

#[actix_web::test]
async fn a_denied_consent_is_reported() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let authorize = browser.begin(None).await;
    let callback = app
        .emulator()
        .consent(&authorize, ConsentDecision::Cancel)
        .await
        .unwrap();
    assert_eq!(params(&callback)["error"], "access_denied");
    let page = browser.get(callback.as_str()).await;
    assert_clean_failure(&app, &browser, &page, "access_denied").await;
    assert!(app.emulator().token_requests().is_empty());
    // The state was consumed: replaying it with a code fails on the state.
    let state = params(&authorize)["state"].clone();
    let page = browser
        .get(&format!(
            "/accounts/oauth/complete/kakao/?code=x&state={state}"
        ))
        .await;
    assert_eq!(
        page.location().as_deref(),
        Some("/login/error/?reason=state_mismatch")
    );
}

async fn failure_with_fault(endpoint: Endpoint, fault: Fault, reason: &str) {
    let app = TestApp::spawn_with(|c| c.kakao_timeout = Some(Duration::from_millis(800))).await;
    app.emulator().faults().set(endpoint, fault);
    let browser = app.browser();
    let page = browser.login(&app, UserChoice::Fixture(1001), None).await;
    assert_clean_failure(&app, &browser, &page, reason).await;
    // Kakao recovers: the next login works.
    app.emulator().faults().clear_all();
    let page = browser.login(&app, UserChoice::Fixture(1001), None).await;
    assert_eq!(page.location().as_deref(), Some("/download-list/"));
}

#[actix_web::test]
async fn a_token_endpoint_5xx_with_html_is_kakao_unavailable() {
    failure_with_fault(Endpoint::Token, Fault::Html5xx(502), "kakao_unavailable").await;
}

#[actix_web::test]
async fn a_token_endpoint_in_maintenance_is_kakao_unavailable() {
    failure_with_fault(Endpoint::Token, Fault::Maintenance, "kakao_unavailable").await;
}

#[actix_web::test]
async fn a_token_endpoint_slower_than_the_timeout_is_kakao_unavailable() {
    failure_with_fault(
        Endpoint::Token,
        Fault::Delay(Duration::from_secs(5)),
        "kakao_unavailable",
    )
    .await;
}

#[actix_web::test]
async fn garbage_json_from_the_token_endpoint_is_an_invalid_response() {
    failure_with_fault(Endpoint::Token, Fault::GarbageJson, "invalid_response").await;
}

#[actix_web::test]
async fn an_html_error_body_from_the_token_endpoint_is_an_invalid_response() {
    let fault = Fault::Status {
        status: 400,
        content_type: "text/html".into(),
        body: "<html><body>Bad Request</body></html>".into(),
    };
    failure_with_fault(Endpoint::Token, fault, "invalid_response").await;
}

#[actix_web::test]
async fn a_401_from_user_me_is_an_invalid_response() {
    failure_with_fault(Endpoint::UserMe, Fault::InvalidToken, "invalid_response").await;
}

#[actix_web::test]
async fn a_5xx_from_user_me_is_kakao_unavailable() {
    failure_with_fault(Endpoint::UserMe, Fault::Html5xx(503), "kakao_unavailable").await;
}

#[actix_web::test]
async fn garbage_json_from_user_me_is_an_invalid_response() {
    failure_with_fault(Endpoint::UserMe, Fault::GarbageJson, "invalid_response").await;
}

#[actix_web::test]
async fn a_slow_user_me_is_kakao_unavailable() {
    failure_with_fault(
        Endpoint::UserMe,
        Fault::Delay(Duration::from_secs(5)),
        "kakao_unavailable",
    )
    .await;
}

#[actix_web::test]
async fn a_user_me_without_an_id_is_an_invalid_response() {
    let fault = Fault::Status {
        status: 200,
        content_type: "application/json".into(),
        body: r#"{"kakao_account":{}}"#.into(),
    };
    failure_with_fault(Endpoint::UserMe, fault, "invalid_response").await;
}

#[actix_web::test]
async fn an_oversized_callback_query_is_refused_without_panicking() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser.begin(None).await;
    let long = "a".repeat(20_000);
    let page = browser
        .get(&format!(
            "/accounts/oauth/complete/kakao/?code={long}&state={long}"
        ))
        .await;
    assert!(
        page.status == 302 || page.status == 414 || page.status == 431,
        "{}",
        page.status
    );
    assert_eq!(app.browser().get("/healthz").await.status, 200);
    assert_eq!(app.users().await, 0);
}
