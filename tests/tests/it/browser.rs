//! The demo in a real browser: headless Debian Chromium driven through chromedriver
//! (WebDriver), against the demo app started in-process in emulator mode.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`scripts/install-browser`); without
//! them each test prints `SKIP: …` and passes, unless `REQUIRE_SERVICES=1`. Screenshots of
//! every step go to `target/screenshots/<test>/` (or `$SCREENSHOT_DIR/<test>/`);
//! `UPDATE_SCREENSHOTS=1` also copies the README's images to `docs/`.
#![allow(clippy::unwrap_used)]

use crate::browser_support;
use crate::common;

use std::path::{Path, PathBuf};

use browser_support::{Driver, Session, DESKTOP, PHONE};
use common::{params, TestApp};
use url::Url;

/// WebDriver key codes.
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Numbered screenshots of one test, at desktop width and, where asked, at phone width.
struct Shots<'a> {
    browser: &'a Session,
    dir: PathBuf,
    docs: Option<PathBuf>,
    count: u32,
}

impl<'a> Shots<'a> {
    fn new(browser: &'a Session, dir: &Path) -> Self {
        Self {
            browser,
            dir: dir.to_path_buf(),
            docs: browser_support::docs_dir_to_update(),
            count: 0,
        }
    }

    /// Saves `NN-name.png` of the whole page at the current width; with
    /// `UPDATE_SCREENSHOTS=1` also `docs/<docs_name>`.
    async fn take(&mut self, name: &str, docs_name: Option<&str>) {
        self.take_at(name, docs_name, DESKTOP).await;
    }

    async fn take_at(&mut self, name: &str, docs_name: Option<&str>, viewport: (u32, u32)) {
        self.count += 1;
        let path = self.dir.join(format!("{:02}-{name}.png", self.count));
        // A page taller than the viewport is shot whole: the viewport grows to fit it.
        let height = self
            .browser
            .script("return document.documentElement.scrollHeight")
            .await
            .as_u64()
            .and_then(|h| u32::try_from(h).ok())
            .unwrap_or(viewport.1);
        if height > viewport.1 {
            self.browser.set_viewport((viewport.0, height)).await;
        }
        self.browser.screenshot(&path).await;
        if height > viewport.1 {
            self.browser.set_viewport(viewport).await;
        }
        if let (Some(docs), Some(docs_name)) = (&self.docs, docs_name) {
            std::fs::create_dir_all(docs).unwrap();
            std::fs::copy(&path, docs.join(docs_name)).unwrap();
        }
    }

    /// At phone width: the page must not scroll sideways. Saves `NN-name-phone.png`, then
    /// goes back to the desktop width.
    async fn take_phone(&mut self, name: &str) {
        self.browser.set_viewport(PHONE).await;
        let overflow = self
            .browser
            .script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            )
            .await;
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{name}: the page is {overflow} px wider than a {} px phone screen",
            PHONE.0
        );
        self.take_at(&format!("{name}-phone"), None, PHONE).await;
        self.browser.set_viewport(DESKTOP).await;
    }
}

fn same_origin(a: &Url, b: &str) -> bool {
    a.origin() == Url::parse(b).unwrap().origin()
}

/// The `<html lang>` of the current page.
/// What every test here starts with: the demo app in emulator mode and a chromedriver
/// logging to the test's artifact directory; `None` (after the skip notice) when
/// Chromium is not installed.
async fn start(test: &str, artifacts: &str) -> Option<(TestApp, Driver, PathBuf)> {
    start_with(test, artifacts, |_| {}).await
}

/// [`start`] with the demo's configuration adjusted by `adjust`.
async fn start_with(
    test: &str,
    artifacts: &str,
    adjust: impl FnOnce(&mut demo_app::config::DemoConfig),
) -> Option<(TestApp, Driver, PathBuf)> {
    let tools = browser_support::tools_or_skip(test)?;
    let dir = browser_support::artifact_dir(artifacts);
    let app = TestApp::spawn_with(adjust).await;
    let driver = Driver::start(&tools, &dir).await;
    Some((app, driver, dir))
}

async fn page_lang(browser: &Session) -> String {
    let lang = browser.script("return document.documentElement.lang").await;
    lang.as_str().unwrap_or_default().to_owned()
}

