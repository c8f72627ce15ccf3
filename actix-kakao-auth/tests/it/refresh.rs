//! Token refresh through `KakaoAuth::access_token_for`, against the emulator, with an
//! in-memory store.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_kakao_auth::kakao::tokens::TokenError;
use actix_kakao_auth::store::{
    AuthUser, Link, LinkStore, Provider, ProviderUser, SocialLogin, Tokens, UserStore,
};
use actix_kakao_auth::{KakaoAuth, KakaoAuthConfig};
use kakao_emulator::{KakaoEmulator, UserChoice};

const REDIRECT: &str = "http://127.0.0.1:9/accounts/oauth/complete/kakao/";

#[derive(Clone, Default)]
struct MemoryStore {
    tokens: Arc<Mutex<HashMap<String, Tokens>>>,
}

#[derive(Clone)]
struct User(String);

impl AuthUser for User {
    type Id = String;
    fn id(&self) -> String {
        self.0.clone()
    }
}

impl UserStore for MemoryStore {
    type User = User;
    type Error = std::io::Error;

    async fn find_or_create(&self, login: &SocialLogin) -> Result<User, std::io::Error> {
        if let Some(tokens) = &login.tokens {
            self.tokens
                .lock()
                .unwrap()
                .insert(login.uid(), tokens.clone());
        }
        Ok(User(login.uid()))
    }

    async fn get_user(&self, id: &String) -> Result<Option<User>, std::io::Error> {
        Ok(self
            .tokens
            .lock()
            .unwrap()
            .contains_key(id)
            .then(|| User(id.clone())))
    }
}

impl LinkStore<String> for MemoryStore {
    type Error = std::io::Error;

    async fn link(
        &self,
        user_id: &String,
        provider: Provider,
    ) -> Result<Option<Link>, std::io::Error> {
        let tokens = self.tokens.lock().unwrap().get(user_id).cloned();
        Ok(tokens.map(|tokens| Link {
            provider,
            uid: user_id.clone(),
            tokens: Some(tokens),
        }))
    }

    async fn update_tokens(
        &self,
        user_id: &String,
        _: Provider,
        tokens: &Tokens,
    ) -> Result<(), std::io::Error> {
        self.tokens
            .lock()
            .unwrap()
            .insert(user_id.to_owned(), tokens.clone());
        Ok(())
    }

    async fn user_for(&self, _: Provider, uid: &str) -> Result<Option<String>, std::io::Error> {
        let id = uid.to_owned();
        Ok(self.tokens.lock().unwrap().contains_key(&id).then_some(id))
    }

    async fn remove_link(&self, user_id: &String, _: Provider) -> Result<bool, std::io::Error> {
        Ok(self.tokens.lock().unwrap().remove(user_id).is_some())
    }
}

impl MemoryStore {
    fn get(&self, user: &str) -> Tokens {
        self.tokens.lock().unwrap()[user].clone()
    }
}

async fn emulator(rotation_window: Duration) -> KakaoEmulator {
    KakaoEmulator::builder()
        .redirect_uri(REDIRECT)
        .refresh_rotation_window(rotation_window)
        .start()
        .await
        .unwrap()
}

fn auth(
    kakao: &KakaoEmulator,
    store: MemoryStore,
    margin: Duration,
) -> KakaoAuth<MemoryStore, MemoryStore> {
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    let config = KakaoAuthConfig::builder(kakao.client_id(), REDIRECT)
        .session_secret("s".repeat(64))
        .auth_base_url(base.clone())
        .api_base_url(base)
        .token_refresh_margin(margin)
        .build()
        .unwrap();
    KakaoAuth::with_links(config, store.clone(), store).unwrap()
}

/// Logs fixture 1001 in through the emulator and stores the tokens; returns its user id.
async fn log_in(kakao: &KakaoEmulator, auth: &KakaoAuth<MemoryStore, MemoryStore>) -> String {
    let start = auth
        .client()
        .start_authorization(&actix_kakao_auth::kakao::client::AuthorizeRequest::default());
    let code = kakao
        .approve_for_code(&start.url, UserChoice::Fixture(1001))
        .await
        .unwrap();
    let tokens = auth
        .client()
        .exchange_code(&code, start.pkce_verifier.secret())
        .await
        .unwrap();
    let user = auth.client().user_info(&tokens.access_token).await.unwrap();
    auth.store()
        .find_or_create(&SocialLogin {
            user: ProviderUser::Kakao(user),
            tokens: Some(tokens),
            service_terms: None,
        })
        .await
        .unwrap()
        .id()
}

