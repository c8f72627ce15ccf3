//! One person, several logins: a logged-in user connects a Naver account (POST, proof of
//! origin, bound to that user), never someone else's, and a connect flow that finishes
//! in a browser now logged in as someone else (or no one) links nothing.

use actix_web::http::header;
use actix_web::test::TestRequest;

use crate::naver::{begin_naver, naver_rig, BASE64_LIKE};
use crate::rig::{app, call, location, log_in, visit, whoami, Jar, ORIGIN};

const CONNECT_NAVER: &str = "/accounts/oauth/connect/naver/";

fn connect_request() -> TestRequest {
    TestRequest::post()
        .uri(CONNECT_NAVER)
        .insert_header((header::ORIGIN, ORIGIN))
}

#[actix_web::test]
async fn a_kakao_user_connects_a_naver_account_and_then_logs_in_with_it() {
    let (rig, naver) = naver_rig().await;
    let app = app!(rig);
    let mut jar = Jar::default();
    log_in(&app, &mut jar, &rig.kakao, 1001).await;
    let (kakao_user, _) = whoami(&app, &mut jar).await.unwrap();

    let started = call(&app, &mut jar, connect_request()).await;
    assert_eq!(started.status(), 303);
    let authorize = url::Url::parse(&location(&started)).unwrap();
    assert_eq!(authorize.path(), "/oauth2/authorize");
    let callback = naver.approve(&authorize, BASE64_LIKE).await.unwrap();
    let done = visit(&app, &mut jar, &callback).await;
    assert_eq!(location(&done), "/account/");
    assert_eq!(
        whoami(&app, &mut jar).await.map(|w| w.0),
        Some(kakao_user),
        "still the same user, same session"
    );

    // Connecting it again changes nothing.
    let again = call(&app, &mut jar, connect_request()).await;
    let callback = naver
        .approve(&url::Url::parse(&location(&again)).unwrap(), BASE64_LIKE)
        .await
        .unwrap();
    assert_eq!(
        location(&visit(&app, &mut jar, &callback).await),
        "/account/"
    );

    // Another browser logs in with the Naver account: the same user.
    let mut other = Jar::default();
    let authorize = begin_naver(&app, &mut other, "").await;
    let callback = naver.approve(&authorize, BASE64_LIKE).await.unwrap();
    visit(&app, &mut other, &callback).await;
    assert_eq!(
        whoami(&app, &mut other).await.map(|w| w.0),
        Some(kakao_user)
    );
}

#[actix_web::test]
async fn connecting_someone_elses_account_is_refused_and_changes_nothing() {
    let (rig, naver) = naver_rig().await;
    let app = app!(rig);
    // The Naver account is someone's own login.
    let mut owner = Jar::default();
    let authorize = begin_naver(&app, &mut owner, "").await;
    let callback = naver.approve(&authorize, BASE64_LIKE).await.unwrap();
    visit(&app, &mut owner, &callback).await;
    let (owner_id, _) = whoami(&app, &mut owner).await.unwrap();

    let mut jar = Jar::default();
    log_in(&app, &mut jar, &rig.kakao, 1002).await;
    let (me, csrf) = whoami(&app, &mut jar).await.unwrap();
    let started = call(&app, &mut jar, connect_request()).await;
    let callback = naver
        .approve(&url::Url::parse(&location(&started)).unwrap(), BASE64_LIKE)
        .await
        .unwrap();
    let refused = visit(&app, &mut jar, &callback).await;
    assert_eq!(location(&refused), "/login/error/?reason=identity_in_use");
    assert_eq!(
        whoami(&app, &mut jar).await,
        Some((me, csrf)),
        "still logged in as the same user, in the same session"
    );
    assert_eq!(
        rig.auth.store().links.lock().unwrap()[&(
            actix_kakao_auth::store::Provider::Naver,
            BASE64_LIKE.to_owned()
        )],
        owner_id
    );
}

#[actix_web::test]
async fn connect_needs_a_post_with_proof_of_origin_from_a_logged_in_user() {
    let (rig, _naver) = naver_rig().await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let anonymous = call(&app, &mut jar, connect_request()).await;
    assert_eq!(anonymous.status(), 302);
    assert!(location(&anonymous).starts_with("/login/?next="));

    log_in(&app, &mut jar, &rig.kakao, 1001).await;
    let get = call(&app, &mut jar, TestRequest::get().uri(CONNECT_NAVER)).await;
    assert_eq!(get.status(), 405, "never on GET");
    let cross_site = call(
        &app,
        &mut jar,
        TestRequest::post()
            .uri(CONNECT_NAVER)
            .insert_header((header::ORIGIN, "https://evil.example")),
    )
    .await;
    assert_eq!(cross_site.status(), 403);
    let bare = call(&app, &mut jar, TestRequest::post().uri(CONNECT_NAVER)).await;
    assert_eq!(bare.status(), 403, "no origin headers and no token");
    assert!(jar.pending().is_empty(), "no flow was started");
}

#[actix_web::test]
async fn a_connect_flow_finished_after_logout_or_by_another_user_links_nothing() {
    let (rig, naver) = naver_rig().await;
    let app = app!(rig);
    for then in ["logged out", "another user"] {
        let mut jar = Jar::default();
        log_in(&app, &mut jar, &rig.kakao, 1001).await;
        let (_, csrf) = whoami(&app, &mut jar).await.unwrap();
        let started = call(&app, &mut jar, connect_request()).await;
        let authorize = url::Url::parse(&location(&started)).unwrap();
        let out = call(
            &app,
            &mut jar,
            TestRequest::post()
                .uri("/logout/")
                .insert_header((header::ORIGIN, ORIGIN))
                .set_payload(format!("csrf_token={csrf}")),
        )
        .await;
        assert_eq!(out.status(), 303);
        if then == "another user" {
            log_in(&app, &mut jar, &rig.kakao, 1002).await;
        }
        // The pending connect cookie is still in the jar; the callback finishes it.
        let callback = naver.approve(&authorize, BASE64_LIKE).await.unwrap();
        let answer = visit(&app, &mut jar, &callback).await;
        assert_eq!(
            location(&answer),
            "/login/error/?reason=state_mismatch",
            "{then}"
        );
        assert!(
            rig.auth
                .store()
                .links
                .lock()
                .unwrap()
                .keys()
                .all(|(provider, _)| *provider != actix_kakao_auth::store::Provider::Naver),
            "{then}: nothing linked"
        );
    }
}

#[actix_web::test]
async fn a_second_account_of_a_linked_provider_is_not_connected() {
    let (rig, naver) = naver_rig().await;
    let app = app!(rig);
    let mut jar = Jar::default();
    log_in(&app, &mut jar, &rig.kakao, 1001).await;
    for (user, expected) in [
        (BASE64_LIKE, "/account/"),
        ("32742776", "/login/error/?reason=invalid_request"),
    ] {
        let started = call(&app, &mut jar, connect_request()).await;
        let callback = naver
            .approve(&url::Url::parse(&location(&started)).unwrap(), user)
            .await
            .unwrap();
        assert_eq!(
            location(&visit(&app, &mut jar, &callback).await),
            expected,
            "{user}"
        );
    }
    let naver_links = rig
        .auth
        .store()
        .links
        .lock()
        .unwrap()
        .keys()
        .filter(|(provider, _)| *provider == actix_kakao_auth::store::Provider::Naver)
        .count();
    assert_eq!(naver_links, 1);
    assert!(whoami(&app, &mut jar).await.is_some(), "still logged in");
}