/// Asserts that no page broke the demo's Content-Security-Policy (an inline style or script
/// would show up in the console as a violation).
async fn assert_no_csp_violations(browser: &Session) {
    let console = browser.console().await;
    let violations: Vec<&String> = console
        .iter()
        .filter(|m| m.contains("Content Security Policy"))
        .collect();
    assert!(violations.is_empty(), "CSP violations: {violations:#?}");
}

/// Asserts the anonymous home page: the Kakao button is there and nobody is greeted.
/// On the login page, which offers Kakao and Naver (Naver is on in emulator mode),
/// chooses Kakao.
async fn choose_kakao(browser: &Session, app: &TestApp) {
    browser
        .wait_for_url("the login page with both buttons", |u| {
            same_origin(u, &app.url("/")) && u.path() == "/login/"
        })
        .await;
    let kakao = browser
        .find("a[href^='/accounts/oauth/login/kakao/']")
        .await;
    browser.click(&kakao).await;
}

async fn assert_anonymous_home(browser: &Session) {
    let button = browser
        .find_xpath("//a[contains(@class,'kakao-login')][normalize-space(.)='카카오 로그인']")
        .await;
    assert!(browser.displayed(&button).await);
    assert!(
        !browser.exists(".nickname").await,
        "someone is still greeted"
    );
}

#[actix_web::test]
async fn login_reload_and_logout_in_chromium() {
    let Some((app, driver, dir)) = start(
        "login_reload_and_logout_in_chromium",
        "login_reload_and_logout",
    )
    .await
    else {
        return;
    };
    let emulator = app.emulator().base_url();
    let browser = driver.session(DESKTOP).await;
    let mut shots = Shots::new(&browser, &dir);

    // 1. The home page, anonymous: the Kakao button, in Korean with English alongside.
    browser.goto(&app.url("/")).await;
    assert_eq!(page_lang(&browser).await, "ko");
    assert_anonymous_home(&browser).await;
    let text = browser.text_of_body().await;
    assert!(text.contains("카카오 계정으로 로그인"), "{text}");
    assert!(text.contains("Log in with your Kakao account"), "{text}");
    shots.take("home", Some("login.png")).await;
    shots.take_phone("home").await;

    // 2. "카카오 로그인" leads to the emulator's consent page, clearly marked as not Kakao.
    let button = browser
        .find_xpath("//a[normalize-space(.)='카카오 로그인']")
        .await;
    browser.click(&button).await;
    let authorize = browser
        .wait_for_url("the emulator's consent page", |u| {
            same_origin(u, emulator.as_str()) && u.path() == "/oauth/authorize"
        })
        .await;
    assert_eq!(
        params(&authorize).get("redirect_uri").map(String::as_str),
        Some(app.url("/accounts/oauth/complete/kakao/").as_str())
    );
    assert_eq!(page_lang(&browser).await, "ko");
    assert!(browser.title().await.contains("로컬 에뮬레이터"));
    let banner = browser.text(&browser.find(".banner").await).await;
    assert!(banner.contains("로컬 카카오 에뮬레이터"), "{banner}");
    assert!(banner.contains("not the real Kakao"), "{banner}");
    shots.take("consent", Some("consent.png")).await;
    shots.take_phone("consent").await;

    // 3. Pick 라이언 by the label (as a person would) and approve.
    let ryan = browser.find_xpath("//label[contains(., '라이언')]").await;
    browser.click(&ryan).await;
    let radio = browser.find("input[type=radio][value='1001']").await;
    assert_eq!(browser.property(&radio, "checked").await, true);
    let approve = browser
        .find_xpath("//button[contains(., '동의하고 계속하기')]")
        .await;
    browser.click(&approve).await;

    // 4. Back on the app: /download-list/ greets 라이언 with the Kakao profile picture.
    let url = browser
        .wait_for_url("/download-list/", |u| {
            same_origin(u, &app.url("/")) && u.path() == "/download-list/"
        })
        .await;
    assert_eq!(url.query(), None);
    let nickname = browser.text(&browser.find(".nickname").await).await;
    assert_eq!(nickname, "라이언");
    let text = browser.text_of_body().await;
    assert!(text.contains("라이언님의 다운로드"), "{text}");
    let avatar_loaded = browser
        .script(
            "const i = document.querySelector('.avatar img.photo');\
             return !!i && i.complete && i.naturalWidth > 0",
        )
        .await;
    assert_eq!(
        avatar_loaded, true,
        "the Kakao profile picture did not load"
    );
    let files = browser
        .script("return document.querySelectorAll('.downloads a[href^=\"/download/\"]').length")
        .await;
    assert!(files.as_i64().unwrap() > 0, "no download links");
    shots.take("download-list", Some("download-list.png")).await;
    shots.take_phone("download-list").await;

    // 5. A reload keeps the session.
    browser.refresh().await;
    assert_eq!(browser.url().await.path(), "/download-list/");
    let nickname = browser.text(&browser.find(".nickname").await).await;
    assert_eq!(nickname, "라이언");

    // 6. Log out with the button (a POST to /logout/): back home, anonymous.
    let logout = browser
        .find_xpath("//form[@action='/logout/']//button")
        .await;
    browser.click(&logout).await;
    browser
        .wait_for_url("/ after logout", |u| {
            same_origin(u, &app.url("/")) && u.path() == "/"
        })
        .await;
    assert_anonymous_home(&browser).await;
    shots.take("logged-out", None).await;

    // 7. The protected page now sends the browser to login: the emulator's consent page.
    browser.goto(&app.url("/download-list/")).await;
    choose_kakao(&browser, &app).await;
    let authorize = browser
        .wait_for_url("login after logout", |u| {
            same_origin(u, emulator.as_str()) && u.path() == "/oauth/authorize"
        })
        .await;
    assert_eq!(
        params(&authorize).get("client_id").map(String::as_str),
        Some(app.emulator().client_id())
    );
    assert!(browser.exists("input[type=hidden][name=request_id]").await);
    shots.take("login-again", None).await;

    assert_no_csp_violations(&browser).await;
    browser.quit().await;
    drop(driver);
    app.app.stop().await;
}

