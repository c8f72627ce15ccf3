//! Sign-in with tokens a Kakao SDK obtained, through the mounted route in-process against
//! the emulator: this app's tokens sign in (as the same user as a web login), another
//! app's never do, and bad, expired, replayed or malformed input gets a 4xx, no row and no
//! session.

use actix_kakao_auth::config::{LoginDefaults, SdkOptions};
use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::test;
use kakao_emulator::{IdTokenFault, SdkClient, OTHER_APP_ID};
use serde_json::Value;

use crate::rig::{app, call, log_in, rig_with, whoami, Jar, Rig};

const ROUTE: &str = "/accounts/oauth/token/kakao/";

/// SDK settings with this attempt limit.
fn attempts(per_minute: u32) -> SdkOptions {
    SdkOptions {
        attempts_per_minute: per_minute,
        ..SdkOptions::default()
    }
}

/// A rig whose app id is the emulator's and that accepts the emulator's SDK keys.
async fn sdk_rig() -> Rig {
    rig_with(
        |k| k,
        |c| {
            c.app_id(100_001).sdk(SdkOptions {
                audiences: vec![
                    "emulator-native-app-key".into(),
                    "emulator-javascript-key".into(),
                ],
                ..SdkOptions::default()
            })
        },
    )
    .await
}

async fn json_of(response: ServiceResponse<impl actix_web::body::MessageBody>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = test::read_body(response).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Tokens a Kakao SDK login of `user` through `client` got.
fn mint(rig: &Rig, client: SdkClient, user: i64) -> kakao_emulator::SdkTokens {
    rig.kakao.mint_sdk_tokens(client, user, None).unwrap()
}

macro_rules! post {
    ($app:expr, $jar:expr, $form:expr) => {
        call(
            &$app,
            $jar,
            test::TestRequest::post().uri(ROUTE).set_form($form),
        )
        .await
    };
}

#[actix_web::test]
async fn an_access_token_of_this_app_signs_in_as_the_web_logins_user() {
    let rig = sdk_rig().await;
    let app = app!(rig);
    let mut web = Jar::default();
    log_in(&app, &mut web, &rig.kakao, 1001).await;
    let (web_user, _) = whoami(&app, &mut web).await.unwrap();

    let tokens = mint(&rig, SdkClient::NativeApp, 1001);
    let mut phone = Jar::default();
    let response = post!(
        app,
        &mut phone,
        [("access_token", tokens.access_token.as_str())]
    );
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_id"], web_user);
    assert_eq!(body["kakao_id"], "1001");
    let (phone_user, _) = whoami(&app, &mut phone).await.expect("a session");
    assert_eq!(phone_user, web_user);
}

#[actix_web::test]
async fn another_apps_access_token_is_refused_and_writes_nothing() {
    let rig = sdk_rig().await;
    let app = app!(rig);
    let tokens = mint(&rig, SdkClient::OtherApp, 1001);
    let mut jar = Jar::default();
    let (status, body) = json_of(post!(
        app,
        &mut jar,
        [("access_token", tokens.access_token.as_str())]
    ))
    .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("wrong_app")));
    assert_ne!(OTHER_APP_ID, 100_001);
    assert!(rig.auth.store().logins.lock().unwrap().is_empty());
    assert!(!jar.0.contains_key("sessionid"));
}

#[actix_web::test]
async fn unknown_revoked_and_unconfigured_access_tokens_are_refused() {
    let rig = sdk_rig().await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let (status, body) = json_of(post!(app, &mut jar, [("access_token", "no-such-token")])).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    let tokens = mint(&rig, SdkClient::NativeApp, 1002);
    rig.kakao.revoke_tokens_of(1002);
    let (status, body) = json_of(post!(
        app,
        &mut jar,
        [("access_token", tokens.access_token.as_str())]
    ))
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );

    // With SDK audiences but without an app id, every access token is refused.
    let no_app_id = rig_with(
        |k| k,
        |c| {
            c.sdk(SdkOptions {
                audiences: vec!["native-app-key".into()],
                ..SdkOptions::default()
            })
        },
    )
    .await;
    let app = app!(no_app_id);
    let tokens = mint(&no_app_id, SdkClient::NativeApp, 1001);
    let (status, body) = json_of(post!(
        app,
        &mut jar,
        [("access_token", tokens.access_token.as_str())]
    ))
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("access_token_not_accepted"))
    );
    assert!(!jar.0.contains_key("sessionid"));

    // With neither, SDK sign-in is not configured and its route is not mounted.
    let unconfigured = rig_with(|k| k, |c| c).await;
    let app = app!(unconfigured);
    let tokens = mint(&unconfigured, SdkClient::NativeApp, 1001);
    let (status, _) = json_of(post!(
        app,
        &mut jar,
        [("access_token", tokens.access_token.as_str())]
    ))
    .await;
    assert_eq!(status, 404);
    assert!(!jar.0.contains_key("sessionid"));
}

