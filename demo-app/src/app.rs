//! Assembles the demo: database, user store, session store, Kakao (or the emulator), and
//! the HTTP server.

use std::net::TcpListener;

use actix_kakao_auth::emulator::KakaoEmulator;
use actix_kakao_auth::{KakaoAuth, KakaoAuthConfig};
use actix_session::storage::{CookieSessionStore, SessionStore};
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App, HttpServer};

use crate::config::{DemoConfig, SessionBackend};
use crate::db::Db;
use crate::redis_session_store::RedisSessionStore;
use crate::session_store::DbSessionStore;
use crate::sessions::Sessions;
use crate::store::DieselUserStore;

/// Content-Security-Policy of the demo's pages: nothing from elsewhere but images (the
/// Kakao profile picture), no framing, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: https: http:; style-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Shared by the demo's handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Users and links.
    pub store: DieselUserStore,
    /// True when talking to the built-in emulator.
    pub emulator_mode: bool,
    /// The session store.
    pub sessions: Sessions,
}

/// A started demo app.
pub struct RunningApp {
    /// The app's base URL (no trailing slash).
    pub url: String,
    /// The database.
    pub db: Db,
    /// The emulator, in emulator mode.
    pub emulator: Option<KakaoEmulator>,
    /// The login wiring.
    pub auth: KakaoAuth<DieselUserStore>,
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
    Client(#[from] actix_kakao_auth::KakaoApiError),
    /// The server could not start.
    #[error("server: {0}")]
    Server(std::io::Error),
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
    let store = DieselUserStore::new(db.clone());

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
    let auth_config = kakao_config(&config, client_id, emulator.as_ref())?;
    let auth = KakaoAuth::new(auth_config, store.clone())?;
    let sessions = match config.session_backend {
        SessionBackend::Database => {
            let store = DbSessionStore::new(db.clone());
            store.spawn_purge_task(std::time::Duration::from_secs(600));
            Sessions::Database(store)
        }
        SessionBackend::Redis => {
            let url = config.redis_url.clone().unwrap_or_default();
            let store = RedisSessionStore::connect_with_prefix(&url, &config.redis_key_prefix).await.map_err(|e| StartError::Redis(e.to_string()))?;
            Sessions::Redis(store)
        }
        SessionBackend::Cookie => {
            tracing::warn!("SESSION_STORE=cookie: sessions live only in the cookie and cannot be revoked by logout");
            Sessions::Cookie
        }
    };
    let state = web::Data::new(AppState {
        db: db.clone(),
        store,
        emulator_mode: emulator.is_some(),
        sessions: sessions.clone(),
    });

    let server = match sessions {
        Sessions::Database(store) => serve(listener, state, auth.clone(), move || store.clone()),
        Sessions::Redis(store) => serve(listener, state, auth.clone(), move || store.clone()),
        Sessions::Cookie => serve(listener, state, auth.clone(), CookieSessionStore::default),
    }
    .map_err(StartError::Server)?;
    tracing::info!(url = %config.app_url, "demo-app listening");
    Ok(RunningApp {
        url: config.app_url.clone(),
        db,
        emulator,
        auth,
        handle: server.handle(),
        server: Some(server),
    })
}

async fn start_emulator(config: &DemoConfig) -> std::io::Result<KakaoEmulator> {
    KakaoEmulator::builder()
        .client_id("demo-app-emulator")
        .client_secret(config.kakao_client_secret.clone())
        .redirect_uri(config.redirect_uri())
        .logout_redirect_uri(format!("{}/", config.app_url))
        .admin_key(config.kakao_admin_key.clone())
        .start()
        .await
}

fn kakao_config(
    config: &DemoConfig,
    client_id: String,
    emulator: Option<&KakaoEmulator>,
) -> Result<KakaoAuthConfig, actix_kakao_auth::ConfigError> {
    let mut builder = KakaoAuthConfig::builder(client_id, config.redirect_uri())
        .scopes(config.kakao_scope.clone())
        .login_redirect_url("/download-list/");
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
    if let Some(secret) = &config.session_secret {
        builder = builder.session_secret(secret.clone());
    }
    if let Some(timeout) = config.kakao_timeout {
        builder = builder.request_timeout(timeout);
    }
    builder.build()
}

fn serve<St, F>(
    listener: TcpListener,
    state: web::Data<AppState>,
    auth: KakaoAuth<DieselUserStore>,
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
            .wrap(auth.middleware(make_sessions()))
            .wrap(security_headers())
    })
    .listen(listener)?
    .shutdown_timeout(10)
    .run();
    Ok(server)
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
}
