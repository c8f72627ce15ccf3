//! Assembles the demo: database, user store, session store, Kakao (or the emulator), and
//! the HTTP server.

use std::net::TcpListener;

use actix_kakao_auth::{KakaoAuth, KakaoAuthConfig, KakaoAuthConfigBuilder};
use actix_session::storage::{CookieSessionStore, SessionStore};
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App, HttpServer};
use kakao_emulator::KakaoEmulator;

use crate::config::{DemoConfig, SessionBackend};
use crate::db::Db;
use crate::guards::{DbGuardStore, RedisGuardStore};
use crate::sessions::Sessions;
pub use crate::state::AppState;
use crate::store::DieselUserStore;
use actix_kakao_auth::session_store::RedisSessionStore;
use actix_kakao_auth::store::TokenCipher;
use std::sync::Arc;

/// Content-Security-Policy of the demo's pages: nothing from elsewhere but images (the
/// Kakao profile picture), no framing, no plugins; forms post only to the app itself and
/// to Kakao's OAuth host (`form-action` also governs the redirects that follow a form
/// post, and `POST /logout/kakao/` redirects to Kakao's logout page).
pub fn content_security_policy(
    kakao_auth_url: &url::Url,
    naver_auth_url: Option<&url::Url>,
) -> String {
    let naver = naver_auth_url
        .map(|url| format!(" {}", url.origin().ascii_serialization()))
        .unwrap_or_default();
    format!(
        "default-src 'self'; img-src 'self' data: https: http:; style-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' {}{naver}",
        kakao_auth_url.origin().ascii_serialization()
    )
}

/// The demo's login: its Diesel store keeps both users and their Kakao links.
pub type DemoAuth = KakaoAuth<DieselUserStore, DieselUserStore>;