#[actix_web::test]
async fn id_tokens_for_each_allowed_audience_sign_in_and_others_do_not() {
    let rig = sdk_rig().await;
    let app = app!(rig);
    for (client, user) in [(SdkClient::NativeApp, 1001), (SdkClient::JavaScript, 1002)] {
        let tokens = mint(&rig, client, user);
        let mut jar = Jar::default();
        let (status, body) = json_of(post!(
            app,
            &mut jar,
            [("id_token", tokens.id_token.as_str())]
        ))
        .await;
        assert_eq!(status, 200, "{client:?}: {body}");
        assert_eq!(body["kakao_id"], user.to_string());
        assert!(whoami(&app, &mut jar).await.is_some());
    }
    let logins = rig.auth.store().logins.lock().unwrap().clone();
    assert_eq!(
        logins[0].user.nickname(),
        Some("라이언"),
        "profile from the claims"
    );
    assert!(
        logins.iter().all(|l| l.tokens.is_none()),
        "SDK tokens are not kept"
    );

    let other = mint(&rig, SdkClient::OtherApp, 1001);
    let mut jar = Jar::default();
    let (status, body) = json_of(post!(
        app,
        &mut jar,
        [("id_token", other.id_token.as_str())]
    ))
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_id_token"))
    );
}

#[actix_web::test]
async fn forged_expired_and_misissued_id_tokens_are_refused() {
    let rig = sdk_rig().await;
    let app = app!(rig);
    for fault in [
        IdTokenFault::BadSignature,
        IdTokenFault::Expired,
        IdTokenFault::WrongIssuer,
        IdTokenFault::AlgNone,
    ] {
        rig.kakao.faults().set_id_token(fault);
        let tokens = mint(&rig, SdkClient::NativeApp, 1001);
        let mut jar = Jar::default();
        let (status, body) = json_of(post!(
            app,
            &mut jar,
            [("id_token", tokens.id_token.as_str())]
        ))
        .await;
        assert_eq!(status, 401, "{fault:?}: {body}");
        assert_eq!(body["error"], "invalid_id_token", "{fault:?}");
        assert!(!jar.0.contains_key("sessionid"), "{fault:?}");
    }
    assert!(rig.auth.store().logins.lock().unwrap().is_empty());
}

#[actix_web::test]
async fn a_posted_nonce_must_match_and_an_id_token_signs_in_once() {
    let rig = sdk_rig().await;
    let app = app!(rig);
    let tokens = rig
        .kakao
        .mint_sdk_tokens(SdkClient::NativeApp, 1001, Some("app-nonce-1"))
        .unwrap();
    let mut jar = Jar::default();
    let (status, body) = json_of(post!(
        app,
        &mut jar,
        [
            ("id_token", tokens.id_token.as_str()),
            ("nonce", "another-nonce")
        ]
    ))
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_id_token"))
    );
    let (status, _) = json_of(post!(
        app,
        &mut jar,
        [
            ("id_token", tokens.id_token.as_str()),
            ("nonce", "app-nonce-1")
        ]
    ))
    .await;
    assert_eq!(status, 200);
    let mut thief = Jar::default();
    let (status, body) = json_of(post!(
        app,
        &mut thief,
        [("id_token", tokens.id_token.as_str())]
    ))
    .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("replayed")));
}

#[actix_web::test]
async fn malformed_oversized_and_cross_site_requests_are_refused_before_any_token_is_used() {
    let rig = sdk_rig().await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let (status, body) = json_of(
        call(
            &app,
            &mut jar,
            test::TestRequest::post()
                .uri(ROUTE)
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload("{not json"),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_request"))
    );
    let (status, body) = json_of(post!(app, &mut jar, [("nothing", "here")])).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("no_token")));
    let huge = "x".repeat(20 * 1024);
    let (status, _) = json_of(post!(app, &mut jar, [("access_token", huge.as_str())])).await;
    assert_eq!(status, 400);
    let tokens = mint(&rig, SdkClient::JavaScript, 1001);
    let (status, body) = json_of(
        call(
            &app,
            &mut jar,
            test::TestRequest::post()
                .uri(ROUTE)
                .insert_header((header::ORIGIN, "https://evil.example"))
                .set_form([("id_token", tokens.id_token.as_str())]),
        )
        .await,
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (403, Some("cross_site")));
    // JSON works like a form.
    let (status, _) = json_of(
        call(
            &app,
            &mut jar,
            test::TestRequest::post()
                .uri(ROUTE)
                .set_json(serde_json::json!({ "id_token": tokens.id_token })),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn attempts_beyond_the_limit_get_429() {
    let rig = rig_with(|k| k, |c| c.app_id(100_001).sdk(attempts(3))).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    for _ in 0..3 {
        let (status, _) = json_of(post!(app, &mut jar, [("access_token", "guess")])).await;
        assert_eq!(status, 401);
    }
    let (status, body) = json_of(post!(app, &mut jar, [("access_token", "guess")])).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("too_many_attempts"))
    );
}

