//! The in-process test rig: the library's routes in an actix test service against the
//! emulator, an in-memory user store, a counting cookie session store and a cookie jar.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_kakao_auth::store::{AuthUser, LinkOutcome, Provider, SocialLogin, UserStore};
use actix_kakao_auth::{KakaoAuth, KakaoAuthConfig, KakaoAuthConfigBuilder};
use actix_session::storage::{
    CookieSessionStore, LoadError, SaveError, SessionKey, SessionStore, UpdateError,
};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::test;
use kakao_emulator::{EmulatorBuilder, KakaoEmulator, UserChoice};

pub(crate) const CALLBACK: &str = "http://app.test/cb/";
pub(crate) const ORIGIN: &str = "http://app.test";

/// Users by local id, each with an epoch that is its session auth hash; the links from
/// `(provider, uid)` to users (one lock for both keeps each change atomic); and every
/// login the store was handed.
#[derive(Default, Clone)]
pub(crate) struct MemoryStore {
    pub(crate) users: Arc<Mutex<HashMap<i64, LocalUser>>>,
    pub(crate) links: Arc<Mutex<HashMap<(Provider, String), i64>>>,
    pub(crate) logins: Arc<Mutex<Vec<SocialLogin>>>,
}

#[derive(Clone, Debug)]
pub(crate) struct LocalUser {
    pub(crate) id: i64,
    pub(crate) epoch: u32,
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

impl UserStore for MemoryStore {
    type User = LocalUser;
    type Error = std::io::Error;

    async fn find_or_create(&self, login: &SocialLogin) -> Result<LocalUser, std::io::Error> {
        self.logins.lock().unwrap().push(login.clone());
        let mut links = self.links.lock().unwrap();
        let mut users = self.users.lock().unwrap();
        let account = (login.provider(), login.uid());
        if let Some(user) = links.get(&account).and_then(|id| users.get(id)) {
            return Ok(user.clone());
        }
        let id = 100 + users.len() as i64;
        let user = LocalUser { id, epoch: 0 };
        users.insert(id, user.clone());
        links.insert(account, id);
        Ok(user)
    }

    const SUPPORTS_LINKING: bool = true;

    async fn link_login(
        &self,
        user: &i64,
        login: &SocialLogin,
    ) -> Result<LinkOutcome<i64>, std::io::Error> {
        let mut links = self.links.lock().unwrap();
        Ok(match links.get(&(login.provider(), login.uid())) {
            Some(owner) if owner == user => LinkOutcome::AlreadyYours,
            Some(owner) => LinkOutcome::OwnedBy(*owner),
            None if links
                .iter()
                .any(|((provider, _), owner)| *provider == login.provider() && owner == user) =>
            {
                LinkOutcome::ProviderAlreadyLinked
            }
            None => {
                links.insert((login.provider(), login.uid()), *user);
                LinkOutcome::Linked
            }
        })
    }

    async fn get_user(&self, id: &i64) -> Result<Option<LocalUser>, std::io::Error> {
        Ok(self.users.lock().unwrap().get(id).cloned())
    }

