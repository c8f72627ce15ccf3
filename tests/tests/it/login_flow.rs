//! The whole Kakao login against the emulator, hop by hop.
#![allow(clippy::unwrap_used)]

use crate::common;

use base64::Engine;
use common::{params, TestApp};
use kakao_emulator::UserChoice;
use sha2::{Digest, Sha256};

#[actix_web::test]
async fn every_hop_of_a_first_login_is_as_specified() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    // 1. A protected page sends an anonymous visitor to /login/ with next.
    let page = browser.get("/download-list/").await;
    assert_eq!(page.status, 302);
    assert_eq!(
        page.location().as_deref(),
        Some("/login/?next=%2Fdownload-list%2F")
    );

    // 2. /login/ (Naver is on in emulator mode) offers both begin routes, keeping next.
    let page = browser.get("/login/?next=%2Fdownload-list%2F").await;
    assert_eq!(page.status, 200);
    let kakao_begin = "/accounts/oauth/login/kakao/?next=%2Fdownload-list%2F";
    assert!(
        page.body.contains(&format!("href=\"{kakao_begin}\"")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("href=\"/accounts/oauth/login/naver/?next=%2Fdownload-list%2F\""),
        "{}",
        page.body
    );

    // 3. Begin redirects to Kakao's authorize endpoint with state and PKCE S256.
    let page = browser.get(kakao_begin).await;
    assert_eq!(page.status, 302);
    let authorize = url::Url::parse(&page.location().unwrap()).unwrap();
    assert!(authorize
        .as_str()
        .starts_with(app.emulator().base_url().as_str()));
    assert_eq!(authorize.path(), "/oauth/authorize");
    let query = params(&authorize);
    assert_eq!(query["client_id"], app.emulator().client_id());
    assert_eq!(
        query["redirect_uri"],
        app.url("/accounts/oauth/complete/kakao/")
    );
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    let state = &query["state"];
    let state_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(state)
        .unwrap();
    assert!(
        state_bytes.len() >= 16,
        "state must carry at least 128 bits"
    );
    assert!(!query.contains_key("nonce"), "no nonce without openid");
    // The pending login is a sealed cookie of its own, at `Path=/` (so the begin route can
    // bound them); begin creates no session.
    assert_eq!(browser.cookie("sessionid"), None, "begin writes no session");
    let pending = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("kakao_auth_flow_"))
        .expect("begin sets the pending-login cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/;", "Max-Age=600"] {
        assert!(pending.contains(attribute), "{attribute} in {pending}");
    }
    assert!(!pending.contains("Secure"), "plain http: {pending}");
    assert!(
        !pending.contains(&query["state"]),
        "the state is sealed: {pending}"
    );

    // 4. Consent on the emulator redirects to the callback with code and the same state.
    let callback = app
        .emulator()
        .approve(&authorize, UserChoice::Fixture(1001))
        .await
        .unwrap();
    assert_eq!(callback.path(), "/accounts/oauth/complete/kakao/");
    assert_eq!(&params(&callback)["state"], state);

    // 5. The callback logs in and lands on next; no caching, no referrer.
    let page = browser.get(callback.as_str()).await;
    assert_eq!(page.status, 302);
    assert_eq!(page.location().as_deref(), Some("/download-list/"));
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        page.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
    let cookie = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("sessionid="))
        .expect("the login sets the session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        page.headers.get_all("set-cookie").iter().any(|c| c
            .to_str()
            .unwrap()
            .starts_with("kakao_auth_flow_")
            && c.to_str().unwrap().contains("Max-Age=0")),
        "the callback clears the pending-login cookie"
    );

    // 6. The token request Kakao received: client_secret_post form with the verifier.
    let tokens = app.emulator().token_requests();
    assert_eq!(tokens.len(), 1);
    let form = &tokens[0].form;
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["client_id"], app.emulator().client_id());
    assert_eq!(
        form["redirect_uri"],
        app.url("/accounts/oauth/complete/kakao/")
    );
    assert_eq!(form["code"], params(&callback)["code"]);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(form["code_verifier"].as_bytes()));
    assert_eq!(challenge, query["code_challenge"]);
    assert!(
        tokens[0].authorization.is_none(),
        "no HTTP Basic: Kakao takes client_secret_post only"
    );
    let me = app.emulator().user_me_requests();
    assert_eq!(me.len(), 1);
    assert!(me[0]
        .authorization
        .as_deref()
        .unwrap()
        .starts_with("Bearer "));

    // 7. One user and one link row.
    assert_eq!((app.users().await, app.links().await), (1, 1));
    let user_id = app
        .store
        .user_id_by_uid("1001")
        .await
        .unwrap()
        .expect("link for uid 1001");
    let user = app.store.user_by_id(user_id).await.unwrap().unwrap();
    assert_eq!(user.nickname, "라이언");
    assert_eq!(user.email.as_deref(), Some("ryan@kakao.example"));
    let link = app.store.link_by_user(user_id).await.unwrap().unwrap();
    assert_eq!(
        (link.provider.as_str(), link.uid.as_str()),
        ("kakao", "1001")
    );

    // 8. The protected page shows the nickname.
    let page = browser.get("/download-list/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("라이언"));
    assert!(page.body.contains("sample-report.csv"));
    let file = browser.get("/download/sample-report.csv").await;
    assert_eq!(file.status, 200);
    assert!(file
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));
    assert!(file.body.starts_with("month,logins"));
}

