//! The Naver emulator, driven over real HTTP the way a browser and a Naver client would.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use kakao_emulator::naver::{
    unlink_notification_form, NaverDecision, NaverEmulator, NaverEndpoint, NaverFault,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

const CALLBACK: &str = "http://app.test/accounts/oauth/complete/naver/";
const NUMERIC: &str = "32742776";
const BASE64_LIKE: &str = "Ab3dE+f/GhI9jKlMnOpQrStUvWxYz0123456789+/AbC=";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn naver() -> NaverEmulator {
    NaverEmulator::builder()
        .redirect_uri(CALLBACK)
        .start()
        .await
        .unwrap()
}

/// The OIDC authorize URL with PKCE over `verifier`, `state` and `nonce`.
fn authorize_url(naver: &NaverEmulator, verifier: &str, nonce: Option<&str>) -> Url {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = naver.base_url().join("oauth2/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", naver.client_id())
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("state", "st-123")
        .append_pair("scope", "openid")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if let Some(nonce) = nonce {
        url.query_pairs_mut().append_pair("nonce", nonce);
    }
    url
}

fn params(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// Redeems `code` at `path` with `secret` and `verifier`; returns the status and JSON.
async fn redeem(
    naver: &NaverEmulator,
    path: &str,
    code: &str,
    secret: &str,
    verifier: &str,
) -> (u16, Value) {
    let response = http()
        .post(naver.base_url().join(path).unwrap())
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", naver.client_id()),
            ("client_secret", secret),
            ("code", code),
            ("code_verifier", verifier),
            ("state", "st-123"),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn me(naver: &NaverEmulator, token: Option<&str>) -> (u16, Value) {
    let mut request = http().get(naver.base_url().join("v1/nid/me").unwrap());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A login through the OIDC family as `user`; returns the token answer.
async fn log_in(naver: &NaverEmulator, user: &str, decision: Option<NaverDecision>) -> Value {
    let verifier = "v".repeat(43);
    let authorize = authorize_url(naver, &verifier, Some("n-1"));
    let decision = decision.unwrap_or_else(|| NaverDecision::Approve(user.to_owned()));
    let callback = naver.consent(&authorize, decision).await.unwrap();
    let (status, tokens) = redeem(
        naver,
        "oauth2/token",
        &params(&callback)["code"],
        naver.client_secret(),
        &verifier,
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// Verifies `token` against the emulator's JWKS, `iss` and `aud`; returns the claims.
async fn verified_claims(naver: &NaverEmulator, token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = http()
        .get(naver.base_url().join("oauth2/jwks").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let jwk = jwks.find(&kid).expect("the signing key is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[naver.issuer()]);
    validation.set_audience(&[naver.client_id()]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

#[actix_web::test]
async fn an_oidc_login_gives_string_expiry_a_verifiable_id_token_and_the_profile() {
    let naver = naver().await;
    let tokens = log_in(&naver, BASE64_LIKE, None).await;
    assert_eq!(
        tokens["expires_in"], "3600",
        "a JSON string, as Naver sends"
    );
    assert_eq!(tokens["token_type"], "bearer");
    let access = tokens["access_token"].as_str().unwrap();
    assert!(
        access.contains('+') && access.contains('/') && access.ends_with('='),
        "{access}"
    );
    let claims = verified_claims(&naver, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], BASE64_LIKE);
    assert_eq!(claims["nonce"], "n-1");

    let (status, profile) = me(&naver, Some(access)).await;
    assert_eq!(status, 200);
    assert_eq!(profile["resultcode"], "00");
    assert_eq!(profile["response"]["id"], claims["sub"]);
    assert_eq!(profile["response"]["email"], "green@example.com");
    assert_eq!(
        naver.me_requests()[0].authorization.as_deref(),
        Some(format!("Bearer {access}").as_str())
    );
}

#[actix_web::test]
async fn a_code_is_single_use_and_a_wrong_verifier_or_secret_is_refused() {
    let naver = naver().await;
    let verifier = "w".repeat(43);
    let callback = naver
        .approve(&authorize_url(&naver, &verifier, None), NUMERIC)
        .await
        .unwrap();
    assert_eq!(params(&callback)["state"], "st-123");
    let code = params(&callback)["code"].clone();

    let (status, bad_secret) = redeem(&naver, "oauth2/token", &code, "wrong", &verifier).await;
    assert_eq!(
        (status, &bad_secret["error"]),
        (401, &Value::from("invalid_client"))
    );
    let (status, bad_verifier) =
        redeem(&naver, "oauth2/token", &code, naver.client_secret(), "x").await;
    assert_eq!(
        (status, &bad_verifier["error"]),
        (400, &Value::from("invalid_grant"))
    );
    // The failed attempt spent the code: Naver's 200 with an error body.
    let (status, reused) = redeem(
        &naver,
        "oauth2/token",
        &code,
        naver.client_secret(),
        &verifier,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(reused["error"], "invalid_request");
    assert_eq!(reused["error_description"], "no valid data in session");
    assert!(reused.get("access_token").is_none());

    // The classic family answers a bad client with 200 too.
    let (status, classic) = redeem(&naver, "oauth2.0/token", "x", "wrong", "").await;
    assert_eq!(
        (status, &classic["error"]),
        (200, &Value::from("invalid_client"))
    );
}

#[actix_web::test]
async fn bad_authorize_requests_get_an_error_page_or_an_error_redirect() {
    let naver = naver().await;
    let mut unknown = authorize_url(&naver, "v", None);
    unknown
        .query_pairs_mut()
        .clear()
        .append_pair("response_type", "code")
        .append_pair("client_id", naver.client_id())
        .append_pair("redirect_uri", "http://evil.example/cb")
        .append_pair("state", "s");
    let page = http().get(unknown).send().await.unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.headers().get("location").is_none(), "never redirected");

    let mut no_state = naver.base_url().join("oauth2/authorize").unwrap();
    no_state
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", naver.client_id())
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("scope", "openid");
    let answer = http().get(no_state).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let back = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(params(&back)["error"], "invalid_request");

    let cancelled = naver
        .consent(&authorize_url(&naver, "v", None), NaverDecision::Cancel)
        .await
        .unwrap();
    let cancelled = params(&cancelled);
    assert_eq!(cancelled["error"], "access_denied");
    assert_eq!(cancelled["state"], "st-123");
}

#[actix_web::test]
async fn declined_items_are_missing_and_refresh_returns_no_refresh_token() {
    let naver = naver().await;
    let tokens = log_in(
        &naver,
        NUMERIC,
        Some(NaverDecision::ApproveDeclining(
            NUMERIC.to_owned(),
            vec!["email".to_owned()],
        )),
    )
    .await;
    let (_, profile) = me(&naver, tokens["access_token"].as_str()).await;
    assert_eq!(profile["response"]["id"], NUMERIC);
    assert!(profile["response"].get("email").is_none(), "{profile}");
    assert_eq!(profile["response"]["nickname"], "네이버사용자");

    let refreshed: Value = http()
        .post(naver.base_url().join("oauth2/token").unwrap())
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", naver.client_id()),
            ("client_secret", naver.client_secret()),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(refreshed["access_token"].is_string());
    assert!(refreshed.get("refresh_token").is_none(), "{refreshed}");
    assert_eq!(me(&naver, refreshed["access_token"].as_str()).await.0, 200);
}

async fn revoke(naver: &NaverEmulator, secret: &str, token: &str) -> (u16, String) {
    let response = http()
        .post(naver.base_url().join("oauth2.0/revoke").unwrap())
        .form(&[
            ("client_id", naver.client_id()),
            ("client_secret", secret),
            ("token", token),
        ])
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

#[actix_web::test]
async fn revoking_the_refresh_token_kills_its_access_token_and_dead_tokens_answer_024() {
    let naver = naver().await;
    let tokens = log_in(&naver, NUMERIC, None).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        revoke(&naver, "wrong", access).await.0,
        401,
        "a bad client is refused"
    );
    assert_eq!(me(&naver, Some(access)).await.0, 200);
    let (status, body) = revoke(
        &naver,
        naver.client_secret(),
        tokens["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, ""));
    let (status, dead) = me(&naver, Some(access)).await;
    assert_eq!((status, &dead["resultcode"]), (401, &Value::from("024")));
    assert_eq!(
        revoke(&naver, naver.client_secret(), "unknown").await.0,
        200,
        "an unknown token is fine, as at Naver"
    );
    let (status, missing) = me(&naver, None).await;
    assert_eq!((status, &missing["resultcode"]), (401, &Value::from("028")));
    naver.faults().set_me_errors_with_ok(true);
    assert_eq!(me(&naver, Some(access)).await.0, 200, "024 with 200");
    assert_eq!(naver.revoke_requests().len(), 3);
}

#[actix_web::test]
async fn faults_answer_instead_of_the_endpoints() {
    let naver = naver().await;
    naver.faults().set_expires_in_as_number(true);
    naver
        .faults()
        .set_id_token_sub(Some("someone-else".to_owned()));
    let tokens = log_in(&naver, NUMERIC, None).await;
    assert_eq!(tokens["expires_in"], 3600);
    let claims = verified_claims(&naver, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "someone-else");

    naver
        .faults()
        .set(NaverEndpoint::Me, NaverFault::ResultCode("403".to_owned()));
    let (status, body) = me(&naver, tokens["access_token"].as_str()).await;
    assert_eq!((status, &body["resultcode"]), (200, &Value::from("403")));
    assert!(body.get("response").is_none());

    naver.faults().set(
        NaverEndpoint::Token,
        NaverFault::ErrorWithOk("server_error".to_owned()),
    );
    let (status, body) = redeem(&naver, "oauth2/token", "c", naver.client_secret(), "v").await;
    assert_eq!(
        (status, &body["error"]),
        (200, &Value::from("server_error"))
    );
    naver
        .faults()
        .set(NaverEndpoint::Token, NaverFault::Unavailable);
    let (status, body) = redeem(&naver, "oauth2/token", "c", naver.client_secret(), "v").await;
    assert_eq!(
        (status, &body["error"]),
        (503, &Value::from("temporarily_unavailable"))
    );
    naver.faults().clear();
    let rotated_from = log_in(&naver, NUMERIC, None).await;
    naver.rotate_signing_key();
    let rotated = log_in(&naver, NUMERIC, None).await;
    let kid = |t: &Value| {
        jsonwebtoken::decode_header(t["id_token"].as_str().unwrap())
            .unwrap()
            .kid
    };
    assert_ne!(kid(&rotated_from), kid(&rotated));
    verified_claims(&naver, rotated["id_token"].as_str().unwrap()).await;
}

/// Opens an unlink notification as an app must: MD5 key, HMAC over the three fields,
/// AES-128-CBC id after a 16-byte IV.
fn open_notification(secret: &str, form: &HashMap<String, String>) -> Option<String> {
    use aes::Aes128;
    use cbc::cipher::block_padding::Pkcs7;
    use cbc::cipher::{BlockDecryptMut, KeyIvInit};
    use hmac::Mac;
    let key: [u8; 16] = <md5::Md5 as md5::Digest>::digest(secret.as_bytes()).into();
    let decode = |text: &str| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok();
    let message = format!(
        "clientId={}&encryptUniqueId={}&timestamp={}",
        form["clientId"], form["encryptUniqueId"], form["timestamp"]
    );
    let mut mac = <hmac::Hmac<Sha256> as Mac>::new_from_slice(&key).ok()?;
    mac.update(message.as_bytes());
    mac.verify_slice(&decode(&form["signature"])?).ok()?;
    let blob = decode(&form["encryptUniqueId"])?;
    let (iv, sealed) = blob.split_at(16);
    let plain = cbc::Decryptor::<Aes128>::new(&key.into(), iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(sealed)
        .ok()?;
    String::from_utf8(plain).ok()
}

#[test]
fn the_unlink_notification_form_opens_with_the_secret_padded_or_not() {
    for padded in [false, true] {
        let form: HashMap<String, String> =
            unlink_notification_form("cid", "secret", BASE64_LIKE, 1_700_000_000, [9; 16], padded)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
        assert_eq!(
            open_notification("secret", &form).as_deref(),
            Some(BASE64_LIKE)
        );
        assert_eq!(open_notification("other secret", &form), None);
        assert_eq!(form["signature"].contains('='), padded);
        assert!(URL_SAFE.decode(&form["encryptUniqueId"]).is_ok() || !padded);
    }
}

#[actix_web::test]
async fn send_unlink_notification_posts_a_signed_form_and_revokes_the_users_tokens() {
    let naver = naver().await;
    let tokens = log_in(&naver, NUMERIC, None).await;
    let received: Arc<Mutex<Vec<HashMap<String, String>>>> = Arc::default();
    let sink = Arc::clone(&received);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = Url::parse(&format!("http://{}/unlink", listener.local_addr().unwrap())).unwrap();
    let server = actix_web::HttpServer::new(move || {
        let sink = Arc::clone(&sink);
        actix_web::App::new().route(
            "/unlink",
            actix_web::web::post().to(
                move |form: actix_web::web::Form<HashMap<String, String>>| {
                    let sink = Arc::clone(&sink);
                    async move {
                        sink.lock().unwrap().push(form.into_inner());
                        actix_web::HttpResponse::NoContent().finish()
                    }
                },
            ),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let status = naver.send_unlink_notification(&url, NUMERIC).await.unwrap();
    assert_eq!(status, 204);
    let form = received.lock().unwrap()[0].clone();
    assert_eq!(form["clientId"], naver.client_id());
    let now = chrono::Utc::now().timestamp();
    let sent: i64 = form["timestamp"].parse().unwrap();
    assert!((now - sent).abs() < 60);
    assert_eq!(
        open_notification(naver.client_secret(), &form).as_deref(),
        Some(NUMERIC)
    );
    assert_eq!(
        me(&naver, tokens["access_token"].as_str()).await.0,
        401,
        "Naver revoked the user's tokens first"
    );
    handle.stop(true).await;
}
