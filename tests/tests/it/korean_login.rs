//! The demo's Korean-service features over HTTP: "use another Kakao account", Kakao Sync
//! service terms with the consent ledger in `extra_data.service_terms`, and the
//! `terms_required` failure that writes nothing.

use kakao_emulator::{ConsentDecision, UserChoice};

use crate::common::{params, TestApp};

/// The demo with two service terms: `tos_2026` (required, the first tag) and `marketing`.
async fn terms_app() -> TestApp {
    TestApp::spawn_with(|c| {
        c.kakao_service_terms = vec!["tos_2026".into(), "marketing".into()];
    })
    .await
}

/// The consent ledger of the user linked to fixture `kakao_id`: (tag, agreed_at) pairs.
async fn ledger(app: &TestApp, kakao_id: i64) -> Vec<(String, String)> {
    let user = app
        .store
        .user_id_by_uid(&kakao_id.to_string())
        .await
        .unwrap()
        .unwrap();
    let link = app.store.link_by_user(user).await.unwrap().unwrap();
    let extra: serde_json::Value = serde_json::from_str(&link.extra_data).unwrap();
    extra["service_terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tag"].as_str().unwrap().to_owned(),
                t["agreed_at"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn the_home_page_offers_another_account_with_prompt_select_account() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let home = browser.get("/").await;
    let href = "/accounts/oauth/login/kakao/?prompt=select_account&amp;next=%2Fdownload-list%2F";
    assert!(home.body.contains(href), "{}", home.body);
    assert!(home.body.contains("다른 계정으로 로그인"));
    let page = browser
        .get("/accounts/oauth/login/kakao/?prompt=select_account&next=%2Fdownload-list%2F")
        .await;
    let authorize = url::Url::parse(&page.expect_redirect()).unwrap();
    assert_eq!(params(&authorize)["prompt"], "select_account");
    let callback = app
        .emulator()
        .approve(&authorize, UserChoice::Fixture(1002))
        .await
        .unwrap();
    let page = browser.get(callback.as_str()).await;
    assert_eq!(page.location().as_deref(), Some("/download-list/"));
}

#[actix_web::test]
async fn agreed_terms_are_kept_in_the_link_and_shown_on_the_home_page() {
    let app = terms_app().await;
    let browser = app.browser();
    let authorize = browser.begin(None).await;
    assert_eq!(params(&authorize)["service_terms"], "tos_2026,marketing");
    let consent = app.browser().get(authorize.as_str()).await;
    assert!(consent.body.contains("tos_2026"), "{}", consent.body);
    assert!(consent.body.contains("(필수 · required)"));
    let callback = app
        .emulator()
        .approve(&authorize, UserChoice::Fixture(1001))
        .await
        .unwrap();
    let page = browser.get(callback.as_str()).await;
    assert_eq!(page.location().as_deref(), Some("/download-list/"));
    let kept = ledger(&app, 1001).await;
    let tags: Vec<&str> = kept.iter().map(|(tag, _)| tag.as_str()).collect();
    assert_eq!(tags, ["tos_2026", "marketing"]);
    assert!(kept.iter().all(|(_, at)| at.ends_with('Z')), "{kept:?}");
    let home = browser.get("/").await;
    assert!(home.body.contains("동의한 서비스 약관"), "{}", home.body);
    assert!(home.body.contains("<code>marketing</code>"));
}

#[actix_web::test]
async fn a_missing_required_term_writes_no_row_and_says_why() {
    let app = terms_app().await;
    let browser = app.browser();
    let authorize = browser.begin(None).await;
    let callback = app
        .emulator()
        .consent(
            &authorize,
            ConsentDecision::ApproveTerms(UserChoice::Fixture(1001), vec!["marketing".into()]),
        )
        .await
        .unwrap();
    let page = browser.get(callback.as_str()).await;
    assert_eq!(
        page.location().as_deref(),
        Some("/login/error/?reason=terms_required")
    );
    assert_eq!((app.users().await, app.links().await), (0, 0));
    assert_eq!(browser.cookie("sessionid"), None);
    let error_page = browser.get("/login/error/?reason=terms_required").await;
    assert!(
        error_page.body.contains("필수 서비스 약관"),
        "{}",
        error_page.body
    );
    assert!(error_page.body.contains("required service terms"));
}

#[actix_web::test]
async fn the_ledger_is_refreshed_at_the_next_login() {
    let app = terms_app().await;
    let browser = app.browser();
    browser.login(&app, UserChoice::Fixture(1001), None).await;
    assert_eq!(ledger(&app, 1001).await.len(), 2);
    // The user withdraws the optional term (at Kakao); the next login's ledger says so.
    let user = app.store.user_id_by_uid("1001").await.unwrap().unwrap();
    let tokens = app.store.tokens_of(user).await.unwrap().unwrap();
    let revoked = app
        .app
        .auth
        .client()
        .revoke_service_terms(&tokens.access_token, &["marketing"])
        .await
        .unwrap();
    assert_eq!(revoked, ["marketing"]);
    let authorize = browser.begin(None).await;
    let callback = app
        .emulator()
        .consent(
            &authorize,
            ConsentDecision::ApproveTerms(UserChoice::Fixture(1001), vec!["tos_2026".into()]),
        )
        .await
        .unwrap();
    browser.get(callback.as_str()).await;
    let kept = ledger(&app, 1001).await;
    let tags: Vec<&str> = kept.iter().map(|(tag, _)| tag.as_str()).collect();
    assert_eq!(tags, ["tos_2026"]);
}
