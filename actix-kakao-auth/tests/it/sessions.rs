//! The pending login in its sealed cookie (expiry, several tabs, single use, tampering),
//! anonymous begins that write nothing, sessions that end with their user, and CSRF on
//! logout: through the library's routes in-process, against the emulator.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{test, web, App};

use crate::rig::{
    app, begin, call, consent, location, log_in, rig, visit, whoami, Jar, MemoryStore, ORIGIN,
};
use actix_kakao_auth::CurrentUser;

#[actix_web::test]
async fn a_login_completed_within_the_flow_ttl_succeeds_and_clears_its_cookie() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    assert_eq!(log_in(&app, &mut jar, &rig.kakao, 1001).await, "/");
    assert!(jar.pending().is_empty(), "the pending cookie is cleared");
    assert_eq!(rig.kakao.token_requests().len(), 1);
    assert!(whoami(&app, &mut jar).await.is_some());
}

#[actix_web::test]
async fn a_login_older_than_the_flow_ttl_is_refused_before_the_code_is_redeemed() {
    let rig = rig(Duration::from_secs(1)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let authorize = begin(&app, &mut jar).await;
    let callback = consent(&rig.kakao, &authorize, 1001).await;
    actix_web::rt::time::sleep(Duration::from_millis(2100)).await;
    let answer = visit(&app, &mut jar, &callback).await;
    assert_eq!(location(&answer), "/login/error/?reason=state_mismatch");
    assert!(
        rig.kakao.token_requests().is_empty(),
        "an expired state never reaches the token endpoint"
    );
    assert!(whoami(&app, &mut jar).await.is_none());
}

#[actix_web::test]
async fn anonymous_begins_write_no_session_and_set_no_session_cookie() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = app!(rig);
    for _ in 0..50 {
        let mut jar = Jar::default();
        let response = call(
            &app,
            &mut jar,
            test::TestRequest::get().uri("/accounts/oauth/login/kakao/?next=/x/"),
        )
        .await;
        assert_eq!(response.status(), 302);
        assert!(!jar.0.contains_key("sessionid"), "{:?}", jar.0.keys());
        assert_eq!(jar.pending().len(), 1);
    }
    assert_eq!(
        rig.sessions.writes.load(Ordering::SeqCst),
        0,
        "begins wrote to the session store"
    );
}

#[actix_web::test]
async fn two_tabs_each_finish_their_own_login() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let first = begin(&app, &mut jar).await;
    let second = begin(&app, &mut jar).await;
    assert_eq!(jar.pending().len(), 2, "one cookie per pending login");
    let second_callback = consent(&rig.kakao, &second, 1002).await;
    let first_callback = consent(&rig.kakao, &first, 1001).await;
    let answer = visit(&app, &mut jar, &second_callback).await;
    assert_eq!(location(&answer), "/");
    assert_eq!(
        jar.pending().len(),
        1,
        "only the finished tab's cookie is cleared"
    );
    let answer = visit(&app, &mut jar, &first_callback).await;
    assert_eq!(location(&answer), "/");
    assert!(jar.pending().is_empty());
}

#[actix_web::test]
async fn a_replayed_callback_with_the_old_cookie_and_code_fails() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let authorize = begin(&app, &mut jar).await;
    let copied = jar.clone();
    let callback = consent(&rig.kakao, &authorize, 1001).await;
    let answer = visit(&app, &mut jar, &callback).await;
    assert_eq!(location(&answer), "/");
    let mut attacker = copied;
    let replay = visit(&app, &mut attacker, &callback).await;
    assert_eq!(location(&replay), "/login/error/?reason=invalid_code");
    assert!(whoami(&app, &mut attacker).await.is_none());
}

#[actix_web::test]
async fn a_tampered_or_missing_pending_cookie_logs_no_one_in() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let authorize = begin(&app, &mut jar).await;
    let callback = consent(&rig.kakao, &authorize, 1001).await;
    let name = jar.pending().pop().unwrap();
    let mut tampered = jar.clone();
    let value = tampered.0.get_mut(&name).unwrap();
    let flipped = if value.ends_with('A') { 'B' } else { 'A' };
    value.pop();
    value.push(flipped);
    let answer = visit(&app, &mut tampered, &callback).await;
    assert_eq!(location(&answer), "/login/error/?reason=state_mismatch");
    let mut empty = Jar::default();
    let answer = visit(&app, &mut empty, &callback).await;
    assert_eq!(location(&answer), "/login/error/?reason=state_mismatch");
    assert!(rig.kakao.token_requests().is_empty());
    assert!(!empty.0.contains_key("sessionid"));
}

