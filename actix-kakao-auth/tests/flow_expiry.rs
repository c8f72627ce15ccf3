//! A started login (state, PKCE verifier, nonce) expires after `login_flow_ttl`: the
//! callback of a login begun too long ago is refused before the code is redeemed.
#![cfg(feature = "emulator")]
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use actix_kakao_auth::emulator::{KakaoEmulator, UserChoice};
use actix_kakao_auth::store::{AuthUser, KakaoLogin, KakaoUserStore};
use actix_kakao_auth::{CurrentUser, KakaoAuth, KakaoAuthConfig};
use actix_session::storage::CookieSessionStore;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::{test, web, App};

const CALLBACK: &str = "http://app.test/cb/";

/// A minimal store: Kakao id → local id.
#[derive(Default)]
struct MemoryStore(Mutex<HashMap<i64, usize>>);

struct LocalUser(usize);

impl AuthUser for LocalUser {
    fn auth_id(&self) -> String {
        self.0.to_string()
    }
}

impl KakaoUserStore for MemoryStore {
    type User = LocalUser;
    type Error = std::io::Error;

    async fn find_or_create_user(&self, login: &KakaoLogin) -> Result<LocalUser, std::io::Error> {
        let mut users = self.0.lock().unwrap();
        let next = users.len() + 1;
        Ok(LocalUser(*users.entry(login.user.id).or_insert(next)))
    }
}

fn location(response: &ServiceResponse) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

fn session_cookie(response: &ServiceResponse) -> Option<String> {
    response
        .response()
        .cookies()
        .find(|c| c.name() == "sessionid")
        .map(|c| format!("sessionid={}", c.value()))
}

/// Begins a login, consents as 1001 after `wait`, and returns the callback's answer.
async fn login_after(wait: Duration) -> (KakaoEmulator, ServiceResponse) {
    let kakao = KakaoEmulator::builder()
        .redirect_uri(CALLBACK)
        .start()
        .await
        .unwrap();
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    let config = KakaoAuthConfig::builder(kakao.client_id(), CALLBACK)
        .auth_base_url(base.clone())
        .api_base_url(base)
        .login_flow_ttl(Duration::from_secs(1))
        .build()
        .unwrap();
    let auth = KakaoAuth::new(config, MemoryStore::default()).unwrap();
    let app = test::init_service(
        App::new()
            .configure(auth.routes())
            .route(
                "/whoami",
                web::get().to(|user: CurrentUser| async move { user.id().to_owned() }),
            )
            .wrap(auth.middleware(CookieSessionStore::default())),
    )
    .await;
    let begin = app
        .call(
            test::TestRequest::get()
                .uri("/accounts/oauth/login/kakao/")
                .to_request(),
        )
        .await
        .unwrap();
    let cookie = session_cookie(&begin).unwrap();
    let authorize = url::Url::parse(&location(&begin)).unwrap();
    let callback = kakao
        .approve(&authorize, UserChoice::Fixture(1001))
        .await
        .unwrap();
    actix_web::rt::time::sleep(wait).await;
    let answer = app
        .call(
            test::TestRequest::get()
                .uri(&format!(
                    "{}?{}",
                    callback.path(),
                    callback.query().unwrap()
                ))
                .insert_header((header::COOKIE, cookie))
                .to_request(),
        )
        .await
        .unwrap();
    if location(&answer) == "/" {
        let who = app
            .call(
                test::TestRequest::get()
                    .uri("/whoami")
                    .insert_header((header::COOKIE, session_cookie(&answer).unwrap()))
                    .to_request(),
            )
            .await
            .unwrap();
        assert_eq!(test::read_body(who).await, "1");
    }
    (kakao, answer)
}

#[actix_web::test]
async fn a_login_completed_within_the_flow_ttl_succeeds() {
    let (kakao, answer) = login_after(Duration::ZERO).await;
    assert_eq!(location(&answer), "/");
    assert_eq!(kakao.token_requests().len(), 1);
}

#[actix_web::test]
async fn a_login_older_than_the_flow_ttl_is_refused_before_the_code_is_redeemed() {
    let (kakao, answer) = login_after(Duration::from_millis(2100)).await;
    assert_eq!(location(&answer), "/login/error/?reason=state_mismatch");
    assert!(
        kakao.token_requests().is_empty(),
        "an expired state never reaches the token endpoint"
    );
}