fn refreshes(kakao: &KakaoEmulator) -> usize {
    kakao
        .token_requests()
        .iter()
        .filter(|r| r.form.get("grant_type").map(String::as_str) == Some("refresh_token"))
        .count()
}

#[actix_web::test]
async fn a_fresh_token_is_returned_without_asking_kakao() {
    let kakao = emulator(Duration::from_secs(30 * 24 * 3600)).await;
    let store = MemoryStore::default();
    let auth = auth(&kakao, store.clone(), Duration::from_secs(300));
    let user = log_in(&kakao, &auth).await;
    let token = auth.access_token_for(&user).await.unwrap();
    assert_eq!(token.secret(), store.get(&user).access_token.secret());
    assert_eq!(refreshes(&kakao), 0);
}

#[actix_web::test]
async fn a_token_near_expiry_is_refreshed_and_stored_keeping_the_unrotated_refresh_token() {
    let kakao = emulator(Duration::from_secs(30 * 24 * 3600)).await;
    let store = MemoryStore::default();
    // A margin longer than the token's life: every stored token counts as expiring.
    let auth = auth(&kakao, store.clone(), Duration::from_secs(7 * 3600));
    let user = log_in(&kakao, &auth).await;
    let before = store.get(&user);
    let token = auth.access_token_for(&user).await.unwrap();
    assert_eq!(refreshes(&kakao), 1);
    assert_ne!(token.secret(), before.access_token.secret());
    let after = store.get(&user);
    assert_eq!(
        after.access_token.secret(),
        token.secret(),
        "the new token is stored"
    );
    assert_eq!(
        after.refresh_token.as_ref().unwrap().secret(),
        before.refresh_token.as_ref().unwrap().secret(),
        "more than a month left: Kakao keeps the refresh token, and so do we"
    );
    assert_eq!(
        after.scopes, before.scopes,
        "scopes survive a refresh answer without scope"
    );
    let request = kakao.token_requests().into_iter().last().unwrap();
    assert_eq!(
        request.form["refresh_token"],
        *before.refresh_token.unwrap().secret()
    );
    assert_eq!(request.form["client_id"], kakao.client_id());
}

#[actix_web::test]
async fn a_rotated_refresh_token_is_stored() {
    // A rotation window longer than the refresh token's life: Kakao always rotates.
    let kakao = emulator(Duration::from_secs(90 * 24 * 3600)).await;
    let store = MemoryStore::default();
    let auth = auth(&kakao, store.clone(), Duration::from_secs(7 * 3600));
    let user = log_in(&kakao, &auth).await;
    let before = store.get(&user).refresh_token.unwrap();
    auth.access_token_for(&user).await.unwrap();
    let after = store.get(&user).refresh_token.unwrap();
    assert_ne!(
        after.secret(),
        before.secret(),
        "the rotated refresh token replaced the old one"
    );
    // And the stored one works for the next refresh (the old one no longer would).
    auth.access_token_for(&user).await.unwrap();
    assert_eq!(refreshes(&kakao), 2);
}

#[actix_web::test]
async fn a_revoked_refresh_token_means_re_login() {
    let kakao = emulator(Duration::from_secs(30 * 24 * 3600)).await;
    let store = MemoryStore::default();
    let auth = auth(&kakao, store.clone(), Duration::from_secs(7 * 3600));
    let user = log_in(&kakao, &auth).await;
    kakao.revoke_tokens_of(1001);
    let err = auth.access_token_for(&user).await.unwrap_err();
    assert!(matches!(err, TokenError::ReloginRequired), "{err:?}");
}

#[actix_web::test]
async fn two_concurrent_callers_trigger_one_refresh() {
    let kakao = emulator(Duration::from_secs(30 * 24 * 3600)).await;
    let store = MemoryStore::default();
    // Refresh when less than 6 h are left: the first refresh's token (6 h) satisfies the
    // second caller, which must then not refresh again.
    let auth = auth(&kakao, store.clone(), Duration::from_secs(6 * 3600 - 10));
    let user = log_in(&kakao, &auth).await;
    // Make the stored token look old.
    let mut old = store.get(&user);
    old.expires_at = chrono::Utc::now() + chrono::Duration::seconds(60);
    store.tokens.lock().unwrap().insert(user.clone(), old);
    kakao.faults().set(
        kakao_emulator::Endpoint::Token,
        kakao_emulator::Fault::Delay(Duration::from_millis(300)),
    );
    let (a, b) = tokio::join!(auth.access_token_for(&user), auth.access_token_for(&user));
    assert_eq!(a.unwrap().secret(), b.unwrap().secret());
    assert_eq!(refreshes(&kakao), 1, "one refresh for two callers");
}

