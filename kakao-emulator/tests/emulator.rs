//! The Kakao emulator, driven over real HTTP the way a browser and a Kakao client would.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use kakao_emulator::{
    ConsentDecision, EmulatorError, Endpoint, Fault, FixtureUser, KakaoEmulator, UserChoice,
};
use reqwest::header::{CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

const CALLBACK: &str = "http://app.test/auth/kakao/callback";
const LOGGED_OUT: &str = "http://app.test/logged-out";
const SECRET: &str = "s3cret";
const ADMIN_KEY: &str = "admin-key-123";
const ALL_SCOPES: &str = "profile_nickname,profile_image,account_email";
const JSON: &str = "application/json;charset=UTF-8";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

fn builder() -> kakao_emulator::EmulatorBuilder {
    KakaoEmulator::builder()
        .redirect_uri(CALLBACK)
        .logout_redirect_uri(LOGGED_OUT)
        .client_secret(Some(SECRET.to_owned()))
        .admin_key(Some(ADMIN_KEY.to_owned()))
}

async fn start() -> KakaoEmulator {
    builder().start().await.expect("emulator starts")
}

fn url(kakao: &KakaoEmulator, path: &str) -> Url {
    kakao.base_url().join(path).expect("url")
}

/// `/oauth/authorize` with client_id, redirect_uri and response_type=code, plus `extra`.
fn authorize_url(kakao: &KakaoEmulator, extra: &[(&str, &str)]) -> Url {
    let mut u = url(kakao, "oauth/authorize");
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("client_id", kakao.client_id())
            .append_pair("redirect_uri", CALLBACK)
            .append_pair("response_type", "code");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    u
}

fn param(u: &Url, name: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn code_for(kakao: &KakaoEmulator, choice: UserChoice, extra: &[(&str, &str)]) -> String {
    let callback = kakao
        .approve(&authorize_url(kakao, extra), choice)
        .await
        .expect("consent redirects");
    param(&callback, "code").expect("callback has a code")
}

async fn post_token(kakao: &KakaoEmulator, form: &[(&str, &str)]) -> reqwest::Response {
    http()
        .post(url(kakao, "oauth/token"))
        .form(form)
        .send()
        .await
        .expect("token request")
}

/// A token request from the registered client (`grant_type`, its id and secret, then
/// `params`), as status and JSON body.
async fn client_token_request(
    kakao: &KakaoEmulator,
    grant_type: &str,
    params: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", grant_type),
        ("client_id", kakao.client_id()),
        ("client_secret", SECRET),
    ];
    form.extend_from_slice(params);
    json_of(post_token(kakao, &form).await).await
}

async fn exchange(kakao: &KakaoEmulator, code: &str) -> reqwest::Response {
    post_token(
        kakao,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", kakao.client_id()),
            ("client_secret", SECRET),
            ("redirect_uri", CALLBACK),
            ("code", code),
        ],
    )
    .await
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, value)
}

/// Logs `choice` in with every scope and returns the token response.
async fn tokens(kakao: &KakaoEmulator, choice: UserChoice) -> Value {
    let code = code_for(kakao, choice, &[("scope", ALL_SCOPES)]).await;
    let (status, body) = json_of(exchange(kakao, &code).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

async fn user_me(kakao: &KakaoEmulator, token: &str) -> reqwest::Response {
    http()
        .get(url(kakao, "v2/user/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("user/me request")
}

async fn refresh(kakao: &KakaoEmulator, refresh_token: &str) -> (u16, Value) {
    client_token_request(kakao, "refresh_token", &[("refresh_token", refresh_token)]).await
}

async fn assert_invalid_token(response: reqwest::Response) {
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok()),
        Some("Bearer error=invalid_token")
    );
    let (_, body) = json_of(response).await;
    assert_eq!(body["code"], -401);
    assert_eq!(body["msg"], "this access token does not exist");
}

async fn page(u: Url) -> (u16, Option<String>, String) {
    let response = http().get(u).send().await.expect("GET");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, location, response.text().await.expect("body"))
}

#[actix_web::test]
async fn authorize_configuration_errors_are_pages_not_redirects() {
    let kakao = start().await;
    let base = |client: &str, redirect: &str, rtype: &str, scope: Option<&str>| {
        let mut u = url(&kakao, "oauth/authorize");
        u.query_pairs_mut()
            .append_pair("client_id", client)
            .append_pair("redirect_uri", redirect)
            .append_pair("response_type", rtype);
        if let Some(scope) = scope {
            u.query_pairs_mut().append_pair("scope", scope);
        }
        u
    };
    let cases = [
        (base("nope", CALLBACK, "code", None), "KOE101"),
        (
            base(kakao.client_id(), "http://evil.test/cb", "code", None),
            "KOE006",
        ),
        (
            base(
                kakao.client_id(),
                CALLBACK,
                "code",
                Some("profile_nickname,gender"),
            ),
            "KOE205",
        ),
        (base(kakao.client_id(), CALLBACK, "token", None), "KOE202"),
        (
            base(kakao.client_id(), CALLBACK, "id_token", None),
            "KOE201",
        ),
    ];
    for (u, koe) in cases {
        let (status, location, html) = page(u.clone()).await;
        assert!(status == 400 || status == 401, "{koe}: status {status}");
        assert_eq!(location, None, "{koe}: must not redirect");
        assert!(html.contains(&format!("({koe})")), "{koe}: {html}");
        match kakao.consent(&u, ConsentDecision::Cancel).await {
            Err(EmulatorError::KakaoErrorPage { code }) => assert_eq!(code, koe),
            other => panic!("{koe}: expected an error page, got {other:?}"),
        }
    }
    let (_, _, html) = page(base(
        kakao.client_id(),
        CALLBACK,
        "code",
        Some("gender age_range"),
    ))
    .await;
    assert!(
        html.contains("gender") && html.contains("age_range"),
        "{html}"
    );
    kakao.stop().await;
}

#[actix_web::test]
async fn consent_page_is_marked_bilingual_and_escaped() {
    let mut users = FixtureUser::defaults();
    users[0].nickname = "<script>alert(1)</script>".to_owned();
    let kakao = builder().users(users).start().await.expect("start");
    let (status, _, html) = page(authorize_url(&kakao, &[("scope", ALL_SCOPES)])).await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"ko\">"));
    assert!(html.contains("로컬 카카오 에뮬레이터 — 실제 카카오가 아닙니다"));
    assert!(html.contains("Local Kakao emulator — not the real Kakao"));
    assert!(html.contains("동의하고 계속하기 / Agree and continue"));
    assert!(html.contains("취소 / Cancel"));
    assert!(html.contains("name=\"request_id\""));
    assert!(html.contains("account_email"));
    assert!(!html.contains("<script>"), "nickname must be escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("Muzi &amp; &lt;Friends&gt;"));
    for external in ["<link", "<script", "src=", "@import"] {
        assert!(
            !html.contains(external),
            "no external resources or scripts: {external}"
        );
    }
    kakao.stop().await;
}

