//! OpenID Connect through the demo: `KAKAO_SCOPE="openid profile_nickname"` logs in with a
//! verified id_token; every bad token, and a JWKS outage, ends on the error page with no
//! session and no row while the server keeps serving; a key rotation mid-run is accepted.
#![allow(clippy::unwrap_used)]

use crate::common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{params, Browser, Page, TestApp};
use kakao_emulator::{Endpoint, Fault, IdTokenFault, UserChoice};
use serde_json::Value;

async fn oidc_app() -> TestApp {
    TestApp::spawn_with(|config| {
        config.kakao_scope = vec!["openid".into(), "profile_nickname".into()];
    })
    .await
}

/// One login as `user` in `browser`: returns the authorize URL and the callback's answer.
async fn login(app: &TestApp, browser: &Browser, user: i64) -> (url::Url, Page) {
    let authorize = browser.begin(None).await;
    let callback = app
        .emulator()
        .approve(&authorize, UserChoice::Fixture(user))
        .await
        .unwrap();
    (authorize, browser.get(callback.as_str()).await)
}

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The aftermath of a refused login: the error page with `reason`, nobody logged in, no
/// row, no session cookie, and the server still serving.
async fn assert_clean_failure(app: &TestApp, browser: &Browser, page: &Page, reason: &str) {
    assert_eq!(page.status, 302, "{}", page.body);
    assert_eq!(
        page.location().unwrap(),
        format!("/login/error/?reason={reason}")
    );
    assert_eq!(browser.cookie("sessionid"), None, "no session left behind");
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
    assert_eq!(app.browser().get("/healthz").await.status, 200);
    let error_page = browser.get(&page.location().unwrap()).await;
    assert_eq!(error_page.status, 200);
}

#[actix_web::test]
async fn with_openid_the_demo_logs_in_with_a_verified_id_token() {
    let app = oidc_app().await;
    let browser = app.browser();
    let (authorize, page) = login(&app, &browser, 1001).await;

    let query = params(&authorize);
    let scopes: Vec<&str> = query["scope"].split([' ', ',']).collect();
    assert!(scopes.contains(&"openid"), "{scopes:?}");
    let nonce = &query["nonce"];
    assert!(
        URL_SAFE_NO_PAD.decode(nonce).unwrap().len() >= 16,
        "the nonce carries at least 128 bits"
    );

    assert_eq!(page.location().as_deref(), Some("/download-list/"));
    let issued = app.emulator().issued_id_tokens();
    assert_eq!(issued.len(), 1);
    let claims = payload(&issued[0]);
    assert_eq!(&claims["nonce"], nonce, "the emulator received the nonce");
    assert_eq!(claims["sub"], "1001");
    assert_eq!(app.emulator().jwks_requests(), 1, "keys fetched once");
    let downloads = browser.get("/download-list/").await;
    assert_eq!(downloads.status, 200);
    assert!(downloads.body.contains("라이언"));
    assert_eq!((app.users().await, app.links().await), (1, 1));

    // A second login reuses the cached keys and gets its own nonce.
    let (again, page) = login(&app, &app.browser(), 1001).await;
    assert_eq!(page.location().as_deref(), Some("/download-list/"));
    assert_ne!(&params(&again)["nonce"], nonce, "one nonce per login");
    assert_eq!(app.emulator().jwks_requests(), 1);
}

/// Logs in while the emulator mints `fault` into the id_token.
async fn refused(fault: IdTokenFault) {
    let app = oidc_app().await;
    app.emulator().faults().set_id_token(fault);
    let browser = app.browser();
    let (_, page) = login(&app, &browser, 1001).await;
    assert_clean_failure(&app, &browser, &page, "invalid_id_token").await;
    assert_eq!(app.emulator().token_requests().len(), 1);
    let user_me = app.emulator().user_me_requests().len();
    if fault == IdTokenFault::WrongSubject {
        assert_eq!(user_me, 1, "sub is compared with /v2/user/me");
    } else {
        assert_eq!(user_me, 0, "the token is refused before anything else");
    }
    // The same server still logs a good token in.
    app.emulator().faults().clear_id_token();
    let (_, page) = login(&app, &app.browser(), 1001).await;
    assert_eq!(page.location().as_deref(), Some("/download-list/"));
}

macro_rules! refused {
    ($($name:ident: $fault:ident,)*) => {$(
        #[actix_web::test]
        async fn $name() {
            refused(IdTokenFault::$fault).await;
        }
    )*};
}

refused! {
    a_bad_signature_is_refused: BadSignature,
    a_wrong_audience_is_refused: WrongAudience,
    a_wrong_issuer_is_refused: WrongIssuer,
    an_expired_token_is_refused: Expired,
    a_token_issued_in_the_future_is_refused: IssuedInFuture,
    a_missing_nonce_is_refused: MissingNonce,
    a_wrong_nonce_is_refused: WrongNonce,
    alg_none_is_refused: AlgNone,
    hs256_with_the_public_key_is_refused: Hs256WithPublicKey,
    an_unknown_kid_is_refused: UnknownKid,
    a_token_for_another_user_is_refused: WrongSubject,
}

#[actix_web::test]
async fn a_jwks_outage_is_a_clean_kakao_unavailable() {
    let app = oidc_app().await;
    app.emulator()
        .faults()
        .set(Endpoint::Jwks, Fault::Html5xx(503));
    let browser = app.browser();
    let (_, page) = login(&app, &browser, 1001).await;
    assert_clean_failure(&app, &browser, &page, "kakao_unavailable").await;
    assert_eq!(app.emulator().jwks_requests(), 1);
}

#[actix_web::test]
async fn a_refused_jwks_is_a_clean_invalid_id_token() {
    let app = oidc_app().await;
    app.emulator().faults().set(
        Endpoint::Jwks,
        Fault::Status {
            status: 404,
            content_type: "text/html".into(),
            body: "<h1>Not Found</h1>".into(),
        },
    );
    let browser = app.browser();
    let (_, page) = login(&app, &browser, 1001).await;
    assert_clean_failure(&app, &browser, &page, "invalid_id_token").await;
}

#[actix_web::test]
async fn a_key_rotation_mid_run_is_accepted_without_a_restart() {
    let app = oidc_app().await;
    let (_, page) = login(&app, &app.browser(), 1001).await;
    assert_eq!(page.location().as_deref(), Some("/download-list/"));
    assert_eq!(app.emulator().jwks_requests(), 1);

    let before = app.emulator().published_kids();
    app.emulator().rotate_signing_key();
    let kid = app.emulator().signing_kid().unwrap();
    assert!(
        !before.contains(&kid),
        "the new kid is not in the cached set"
    );

    let browser = app.browser();
    let (_, page) = login(&app, &browser, 1002).await;
    assert_eq!(page.location().as_deref(), Some("/download-list/"));
    assert_eq!(app.emulator().jwks_requests(), 2, "one re-fetch");
    assert!(browser.get("/download-list/").await.body.contains("어피치"));
    assert_eq!((app.users().await, app.links().await), (2, 2));
}