#[actix_web::test]
async fn a_cookie_only_session_of_a_deleted_user_is_refused() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    log_in(&app, &mut jar, &rig.kakao, 1001).await;
    let (id, _) = whoami(&app, &mut jar).await.unwrap();
    let copy = jar.clone();
    rig.auth.store().users.lock().unwrap().remove(&id);
    assert!(whoami(&app, &mut jar).await.is_none());
    let mut copy = copy;
    assert!(
        whoami(&app, &mut copy).await.is_none(),
        "a copy of the cookie is refused too"
    );
}

#[actix_web::test]
async fn changing_the_session_auth_hash_ends_every_session_of_the_user() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = app!(rig);
    let (mut phone, mut laptop, mut other) = (Jar::default(), Jar::default(), Jar::default());
    log_in(&app, &mut phone, &rig.kakao, 1001).await;
    log_in(&app, &mut laptop, &rig.kakao, 1001).await;
    log_in(&app, &mut other, &rig.kakao, 1002).await;
    let (id, _) = whoami(&app, &mut phone).await.unwrap();
    rig.auth
        .store()
        .users
        .lock()
        .unwrap()
        .get_mut(&id)
        .unwrap()
        .epoch += 1;
    assert!(whoami(&app, &mut phone).await.is_none());
    assert!(whoami(&app, &mut laptop).await.is_none());
    assert!(
        whoami(&app, &mut other).await.is_some(),
        "another user's session is untouched"
    );
    log_in(&app, &mut phone, &rig.kakao, 1001).await;
    assert!(
        whoami(&app, &mut phone).await.is_some(),
        "a new login works"
    );
}

#[actix_web::test]
async fn a_logout_post_without_origin_headers_or_token_changes_nothing() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    log_in(&app, &mut jar, &rig.kakao, 1001).await;
    let (_, csrf) = whoami(&app, &mut jar).await.unwrap();
    for path in ["/logout/", "/logout/kakao/"] {
        let bare = call(&app, &mut jar, test::TestRequest::post().uri(path)).await;
        assert_eq!(bare.status(), 403, "{path}");
        let wrong = call(
            &app,
            &mut jar,
            test::TestRequest::post()
                .uri(path)
                .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
                .set_payload("csrf_token=not-the-token"),
        )
        .await;
        assert_eq!(wrong.status(), 403, "{path}");
        assert!(whoami(&app, &mut jar).await.is_some(), "still logged in");
    }
    let with_token = call(
        &app,
        &mut jar,
        test::TestRequest::post()
            .uri("/logout/")
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(format!("csrf_token={csrf}")),
    )
    .await;
    assert_eq!(with_token.status(), 303);
    assert!(whoami(&app, &mut jar).await.is_none());
}

#[actix_web::test]
async fn a_same_origin_logout_works_and_a_cross_site_one_is_refused() {
    let rig = rig(Duration::from_secs(60)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    log_in(&app, &mut jar, &rig.kakao, 1001).await;
    let cross = call(
        &app,
        &mut jar,
        test::TestRequest::post()
            .uri("/logout/")
            .insert_header((header::ORIGIN, "https://evil.example")),
    )
    .await;
    assert_eq!(cross.status(), 403);
    assert!(whoami(&app, &mut jar).await.is_some());
    let same = call(
        &app,
        &mut jar,
        test::TestRequest::post()
            .uri("/logout/")
            .insert_header((header::ORIGIN, ORIGIN)),
    )
    .await;
    assert_eq!(same.status(), 303);
    assert!(whoami(&app, &mut jar).await.is_none());
}

#[actix_web::test]
async fn an_app_can_bring_its_own_session_middleware() {
    let rig = rig(Duration::from_secs(60)).await;
    let session = rig
        .auth
        .session_middleware(rig.sessions.clone())
        .cookie_domain(Some("app.test".to_owned()))
        .build();
    let app = test::init_service(
        App::new()
            .configure(rig.auth.routes())
            .service(
                web::resource("/members/")
                    .wrap(actix_kakao_auth::LoginRequired)
                    .to(|user: CurrentUser<MemoryStore>| async move { user.id.to_string() }),
            )
            .wrap(rig.auth.identity())
            .wrap(session),
    )
    .await;
    let mut jar = Jar::default();
    let authorize = begin(&app, &mut jar).await;
    let callback = consent(&rig.kakao, &authorize, 1001).await;
    let answer = visit(&app, &mut jar, &callback).await;
    let cookie = answer
        .response()
        .cookies()
        .find(|c| c.name() == "sessionid")
        .expect("session cookie");
    assert_eq!(cookie.domain(), Some("app.test"));
    assert_eq!(cookie.http_only(), Some(true));
    let members = call(&app, &mut jar, test::TestRequest::get().uri("/members/")).await;
    assert_eq!(members.status(), 200);

    // LoginRequired refuses the session once its user is gone.
    rig.auth.store().users.lock().unwrap().clear();
    let members = call(&app, &mut jar, test::TestRequest::get().uri("/members/")).await;
    assert_eq!(members.status(), 302);
    assert_eq!(location(&members), "/login/?next=%2Fmembers%2F");
}
