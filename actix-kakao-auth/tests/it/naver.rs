//! The Naver client against the Naver emulator: the OpenID Connect path end to end, each
//! failure Naver answers in its own way, refresh, revoke, and the unlink notification.

use actix_kakao_auth::kakao::oidc::IdTokenError;
use actix_kakao_auth::store::Provider;

use crate::rig::{app, begin, call, location, visit, whoami, Jar};
use actix_kakao_auth::kakao::secret::AccessToken;
use actix_kakao_auth::naver::{
    NaverApiError, NaverAuthorize, NaverClient, NaverSettings, UnlinkNotification, UnlinkRefused,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use kakao_emulator::naver::{unlink_notification_form, NaverEmulator, NaverEndpoint, NaverFault};
use sha2::{Digest, Sha256};

const CALLBACK: &str = "http://app.test/accounts/oauth/complete/naver/";
pub(crate) const BASE64_LIKE: &str = "Ab3dE+f/GhI9jKlMnOpQrStUvWxYz0123456789+/AbC=";
const NUMERIC: &str = "32742776";

struct Setup {
    naver: NaverEmulator,
    client: NaverClient,
}

/// A Naver emulator for [`CALLBACK`], and the settings of the app it stands for.
async fn naver_emulator() -> (NaverEmulator, NaverSettings) {
    let naver = NaverEmulator::builder()
        .redirect_uri(CALLBACK)
        .start()
        .await
        .unwrap();
    let base = naver.base_url();
    let settings = NaverSettings::new(naver.client_id(), naver.client_secret(), CALLBACK)
        .unwrap()
        .base_urls(base.as_str(), base.as_str())
        .unwrap();
    (naver, settings)
}

async fn setup() -> Setup {
    let (naver, settings) = naver_emulator().await;
    let client = NaverClient::new(settings).unwrap();
    Setup { naver, client }
}

/// Authorizes as `user`; returns the code and the PKCE verifier.
async fn authorize(s: &Setup, user: &str, reauthenticate: bool) -> (String, String) {
    let verifier = "n".repeat(43);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let url = s.client.authorize_url(&NaverAuthorize {
        state: "state-1",
        nonce: "nonce-1",
        code_challenge: &challenge,
        reauthenticate,
    });
    let callback = s.naver.approve(&url, user).await.unwrap();
    let params: std::collections::HashMap<_, _> = callback.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "state-1");
    (params["code"].clone(), verifier)
}

#[actix_web::test]
async fn a_naver_login_verifies_its_id_token_and_ties_sub_to_the_profile() {
    let s = setup().await;
    let (code, verifier) = authorize(&s, BASE64_LIKE, false).await;
    let tokens = s
        .client
        .exchange_code(&code, &verifier, "state-1")
        .await
        .unwrap();
    let left = tokens.expires_at - chrono::Utc::now();
    assert!((3590..=3600).contains(&left.num_seconds()), "{left}");
    assert!(tokens.refresh_token.is_some());
    let sent = &s.naver.token_requests()[0].form;
    assert_eq!(sent["code_verifier"], verifier);
    assert_eq!(sent["client_secret"], s.naver.client_secret());
    assert_eq!(s.naver.token_requests()[0].method, "POST");

    let verifier = s.client.id_token_verifier();
    let id_token = tokens.id_token.as_ref().unwrap().secret().to_owned();
    let claims = verifier
        .verify_nonce_if_present(&id_token, "nonce-1")
        .await
        .unwrap();
    let user = s.client.user_info(&tokens.access_token).await.unwrap();
    assert_eq!(user.id, BASE64_LIKE, "an opaque text id, + / = kept");
    assert_eq!(user.email.as_deref(), Some("green@example.com"));
    claims.check_subject_text(&user.id).unwrap();
    assert!(matches!(
        verifier.verify_nonce_if_present(&id_token, "another").await,
        Err(IdTokenError::NonceMismatch)
    ));
    assert!(matches!(
        claims.check_subject_text(NUMERIC),
        Err(IdTokenError::SubjectMismatch)
    ));
}