    async fn end_all_sessions(&self, id: &i64) -> Result<bool, std::io::Error> {
        if let Some(user) = self.users.lock().unwrap().get_mut(id) {
            user.epoch += 1;
        }
        Ok(true)
    }
}

/// `CookieSessionStore`, counting what the session middleware writes.
#[derive(Clone, Default)]
pub(crate) struct CountingStore {
    inner: Arc<CookieSessionStore>,
    pub(crate) writes: Arc<AtomicUsize>,
}

pub(crate) type State = HashMap<String, String>;

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
pub(crate) struct Jar(pub(crate) BTreeMap<String, String>);

impl Jar {
    pub(crate) fn take(&mut self, response: &ServiceResponse<impl MessageBody>) {
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

    pub(crate) fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) fn pending(&self) -> Vec<String> {
        self.0
            .keys()
            .filter(|k| k.starts_with("kakao_auth_flow_"))
            .cloned()
            .collect()
    }
}

pub(crate) fn location(response: &ServiceResponse<impl MessageBody>) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub(crate) struct Rig {
    pub(crate) kakao: KakaoEmulator,
    pub(crate) auth: KakaoAuth<MemoryStore>,
    pub(crate) sessions: CountingStore,
}

pub(crate) async fn rig(flow_ttl: Duration) -> Rig {
    rig_with(
        |kakao| kakao,
        |config| {
            config.session(actix_kakao_auth::config::SessionOptions {
                login_flow_ttl: flow_ttl,
                ..Default::default()
            })
        },
    )
    .await
}

/// The rig's configuration against `kakao`: its client id, the callback at [`CALLBACK`],
/// the emulator's URLs and a fixed session secret (so a "restarted" instance built from it
/// again can finish logins the first one began).
pub(crate) fn config_for(kakao: &KakaoEmulator) -> KakaoAuthConfigBuilder {
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    KakaoAuthConfig::builder(kakao.client_id(), CALLBACK)
        .auth_base_url(base.clone())
        .api_base_url(base)
        .session_secret("s".repeat(64))
}

/// A rig whose emulator and configuration `kakao` and `config` adjust.
pub(crate) async fn rig_with(
    kakao: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder,
    config: impl FnOnce(KakaoAuthConfigBuilder) -> KakaoAuthConfigBuilder,
) -> Rig {
    let kakao = kakao(KakaoEmulator::builder().redirect_uri(CALLBACK))
        .start()
        .await
        .unwrap();
    let config = config(config_for(&kakao)).build().unwrap();
    let auth = KakaoAuth::new(config, MemoryStore::default()).unwrap();
    Rig {
        kakao,
        auth,
        sessions: CountingStore::default(),
    }
}

/// The test service: the library's routes, `/whoami` (the user's id and CSRF token), the
/// middleware over the rig's counting session store.
macro_rules! app {
    ($rig:expr) => {
        ::actix_web::test::init_service(
            ::actix_web::App::new()
                .configure($rig.auth.routes())
                .route(
                    "/whoami",
                    ::actix_web::web::get().to(
                        |user: ::actix_kakao_auth::CurrentUser<$crate::rig::MemoryStore>| async move {
                            format!("{} {}", user.id, user.csrf_token())
                        },
                    ),
                )
                .wrap($rig.auth.identity())
                .wrap($rig.auth.session_middleware($rig.sessions.clone()).build()),
        )
        .await
    };
}
pub(crate) use app;

pub(crate) async fn call<S, B>(
    app: &S,
    jar: &mut Jar,
    request: test::TestRequest,
) -> ServiceResponse<B>
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
pub(crate) async fn begin<S, B>(app: &S, jar: &mut Jar) -> url::Url
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

/// GETs the begin route with `query` (`""` or `?next=…&prompt=…`), as `user_agent` when
/// given; returns the `Location` it answers with.
pub(crate) async fn begin_location<S, B>(
    app: &S,
    jar: &mut Jar,
    query: &str,
    user_agent: Option<&str>,
) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut request = test::TestRequest::get().uri(&format!("/accounts/oauth/login/kakao/{query}"));
    if let Some(agent) = user_agent {
        request = request.insert_header((header::USER_AGENT, agent));
    }
    location(&call(app, jar, request).await)
}

pub(crate) fn path_and_query(url: &url::Url) -> String {
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

/// Consents as fixture `user` on Kakao's page; returns the callback URL.
pub(crate) async fn consent(kakao: &KakaoEmulator, authorize: &url::Url, user: i64) -> url::Url {
    kakao
        .approve(authorize, UserChoice::Fixture(user))
        .await
        .unwrap()
}

/// `GET` of an absolute URL's path and query on the app.
pub(crate) async fn visit<S, B>(app: &S, jar: &mut Jar, url: &url::Url) -> ServiceResponse<B>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    call(app, jar, test::TestRequest::get().uri(&path_and_query(url))).await
}

pub(crate) async fn whoami<S, B>(app: &S, jar: &mut Jar) -> Option<(i64, String)>
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
pub(crate) async fn log_in<S, B>(app: &S, jar: &mut Jar, kakao: &KakaoEmulator, user: i64) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let authorize = begin(app, jar).await;
    let callback = consent(kakao, &authorize, user).await;
    location(&visit(app, jar, &callback).await)
}