#[actix_web::test]
async fn a_returning_user_maps_to_the_same_rows_and_two_users_get_two_rows() {
    let app = TestApp::spawn().await;
    let first = app
        .browser()
        .login(&app, UserChoice::Fixture(1001), None)
        .await;
    assert_eq!(first.location().as_deref(), Some("/download-list/"));
    let id = app.store.user_id_by_uid("1001").await.unwrap();

    let again = app
        .browser()
        .login(&app, UserChoice::Fixture(1001), None)
        .await;
    assert_eq!(again.location().as_deref(), Some("/download-list/"));
    assert_eq!(app.store.user_id_by_uid("1001").await.unwrap(), id);
    assert_eq!((app.users().await, app.links().await), (1, 1));

    app.browser()
        .login(&app, UserChoice::Fixture(1002), None)
        .await;
    assert_eq!((app.users().await, app.links().await), (2, 2));
    assert_ne!(app.store.user_id_by_uid("1002").await.unwrap(), id);
}

#[actix_web::test]
async fn kakao_ids_above_two_to_the_53_and_users_without_email_consent_log_in() {
    let app = TestApp::spawn().await;
    let page = app
        .browser()
        .login(&app, UserChoice::Fixture(9_007_199_254_740_993), None)
        .await;
    assert_eq!(page.location().as_deref(), Some("/download-list/"));
    let id = app
        .store
        .user_id_by_uid("9007199254740993")
        .await
        .unwrap()
        .expect("exact uid stored");
    let user = app.store.user_by_id(id).await.unwrap().unwrap();
    assert_eq!(user.email, None, "an unverified email is not stored");

    app.browser()
        .login(&app, UserChoice::Fixture(1002), None)
        .await;
    let id = app.store.user_id_by_uid("1002").await.unwrap().unwrap();
    assert_eq!(app.store.user_by_id(id).await.unwrap().unwrap().email, None);
}

#[actix_web::test]
async fn a_nickname_with_markup_is_escaped_on_every_page() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let evil = "<script>alert(1)</script>";
    browser
        .login(&app, UserChoice::Nickname(evil.into()), None)
        .await;
    for path in ["/", "/download-list/"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains(evil), "{path} must escape the nickname");
        assert!(
            page.body
                .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{path}: {}",
            page.body
        );
    }
}

#[actix_web::test]
async fn twenty_concurrent_first_logins_of_one_kakao_id_make_one_user() {
    let app = TestApp::spawn().await;
    let logins = (0..20).map(|_| {
        let browser = app.browser();
        let app = &app;
        async move { browser.login(app, UserChoice::Fixture(1004), None).await }
    });
    let pages = futures_util::future::join_all(logins).await;
    for page in &pages {
        assert_eq!(
            page.location().as_deref(),
            Some("/download-list/"),
            "every login succeeds"
        );
    }
    assert_eq!((app.users().await, app.links().await), (1, 1));
}

#[actix_web::test]
async fn two_tabs_can_each_finish_their_own_login() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let first = browser.begin(Some("/first")).await;
    let second = browser.begin(Some("/second")).await;
    let decide = |url| app.emulator().approve(url, UserChoice::Fixture(1001));
    let second_cb = decide(&second).await.unwrap();
    let first_cb = decide(&first).await.unwrap();
    assert_eq!(
        browser.get(second_cb.as_str()).await.location().as_deref(),
        Some("/second")
    );
    assert_eq!(
        browser.get(first_cb.as_str()).await.location().as_deref(),
        Some("/first")
    );
}