#[actix_web::test]
async fn approve_redirects_with_code_and_state_and_cancel_with_access_denied() {
    let kakao = start().await;
    let callback = kakao
        .consent(
            &authorize_url(&kakao, &[("state", "st 1/2")]),
            ConsentDecision::Approve(UserChoice::Fixture(1001)),
        )
        .await
        .expect("approve");
    assert!(callback.as_str().starts_with(CALLBACK));
    assert!(param(&callback, "code").is_some_and(|c| c.len() > 20));
    assert_eq!(param(&callback, "state").as_deref(), Some("st 1/2"));

    let no_state = kakao
        .approve(&authorize_url(&kakao, &[]), UserChoice::Fixture(1001))
        .await
        .expect("approve");
    assert_eq!(param(&no_state, "state"), None);

    let cancelled = kakao
        .consent(
            &authorize_url(&kakao, &[("state", "xyz")]),
            ConsentDecision::Cancel,
        )
        .await
        .expect("cancel");
    assert_eq!(
        cancelled.as_str(),
        format!(
            "{CALLBACK}?error=access_denied&error_description=User%20denied%20access&state=xyz"
        )
    );
    kakao.stop().await;
}

#[actix_web::test]
async fn token_exchange_success_shape_and_recording() {
    let kakao = start().await;
    let code = code_for(&kakao, UserChoice::Fixture(1001), &[("scope", ALL_SCOPES)]).await;
    let response = exchange(&kakao, &code).await;
    assert_eq!(
        response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some(JSON)
    );
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "bearer");
    assert!(!str_of(&body, "access_token").is_empty());
    assert!(!str_of(&body, "refresh_token").is_empty());
    assert_eq!(body["expires_in"], 21599);
    assert_eq!(body["refresh_token_expires_in"], 5183999);
    assert_eq!(
        body["scope"],
        "profile_nickname profile_image account_email"
    );
    assert!(body.get("id_token").is_none());

    let recorded = kakao.token_requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(recorded[0].path, "/oauth/token");
    assert_eq!(
        recorded[0].form.get("client_secret").map(String::as_str),
        Some(SECRET)
    );
    assert_eq!(recorded[0].form.get("code"), Some(&code));
    kakao.stop().await;
}