#[actix_web::test]
async fn cancelling_consent_shows_the_error_page_in_chromium() {
    let Some((app, driver, dir)) = start(
        "cancelling_consent_shows_the_error_page_in_chromium",
        "cancel_consent",
    )
    .await
    else {
        return;
    };
    let emulator = app.emulator().base_url();
    let browser = driver.session(DESKTOP).await;
    let mut shots = Shots::new(&browser, &dir);

    // 1. Keyboard only: Tab to the Kakao button (its focus ring must show), Enter.
    browser.goto(&app.url("/")).await;
    let mut focused = false;
    for _ in 0..10 {
        browser.press(&[TAB]).await;
        let class = browser
            .script("return document.activeElement.className")
            .await;
        if class.as_str().unwrap_or_default().contains("kakao-login") {
            focused = true;
            break;
        }
    }
    assert!(focused, "Tab never reached the Kakao login button");
    let outline = browser
        .script(
            "const s = getComputedStyle(document.activeElement);\
             return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2",
        )
        .await;
    assert_eq!(
        outline, true,
        "the focused Kakao button shows no focus ring"
    );
    shots.take("home-keyboard-focus", None).await;
    browser.press(&[ENTER]).await;
    browser
        .wait_for_url("the emulator's consent page", |u| {
            same_origin(u, emulator.as_str()) && u.path() == "/oauth/authorize"
        })
        .await;
    shots.take("consent", None).await;

    // 2. Cancel: the app's error page says so in Korean and English.
    let cancel = browser
        .find_xpath("//button[@value='cancel'][contains(., '취소')]")
        .await;
    browser.click(&cancel).await;
    let url = browser
        .wait_for_url("/login/error/", |u| {
            same_origin(u, &app.url("/")) && u.path() == "/login/error/"
        })
        .await;
    assert_eq!(url.query(), Some("reason=access_denied"));
    assert_eq!(page_lang(&browser).await, "ko");
    let alert = browser.text(&browser.find("[role=alert]").await).await;
    assert!(alert.contains("로그인하지 못했습니다"), "{alert}");
    assert!(
        alert.contains("카카오 동의 화면에서 로그인을 취소했습니다."),
        "{alert}"
    );
    assert!(
        alert.contains("You cancelled the login on Kakao's consent screen."),
        "{alert}"
    );
    assert!(alert.contains("access_denied"), "{alert}");
    shots.take("login-error", None).await;
    shots.take_phone("login-error").await;

    // 3. Nobody is logged in.
    browser.goto(&app.url("/")).await;
    assert_anonymous_home(&browser).await;

    // 4. "다시 시도" from the error page, this time as a user without a picture whose nickname
    //    is markup: shown as text, with the initial as the fallback avatar.
    browser
        .goto(&app.url("/login/error/?reason=access_denied"))
        .await;
    let retry = browser.find_xpath("//a[contains(., '다시 시도')]").await;
    browser.click(&retry).await;
    choose_kakao(&browser, &app).await;
    browser
        .wait_for_url("the emulator's consent page", |u| {
            same_origin(u, emulator.as_str()) && u.path() == "/oauth/authorize"
        })
        .await;
    let muzi = browser
        .find_xpath("//label[contains(., 'Muzi & <Friends>')]")
        .await;
    browser.click(&muzi).await;
    let approve = browser.find("button[value=approve]").await;
    browser.click(&approve).await;
    browser
        .wait_for_url("/download-list/", |u| {
            same_origin(u, &app.url("/")) && u.path() == "/download-list/"
        })
        .await;
    let nickname = browser.text(&browser.find(".nickname").await).await;
    assert_eq!(nickname, "Muzi & <Friends>");
    assert!(!browser.exists(".avatar img").await);
    assert!(
        !browser.exists("Friends").await,
        "the nickname became markup"
    );
    let fallback = browser.find(".avatar.fallback").await;
    assert!(browser.displayed(&fallback).await);
    assert_eq!(browser.text(&fallback).await, "M");
    shots.take("download-list-fallback-avatar", None).await;
    shots.take_phone("download-list-fallback-avatar").await;

    // 5. The home page greets the user; its logout button ends the session.
    browser.goto(&app.url("/")).await;
    let greeting = browser.text(&browser.find("h1").await).await;
    assert_eq!(greeting, "Muzi & <Friends>님, 환영합니다");
    shots.take("home-logged-in", None).await;
    shots.take_phone("home-logged-in").await;
    let logout = browser
        .find_xpath("//main//form[@action='/logout/']//button")
        .await;
    browser.click(&logout).await;
    browser
        .wait_for_url("/ after logout", |u| {
            same_origin(u, &app.url("/")) && u.path() == "/"
        })
        .await;
    assert_anonymous_home(&browser).await;
    browser.goto(&app.url("/download-list/")).await;
    choose_kakao(&browser, &app).await;
    browser
        .wait_for_url("login after logout", |u| {
            same_origin(u, emulator.as_str()) && u.path() == "/oauth/authorize"
        })
        .await;

    assert_no_csp_violations(&browser).await;
    browser.quit().await;
    drop(driver);
    app.app.stop().await;
}