#[actix_web::test]
async fn a_store_without_tokens_says_so() {
    let kakao = emulator(Duration::from_secs(30 * 24 * 3600)).await;
    let auth = auth(&kakao, MemoryStore::default(), Duration::from_secs(300));
    assert!(matches!(
        auth.access_token_for(&"nobody".to_owned()).await,
        Err(TokenError::NoTokens)
    ));
}

/// Two instances (two `KakaoAuth`s on one link store) whose guard stores are `a` and `b`.
fn two_instances(
    kakao: &KakaoEmulator,
    store: &MemoryStore,
    a: std::sync::Arc<dyn actix_kakao_auth::guard_store::GuardStore>,
    b: std::sync::Arc<dyn actix_kakao_auth::guard_store::GuardStore>,
) -> [KakaoAuth<MemoryStore, MemoryStore>; 2] {
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    [a, b].map(|guards| {
        let config = KakaoAuthConfig::builder(kakao.client_id(), REDIRECT)
            .session_secret("s".repeat(64))
            .auth_base_url(base.clone())
            .api_base_url(base.clone())
            .token_refresh_margin(Duration::from_secs(6 * 3600 - 10))
            .guard_store(guards)
            .build()
            .unwrap();
        KakaoAuth::with_links(config, store.clone(), store.clone()).unwrap()
    })
}

/// Makes the stored token of `user` look about to expire.
fn age_token(store: &MemoryStore, user: &str) {
    let mut old = store.get(user);
    old.expires_at = chrono::Utc::now() + chrono::Duration::seconds(60);
    store.tokens.lock().unwrap().insert(user.to_owned(), old);
}

#[actix_web::test]
async fn two_instances_sharing_a_guard_store_spend_a_rotated_refresh_token_once() {
    // Kakao always rotates, so a refresh token spent twice fails the second time.
    let kakao = emulator(Duration::from_secs(90 * 24 * 3600)).await;
    let store = MemoryStore::default();
    let shared: std::sync::Arc<dyn actix_kakao_auth::guard_store::GuardStore> =
        std::sync::Arc::new(actix_kakao_auth::guard_store::MemoryGuardStore::default());
    let [a, b] = two_instances(&kakao, &store, shared.clone(), shared);
    let user = log_in(&kakao, &a).await;
    kakao.faults().set(
        kakao_emulator::Endpoint::Token,
        kakao_emulator::Fault::Delay(Duration::from_millis(300)),
    );
    for round in 0..5 {
        age_token(&store, &user);
        let before = refreshes(&kakao);
        let (x, y) = tokio::join!(a.access_token_for(&user), b.access_token_for(&user));
        let (x, y) = (x.expect("instance a served"), y.expect("instance b served"));
        assert_eq!(x.secret(), y.secret(), "round {round}");
        assert_eq!(
            refreshes(&kakao) - before,
            1,
            "round {round}: one refresh at Kakao"
        );
    }
}

#[actix_web::test]
async fn instances_with_their_own_guard_stores_spend_it_twice() {
    // The control: without a shared guard store the race is real.
    let kakao = emulator(Duration::from_secs(90 * 24 * 3600)).await;
    let store = MemoryStore::default();
    let [a, b] = two_instances(
        &kakao,
        &store,
        std::sync::Arc::new(actix_kakao_auth::guard_store::MemoryGuardStore::default()),
        std::sync::Arc::new(actix_kakao_auth::guard_store::MemoryGuardStore::default()),
    );
    let user = log_in(&kakao, &a).await;
    kakao.faults().set(
        kakao_emulator::Endpoint::Token,
        kakao_emulator::Fault::Delay(Duration::from_millis(300)),
    );
    age_token(&store, &user);
    let (x, y) = tokio::join!(a.access_token_for(&user), b.access_token_for(&user));
    assert_eq!(refreshes(&kakao), 2);
    assert!(
        x.is_err() || y.is_err(),
        "a rotated token was spent twice without failing"
    );
}

#[actix_web::test]
async fn the_memory_guard_store_passes_the_acceptance_suite() {
    let store = actix_kakao_auth::guard_store::MemoryGuardStore::default();
    actix_kakao_auth::testing::guard_store_acceptance_suite(&store).await;
}