#[actix_web::test]
async fn codes_are_single_use_and_bound_to_the_redirect_uri() {
    let kakao = start().await;
    let code = code_for(&kakao, UserChoice::Fixture(1001), &[]).await;
    assert_eq!(exchange(&kakao, &code).await.status().as_u16(), 200);
    let (status, body) = json_of(exchange(&kakao, &code).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_code"], "KOE320");
    assert_eq!(
        body["error_description"],
        format!("authorization code not found for code={code}")
    );

    let code = code_for(&kakao, UserChoice::Fixture(1001), &[]).await;
    let (status, body) = client_token_request(
        &kakao,
        "authorization_code",
        &[("redirect_uri", "http://app.test/other"), ("code", &code)],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "KOE303");
    assert_eq!(body["error_description"], "Redirect URI mismatch.");
    // The failed attempt consumed the code.
    let (_, body) = json_of(exchange(&kakao, &code).await).await;
    assert_eq!(body["error_code"], "KOE320");
    kakao.stop().await;
}

#[actix_web::test]
async fn client_authentication() {
    let kakao = start().await;
    let code = code_for(&kakao, UserChoice::Fixture(1001), &[]).await;
    let without_secret = [
        ("grant_type", "authorization_code"),
        ("client_id", kakao.client_id()),
        ("redirect_uri", CALLBACK),
        ("code", code.as_str()),
    ];
    let (status, body) = json_of(post_token(&kakao, &without_secret).await).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_description"], "Bad client credentials");
    assert_eq!(body["error_code"], "KOE010");

    let mut wrong = without_secret.to_vec();
    wrong.push(("client_secret", "wrong"));
    let (status, body) = json_of(post_token(&kakao, &wrong).await).await;
    assert_eq!((status, body["error_code"].as_str()), (401, Some("KOE010")));

    // HTTP Basic does not count.
    let response = http()
        .post(url(&kakao, "oauth/token"))
        .basic_auth(kakao.client_id(), Some(SECRET))
        .form(&without_secret)
        .send()
        .await
        .expect("token request");
    let (status, body) = json_of(response).await;
    assert_eq!((status, body["error_code"].as_str()), (401, Some("KOE010")));

    let (status, body) = json_of(
        post_token(
            &kakao,
            &[("grant_type", "authorization_code"), ("client_id", "other")],
        )
        .await,
    )
    .await;
    assert_eq!((status, body["error_code"].as_str()), (401, Some("KOE101")));
    assert_eq!(body["error"], "invalid_client");

    // Client checks come first and did not consume the code.
    assert_eq!(exchange(&kakao, &code).await.status().as_u16(), 200);
    kakao.stop().await;
}

#[actix_web::test]
async fn pkce_s256_is_enforced() {
    let kakao = start().await;
    let verifier = "a-very-long-verifier-with-enough-entropy-0123456789abcdef";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let redeem = |code: String, verifier: Option<&'static str>| {
        let kakao = &kakao;
        async move {
            let mut params = vec![("redirect_uri", CALLBACK), ("code", code.as_str())];
            if let Some(v) = verifier {
                params.push(("code_verifier", v));
            }
            client_token_request(kakao, "authorization_code", &params).await
        }
    };
    let code = code_for(&kakao, UserChoice::Fixture(1001), &pkce).await;
    let (status, body) = redeem(code, Some("not-the-verifier")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let code = code_for(&kakao, UserChoice::Fixture(1001), &pkce).await;
    let (status, body) = redeem(code, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let code = code_for(&kakao, UserChoice::Fixture(1001), &pkce).await;
    let (status, body) = redeem(code, Some(verifier)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        kakao
            .token_requests()
            .last()
            .and_then(|r| r.form.get("code_verifier").cloned())
            .as_deref(),
        Some(verifier)
    );

    // Only S256: `plain` is an invalid_request redirect.
    let callback = kakao
        .consent(
            &authorize_url(
                &kakao,
                &[
                    ("code_challenge", verifier),
                    ("code_challenge_method", "plain"),
                    ("state", "s"),
                ],
            ),
            ConsentDecision::Approve(UserChoice::Fixture(1001)),
        )
        .await
        .expect("redirect");
    assert_eq!(
        param(&callback, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(param(&callback, "state").as_deref(), Some("s"));
    kakao.stop().await;
}

#[actix_web::test]
async fn expired_codes_are_rejected() {
    let kakao = builder()
        .code_ttl(Duration::from_millis(1))
        .start()
        .await
        .expect("start");
    let code = code_for(&kakao, UserChoice::Fixture(1001), &[]).await;
    actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    let (status, body) = json_of(exchange(&kakao, &code).await).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("KOE320")));
    kakao.stop().await;
}

#[actix_web::test]
async fn user_me_shapes_for_each_fixture() {
    let kakao = start().await;
    let base = kakao.base_url();

    // 1001: everything, email verified, own picture.
    let t = tokens(&kakao, UserChoice::Fixture(1001)).await;
    let response = user_me(&kakao, str_of(&t, "access_token")).await;
    assert_eq!(
        response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some(JSON)
    );
    let (status, me) = json_of(response).await;
    assert_eq!(status, 200);
    assert_eq!(me["id"], 1001);
    assert!(str_of(&me, "connected_at").ends_with('Z'));
    let account = &me["kakao_account"];
    assert_eq!(account["profile_nickname_needs_agreement"], false);
    assert_eq!(account["profile"]["nickname"], "라이언");
    assert_eq!(account["profile"]["is_default_image"], false);
    assert_eq!(account["email_needs_agreement"], false);
    assert_eq!(account["is_email_valid"], true);
    assert_eq!(account["is_email_verified"], true);
    assert_eq!(account["email"], "ryan@kakao.example");
    assert_eq!(me["properties"]["nickname"], "라이언");
    let image = str_of(&account["profile"], "profile_image_url").to_owned();
    assert!(image.starts_with(base.as_str()), "{image}");
    let avatar = http().get(&image).send().await.expect("avatar");
    assert_eq!(avatar.status().as_u16(), 200);
    assert_eq!(
        avatar
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("image/svg+xml")
    );
    assert!(avatar.text().await.expect("svg").starts_with("<svg"));
    let thumb = str_of(&account["profile"], "thumbnail_image_url").to_owned();
    assert_eq!(
        http()
            .get(&thumb)
            .send()
            .await
            .expect("thumb")
            .status()
            .as_u16(),
        200
    );

    // 1002: no email consent.
    let t = tokens(&kakao, UserChoice::Fixture(1002)).await;
    let (_, me) = json_of(user_me(&kakao, str_of(&t, "access_token")).await).await;
    let account = me["kakao_account"].as_object().expect("account");
    assert_eq!(
        account.get("email_needs_agreement"),
        Some(&Value::Bool(true))
    );
    for absent in ["email", "is_email_valid", "is_email_verified"] {
        assert!(
            !account.contains_key(absent),
            "{absent} must be absent: {me}"
        );
    }

    // 춘식이: id above 2^53, printed exactly; email unverified.
    let t = tokens(&kakao, UserChoice::Fixture(9_007_199_254_740_993)).await;
    let raw = user_me(&kakao, str_of(&t, "access_token"))
        .await
        .text()
        .await
        .expect("body");
    assert!(raw.contains("\"id\":9007199254740993"), "{raw}");
    let me: Value = serde_json::from_str(&raw).expect("json");
    assert_eq!(me["kakao_account"]["is_email_verified"], false);
    assert_eq!(me["kakao_account"]["email"], "choonsik@kakao.example");

    // 1004: default picture, escaped-looking nickname kept verbatim in JSON.
    let t = tokens(&kakao, UserChoice::Fixture(1004)).await;
    let (_, me) = json_of(user_me(&kakao, str_of(&t, "access_token")).await).await;
    assert_eq!(
        me["kakao_account"]["profile"]["nickname"],
        "Muzi & <Friends>"
    );
    assert_eq!(me["kakao_account"]["profile"]["is_default_image"], true);
    assert_eq!(me["kakao_account"]["email"], "muzi@kakao.example");

    // Only the nickname granted: no picture, no email.
    let code = code_for(
        &kakao,
        UserChoice::Fixture(1001),
        &[("scope", "profile_nickname")],
    )
    .await;
    let (_, t) = json_of(exchange(&kakao, &code).await).await;
    assert_eq!(t["scope"], "profile_nickname");
    let (_, me) = json_of(user_me(&kakao, str_of(&t, "access_token")).await).await;
    let account = &me["kakao_account"];
    assert_eq!(account["profile_image_needs_agreement"], true);
    assert_eq!(account["email_needs_agreement"], true);
    assert!(account.get("email").is_none());
    assert!(account["profile"].get("profile_image_url").is_none());
    assert_eq!(account["profile"]["nickname"], "라이언");

    // property_keys narrows the answer.
    let response = http()
        .post(url(&kakao, "v2/user/me"))
        .bearer_auth(str_of(&t, "access_token"))
        .form(&[
            ("property_keys", "[\"kakao_account.email\"]"),
            ("secure_resource", "true"),
        ])
        .send()
        .await
        .expect("user/me");
    let (_, me) = json_of(response).await;
    assert!(me["kakao_account"].get("profile").is_none(), "{me}");
    assert!(me.get("properties").is_none(), "{me}");
    assert_eq!(me["kakao_account"]["email_needs_agreement"], true);
    assert_eq!(
        kakao
            .user_me_requests()
            .last()
            .map(|r| r.method.clone())
            .as_deref(),
        Some("POST")
    );
    kakao.stop().await;
}

#[actix_web::test]
async fn user_me_with_the_admin_key() {
    let kakao = start().await;
    tokens(&kakao, UserChoice::Fixture(1001)).await;
    let admin = |key: &str, target: &str| {
        http()
            .get(url(&kakao, "v2/user/me"))
            .header("Authorization", format!("KakaoAK {key}"))
            .query(&[("target_id_type", "user_id"), ("target_id", target)])
            .send()
    };
    let (status, me) = json_of(admin(ADMIN_KEY, "1001").await.expect("admin")).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], 1001);
    assert_eq!(me["kakao_account"]["email"], "ryan@kakao.example");
    let recorded = kakao.user_me_requests();
    assert_eq!(
        recorded.last().and_then(|r| r.authorization.clone()),
        Some(format!("KakaoAK {ADMIN_KEY}"))
    );
    let (status, body) = json_of(admin("wrong", "1001").await.expect("admin")).await;
    assert_eq!((status, body["code"].as_i64()), (401, Some(-401)));
    let (status, body) = json_of(admin(ADMIN_KEY, "1002").await.expect("admin")).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (400, Some(-101)),
        "not linked"
    );
    kakao.stop().await;
}