/// "카카오 계정과 함께 로그아웃": the form post redirects to Kakao's logout page, which
/// redirects back to the app. Chromium applies the page's CSP `form-action` to that whole
/// redirect chain, so this proves the policy lets it through.
#[actix_web::test]
async fn logout_with_the_kakao_account_follows_the_redirect_chain_in_chromium() {
    let test = "logout_with_the_kakao_account_follows_the_redirect_chain_in_chromium";
    let Some((app, driver, dir)) = start(test, "kakao_logout").await else {
        return;
    };
    let emulator = app.emulator().base_url();
    let browser = driver.session(DESKTOP).await;
    let mut shots = Shots::new(&browser, &dir);

    browser.goto(&app.url("/download-list/")).await;
    choose_kakao(&browser, &app).await;
    browser
        .wait_for_url("the consent page", |u| {
            same_origin(u, emulator.as_str()) && u.path() == "/oauth/authorize"
        })
        .await;
    let approve = browser
        .find_xpath("//button[contains(., '동의하고 계속하기')]")
        .await;
    browser.click(&approve).await;
    browser
        .wait_for_url("/download-list/", |u| {
            same_origin(u, &app.url("/")) && u.path() == "/download-list/"
        })
        .await;

    browser.goto(&app.url("/")).await;
    let kakao_logout = browser
        .find_xpath("//form[@action='/logout/kakao/']//button")
        .await;
    browser.click(&kakao_logout).await;
    // Through the emulator's /oauth/logout and back to the app's home page.
    browser
        .wait_for_url("home after Kakao logout", |u| {
            same_origin(u, &app.url("/")) && u.path() == "/"
        })
        .await;
    assert_anonymous_home(&browser).await;
    shots.take("after-kakao-logout", None).await;
    assert_no_csp_violations(&browser).await;

    // The emulator forgot the browser's Kakao session: prompt=none-style auto login is gone,
    // and the next login shows the consent page again.
    browser.goto(&app.url("/download-list/")).await;
    choose_kakao(&browser, &app).await;
    browser
        .wait_for_url("login after Kakao logout", |u| {
            same_origin(u, emulator.as_str()) && u.path() == "/oauth/authorize"
        })
        .await;
    browser.quit().await;
    drop(driver);
    app.app.stop().await;
}