#[actix_web::test]
async fn failures_answered_with_200_are_still_failures() {
    let s = setup().await;
    let (code, verifier) = authorize(&s, NUMERIC, false).await;
    s.client
        .exchange_code(&code, &verifier, "state-1")
        .await
        .unwrap();
    let reused = s.client.exchange_code(&code, &verifier, "state-1").await;
    assert!(
        matches!(&reused, Err(NaverApiError::Auth { status: 200, error, .. }) if error == "invalid_request"),
        "{reused:?}"
    );

    let wrong = NaverClient::new(
        NaverSettings::new(s.naver.client_id(), "wrong secret", CALLBACK)
            .unwrap()
            .base_urls(s.naver.base_url().as_str(), s.naver.base_url().as_str())
            .unwrap(),
    )
    .unwrap();
    let (code, verifier) = authorize(&s, NUMERIC, false).await;
    assert!(matches!(
        wrong.exchange_code(&code, &verifier, "state-1").await,
        Err(NaverApiError::Auth { error, .. }) if error == "invalid_client"
    ));

    s.naver.faults().set(
        NaverEndpoint::Token,
        NaverFault::ErrorWithOk("server_error".into()),
    );
    let failed = s.client.exchange_code("c", "v", "s").await.unwrap_err();
    assert!(failed.is_unavailable(), "{failed}");
    s.naver
        .faults()
        .set(NaverEndpoint::Token, NaverFault::ServerErrorPage);
    assert!(matches!(
        s.client.exchange_code("c", "v", "s").await,
        Err(NaverApiError::Unavailable { status: 500 })
    ));
}

#[actix_web::test]
async fn profile_result_codes_other_than_00_fail_and_expires_in_may_be_a_number() {
    let s = setup().await;
    s.naver.faults().set_expires_in_as_number(true);
    let (code, verifier) = authorize(&s, NUMERIC, true).await;
    let tokens = s
        .client
        .exchange_code(&code, &verifier, "state-1")
        .await
        .unwrap();
    assert_eq!(
        s.naver.authorize_requests()[0].form["auth_type"],
        "reauthenticate"
    );
    s.naver
        .faults()
        .set(NaverEndpoint::Me, NaverFault::ResultCode("403".into()));
    assert!(matches!(
        s.client.user_info(&tokens.access_token).await,
        Err(NaverApiError::Profile { status: 200, resultcode, .. }) if resultcode == "403"
    ));
    s.naver.faults().clear();
    assert!(matches!(
        s.client.user_info(&AccessToken::new("dead".into())).await,
        Err(NaverApiError::Profile { status: 401, resultcode, .. }) if resultcode == "024"
    ));
}

#[actix_web::test]
async fn refresh_keeps_the_refresh_token_and_revoke_ends_both() {
    let s = setup().await;
    let (code, verifier) = authorize(&s, NUMERIC, false).await;
    let tokens = s
        .client
        .exchange_code(&code, &verifier, "state-1")
        .await
        .unwrap();
    let refresh = tokens.refresh_token.clone().unwrap();
    let fresh = s.client.refresh(&refresh).await.unwrap();
    assert_ne!(fresh.access_token.secret(), tokens.access_token.secret());
    assert_eq!(
        fresh.refresh_token.as_ref().map(|r| r.secret().to_owned()),
        Some(refresh.secret().to_owned()),
        "Naver sends no new refresh token: the old one is kept"
    );
    s.client.revoke(&fresh.access_token).await.unwrap();
    assert_eq!(
        s.naver.revoke_requests()[0].form["token"],
        *fresh.access_token.secret()
    );
    assert!(s.client.user_info(&fresh.access_token).await.is_err());
    assert!(
        s.client.refresh(&refresh).await.is_err(),
        "its pair died with it"
    );
    s.client
        .revoke(&AccessToken::new("already-dead".into()))
        .await
        .unwrap();
}