#[actix_web::test]
async fn revoked_and_unknown_tokens_get_401() {
    let kakao = start().await;
    assert_invalid_token(user_me(&kakao, "no-such-token").await).await;
    let a = tokens(&kakao, UserChoice::Fixture(1001)).await;
    let b = tokens(&kakao, UserChoice::Fixture(1002)).await;
    assert_eq!(
        user_me(&kakao, str_of(&a, "access_token"))
            .await
            .status()
            .as_u16(),
        200
    );
    kakao.revoke_tokens_of(1001);
    assert_invalid_token(user_me(&kakao, str_of(&a, "access_token")).await).await;
    let (status, body) = refresh(&kakao, str_of(&a, "refresh_token")).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("KOE322")));
    assert_eq!(
        user_me(&kakao, str_of(&b, "access_token"))
            .await
            .status()
            .as_u16(),
        200
    );
    kakao.revoke_all_tokens();
    assert_invalid_token(user_me(&kakao, str_of(&b, "access_token")).await).await;
    kakao.stop().await;
}

#[actix_web::test]
async fn access_tokens_expire() {
    let kakao = builder()
        .access_token_ttl(Duration::from_millis(200))
        .start()
        .await
        .expect("start");
    let t = tokens(&kakao, UserChoice::Fixture(1001)).await;
    assert_eq!(
        user_me(&kakao, str_of(&t, "access_token"))
            .await
            .status()
            .as_u16(),
        200
    );
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    assert_invalid_token(user_me(&kakao, str_of(&t, "access_token")).await).await;
    kakao.stop().await;
}

