//! The smallest real app: an in-memory user store, server-side sessions in a SQLite file
//! (so logout really ends a session), one protected page.
//!
//! ```sh
//! cargo run --example minimal --features sql-sessions   # against the built-in Kakao emulator
//! KAKAO_CLIENT_ID=… KAKAO_CLIENT_SECRET=… KAKAO_SESSION_SECRET=… \
//!   KAKAO_REDIRECT_URI=http://127.0.0.1:8000/accounts/oauth/complete/kakao/ \
//!   cargo run --example minimal --features sql-sessions
//! ```
//!
//! Then open <http://127.0.0.1:8000/members/>. With a real Kakao app, register
//! `http://127.0.0.1:8000/accounts/oauth/complete/kakao/` as its redirect URI.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Mutex, PoisonError};

use actix_kakao_auth::config::RoutePaths;
use actix_kakao_auth::session_store::SqlSessionStore;
use actix_kakao_auth::store::{AuthUser, Provider, SocialLogin, UserStore};
use actix_kakao_auth::{
    CurrentUser, KakaoAuth, KakaoAuthConfig, KakaoAuthConfigBuilder, LoginRequired,
};
use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use kakao_emulator::KakaoEmulator;

/// A local user: an id of our own and the Kakao nickname.
#[derive(Debug, Clone)]
pub(crate) struct User {
    id: u64,
    nickname: String,
}

impl AuthUser for User {
    type Id = u64;

    fn id(&self) -> u64 {
        self.id
    }
}

/// Users in memory, keyed by provider and account id (one lock makes find-or-create
/// atomic).
#[derive(Default)]
pub(crate) struct MemoryStore {
    users: Mutex<HashMap<(Provider, String), User>>,
}

impl UserStore for MemoryStore {
    type User = User;
    type Error = std::convert::Infallible;

    async fn find_or_create(&self, login: &SocialLogin) -> Result<User, Self::Error> {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        let next_id = users.len() as u64 + 1;
        let key = (login.provider(), login.uid());
        let user = users.entry(key).or_insert_with(|| User {
            id: next_id,
            nickname: login.user.nickname().unwrap_or("Kakao user").to_owned(),
        });
        Ok(user.clone())
    }

    async fn get_user(&self, id: &u64) -> Result<Option<User>, Self::Error> {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(users.values().find(|u| u.id == *id).cloned())
    }
}

async fn members(user: CurrentUser<MemoryStore>) -> HttpResponse {
    // Escape what Kakao sent before it goes into HTML.
    let nickname: String = user
        .nickname
        .chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            c => c.to_string(),
        })
        .collect();
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<p>안녕하세요, {nickname}!</p>\
         <form method=\"post\" action=\"/logout/\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{}\"><button>Log out</button></form>",
            user.csrf_token()
        ))
}

/// The app: the crate's routes, one protected page, the identity check inside a
/// session middleware whose sessions live on the server.
pub(crate) fn server(
    auth: KakaoAuth<MemoryStore>,
    sessions: SqlSessionStore,
    listener: TcpListener,
) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || {
        App::new()
            .configure(auth.routes())
            .service(web::resource("/members/").wrap(LoginRequired).to(members))
            .route(
                "/",
                web::get().to(|| async {
                    HttpResponse::Found()
                        .insert_header(("Location", "/members/"))
                        .finish()
                }),
            )
            .wrap(auth.identity())
            .wrap(auth.session_middleware(sessions.clone()).build())
    })
    .listen(listener)?
    .run())
}

/// The emulator's settings when no `KAKAO_CLIENT_ID` is set.
pub(crate) async fn emulated(
    redirect_uri: &str,
) -> Result<(KakaoAuthConfigBuilder, KakaoEmulator), Box<dyn std::error::Error>> {
    let kakao = KakaoEmulator::builder()
        .redirect_uri(redirect_uri)
        .start()
        .await?;
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    let config = KakaoAuthConfig::builder(kakao.client_id(), redirect_uri)
        .auth_base_url(base.clone())
        .api_base_url(base)
        // A fixed secret is fine for a throwaway local run; never in production.
        .session_secret("minimal-example-secret-".repeat(3));
    Ok((config, kakao))
}

/// Logins land on the members page.
pub(crate) fn landing_on_members(config: KakaoAuthConfigBuilder) -> KakaoAuthConfigBuilder {
    config.paths(RoutePaths {
        login_redirect_url: "/members/".into(),
        ..RoutePaths::default()
    })
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let redirect_uri = "http://127.0.0.1:8000/accounts/oauth/complete/kakao/";
    // With KAKAO_CLIENT_ID: the real Kakao. Without: the emulator, on a free local port.
    let (config, _emulator) = if std::env::var("KAKAO_CLIENT_ID").is_ok() {
        (KakaoAuthConfigBuilder::from_env()?, None)
    } else {
        let (config, kakao) = emulated(redirect_uri).await?;
        println!("Kakao emulator at {}", kakao.base_url());
        (config, Some(kakao))
    };
    let auth = KakaoAuth::new(landing_on_members(config).build()?, MemoryStore::default())?;
    // Creates the `sessions` table when it is missing; expired rows are purged.
    let sessions = SqlSessionStore::connect("minimal-sessions.sqlite3").await?;
    sessions.spawn_purge_task(std::time::Duration::from_secs(600));
    println!("open http://127.0.0.1:8000/members/");
    server(auth, sessions, TcpListener::bind("127.0.0.1:8000")?)?.await?;
    Ok(())
}