/// Installs the Prometheus recorder (once per process) and serves `GET /metrics` on
/// `addr`, a listener of its own: the app's address never serves metrics.
fn serve_metrics(addr: &str) -> Result<Server, StartError> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("kakao_api_request_duration_seconds".to_owned()),
            &[
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ],
        )
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| StartError::Metrics(e.to_string()))?;
    let listener = TcpListener::bind(addr)
        .map_err(|e| StartError::Metrics(format!("cannot listen on {addr}: {e}")))?;
    let server = HttpServer::new(move || {
        let handle = handle.clone();
        App::new().route(
            "/metrics",
            web::get().to(move || {
                let handle = handle.clone();
                async move {
                    handle.run_upkeep();
                    actix_web::HttpResponse::Ok()
                        .content_type("text/plain; version=0.0.4; charset=utf-8")
                        .body(handle.render())
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .map_err(|e| StartError::Metrics(e.to_string()))?
    .shutdown_timeout(2)
    .run();
    tracing::info!(%addr, "Prometheus metrics at /metrics");
    Ok(server)
}

/// A started demo app.
pub struct RunningApp {
    /// The app's base URL (no trailing slash).
    pub url: String,
    /// The database.
    pub db: Db,
    /// The emulator, in emulator mode.
    pub emulator: Option<KakaoEmulator>,
    /// The Naver emulator, in emulator mode.
    pub naver_emulator: Option<kakao_emulator::naver::NaverEmulator>,
    /// The login wiring.
    pub auth: DemoAuth,
    server: Option<Server>,
    handle: ServerHandle,
}

impl std::fmt::Debug for RunningApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningApp")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl RunningApp {
    /// Serves until the server stops (SIGINT/SIGTERM stop it gracefully).
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        if let Some(server) = self.server.take() {
            server.await?;
        }
        if let Some(emulator) = self.emulator.take() {
            emulator.stop().await;
        }
        Ok(())
    }

    /// Starts serving in the background (for tests) and returns a handle to stop it.
    pub fn spawn(&mut self) {
        if let Some(server) = self.server.take() {
            actix_web::rt::spawn(server);
        }
    }

    /// Stops the server gracefully.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        if let Some(emulator) = self.emulator {
            emulator.stop().await;
        }
    }
}

/// Errors that stop the app at start; each names the variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `BIND` could not be bound.
    #[error("BIND: cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database is unreachable or its migrations failed.
    #[error("DATABASE_URL: {0}")]
    Database(String),
    /// Redis is unreachable.
    #[error("REDIS_URL: {0}")]
    Redis(String),
    /// The Kakao configuration is unusable.
    #[error("{0}")]
    Config(#[from] actix_kakao_auth::ConfigError),
    /// The emulator could not start.
    #[error("KAKAO_CLIENT_ID unset, but the Kakao emulator could not start: {0}")]
    Emulator(std::io::Error),
    /// The Kakao HTTP client could not be built.
    #[error("Kakao client: {0}")]
    Client(#[from] actix_kakao_auth::error::KakaoApiError),
    /// The server could not start.
    #[error("server: {0}")]
    Server(std::io::Error),
    /// The metrics listener could not start.
    #[error("METRICS_BIND: {0}")]
    Metrics(String),
}

/// Connects everything and binds the listener; call [`RunningApp::run_until_stopped`].
pub async fn start(mut config: DemoConfig) -> Result<RunningApp, StartError> {
    let listener = TcpListener::bind(&config.bind).map_err(|source| StartError::Bind {
        addr: config.bind.clone(),
        source,
    })?;
    let local = listener.local_addr().map_err(StartError::Server)?;
    if config.app_url == format!("http://{}", config.bind) {
        config.app_url = format!("http://{local}");
    }

    let db = Db::connect(&config.database_url)
        .await
        .map_err(|e| StartError::Database(e.to_string()))?;
    let sessions = connect_sessions(&config, &db).await?;
    let store = DieselUserStore::new(db.clone())
        .with_cipher(Arc::new(token_cipher(&config)?))
        .with_sessions(sessions.clone());

    let (emulator, client_id) = match &config.kakao_client_id {
        Some(id) => (None, id.clone()),
        None => {
            let emulator = start_emulator(&config)
                .await
                .map_err(StartError::Emulator)?;
            tracing::info!(url = %emulator.base_url(), "KAKAO_CLIENT_ID is not set: using the built-in Kakao emulator");
            let id = emulator.client_id().to_owned();
            (Some(emulator), id)
        }
    };
    let naver_emulator = match (&emulator, &config.naver_client_id) {
        (Some(_), None) => {
            let naver = kakao_emulator::naver::NaverEmulator::builder()
                .client_id("demo-app-naver-emulator")
                .redirect_uri(config.naver_redirect_uri())
                .start()
                .await
                .map_err(StartError::Emulator)?;
            tracing::info!(url = %naver.base_url(), "emulator mode: using the built-in Naver emulator");
            Some(naver)
        }
        _ => None,
    };
    let guards = connect_guards(&config, &db, &sessions).await?;
    let mut auth_config = kakao_config(&config, client_id, emulator.as_ref())?.guard_store(guards);
    if let Some(naver) = naver_settings(&config, naver_emulator.as_ref())? {
        auth_config = auth_config.naver(naver);
    }
    let auth_config = auth_config.build()?;
    let auth = KakaoAuth::with_links(auth_config, store.clone(), store.clone())?;
    let state = web::Data::new(AppState {
        db: db.clone(),
        store,
        emulator_mode: emulator.is_some(),
        sessions: sessions.clone(),
        service_terms: !config.kakao_service_terms.is_empty(),
        naver: auth.naver_client().is_some(),
    });

    if let Some(addr) = &config.metrics_bind {
        actix_web::rt::spawn(serve_metrics(addr)?);
    }
    let csp = content_security_policy(
        auth.config().auth_base_url(),
        auth.naver_client().map(|n| n.settings().auth_base_url()),
    );
    let server = match sessions {
        Sessions::Database(store) => {
            serve(listener, state, auth.clone(), csp, move || store.clone())
        }
        Sessions::Redis(store) => serve(listener, state, auth.clone(), csp, move || store.clone()),
        Sessions::Cookie => serve(
            listener,
            state,
            auth.clone(),
            csp,
            CookieSessionStore::default,
        ),
    }
    .map_err(StartError::Server)?;
    tracing::info!(url = %config.app_url, "demo-app listening");
    Ok(RunningApp {
        naver_emulator,
        url: config.app_url.clone(),
        db,
        emulator,
        auth,
        handle: server.handle(),
        server: Some(server),
    })
}

/// Where attempt counts, replay markers and refresh locks live, shared by every instance:
/// Redis when `REDIS_URL` is set (the session store's connection when sessions are there
/// too), else the database.
async fn connect_guards(
    config: &DemoConfig,
    db: &Db,
    sessions: &Sessions,
) -> Result<Arc<dyn actix_kakao_auth::guard_store::GuardStore>, StartError> {
    let prefix = &config.redis_key_prefix;
    Ok(match (sessions, &config.redis_url) {
        (Sessions::Redis(store), _) => Arc::new(RedisGuardStore::new(store.connection(), prefix)),
        (_, Some(url)) => Arc::new(
            RedisGuardStore::connect(url, prefix)
                .await
                .map_err(StartError::Redis)?,
        ),
        (_, None) => {
            let store = DbGuardStore::new(db.clone());
            store.spawn_purge_task(std::time::Duration::from_secs(600));
            Arc::new(store)
        }
    })
}

async fn connect_sessions(config: &DemoConfig, db: &Db) -> Result<Sessions, StartError> {
    Ok(match config.session_backend {
        SessionBackend::Database => {
            let store = db.session_store();
            store.spawn_purge_task(std::time::Duration::from_secs(600));
            Sessions::Database(store)
        }
        SessionBackend::Redis => {
            let url = config.redis_url.clone().unwrap_or_default();
            let store = RedisSessionStore::connect_with_prefix(&url, &config.redis_key_prefix)
                .await
                .map_err(|e| StartError::Redis(e.to_string()))?;
            Sessions::Redis(store)
        }
        SessionBackend::Cookie => {
            tracing::warn!("SESSION_STORE=cookie: sessions live only in the cookie and cannot be revoked by logout");
            Sessions::Cookie
        }
    })
}

/// The key that seals Kakao tokens at rest: `TOKEN_KEY`, else derived from
/// `SESSION_SECRET` (HKDF with its own label, so the two keys are independent), else
/// random per start. `TOKEN_KEY_PREVIOUS` still opens tokens sealed before a rotation.
pub(crate) fn token_cipher(
    config: &DemoConfig,
) -> Result<TokenCipher, actix_kakao_auth::ConfigError> {
    let cipher = match (&config.token_key, &config.session_secret) {
        (Some(key), _) => TokenCipher::from_secret(key)?,
        (None, Some(secret)) => TokenCipher::from_secret(secret)?,
        (None, None) => {
            tracing::warn!("neither TOKEN_KEY nor SESSION_SECRET is set: stored Kakao tokens become unreadable at restart");
            TokenCipher::random()
        }
    };
    match &config.token_key_previous {
        Some(previous) => cipher.with_previous(previous),
        None => Ok(cipher),
    }
}

pub(crate) async fn start_emulator(config: &DemoConfig) -> std::io::Result<KakaoEmulator> {
    let emulator = KakaoEmulator::builder()
        .client_id("demo-app-emulator")
        .client_secret(config.kakao_client_secret.clone())
        .redirect_uri(config.redirect_uri())
        .logout_redirect_uri(format!("{}/", config.app_url))
        .admin_key(config.kakao_admin_key.clone());
    // Kakao Sync in emulator mode: the first KAKAO_SERVICE_TERMS tag is a required term,
    // the others optional.
    let emulator = config
        .kakao_service_terms
        .iter()
        .enumerate()
        .fold(emulator, |emulator, (i, tag)| {
            emulator.service_term(tag.clone(), i == 0)
        });
    emulator.start().await
}

/// Naver Login's settings: `NAVER_*`, or the built-in Naver emulator in emulator mode;
/// `None` when Naver is off.
pub(crate) fn naver_settings(
    config: &DemoConfig,
    emulator: Option<&kakao_emulator::naver::NaverEmulator>,
) -> Result<Option<actix_kakao_auth::naver::NaverSettings>, actix_kakao_auth::ConfigError> {
    use actix_kakao_auth::naver::client::{DEFAULT_NAVER_API_URL, DEFAULT_NAVER_AUTH_URL};
    use actix_kakao_auth::naver::NaverSettings;
    let (id, secret, auth, api) = match (emulator, &config.naver_client_id) {
        (Some(naver), _) => {
            let base = naver.base_url().as_str().to_owned();
            (
                naver.client_id().to_owned(),
                naver.client_secret().to_owned(),
                base.clone(),
                base,
            )
        }
        (None, Some(id)) => (
            id.clone(),
            config.naver_client_secret.clone().unwrap_or_default(),
            config
                .naver_auth_url
                .clone()
                .unwrap_or_else(|| DEFAULT_NAVER_AUTH_URL.to_owned()),
            config
                .naver_api_url
                .clone()
                .unwrap_or_else(|| DEFAULT_NAVER_API_URL.to_owned()),
        ),
        (None, None) => return Ok(None),
    };
    let mut settings =
        NaverSettings::new(id, secret, &config.naver_redirect_uri())?.base_urls(&auth, &api)?;
    if let Some(timeout) = config.kakao_timeout {
        settings = settings.http(actix_kakao_auth::config::HttpOptions {
            request_timeout: timeout,
            ..Default::default()
        });
    }
    Ok(Some(settings))
}

/// The login's configuration from the demo's, before [`build`](KakaoAuthConfigBuilder::build)
/// (the caller adds the guard store).
pub(crate) fn kakao_config(
    config: &DemoConfig,
    client_id: String,
    emulator: Option<&KakaoEmulator>,
) -> Result<KakaoAuthConfigBuilder, actix_kakao_auth::ConfigError> {
    use actix_kakao_auth::config::{HttpOptions, LoginDefaults, RoutePaths, SdkOptions};
    let mut builder = KakaoAuthConfig::builder(client_id, config.redirect_uri())
        .scopes(config.kakao_scope.clone())
        .trusted_proxies(config.trusted_proxies.clone())
        .login(LoginDefaults {
            service_terms: config.kakao_service_terms.clone(),
            // Additional consent (추가 항목 동의) may ask for these items, and only these.
            additional_consent_scopes: ["profile_nickname", "profile_image", "account_email"]
                .map(String::from)
                .to_vec(),
            ..LoginDefaults::default()
        })
        // The contract's SDK route is always there: it refuses access tokens without
        // KAKAO_APP_ID and accepts id_tokens issued for the REST key.
        .sdk(SdkOptions {
            mount: Some(true),
            audiences: config.kakao_sdk_audiences.clone(),
            attempts_per_minute: config.sdk_attempts_per_minute,
        })
        .paths(RoutePaths {
            login_redirect_url: "/download-list/".into(),
            ..RoutePaths::default()
        })
        // The demo serves its own error page (in its own layout) at /login/error/.
        .serve_error_page(false)
        .session_secret(config.session_secret_or_random());
    let emulator_url = emulator.map(|e| e.base_url().as_str().trim_end_matches('/').to_owned());
    if let Some(url) = config
        .kakao_auth_url
        .clone()
        .or_else(|| emulator_url.clone())
    {
        builder = builder.auth_base_url(url);
    }
    if let Some(url) = config.kakao_api_url.clone().or(emulator_url) {
        builder = builder.api_base_url(url);
    }
    if let Some(secret) = &config.kakao_client_secret {
        builder = builder.client_secret(secret.clone());
    }
    if let Some(timeout) = config.kakao_timeout {
        builder = builder.http(HttpOptions {
            request_timeout: timeout,
            ..HttpOptions::default()
        });
    }
    if let Some(margin) = config.kakao_token_refresh_margin {
        builder = builder.token_refresh_margin(margin);
    }
    if let Some(key) = &config.kakao_admin_key {
        builder = builder.admin_key(key.clone());
    }
    if let Some(app_id) = config.kakao_app_id {
        builder = builder.app_id(app_id);
    }
    Ok(builder)
}

fn serve<St, F>(
    listener: TcpListener,
    state: web::Data<AppState>,
    auth: DemoAuth,
    csp: String,
    make_sessions: F,
) -> std::io::Result<Server>
where
    St: SessionStore + 'static,
    F: Fn() -> St + Send + Clone + 'static,
{
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .configure(auth.routes())
            .configure(crate::routes::configure)
            .wrap(auth.identity())
            .wrap(auth.session_middleware(make_sessions()).build())
            .wrap(security_headers(&csp))
    })
    .listen(listener)?
    .shutdown_timeout(10)
    .run();
    Ok(server)
}

fn security_headers(csp: &str) -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Content-Security-Policy", csp.to_owned()))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
}