#[actix_web::test]
async fn an_expired_access_token_is_refused() {
    let rig = rig_with(
        |k| k.access_token_ttl(std::time::Duration::from_millis(200)),
        |c| c.app_id(100_001),
    )
    .await;
    let app = app!(rig);
    let tokens = mint(&rig, SdkClient::NativeApp, 1001);
    actix_web::rt::time::sleep(std::time::Duration::from_millis(400)).await;
    let mut jar = Jar::default();
    let (status, body) = json_of(post!(
        app,
        &mut jar,
        [("access_token", tokens.access_token.as_str())]
    ))
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    assert!(!jar.0.contains_key("sessionid"));
}

/// A form post to the SDK route from TCP peer `peer`, with `X-Forwarded-For: xff`.
fn post_from(peer: &str, xff: Option<&str>, token: &str) -> test::TestRequest {
    let request = test::TestRequest::post()
        .uri(ROUTE)
        .peer_addr(peer.parse().unwrap())
        .set_form([("access_token", token)]);
    match xff {
        Some(xff) => request.insert_header(("X-Forwarded-For", xff)),
        None => request,
    }
}

#[actix_web::test]
async fn successful_sign_ins_never_count_against_the_limit() {
    // The default limit (20 refused a minute); 30 good sign-ins from one address.
    let rig = sdk_rig().await;
    let app = app!(rig);
    for i in 0..30 {
        let tokens = mint(&rig, SdkClient::NativeApp, 1001);
        let mut jar = Jar::default();
        let response = call(
            &app,
            &mut jar,
            post_from("198.51.100.7:4000", None, &tokens.access_token),
        )
        .await;
        let (status, body) = json_of(response).await;
        assert_eq!(status, 200, "sign-in {i}: {body}");
    }
}

#[actix_web::test]
async fn over_the_limit_no_call_reaches_kakao_and_a_good_token_waits_too() {
    let rig = rig_with(|k| k, |c| c.app_id(100_001).sdk(attempts(2))).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    for _ in 0..2 {
        let r = call(&app, &mut jar, post_from("198.51.100.8:1", None, "guess")).await;
        assert_eq!(r.status(), 401);
    }
    let asked = rig.kakao.user_me_requests().len();
    let tokens = mint(&rig, SdkClient::NativeApp, 1001);
    let r = call(
        &app,
        &mut jar,
        post_from("198.51.100.8:1", None, &tokens.access_token),
    )
    .await;
    assert_eq!(r.status(), 429);
    assert_eq!(rig.kakao.user_me_requests().len(), asked, "Kakao was asked");
    assert!(rig.auth.store().logins.lock().unwrap().is_empty());
    // Another address is not affected.
    let r = call(
        &app,
        &mut jar,
        post_from("198.51.100.9:1", None, &tokens.access_token),
    )
    .await;
    assert_eq!(r.status(), 200);
}

#[actix_web::test]
async fn without_trusted_proxies_forwarding_headers_are_ignored() {
    let rig = rig_with(|k| k, |c| c.app_id(100_001).sdk(attempts(3))).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    // Each attempt claims another client; all come from one peer, which is what counts.
    for i in 0..3 {
        let xff = format!("203.0.113.{i}");
        let r = call(&app, &mut jar, post_from("10.0.0.1:1", Some(&xff), "guess")).await;
        assert_eq!(r.status(), 401);
    }
    let r = call(
        &app,
        &mut jar,
        post_from("10.0.0.1:1", Some("203.0.113.99"), "guess"),
    )
    .await;
    assert_eq!(r.status(), 429, "a forged header escaped the limit");
}