#[actix_web::test]
async fn access_token_info() {
    let kakao = start().await;
    let t = tokens(&kakao, UserChoice::Fixture(9_007_199_254_740_993)).await;
    let response = http()
        .get(url(&kakao, "v1/user/access_token_info"))
        .bearer_auth(str_of(&t, "access_token"))
        .send()
        .await
        .expect("info");
    let raw = response.text().await.expect("body");
    assert!(raw.contains("\"id\":9007199254740993"), "{raw}");
    let info: Value = serde_json::from_str(&raw).expect("json");
    let expires_in = info["expires_in"].as_i64().expect("expires_in");
    assert!((21_000..=21_599).contains(&expires_in), "{info}");
    assert_eq!(info["app_id"], 100001);
    kakao.stop().await;
}

#[actix_web::test]
async fn delay_fault_delays_without_blocking_other_requests() {
    let kakao = start().await;
    let t = tokens(&kakao, UserChoice::Fixture(1001)).await;
    kakao
        .faults()
        .set(Endpoint::Token, Fault::Delay(Duration::from_millis(400)));
    let started = Instant::now();
    let (status, _) = refresh(&kakao, str_of(&t, "refresh_token")).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");

    // A delay beyond the client's timeout: the client times out, others are still served.
    kakao
        .faults()
        .set(Endpoint::Token, Fault::Delay(Duration::from_secs(30)));
    let slow = http()
        .post(url(&kakao, "oauth/token"))
        .form(&[("grant_type", "refresh_token")])
        .timeout(Duration::from_millis(300))
        .send();
    let quick = async {
        let started = Instant::now();
        let status = user_me(&kakao, str_of(&t, "access_token"))
            .await
            .status()
            .as_u16();
        (status, started.elapsed())
    };
    let (slow, (status, quick_elapsed)) = tokio::join!(slow, quick);
    assert!(slow.is_err_and(|e| e.is_timeout()));
    assert_eq!(status, 200);
    assert!(quick_elapsed < Duration::from_secs(5), "{quick_elapsed:?}");
    kakao.faults().clear(Endpoint::Token);
    let (status, _) = refresh(&kakao, str_of(&t, "refresh_token")).await;
    assert_eq!(status, 200);
    kakao.stop().await;
}

#[actix_web::test]
async fn html_garbage_invalid_token_status_and_maintenance_faults() {
    let kakao = start().await;
    let t = tokens(&kakao, UserChoice::Fixture(1001)).await;
    let access = str_of(&t, "access_token").to_owned();
    let faults = kakao.faults();

    faults.set(Endpoint::Token, Fault::Html5xx(502));
    let response = post_token(&kakao, &[("grant_type", "refresh_token")]).await;
    assert_eq!(response.status().as_u16(), 502);
    assert!(response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html")));
    let text = response.text().await.expect("body");
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert!(text.contains("<html"));

    faults.set(Endpoint::Token, Fault::GarbageJson);
    let response = post_token(&kakao, &[("grant_type", "refresh_token")]).await;
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.expect("body");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");

    faults.set(Endpoint::Token, Fault::Maintenance);
    let (status, body) =
        json_of(post_token(&kakao, &[("grant_type", "refresh_token")]).await).await;
    assert_eq!((status, body["error_code"].as_str()), (503, Some("KOE003")));
    assert_eq!(body["error"], "server_error");
    faults.clear(Endpoint::Token);

    faults.set(Endpoint::UserMe, Fault::InvalidToken);
    assert_invalid_token(user_me(&kakao, &access).await).await;
    faults.set(Endpoint::UserMe, Fault::Maintenance);
    let (status, body) = json_of(user_me(&kakao, &access).await).await;
    assert_eq!((status, body["code"].as_i64()), (503, Some(-9798)));
    faults.set(
        Endpoint::UserMe,
        Fault::Status {
            status: 400,
            content_type: "application/json".to_owned(),
            body: r#"{"code":-1,"msg":"internal"}"#.to_owned(),
        },
    );
    let response = user_me(&kakao, &access).await;
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"code":-1,"msg":"internal"}"#
    );
    faults.set(Endpoint::AccessTokenInfo, Fault::InvalidToken);
    faults.clear_all();
    assert_eq!(user_me(&kakao, &access).await.status().as_u16(), 200);
    // Faulted requests are still recorded.
    assert_eq!(kakao.user_me_requests().len(), 4);

    faults.set(Endpoint::Authorize, Fault::Maintenance);
    match kakao
        .consent(&authorize_url(&kakao, &[]), ConsentDecision::Cancel)
        .await
    {
        Err(EmulatorError::KakaoErrorPage { code }) => assert_eq!(code, "KOE003"),
        other => panic!("expected KOE003, got {other:?}"),
    }
    kakao.stop().await;
}