#[actix_web::test]
async fn another_account_and_service_terms_in_chromium() {
    let test = "another_account_and_service_terms_in_chromium";
    let Some((app, driver, dir)) = start_with(test, "another_account_terms", |c| {
        c.kakao_service_terms = vec!["tos_2026".into(), "marketing".into()];
    })
    .await
    else {
        return;
    };
    let emulator = app.emulator().base_url();
    let browser = driver.session(DESKTOP).await;
    let mut shots = Shots::new(&browser, &dir);

    // "다른 계정으로 로그인": the authorize request asks for the account chooser and the terms.
    browser.goto(&app.url("/")).await;
    let other = browser
        .find_xpath("//a[contains(., '다른 계정으로 로그인')]")
        .await;
    browser.click(&other).await;
    let authorize = browser
        .wait_for_url("the consent page", |u| {
            same_origin(u, emulator.as_str()) && u.path() == "/oauth/authorize"
        })
        .await;
    let query = params(&authorize);
    assert_eq!(query["prompt"], "select_account");
    assert_eq!(query["service_terms"], "tos_2026,marketing");

    // The consent page shows both terms, the required one marked; untick the optional one.
    let required = browser.find("input[name=term][value=tos_2026]").await;
    assert!(browser.displayed(&required).await);
    let page = browser.text_of_body().await;
    assert!(page.contains("(필수 · required)"), "{page}");
    let optional = browser.find("input[name=term][value=marketing]").await;
    browser.click(&optional).await;
    shots.take("consent-with-terms", None).await;
    let approve = browser
        .find_xpath("//button[contains(., '동의하고 계속하기')]")
        .await;
    browser.click(&approve).await;
    browser
        .wait_for_url("/download-list/", |u| {
            same_origin(u, &app.url("/")) && u.path() == "/download-list/"
        })
        .await;

    // The home page lists the one term agreed to.
    browser.goto(&app.url("/")).await;
    let terms = browser.text(&browser.find("section.terms").await).await;
    assert!(terms.contains("tos_2026"), "{terms}");
    assert!(!terms.contains("marketing"), "{terms}");
    shots.take("home-with-terms", None).await;
    assert_no_csp_violations(&browser).await;
    browser.quit().await;
    drop(driver);
    app.app.stop().await;
}

/// Naver in emulator mode: the home page's "네이버 로그인" leads to the Naver emulator's
/// consent page (marked as local), and agreeing as a user with a base64-like id lands on
/// the download list under that user's Naver nickname.
#[actix_web::test]
async fn naver_login_in_chromium() {
    let test = "naver_login_in_chromium";
    let Some((app, driver, dir)) = start(test, "naver_login").await else {
        return;
    };
    let naver = app.naver().base_url();
    let browser = driver.session(DESKTOP).await;
    let mut shots = Shots::new(&browser, &dir);

    browser.goto(&app.url("/")).await;
    let button = browser
        .find_xpath("//a[contains(@class,'naver-login')][contains(., '네이버 로그인')]")
        .await;
    assert!(browser.displayed(&button).await);
    browser.click(&button).await;
    let authorize = browser
        .wait_for_url("the Naver emulator's consent page", |u| {
            same_origin(u, naver.as_str()) && u.path() == "/oauth2/authorize"
        })
        .await;
    let query = params(&authorize);
    assert_eq!(query["scope"], "openid");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(
        query["redirect_uri"],
        app.url("/accounts/oauth/complete/naver/")
    );
    let text = browser.text_of_body().await;
    assert!(text.contains("로컬 에뮬레이터"), "{text}");
    shots.take("naver-consent", None).await;

    let green = browser.find_xpath("//label[contains(., '초록이')]").await;
    browser.click(&green).await;
    let agree = browser
        .find_xpath("//button[contains(., '동의하기')]")
        .await;
    browser.click(&agree).await;
    browser
        .wait_for_url("/download-list/", |u| {
            same_origin(u, &app.url("/")) && u.path() == "/download-list/"
        })
        .await;
    let nickname = browser.text(&browser.find(".nickname").await).await;
    assert_eq!(nickname, "초록이");
    shots.take("naver-downloads", None).await;
    assert_no_csp_violations(&browser).await;
    browser.quit().await;
    drop(driver);
    app.app.stop().await;
}
