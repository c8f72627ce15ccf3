//! Kakao login added to an app that already has users: its own `users` table, its own
//! SQLite access (Diesel, blocking calls kept off the Actix workers with `web::block`),
//! a link table next to it, the race-safe `find_or_create`, server-side sessions in the
//! same file (so logout really ends a session), a login link, the logout form and the
//! built-in error page.
//!
//! ```sh
//! # against the built-in Kakao emulator
//! cargo run --example existing_users --features sql-sessions
//! KAKAO_CLIENT_ID=… KAKAO_CLIENT_SECRET=… KAKAO_SESSION_SECRET=… \
//!   KAKAO_REDIRECT_URI=http://127.0.0.1:8000/accounts/oauth/complete/kakao/ \
//!   cargo run --example existing_users --features sql-sessions
//! ```
//!
//! Then open <http://127.0.0.1:8000/>. The README's integration section is this file's
//! code, block by block (a test keeps them equal).

use std::net::TcpListener;
use std::sync::{Arc, Mutex, PoisonError};

use actix_kakao_auth::session::CSRF_FIELD;
use actix_kakao_auth::session_store::SqlSessionStore;
use actix_kakao_auth::store::SocialLogin;
use actix_kakao_auth::{AuthUser, CurrentUser, KakaoAuth, KakaoAuthConfig, KakaoAuthConfigBuilder};
use actix_kakao_auth::{LoginRequired, UserStore};
use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::{sql_query, Connection, SqliteConnection};

// ANCHOR: schema
/// The app's own table, and the link table the login adds next to it: one row per
/// provider account (`kakao` and its member number as text). On PostgreSQL the same
/// with `BIGSERIAL`/`BIGINT` and `TIMESTAMPTZ NOT NULL DEFAULT now()`.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    session_epoch BIGINT  NOT NULL DEFAULT 0   -- bumped to end every session of the user
);
CREATE TABLE IF NOT EXISTS social_links (
    provider  TEXT    NOT NULL,                 -- 'kakao'
    uid       TEXT    NOT NULL,                 -- the account's id there, as text
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    linked_at TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (provider, uid),                -- one local user per provider account
    UNIQUE (user_id, provider)                  -- one account per provider and user
);";
// ANCHOR_END: schema

// ANCHOR: user
/// A row of the app's `users` table.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct User {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = BigInt)]
    session_epoch: i64,
}

impl AuthUser for User {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    /// Changing it ends every session of the user (see `end_all_sessions`).
    fn session_auth_hash(&self) -> Vec<u8> {
        self.session_epoch.to_be_bytes().to_vec()
    }
}
// ANCHOR_END: user

/// What the store can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("the blocking pool is gone")]
    Blocking,
}

/// The app's users, in one SQLite file.
#[derive(Clone)]
pub(crate) struct Users {
    db: Arc<Mutex<SqliteConnection>>,
}

impl Users {
    /// Opens (and if needed creates) the database at `path`.
    pub(crate) fn open(path: &str) -> Result<Self, Box<dyn std::error::Error>> {
        let mut db = SqliteConnection::establish(path)?;
        db.batch_execute(SCHEMA)?;
        db.batch_execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")?;
        Ok(Self {
            db: Arc::new(Mutex::new(db)),
        })
    }

    /// Runs `query` on the connection in Actix's blocking pool, never on a worker.
    async fn run<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> QueryResult<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        web::block(move || query(&mut db.lock().unwrap_or_else(PoisonError::into_inner)))
            .await
            .map_err(|_| StoreError::Blocking)?
            .map_err(StoreError::from)
    }
}

// ANCHOR: store
impl UserStore for Users {
    type User = User;
    type Error = StoreError;

    /// The user linked to this provider account, or a new user and its link, in one
    /// `BEGIN IMMEDIATE` transaction: concurrent first logins of one account wait for
    /// each other, and the second finds the first one's link (on PostgreSQL:
    /// `INSERT … ON CONFLICT (provider, uid) DO NOTHING`, then read the winner's row).
    /// An existing user is never matched by name or email: a taken username gets a
    /// suffix.
    async fn find_or_create(&self, login: &SocialLogin) -> Result<User, StoreError> {
        let (provider, uid) = (login.provider().as_str(), login.uid());
        let wanted = login.user.nickname().unwrap_or("user").to_owned();
        self.run(move |db| {
            db.immediate_transaction(|db| {
                let linked = sql_query(
                    "SELECT users.id, users.username, users.session_epoch FROM users \
                     JOIN social_links ON social_links.user_id = users.id \
                     WHERE social_links.provider = ? AND social_links.uid = ?",
                )
                .bind::<Text, _>(provider)
                .bind::<Text, _>(&uid)
                .get_result::<User>(db)
                .optional()?;
                if let Some(user) = linked {
                    return Ok(user);
                }
                let user = sql_query(
                    "INSERT INTO users (username) VALUES (?) \
                     RETURNING id, username, session_epoch",
                )
                .bind::<Text, _>(free_username(db, &wanted)?)
                .get_result::<User>(db)?;
                sql_query("INSERT INTO social_links (provider, uid, user_id) VALUES (?, ?, ?)")
                    .bind::<Text, _>(provider)
                    .bind::<Text, _>(&uid)
                    .bind::<BigInt, _>(user.id)
                    .execute(db)?;
                Ok(user)
            })
        })
        .await
    }