#[actix_web::test]
async fn refresh_rotates_only_inside_the_window() {
    let kakao = start().await;
    let t = tokens(&kakao, UserChoice::Fixture(1001)).await;
    let old_refresh = str_of(&t, "refresh_token").to_owned();
    let (status, body) = refresh(&kakao, &old_refresh).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 21599);
    assert!(
        body.get("refresh_token").is_none(),
        "60 days left: no rotation: {body}"
    );
    assert!(body.get("refresh_token_expires_in").is_none());
    assert!(body.get("scope").is_none());
    let new_access = str_of(&body, "access_token");
    assert_ne!(new_access, str_of(&t, "access_token"));
    assert_eq!(user_me(&kakao, new_access).await.status().as_u16(), 200);
    assert_eq!(refresh(&kakao, &old_refresh).await.0, 200, "still valid");

    let rotating = builder()
        .refresh_rotation_window(Duration::from_secs(90 * 24 * 3600))
        .start()
        .await
        .expect("start");
    let t = tokens(&rotating, UserChoice::Fixture(1001)).await;
    let old_refresh = str_of(&t, "refresh_token").to_owned();
    let (status, body) = refresh(&rotating, &old_refresh).await;
    assert_eq!(status, 200);
    let new_refresh = str_of(&body, "refresh_token").to_owned();
    assert_ne!(new_refresh, old_refresh);
    assert_eq!(body["refresh_token_expires_in"], 5183999);
    let (status, body) = refresh(&rotating, &old_refresh).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("KOE322")));
    assert_eq!(
        body["error_description"],
        "expired_or_invalid_refresh_token"
    );
    assert_eq!(refresh(&rotating, &new_refresh).await.0, 200);
    rotating.stop().await;

    let (status, body) = refresh(&kakao, "unknown-refresh-token").await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("KOE322")));
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = client_token_request(&kakao, "refresh_token", &[]).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("KOE319")));
    let (status, body) = client_token_request(&kakao, "password", &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    kakao.stop().await;
}

#[actix_web::test]
async fn token_rate_limit_gives_koe237() {
    let kakao = builder()
        .token_rate_limit(true)
        .start()
        .await
        .expect("start");
    let t = tokens(&kakao, UserChoice::Fixture(1001)).await;
    let refresh_token = str_of(&t, "refresh_token").to_owned();
    for i in 0..19 {
        assert_eq!(refresh(&kakao, &refresh_token).await.0, 200, "refresh {i}");
    }
    let (status, body) = refresh(&kakao, &refresh_token).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("KOE237")));
    // Other users are not affected.
    tokens(&kakao, UserChoice::Fixture(1002)).await;
    kakao.stop().await;
}

#[actix_web::test]
async fn logout_and_unlink_revoke_tokens() {
    let kakao = start().await;
    let kapi_post = |path: &'static str, auth: String, form: Vec<(&'static str, String)>| {
        let u = url(&kakao, path);
        async move {
            json_of(
                http()
                    .post(u)
                    .header("Authorization", auth)
                    .form(&form)
                    .send()
                    .await
                    .expect("kapi"),
            )
            .await
        }
    };

    // Bearer logout: that token and its refresh token die, another session survives.
    let a = tokens(&kakao, UserChoice::Fixture(1001)).await;
    let b = tokens(&kakao, UserChoice::Fixture(1001)).await;
    let (status, body) = kapi_post(
        "v1/user/logout",
        format!("Bearer {}", str_of(&a, "access_token")),
        vec![],
    )
    .await;
    assert_eq!((status, body["id"].as_i64()), (200, Some(1001)));
    assert_invalid_token(user_me(&kakao, str_of(&a, "access_token")).await).await;
    assert_eq!(
        refresh(&kakao, str_of(&a, "refresh_token")).await.1["error_code"],
        "KOE322"
    );
    assert_eq!(
        user_me(&kakao, str_of(&b, "access_token"))
            .await
            .status()
            .as_u16(),
        200
    );

    // Admin logout: every token of the user.
    let admin_form = |id: &str| {
        vec![
            ("target_id_type", "user_id".to_owned()),
            ("target_id", id.to_owned()),
        ]
    };
    let (status, body) = kapi_post(
        "v1/user/logout",
        format!("KakaoAK {ADMIN_KEY}"),
        admin_form("1001"),
    )
    .await;
    assert_eq!((status, body["id"].as_i64()), (200, Some(1001)));
    assert_invalid_token(user_me(&kakao, str_of(&b, "access_token")).await).await;

    // Bearer unlink: tokens die and consent is forgotten.
    let c = tokens(&kakao, UserChoice::Fixture(1002)).await;
    let (status, body) = kapi_post(
        "v1/user/unlink",
        format!("Bearer {}", str_of(&c, "access_token")),
        vec![],
    )
    .await;
    assert_eq!((status, body["id"].as_i64()), (200, Some(1002)));
    assert_invalid_token(user_me(&kakao, str_of(&c, "access_token")).await).await;
    let (status, body) = kapi_post(
        "v1/user/unlink",
        format!("KakaoAK {ADMIN_KEY}"),
        admin_form("1002"),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (400, Some(-101)),
        "no longer linked"
    );

    // Admin unlink.
    let d = tokens(&kakao, UserChoice::Fixture(1004)).await;
    let (status, body) = kapi_post(
        "v1/user/unlink",
        format!("KakaoAK {ADMIN_KEY}"),
        admin_form("1004"),
    )
    .await;
    assert_eq!((status, body["id"].as_i64()), (200, Some(1004)));
    assert_invalid_token(user_me(&kakao, str_of(&d, "access_token")).await).await;
    kakao.stop().await;
}