#[actix_web::test]
async fn behind_trusted_proxies_the_forwarded_client_is_limited_not_the_proxy() {
    let rig = rig_with(
        |k| k,
        |c| {
            c.app_id(100_001)
                .sdk(attempts(3))
                .trusted_proxies("10.0.0.0/8".parse().unwrap())
        },
    )
    .await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let proxy = "10.0.0.1:1";
    for _ in 0..3 {
        let r = call(
            &app,
            &mut jar,
            post_from(proxy, Some("198.51.100.1"), "guess"),
        )
        .await;
        assert_eq!(r.status(), 401);
    }
    let over = call(
        &app,
        &mut jar,
        post_from(proxy, Some("198.51.100.1"), "guess"),
    )
    .await;
    assert_eq!(over.status(), 429);
    // Everyone else behind the same proxy still signs in.
    let tokens = mint(&rig, SdkClient::NativeApp, 1001);
    let other = call(
        &app,
        &mut jar,
        post_from(proxy, Some("198.51.100.2"), &tokens.access_token),
    )
    .await;
    assert_eq!(other.status(), 200, "one client locked out everyone");
    // A spoofed chain: the limited client prepends another address; the proxy appends
    // the real one, which is what counts.
    let spoofed = call(
        &app,
        &mut jar,
        post_from(proxy, Some("198.51.100.2, 198.51.100.1"), "guess"),
    )
    .await;
    assert_eq!(spoofed.status(), 429, "a spoofed X-Forwarded-For escaped");
    // A chain through two trusted proxies still finds the client.
    let two_hops = call(
        &app,
        &mut jar,
        post_from(proxy, Some("198.51.100.1, 10.2.3.4"), "guess"),
    )
    .await;
    assert_eq!(two_hops.status(), 429);
    // From a peer that is not a trusted proxy the header means nothing.
    let direct = call(
        &app,
        &mut jar,
        post_from("192.0.2.50:1", Some("198.51.100.1"), "guess"),
    )
    .await;
    assert_eq!(direct.status(), 401);
}

/// A rig with Kakao Sync: `terms_a` required, `terms_b` optional.
async fn terms_rig() -> Rig {
    rig_with(
        |k| {
            k.service_term("terms_a", true)
                .service_term("terms_b", false)
        },
        |c| {
            c.app_id(100_001)
                .sdk(SdkOptions {
                    audiences: vec!["emulator-native-app-key".into()],
                    ..SdkOptions::default()
                })
                .login(LoginDefaults {
                    service_terms: vec!["terms_a".into(), "terms_b".into()],
                    ..LoginDefaults::default()
                })
        },
    )
    .await
}

#[actix_web::test]
async fn the_sdk_route_applies_the_service_terms_gate() {
    let rig = terms_rig().await;
    let app = app!(rig);
    let tokens = mint(&rig, SdkClient::NativeApp, 1001);

    // Not agreed: refused, nothing written.
    let mut jar = Jar::default();
    let (status, body) = json_of(post!(
        app,
        &mut jar,
        [("access_token", tokens.access_token.as_str())]
    ))
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("terms_required"))
    );
    // An id_token alone cannot show the terms.
    let id_token = tokens.id_token.clone();
    let (status, body) = json_of(post!(app, &mut jar, [("id_token", id_token.as_str())])).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("terms_required"))
    );
    assert!(rig.auth.store().logins.lock().unwrap().is_empty());
    assert!(!jar.0.contains_key("sessionid"));

    // Only the optional term agreed: still refused.
    rig.kakao.agree_service_terms(1001, &["terms_b"]);
    let (status, _) = json_of(post!(
        app,
        &mut jar,
        [("access_token", tokens.access_token.as_str())]
    ))
    .await;
    assert_eq!(status, 401);
    assert!(rig.auth.store().logins.lock().unwrap().is_empty());

    // The required term agreed: signed in, the ledger handed to the store, the token kept.
    rig.kakao.agree_service_terms(1001, &["terms_a"]);
    let (status, body) = json_of(post!(
        app,
        &mut jar,
        [("access_token", tokens.access_token.as_str())]
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let logins = rig.auth.store().logins.lock().unwrap().clone();
    let login = logins.last().expect("a login");
    let mut tags: Vec<&str> = login
        .service_terms
        .as_ref()
        .expect("a ledger")
        .iter()
        .map(|t| t.tag.as_str())
        .collect();
    tags.sort_unstable();
    assert_eq!(tags, ["terms_a", "terms_b"]);
    let kept = login.tokens.as_ref().expect("the access token is kept");
    assert_eq!(kept.access_token.secret(), &tokens.access_token);
    assert!(kept.expires_at > chrono::Utc::now());
    assert!(kept.refresh_token.is_none());
}