fn notification(form: Vec<(&'static str, String)>) -> UnlinkNotification {
    let value = |name: &str| {
        form.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    UnlinkNotification {
        client_id: value("clientId"),
        encrypt_unique_id: value("encryptUniqueId"),
        timestamp: value("timestamp"),
        signature: value("signature"),
    }
}

#[test]
fn the_unlink_notification_is_verified_exactly_as_naver_signs_it() {
    let now = 1_780_000_000;
    for padded in [false, true] {
        let good = notification(unlink_notification_form(
            "cid",
            "secret",
            BASE64_LIKE,
            now,
            [3; 16],
            padded,
        ));
        assert_eq!(
            good.verify("cid", "secret", now + 10).as_deref(),
            Ok(BASE64_LIKE)
        );
        assert_eq!(
            good.verify("cid", "another secret", now),
            Err(UnlinkRefused::BadSignature)
        );
        assert_eq!(
            good.verify("cid", "secret", now + 301),
            Err(UnlinkRefused::StaleTimestamp)
        );
        assert_eq!(
            good.verify("cid", "secret", now - 301),
            Err(UnlinkRefused::StaleTimestamp)
        );
    }
    let other_app = notification(unlink_notification_form(
        "other", "secret", NUMERIC, now, [3; 16], false,
    ));
    assert_eq!(
        other_app.verify("cid", "secret", now),
        Err(UnlinkRefused::WrongClient)
    );
    let mut tampered = notification(unlink_notification_form(
        "cid", "secret", NUMERIC, now, [3; 16], false,
    ));
    tampered.timestamp = (now + 1).to_string();
    assert_eq!(
        tampered.verify("cid", "secret", now),
        Err(UnlinkRefused::BadSignature)
    );
    assert_eq!(
        UnlinkNotification::default().verify("cid", "secret", now),
        Err(UnlinkRefused::BadSignature)
    );
}

/// The rig with Naver Login beside Kakao, against both emulators.
pub(crate) async fn naver_rig() -> (crate::rig::Rig, NaverEmulator) {
    let (naver, settings) = naver_emulator().await;
    let rig = crate::rig::rig_with(|k| k, move |c| c.naver(settings)).await;
    (rig, naver)
}

/// Begins a Naver login from `/accounts/oauth/login/naver/{query}`; returns Naver's
/// authorize URL.
pub(crate) async fn begin_naver<S, B>(app: &S, jar: &mut Jar, query: &str) -> url::Url
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let response = call(
        app,
        jar,
        actix_web::test::TestRequest::get().uri(&format!("/accounts/oauth/login/naver/{query}")),
    )
    .await;
    assert_eq!(response.status(), 302);
    url::Url::parse(&location(&response)).unwrap()
}

#[actix_web::test]
async fn a_naver_login_goes_through_the_same_pending_login_store_and_session() {
    let (rig, naver) = naver_rig().await;
    let app = app!(rig);
    let mut jar = Jar::default();

    let page = call(
        &app,
        &mut jar,
        actix_web::test::TestRequest::get().uri("/login/?next=%2Fx%2F"),
    )
    .await;
    assert_eq!(
        page.status(),
        200,
        "with Naver configured, a page with both buttons"
    );
    let body = String::from_utf8(actix_web::test::read_body(page).await.to_vec()).unwrap();
    assert!(
        body.contains("href=\"/accounts/oauth/login/kakao/?next=%2Fx%2F\""),
        "{body}"
    );
    assert!(
        body.contains("href=\"/accounts/oauth/login/naver/?next=%2Fx%2F\""),
        "{body}"
    );

    let authorize = begin_naver(&app, &mut jar, "?next=%2Fx%2F&prompt=login").await;
    let sent: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(sent["scope"], "openid");
    assert_eq!(sent["code_challenge_method"], "S256");
    assert_eq!(sent["auth_type"], "reauthenticate");
    assert!(!sent["nonce"].is_empty());
    assert_eq!(
        jar.pending().len(),
        1,
        "one sealed pending cookie, nothing on the server"
    );

    let callback = naver.approve(&authorize, BASE64_LIKE).await.unwrap();
    let answer = visit(&app, &mut jar, &callback).await;
    assert_eq!(location(&answer), "/x/");
    assert!(jar.pending().is_empty());
    assert!(whoami(&app, &mut jar).await.is_some());
    let login = rig.auth.store().logins.lock().unwrap()[0].clone();
    assert_eq!(login.provider(), Provider::Naver);
    assert_eq!(login.uid(), BASE64_LIKE);
    assert_eq!(
        login.user.verified_email(),
        None,
        "Naver's email is never verified"
    );
    let form = &naver.token_requests()[0].form;
    assert_eq!(form["redirect_uri"], CALLBACK);
    assert!(!form["code_verifier"].is_empty());
}

#[actix_web::test]
async fn a_kakao_login_cannot_finish_at_the_naver_callback_and_naver_failures_log_no_one_in() {
    let (rig, naver) = naver_rig().await;
    let app = app!(rig);
    let mut jar = Jar::default();
    // A Kakao login's state presented at Naver's callback.
    let kakao_authorize = begin(&app, &mut jar).await;
    let kakao_state = kakao_authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let crossed = call(
        &app,
        &mut jar,
        actix_web::test::TestRequest::get().uri(&format!(
            "/accounts/oauth/complete/naver/?code=x&state={kakao_state}"
        )),
    )
    .await;
    assert_eq!(location(&crossed), "/login/error/?reason=state_mismatch");

    // Each failure Naver answers in its own way ends on the error page, with no session
    // and nothing stored.
    type Fault = Box<dyn Fn(&NaverEmulator)>;
    let cases: [(&str, Fault); 4] = [
        (
            "invalid_code",
            Box::new(|n: &NaverEmulator| {
                n.faults().set(
                    NaverEndpoint::Token,
                    NaverFault::ErrorWithOk("invalid_request".into()),
                )
            }),
        ),
        (
            "invalid_response",
            Box::new(|n: &NaverEmulator| {
                n.faults()
                    .set(NaverEndpoint::Me, NaverFault::ResultCode("024".into()))
            }),
        ),
        (
            "invalid_id_token",
            Box::new(|n: &NaverEmulator| n.faults().set_id_token_sub(Some("someone-else".into()))),
        ),
        (
            "kakao_unavailable",
            Box::new(|n: &NaverEmulator| {
                n.faults()
                    .set(NaverEndpoint::Token, NaverFault::ServerErrorPage)
            }),
        ),
    ];
    for (reason, fault) in cases {
        naver.faults().clear();
        fault(&naver);
        let mut jar = Jar::default();
        let authorize = begin_naver(&app, &mut jar, "").await;
        let callback = naver.approve(&authorize, NUMERIC).await.unwrap();
        let answer = visit(&app, &mut jar, &callback).await;
        assert_eq!(
            location(&answer),
            format!("/login/error/?reason={reason}"),
            "{reason}"
        );
        assert!(whoami(&app, &mut jar).await.is_none(), "{reason}");
    }
    assert!(rig.auth.store().logins.lock().unwrap().is_empty());
    let denied = {
        naver.faults().clear();
        let mut jar = Jar::default();
        let authorize = begin_naver(&app, &mut jar, "").await;
        let callback = naver
            .consent(&authorize, kakao_emulator::naver::NaverDecision::Cancel)
            .await
            .unwrap();
        location(&visit(&app, &mut jar, &callback).await)
    };
    assert_eq!(denied, "/login/error/?reason=access_denied");
}

#[actix_web::test]
async fn without_naver_its_routes_are_not_mounted_and_login_redirects_to_kakao() {
    let rig = crate::rig::rig(std::time::Duration::from_secs(60)).await;
    let app = app!(rig);
    let mut jar = Jar::default();
    for path in [
        "/accounts/oauth/login/naver/",
        "/accounts/oauth/complete/naver/?code=x&state=y",
    ] {
        let answer = call(
            &app,
            &mut jar,
            actix_web::test::TestRequest::get().uri(path),
        )
        .await;
        assert_eq!(answer.status(), 404, "{path}");
    }
    let login = call(
        &app,
        &mut jar,
        actix_web::test::TestRequest::get().uri("/login/"),
    )
    .await;
    assert_eq!(location(&login), "/accounts/oauth/login/kakao/");
}

#[actix_web::test]
async fn every_bad_naver_id_token_fails_the_login_and_a_missing_nonce_does_not() {
    use kakao_emulator::IdTokenFault;
    let (rig, naver) = naver_rig().await;
    let app = app!(rig);
    for fault in IdTokenFault::ALL {
        naver.faults().set_id_token(Some(fault));
        let mut jar = Jar::default();
        let authorize = begin_naver(&app, &mut jar, "").await;
        let callback = naver.approve(&authorize, NUMERIC).await.unwrap();
        let landing = location(&visit(&app, &mut jar, &callback).await);
        if fault == IdTokenFault::MissingNonce {
            // Naver does not document echoing the nonce: a token without one passes.
            assert_eq!(landing, "/", "{fault:?}");
            assert!(whoami(&app, &mut jar).await.is_some(), "{fault:?}");
        } else {
            assert_eq!(
                landing, "/login/error/?reason=invalid_id_token",
                "{fault:?}"
            );
            assert!(whoami(&app, &mut jar).await.is_none(), "{fault:?}");
        }
    }
    assert_eq!(
        rig.auth.store().logins.lock().unwrap().len(),
        1,
        "only the token without a nonce reached the store"
    );
}

#[actix_web::test]
async fn a_forged_or_missing_state_at_the_naver_callback_logs_no_one_in() {
    let (rig, naver) = naver_rig().await;
    let app = app!(rig);
    let mut jar = Jar::default();
    let authorize = begin_naver(&app, &mut jar, "").await;
    let callback = naver.approve(&authorize, NUMERIC).await.unwrap();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    for query in [format!("code={code}&state=forged"), format!("code={code}")] {
        let answer = call(
            &app,
            &mut jar,
            actix_web::test::TestRequest::get()
                .uri(&format!("/accounts/oauth/complete/naver/?{query}")),
        )
        .await;
        assert_eq!(
            location(&answer),
            "/login/error/?reason=state_mismatch",
            "{query}"
        );
    }
    assert!(whoami(&app, &mut jar).await.is_none());
    assert!(
        naver.token_requests().is_empty(),
        "a forged state never reaches Naver"
    );
}