#[actix_web::test]
async fn prompt_none_needs_a_linked_session_user() {
    let kakao = start().await;
    let silent = authorize_url(&kakao, &[("prompt", "none"), ("state", "p")]);
    let (status, location, _) = page(silent.clone()).await;
    assert_eq!(status, 302);
    assert_eq!(
        location.as_deref(),
        Some(
            format!("{CALLBACK}?error=consent_required&error_description=user%20consent%20required.&state=p")
                .as_str()
        )
    );
    let t = tokens(&kakao, UserChoice::Fixture(1002)).await;
    let callback = kakao
        .consent(&silent, ConsentDecision::Cancel)
        .await
        .expect("redirect");
    let code = param(&callback, "code").expect("silent login gives a code");
    let (_, t2) = json_of(exchange(&kakao, &code).await).await;
    let (_, me) = json_of(user_me(&kakao, str_of(&t2, "access_token")).await).await;
    assert_eq!(me["id"], 1002);

    // After unlink the session user is no longer linked.
    http()
        .post(url(&kakao, "v1/user/unlink"))
        .bearer_auth(str_of(&t, "access_token"))
        .send()
        .await
        .expect("unlink");
    let callback = kakao
        .consent(&silent, ConsentDecision::Cancel)
        .await
        .expect("redirect");
    assert_eq!(
        param(&callback, "error").as_deref(),
        Some("consent_required")
    );
    kakao.stop().await;
}

#[actix_web::test]
async fn logout_with_kakao_account() {
    let kakao = start().await;
    let logout = |redirect: &str, state: Option<&str>| {
        let mut u = url(&kakao, "oauth/logout");
        u.query_pairs_mut()
            .append_pair("client_id", kakao.client_id())
            .append_pair("logout_redirect_uri", redirect);
        if let Some(state) = state {
            u.query_pairs_mut().append_pair("state", state);
        }
        u
    };
    let (status, location, _) = page(logout(LOGGED_OUT, Some("a b"))).await;
    assert_eq!(status, 302);
    assert_eq!(
        location.as_deref(),
        Some(format!("{LOGGED_OUT}?state=a%20b").as_str())
    );
    let (status, location, _) = page(logout(LOGGED_OUT, None)).await;
    assert_eq!((status, location.as_deref()), (302, Some(LOGGED_OUT)));
    let (status, location, html) = page(logout("http://evil.test/", None)).await;
    assert_eq!((status, location), (400, None));
    assert!(html.contains("KOE007"), "{html}");

    // Logging out of Kakao ends the session prompt=none relies on.
    tokens(&kakao, UserChoice::Fixture(1001)).await;
    page(logout(LOGGED_OUT, None)).await;
    let (_, location, _) = page(authorize_url(&kakao, &[("prompt", "none")])).await;
    assert!(location.is_some_and(|l| l.contains("error=consent_required")));
    kakao.stop().await;
}

#[actix_web::test]
async fn typed_nicknames_are_stable_users() {
    let kakao = start().await;
    let id_of = |nickname: &'static str| {
        let kakao = &kakao;
        async move {
            let t = tokens(kakao, UserChoice::Nickname(nickname.to_owned())).await;
            let (_, me) = json_of(user_me(kakao, str_of(&t, "access_token")).await).await;
            assert_eq!(me["kakao_account"]["profile"]["nickname"], nickname);
            me["id"].as_i64().expect("id")
        }
    };
    let first = id_of("홍길동").await;
    assert_eq!(first, id_of("홍길동").await);
    assert!(first >= 3_000_000_000, "{first}");
    assert_ne!(first, id_of("홍길순").await);

    // A typed nickname with markup is escaped where the page shows it back (the avatar).
    let evil = id_of("<script>alert(1)</script>").await;
    let svg = http()
        .get(url(&kakao, &format!("emulator/avatar/{evil}.svg")))
        .send()
        .await
        .expect("avatar")
        .text()
        .await
        .expect("svg");
    assert!(!svg.contains("<script>"), "{svg}");
    kakao.stop().await;
}

