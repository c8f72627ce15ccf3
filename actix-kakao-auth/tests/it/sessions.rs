//! The pending login in its sealed cookie (expiry, several tabs, single use, tampering),
//! anonymous begins that write nothing, sessions that end with their user, and CSRF on
//! logout: through the library's routes in-process, against the emulator.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_kakao_auth::store::{AuthUser, KakaoLogin, KakaoUserStore};
use actix_kakao_auth::{CurrentUser, KakaoAuth, KakaoAuthConfig};
use actix_session::storage::{
    CookieSessionStore, LoadError, SaveError, SessionKey, SessionStore, UpdateError,
};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::{test, web, App};
use kakao_emulator::{KakaoEmulator, UserChoice};

const CALLBACK: &str = "http://app.test/cb/";
const ORIGIN: &str = "http://app.test";

/// Users by local id, each with an epoch that is its session auth hash.
#[derive(Default, Clone)]
struct MemoryStore(Arc<Mutex<HashMap<i64, LocalUser>>>);

#[derive(Clone, Debug)]
struct LocalUser {
    id: i64,
    kakao_id: i64,
    epoch: u32,
}

impl AuthUser for LocalUser {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
    fn session_auth_hash(&self) -> Vec<u8> {
        self.epoch.to_be_bytes().to_vec()
    }
}

impl KakaoUserStore for MemoryStore {
    type User = LocalUser;
    type Error = std::io::Error;

    async fn find_or_create(&self, login: &KakaoLogin) -> Result<LocalUser, std::io::Error> {
        let mut users = self.0.lock().unwrap();
        if let Some(user) = users.values().find(|u| u.kakao_id == login.user.id) {
            return Ok(user.clone());
        }
        let id = 100 + users.len() as i64;
        let user = LocalUser {
            id,
            kakao_id: login.user.id,
            epoch: 0,
        };
        users.insert(id, user.clone());
        Ok(user)
    }

    async fn get_user(&self, id: &i64) -> Result<Option<LocalUser>, std::io::Error> {
        Ok(self.0.lock().unwrap().get(id).cloned())
    }
}

/// `CookieSessionStore`, counting what the session middleware writes.
#[derive(Clone, Default)]
struct CountingStore {
    inner: Arc<CookieSessionStore>,
    writes: Arc<AtomicUsize>,
}

type State = HashMap<String, String>;

impl SessionStore for CountingStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        self.inner.load(key).await
    }
    async fn save(
        &self,
        state: State,
        ttl: &actix_web::cookie::time::Duration,
    ) -> Result<SessionKey, SaveError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.save(state, ttl).await
    }
    async fn update(
        &self,
        key: SessionKey,
        state: State,
        ttl: &actix_web::cookie::time::Duration,
    ) -> Result<SessionKey, UpdateError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.update(key, state, ttl).await
    }
    async fn update_ttl(
        &self,
        key: &SessionKey,
        ttl: &actix_web::cookie::time::Duration,
    ) -> Result<(), anyhow::Error> {
        self.inner.update_ttl(key, ttl).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        self.inner.delete(key).await
    }
}

/// A cookie jar for one simulated browser.
#[derive(Default, Clone)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, response: &ServiceResponse<impl MessageBody>) {
        for cookie in response.response().cookies() {
            let gone = cookie.value().is_empty()
                || cookie.max_age() == Some(actix_web::cookie::time::Duration::ZERO);
            if gone {
                self.0.remove(cookie.name());
            } else {
                self.0
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn pending(&self) -> Vec<String> {
        self.0
            .keys()
            .filter(|k| k.starts_with("kakao_auth_flow_"))
            .cloned()
            .collect()
    }
}

fn location(response: &ServiceResponse<impl MessageBody>) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

struct Rig {
    kakao: KakaoEmulator,
    auth: KakaoAuth<MemoryStore>,
    sessions: CountingStore,
}

async fn rig(flow_ttl: Duration) -> Rig {
    let kakao = KakaoEmulator::builder()
        .redirect_uri(CALLBACK)
        .start()
        .await
        .unwrap();
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    let config = KakaoAuthConfig::builder(kakao.client_id(), CALLBACK)
        .auth_base_url(base.clone())
        .api_base_url(base)
        .login_flow_ttl(flow_ttl)
        .session_secret("s".repeat(64))
        .build()
        .unwrap();
    let auth = KakaoAuth::new(config, MemoryStore::default()).unwrap();
    Rig {
        kakao,
        auth,
        sessions: CountingStore::default(),
    }
}

macro_rules! app {
    ($rig:expr) => {
        test::init_service(
            App::new()
                .configure($rig.auth.routes())
                .route(
                    "/whoami",
                    web::get().to(|user: CurrentUser<LocalUser>| async move {
                        format!("{} {}", user.id, user.csrf_token())
                    }),
                )
                .wrap($rig.auth.middleware($rig.sessions.clone())),
        )
        .await
    };
}

async fn call<S, B>(app: &S, jar: &mut Jar, request: test::TestRequest) -> ServiceResponse<B>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let request = if jar.0.is_empty() {
        request
    } else {
        request.insert_header((header::COOKIE, jar.header()))
    };
    let response = app.call(request.to_request()).await.unwrap();
    jar.take(&response);
    response
}

/// Begins a login and returns Kakao's authorize URL.
async fn begin<S, B>(app: &S, jar: &mut Jar) -> url::Url
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = call(
        app,
        jar,
        test::TestRequest::get().uri("/accounts/oauth/login/kakao/"),
    )
    .await;
    url::Url::parse(&location(&response)).unwrap()
}

fn path_and_query(url: &url::Url) -> String {
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

/// Consents as fixture `user` on Kakao's page; returns the callback URL.
async fn consent(kakao: &KakaoEmulator, authorize: &url::Url, user: i64) -> url::Url {
    kakao
        .approve(authorize, UserChoice::Fixture(user))
        .await
        .unwrap()
}

/// `GET` of an absolute URL's path and query on the app.
async fn visit<S, B>(app: &S, jar: &mut Jar, url: &url::Url) -> ServiceResponse<B>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    call(app, jar, test::TestRequest::get().uri(&path_and_query(url))).await
}

async fn whoami<S, B>(app: &S, jar: &mut Jar) -> Option<(i64, String)>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = call(app, jar, test::TestRequest::get().uri("/whoami")).await;
    if response.status() != 200 {
        return None;
    }
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    let (id, csrf) = body.split_once(' ').unwrap();
    Some((id.parse().unwrap(), csrf.to_owned()))
}

/// Logs `user` in through the emulator; returns the callback's redirect target.
async fn log_in<S, B>(app: &S, jar: &mut Jar, kakao: &KakaoEmulator, user: i64) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let authorize = begin(app, jar).await;
    let callback = consent(kakao, &authorize, user).await;
    location(&visit(app, jar, &callback).await)
}

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
    rig.auth.store().0.lock().unwrap().remove(&id);
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
        .0
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
                    .to(|user: CurrentUser<LocalUser>| async move { user.id.to_string() }),
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
    rig.auth.store().0.lock().unwrap().clear();
    let members = call(&app, &mut jar, test::TestRequest::get().uri("/members/")).await;
    assert_eq!(members.status(), 302);
    assert_eq!(location(&members), "/login/?next=%2Fmembers%2F");
}