    /// Asked on every request that carries a login: a primary-key lookup.
    async fn get_user(&self, id: &i64) -> Result<Option<User>, StoreError> {
        let id = *id;
        self.run(move |db| {
            sql_query("SELECT id, username, session_epoch FROM users WHERE id = ?")
                .bind::<BigInt, _>(id)
                .get_result::<User>(db)
                .optional()
        })
        .await
    }

    /// "Log out everywhere": a new epoch, so every session's stored hash is stale.
    async fn end_all_sessions(&self, id: &i64) -> Result<bool, StoreError> {
        let id = *id;
        self.run(move |db| {
            sql_query("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?")
                .bind::<BigInt, _>(id)
                .execute(db)
                .map(|rows| rows == 1)
        })
        .await
    }
}
// ANCHOR_END: store

/// `wanted`, or `wanted-2`, `wanted-3`, … whichever is free.
fn free_username(db: &mut SqliteConnection, wanted: &str) -> QueryResult<String> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = BigInt)]
        taken: i64,
    }
    for n in 1..=1000 {
        let candidate = if n == 1 {
            wanted.to_owned()
        } else {
            format!("{wanted}-{n}")
        };
        let found = sql_query("SELECT COUNT(*) AS taken FROM users WHERE username = ?")
            .bind::<Text, _>(&candidate)
            .get_result::<Taken>(db)?;
        if found.taken == 0 {
            return Ok(candidate);
        }
    }
    Err(diesel::result::Error::RollbackTransaction)
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ANCHOR: handlers
/// Anyone: a login link, or who is logged in and a logout form with the CSRF token.
async fn home(user: Option<CurrentUser<Users>>) -> HttpResponse {
    let body = match user {
        None => r#"<a href="/login/?next=/">카카오 로그인 · Log in with Kakao</a>"#.to_owned(),
        Some(user) => format!(
            r#"<p>{name}</p><form method="post" action="/logout/">
<input type="hidden" name="{CSRF_FIELD}" value="{csrf}"><button>로그아웃 · Log out</button></form>"#,
            name = escape(&user.username),
            csrf = escape(user.csrf_token()),
        ),
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// Logged-in users only (`LoginRequired` sends the others to log in first).
async fn downloads(user: CurrentUser<Users>) -> String {
    format!("downloads of {}", user.username)
}
// ANCHOR_END: handlers

// ANCHOR: server
/// The app: the crate's routes (login, callback, logout, the error page), the app's
/// own pages, the identity check inside the app's own session middleware, whose
/// sessions live on the server.
pub(crate) fn server(
    auth: KakaoAuth<Users>,
    sessions: SqlSessionStore,
    listener: TcpListener,
) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || {
        App::new()
            .configure(auth.routes())
            .route("/", web::get().to(home))
            .service(
                web::resource("/download-list/")
                    .wrap(LoginRequired)
                    .to(downloads),
            )
            .wrap(auth.identity())
            .wrap(auth.session_middleware(sessions.clone()).build())
    })
    .listen(listener)?
    .run())
}
// ANCHOR_END: server

/// The emulator's settings when no `KAKAO_CLIENT_ID` is set.
pub(crate) async fn emulated(
    redirect_uri: &str,
) -> Result<(KakaoAuthConfigBuilder, kakao_emulator::KakaoEmulator), Box<dyn std::error::Error>> {
    let kakao = kakao_emulator::KakaoEmulator::builder()
        .redirect_uri(redirect_uri)
        .start()
        .await?;
    let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
    let config = KakaoAuthConfig::builder(kakao.client_id(), redirect_uri)
        .auth_base_url(base.clone())
        .api_base_url(base)
        // A fixed secret is fine for a throwaway local run; never in production.
        .session_secret("existing-users-example-secret-".repeat(3));
    Ok((config, kakao))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let redirect_uri = "http://127.0.0.1:8000/accounts/oauth/complete/kakao/";
    let (config, _emulator) = if std::env::var("KAKAO_CLIENT_ID").is_ok() {
        (KakaoAuthConfigBuilder::from_env()?, None)
    } else {
        let (config, kakao) = emulated(redirect_uri).await?;
        (config, Some(kakao))
    };
    // ANCHOR: main
    let auth = KakaoAuth::new(config.build()?, Users::open("existing_users.sqlite3")?)?;
    // Sessions in the same file, table `sessions` (created when missing).
    let sessions = SqlSessionStore::connect("existing_users.sqlite3").await?;
    sessions.spawn_purge_task(std::time::Duration::from_secs(600));
    server(auth, sessions, TcpListener::bind("127.0.0.1:8000")?)?.await?;
    // ANCHOR_END: main
    Ok(())
}
