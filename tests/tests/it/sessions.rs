//! Session fixation, logout revocation and open redirects.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::TestApp;
use kakao_emulator::UserChoice;

#[actix_web::test]
async fn a_planted_session_cookie_is_replaced_at_login_and_never_names_the_victim() {
    let app = TestApp::spawn().await;
    // The attacker logs in as themself and plants their session cookie in the victim's
    // browser.
    let attacker = app.browser();
    attacker.login(&app, UserChoice::Fixture(1004), None).await;
    let planted = attacker.cookie("sessionid").unwrap();
    let victim = app.browser();
    victim.set_cookie("sessionid", &planted);
    victim.login(&app, UserChoice::Fixture(1001), None).await;
    let after = victim.cookie("sessionid").unwrap();
    assert_ne!(planted, after, "the session id is renewed at login");
    let page = victim.get("/download-list/").await;
    assert!(page.body.contains("라이언"), "{}", page.body);

    // (With a server-side store the renewal deleted the planted session outright.)
    let page = attacker.get("/download-list/").await;
    assert!(
        !page.body.contains("라이언"),
        "the planted cookie must not be logged in as the victim"
    );
}

#[actix_web::test]
async fn a_cookie_copied_before_logout_is_useless_after_it() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser.login(&app, UserChoice::Fixture(1001), None).await;
    let copy = browser.cookie("sessionid").unwrap();

    let confirm = browser.get("/logout/").await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("action=\"/logout/\""));
    assert_eq!(
        browser.get("/download-list/").await.status,
        200,
        "GET /logout/ changes nothing"
    );

    let page = browser.post("/logout/").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location().as_deref(), Some("/"));
    assert_eq!(browser.get("/download-list/").await.status, 302);

    let thief = app.browser();
    thief.set_cookie("sessionid", &copy);
    let page = thief.get("/download-list/").await;
    assert_eq!(page.status, 302);
    assert_eq!(
        page.location().as_deref(),
        Some("/login/?next=%2Fdownload-list%2F")
    );
    assert!(page.body.is_empty());
}

#[actix_web::test]
async fn a_cross_site_logout_is_refused() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser.login(&app, UserChoice::Fixture(1001), None).await;
    let page = browser
        .post_with("/logout/", &[("Origin", "https://evil.example")])
        .await;
    assert_eq!(page.status, 403);
    let page = browser
        .post_with("/logout/", &[("Sec-Fetch-Site", "cross-site")])
        .await;
    assert_eq!(page.status, 403);
    assert_eq!(
        browser.get("/download-list/").await.status,
        200,
        "still logged in"
    );
}

#[actix_web::test]
async fn open_redirects_fall_back_to_the_login_redirect_url() {
    let app = TestApp::spawn().await;
    for evil in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
    ] {
        let browser = app.browser();
        let page = browser
            .login(&app, UserChoice::Fixture(1001), Some(evil))
            .await;
        assert_eq!(
            page.location().as_deref(),
            Some("/download-list/"),
            "next={evil:?}"
        );
        let login = browser
            .get(&format!(
                "/login/?next={}",
                url::form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>()
            ))
            .await;
        assert_eq!(login.status, 200);
        assert!(
            login.body.contains("href=\"/accounts/oauth/login/kakao/\""),
            "next={evil:?} dropped at /login/: {}",
            login.body
        );
    }
    let page = app
        .browser()
        .login(
            &app,
            UserChoice::Fixture(1001),
            Some("/download/sample-report.csv"),
        )
        .await;
    assert_eq!(
        page.location().as_deref(),
        Some("/download/sample-report.csv")
    );
}

#[actix_web::test]
async fn downloads_are_protected_and_path_tricks_are_404() {
    let app = TestApp::spawn().await;
    let anonymous = app.browser().get("/download/sample-report.csv").await;
    assert_eq!(anonymous.status, 302);
    assert_eq!(
        anonymous.location().as_deref(),
        Some("/login/?next=%2Fdownload%2Fsample-report.csv")
    );

    let browser = app.browser();
    browser.login(&app, UserChoice::Fixture(1001), None).await;
    for trick in [
        "/download/..",
        "/download/%2e%2e",
        "/download/..%2fCargo.toml",
        "/download/%2e%2e%2fCargo.toml",
        "/download/a%5cb",
        "/download/a\\b",
        "/download/../../etc/passwd",
        "/download/unknown.txt",
        "/download/..%5c..%5cetc%5cpasswd",
    ] {
        assert_eq!(browser.raw_get_status(trick).await, 404, "{trick}");
    }
}

#[actix_web::test]
async fn demo_pages_carry_security_headers() {
    let app = TestApp::spawn().await;
    let page = app.browser().get("/").await;
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(
        page.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert!(page.body.contains("lang=\"ko\""));
    assert!(page.body.contains("카카오 로그인"));
}
