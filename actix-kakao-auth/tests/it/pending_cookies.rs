//! Pending-login cookies stay bounded (count, size, each cookie's line), are `__Host-`
//! on https, and a login begun on one instance finishes on another whose clock is behind.

use std::time::Duration;

use actix_web::http::header;
use actix_web::test;
use actix_web::App;

use crate::rig::{app, begin_location, call, consent, location, rig, visit, whoami, Jar, CALLBACK};

/// Begins a login with `?next=…` and returns the response's `Location`.
async fn begin_with_next<S, B>(app: &S, jar: &mut Jar, next: &str) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    begin_location(app, jar, &format!("?next={next}"), None).await
}

fn pending_bytes(jar: &Jar) -> usize {
    jar.pending()
        .iter()
        .map(|name| name.len() + 1 + jar.0[name].len() + 2)
        .sum()
}

#[actix_web::test]
async fn thirty_begins_with_long_next_values_leave_room_to_log_in() {
    let rig = rig(Duration::from_secs(600)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let long_next = format!("/download-list/{}", "a".repeat(1500));
    for i in 0..30 {
        let to = begin_with_next(&app, &mut jar, &format!("{long_next}{i}")).await;
        assert!(to.contains("/oauth/authorize"), "begin {i} refused: {to}");
        assert!(
            jar.pending().len() <= 5,
            "{} pending after {i}",
            jar.pending().len()
        );
        assert!(
            pending_bytes(&jar) < 6 * 1024,
            "{} bytes after {i}",
            pending_bytes(&jar)
        );
    }
    // The newest begin's login completes, with a Cookie header a default proxy accepts.
    let authorize = url::Url::parse(&begin_with_next(&app, &mut jar, "/done/").await).unwrap();
    let callback = consent(&rig.kakao, &authorize, 1001).await;
    let cookie_header = jar.header();
    assert!(
        cookie_header.len() < 8 * 1024,
        "{} bytes",
        cookie_header.len()
    );
    let landed = location(&visit(&app, &mut jar, &callback).await);
    assert_eq!(landed, "/done/");
    assert!(whoami(&app, &mut jar).await.is_some());
}

#[actix_web::test]
async fn the_oldest_pending_login_is_dropped_first() {
    let rig = rig(Duration::from_secs(600)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let first = url::Url::parse(&begin_with_next(&app, &mut jar, "/first/").await).unwrap();
    let first_cookie = jar.pending();
    // Created a second later, so the order is plain.
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    for i in 0..5 {
        begin_with_next(&app, &mut jar, &format!("/later-{i}/")).await;
    }
    assert_eq!(jar.pending().len(), 5);
    assert!(
        !jar.pending().contains(&first_cookie[0]),
        "the oldest was kept"
    );
    let callback = consent(&rig.kakao, &first, 1001).await;
    let answer = visit(&app, &mut jar, &callback).await;
    assert_eq!(location(&answer), "/login/error/?reason=state_mismatch");
}

#[actix_web::test]
async fn a_next_or_login_hint_that_cannot_fit_is_refused() {
    let rig = rig(Duration::from_secs(600)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    // Quotes double in JSON, base64 adds a third: far over 4096 bytes once sealed.
    let quotes = "%22".repeat(2000);
    let to = begin_with_next(&app, &mut jar, &format!("/{quotes}")).await;
    assert_eq!(to, "/login/error/?reason=invalid_request");
    assert!(
        jar.pending().is_empty(),
        "a cookie was set: {:?}",
        jar.pending()
    );

    // Just under the limit still works, and its Set-Cookie line is at most 4096 bytes.
    let response = call(
        &app,
        &mut jar,
        test::TestRequest::get().uri(&format!(
            "/accounts/oauth/login/kakao/?next=/{}",
            "b".repeat(2400)
        )),
    )
    .await;
    assert!(location(&response).contains("/oauth/authorize"));
    for line in response.headers().get_all(header::SET_COOKIE) {
        assert!(
            line.len() + "Set-Cookie: ".len() <= 4096,
            "{} bytes",
            line.len()
        );
    }
}

#[actix_web::test]
async fn on_https_pending_cookies_are_host_prefixed_and_every_cookie_is_secure() {
    let kakao = kakao_emulator::KakaoEmulator::builder()
        .redirect_uri("https://app.test/cb/")
        .start()
        .await
        .unwrap();
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    let config =
        actix_kakao_auth::KakaoAuthConfig::builder(kakao.client_id(), "https://app.test/cb/")
            .auth_base_url(base.clone())
            .api_base_url(base)
            .session_secret("s".repeat(64))
            .build()
            .unwrap();
    let auth =
        actix_kakao_auth::KakaoAuth::new(config, crate::rig::MemoryStore::default()).unwrap();
    let app = test::init_service(
        App::new()
            .configure(auth.routes())
            .wrap(auth.identity())
            .wrap(
                auth.session_middleware(actix_session::storage::CookieSessionStore::default())
                    .build(),
            ),
    )
    .await;
    let mut jar = Jar::default();
    let response = call(
        &app,
        &mut jar,
        test::TestRequest::get().uri("/accounts/oauth/login/kakao/"),
    )
    .await;
    let set: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(set.len(), 1, "{set:?}");
    let pending = &set[0];
    assert!(pending.starts_with("__Host-kakao_auth_flow_"), "{pending}");
    assert!(pending.contains("Secure"), "{pending}");
    assert!(
        pending.contains("Path=/;") || pending.ends_with("Path=/"),
        "{pending}"
    );
    assert!(
        !pending.to_ascii_lowercase().contains("domain="),
        "{pending}"
    );

    // The whole login: the session cookie is Secure too, the pending cookie cleared.
    let authorize = url::Url::parse(&location(&response)).unwrap();
    let callback = kakao
        .approve(&authorize, kakao_emulator::UserChoice::Fixture(1001))
        .await
        .unwrap();
    let answer = visit(&app, &mut jar, &callback).await;
    assert_eq!(location(&answer), "/");
    let set: Vec<String> = answer
        .headers()
        .get_all(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(set.iter().any(|c| c.starts_with("sessionid=")), "{set:?}");
    for cookie in &set {
        assert!(cookie.contains("Secure"), "not Secure: {cookie}");
    }
    assert!(jar.pending().is_empty());
}

/// Another instance: the same secret, emulator and store, its clock `offset` off.
async fn instance_with_clock(
    kakao: &kakao_emulator::KakaoEmulator,
    store: crate::rig::MemoryStore,
    offset: chrono::Duration,
) -> actix_kakao_auth::KakaoAuth<crate::rig::MemoryStore> {
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    let config = actix_kakao_auth::KakaoAuthConfig::builder(kakao.client_id(), CALLBACK)
        .auth_base_url(base.clone())
        .api_base_url(base)
        .session_secret("s".repeat(64))
        .clock(move || chrono::Utc::now() + offset)
        .build()
        .unwrap();
    actix_kakao_auth::KakaoAuth::new(config, store).unwrap()
}

#[actix_web::test]
async fn a_login_finishes_on_an_instance_whose_clock_is_behind() {
    let rig = rig(Duration::from_secs(600)).await;
    let begun_on = app!(rig);
    for (behind, finishes) in [(1, true), (30, true), (120, false)] {
        let other = instance_with_clock(
            &rig.kakao,
            rig.auth.store().clone(),
            chrono::Duration::seconds(-behind),
        )
        .await;
        let finished_on = test::init_service(
            App::new()
                .configure(other.routes())
                .wrap(other.identity())
                .wrap(
                    other
                        .session_middleware(actix_session::storage::CookieSessionStore::default())
                        .build(),
                ),
        )
        .await;
        let mut jar = Jar::default();
        let authorize =
            url::Url::parse(&begin_with_next(&begun_on, &mut jar, "/x/").await).unwrap();
        let callback = consent(&rig.kakao, &authorize, 1001).await;
        let landed = location(&visit(&finished_on, &mut jar, &callback).await);
        if finishes {
            assert_eq!(landed, "/x/", "{behind} s behind");
        } else {
            assert_eq!(
                landed, "/login/error/?reason=state_mismatch",
                "{behind} s behind"
            );
        }
    }
}