#[actix_web::test]
async fn consent_form_rejects_bad_input() {
    let kakao = start().await;
    let post = |form: Vec<(&'static str, String)>| {
        let u = url(&kakao, "oauth/authorize/decision");
        async move { http().post(u).form(&form).send().await.expect("decision") }
    };
    let unknown = post(vec![
        ("request_id", "nope".into()),
        ("action", "approve".into()),
        ("user", "1001".into()),
    ])
    .await;
    assert_eq!(unknown.status().as_u16(), 400);
    let (_, _, html) = page(authorize_url(&kakao, &[])).await;
    let request_id = html
        .split("name=\"request_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("request_id")
        .to_owned();
    let empty_nickname = post(vec![
        ("request_id", request_id.clone()),
        ("action", "approve".into()),
        ("user", "custom".into()),
        ("nickname", "  ".into()),
    ])
    .await;
    assert_eq!(empty_nickname.status().as_u16(), 400);
    // The request survived the bad submission and is single use afterwards.
    let ok = post(vec![
        ("request_id", request_id.clone()),
        ("action", "approve".into()),
        ("user", "1001".into()),
    ])
    .await;
    assert_eq!(ok.status().as_u16(), 302);
    let again = post(vec![
        ("request_id", request_id),
        ("action", "approve".into()),
        ("user", "1001".into()),
    ])
    .await;
    assert_eq!(again.status().as_u16(), 400);
    kakao.stop().await;
}

#[actix_web::test]
async fn oversized_bodies_are_refused() {
    let kakao = start().await;
    let big = "x".repeat(20 * 1024);
    let response = post_token(
        &kakao,
        &[("grant_type", "authorization_code"), ("code", &big)],
    )
    .await;
    assert_eq!(response.status().as_u16(), 413);
    kakao.stop().await;
}

#[actix_web::test]
async fn unlink_webhook_is_sent_like_kakao() {
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

    type Seen = Arc<Mutex<Vec<(String, Option<String>, String)>>>;
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let server = HttpServer::new(move || {
        let sink = sink.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let sink = sink.clone();
            async move {
                let auth = req
                    .headers()
                    .get("Authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let params = if body.is_empty() {
                    req.query_string().to_owned()
                } else {
                    String::from_utf8_lossy(&body).into_owned()
                };
                sink.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((req.method().to_string(), auth, params));
                HttpResponse::Ok().finish()
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .expect("bind");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let hook = Url::parse(&format!("http://{addr}/kakao/unlink")).expect("url");

    let kakao = start().await;
    let t = tokens(&kakao, UserChoice::Fixture(1001)).await;
    let status = kakao
        .send_unlink_webhook(&hook, 1001, "UNLINK_FROM_APPS", true)
        .await
        .expect("webhook");
    assert_eq!(status, 200);
    let status = kakao
        .send_unlink_webhook(&hook, 1002, "ACCOUNT_DELETE", false)
        .await
        .expect("webhook");
    assert_eq!(status, 200);
    {
        let seen = seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert_eq!(seen.len(), 2);
        let expected_auth = Some(format!("KakaoAK {ADMIN_KEY}"));
        assert_eq!(seen[0].0, "POST");
        assert_eq!(seen[0].1, expected_auth);
        assert_eq!(
            seen[0].2,
            "app_id=100001&user_id=1001&referrer_type=UNLINK_FROM_APPS"
        );
        assert_eq!(seen[1].0, "GET");
        assert_eq!(seen[1].1, expected_auth);
        assert_eq!(
            seen[1].2,
            "app_id=100001&user_id=1002&referrer_type=ACCOUNT_DELETE"
        );
    }
    // Kakao has unlinked the user: the tokens are dead.
    assert_invalid_token(user_me(&kakao, str_of(&t, "access_token")).await).await;

    let no_admin = KakaoEmulator::builder().start().await.expect("start");
    assert!(matches!(
        no_admin
            .send_unlink_webhook(&hook, 1001, "UNLINK_FROM_APPS", true)
            .await,
        Err(EmulatorError::Unexpected(_))
    ));
    no_admin.stop().await;
    kakao.stop().await;
    handle.stop(true).await;
}

#[actix_web::test]
async fn login_hint_preselects_the_fixture_user_and_service_terms_show_as_checkboxes() {
    let kakao = builder()
        .service_term("tos", true)
        .service_term("marketing", false)
        .start()
        .await
        .expect("emulator starts");
    let (status, _, html) = page(authorize_url(
        &kakao,
        &[
            ("login_hint", "muzi@kakao.example"),
            ("service_terms", "tos,unknown_tag,marketing"),
            ("prompt", "select_account"),
        ],
    ))
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"user-1004\" name=\"user\" value=\"1004\" checked"),
        "the hinted user is preselected"
    );
    assert!(!html.contains("value=\"1001\" checked"));
    assert!(html.contains("name=\"term\" value=\"tos\" checked"));
    assert!(html.contains("name=\"term\" value=\"marketing\" checked"));
    assert!(
        !html.contains("unknown_tag"),
        "only the app's own terms show"
    );
    assert!(html.contains("(필수 · required)") && html.contains("(선택 · optional)"));
    kakao.stop().await;
}
