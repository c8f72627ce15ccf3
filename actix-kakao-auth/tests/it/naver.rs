//! The Naver client against the Naver emulator: the OpenID Connect path end to end, each
//! failure Naver answers in its own way, refresh, revoke, and the unlink notification.

use actix_kakao_auth::kakao::oidc::IdTokenError;
use actix_kakao_auth::kakao::secret::AccessToken;
use actix_kakao_auth::naver::{
    NaverApiError, NaverAuthorize, NaverClient, NaverSettings, UnlinkNotification, UnlinkRefused,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use kakao_emulator::naver::{unlink_notification_form, NaverEmulator, NaverEndpoint, NaverFault};
use sha2::{Digest, Sha256};

const CALLBACK: &str = "http://app.test/accounts/oauth/complete/naver/";
const BASE64_LIKE: &str = "Ab3dE+f/GhI9jKlMnOpQrStUvWxYz0123456789+/AbC=";
const NUMERIC: &str = "32742776";

struct Setup {
    naver: NaverEmulator,
    client: NaverClient,
}

async fn setup() -> Setup {
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
