//! # actix-kakao-auth
//!
//! Kakao Login (카카오 로그인, OAuth 2.0 + OpenID Connect) for Actix Web: one `.wrap()`
//! and one `.configure()` give any app a login flow and a session identity.
//!
//! ```no_run
//! use actix_kakao_auth::actix_session::storage::CookieSessionStore;
//! use actix_kakao_auth::{CurrentUser, KakaoAuth, KakaoAuthConfigBuilder, LoginRequired};
//! # use actix_kakao_auth::store::{AuthUser, SocialLogin, UserStore};
//! # use actix_web::{web, App, HttpServer};
//! # struct MyStore;
//! # #[derive(Clone)] struct MyUser { id: i64, nickname: String }
//! # impl AuthUser for MyUser { type Id = i64; fn id(&self) -> i64 { self.id } }
//! # impl UserStore for MyStore {
//! #     type User = MyUser;
//! #     type Error = std::io::Error;
//! #     async fn find_or_create(&self, login: &SocialLogin) -> Result<MyUser, std::io::Error> {
//! #         Ok(MyUser { id: 1, nickname: "n".into() })
//! #     }
//! #     async fn get_user(&self, id: &i64) -> Result<Option<MyUser>, std::io::Error> {
//! #         Ok(Some(MyUser { id: *id, nickname: "n".into() }))
//! #     }
//! # }
//! # async fn downloads(user: CurrentUser<MyStore>) -> String { user.nickname.clone() }
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = KakaoAuth::new(KakaoAuthConfigBuilder::from_env()?.build()?, MyStore)?;
//! HttpServer::new(move || App::new()
//!     .configure(auth.routes())
//!     .service(web::resource("/download-list/").wrap(LoginRequired).to(downloads))
//!     .wrap(auth.identity())
//!     .wrap(auth.session_middleware(CookieSessionStore::default()).build()))
//! .bind("127.0.0.1:8000")?.run().await?;
//! # Ok(())
//! # }
//! ```
//!
//! `CookieSessionStore` keeps this example short, but a copy of its cookie outlives
//! logout. For sessions that logout really ends, use `SqlSessionStore` (feature
//! `sql-sessions`: SQLite or PostgreSQL) or `RedisSessionStore` (feature
//! `redis-sessions`) from [`session_store`], as the examples do.
//!
//! The app's side is [`UserStore`]: `find_or_create` (map a Kakao login to a local
//! user, atomically) and `get_user` (by the app's own id type). Handlers receive the
//! store's user through [`CurrentUser<Store>`](CurrentUser), and log users in or out
//! themselves through [`AuthSession<Store>`](AuthSession). The app owns its
//! `SessionMiddleware` (see [`session`]); `actix-session` is re-exported as
//! [`actix_session`] so the versions match. `examples/existing_users.rs` is a complete app
//! with its own SQLite `users` table.
//!
//! ## What happens
//! 1. `GET /login/?next=/download-list/` redirects to the begin route, keeping a safe `next`.
//! 2. The begin route puts a one-time `state`, a PKCE S256 verifier (and a `nonce` with
//!    `openid`) and `next` in a short-lived, sealed cookie of their own (see
//!    [`pending`](crate#the-pending-login-cookie)) and redirects to Kakao's authorize
//!    page. Nothing is written on the server.
//! 3. Kakao redirects back to the callback with `code` and `state`.
//! 4. The sealed cookie for that state is opened and cleared, its state compared in
//!    constant time and its age checked; the code is exchanged (`client_secret_post`,
//!    `code_verifier`, exact `redirect_uri`). With `openid`, the `id_token` is verified
//!    now, before anything is stored (see [`kakao::oidc`]).
//! 5. `/v2/user/me` describes the user (with `openid`, its id must equal the token's `sub`).
//! 6. Your store maps the Kakao id to a local user, creating user and link atomically.
//! 7. The session id is renewed, the user's id, a digest of their session auth hash and
//!    a CSRF token stored, and the browser goes to `next` or the login-redirect URL. Any
//!    failure goes to the login-error URL with a [`reason`](LoginFailure) code instead:
//!    no session, no row.
//!
//! ## The pending-login cookie
//! One cookie per login in progress, named after a digest of its `state`: AES-256-GCM
//! through `cookie`'s private jar under a key derived from the session key (the name is
//! bound into the seal), `HttpOnly`, `SameSite=Lax`, `Path=/`, `Max-Age` = the flow TTL
//! (10 minutes), and on https `Secure` with a `__Host-` name (no sibling subdomain can
//! plant one). At most 5 are pending at once, the oldest dropped, under 6 KB together; a
//! `next` too long to carry is refused. Several tabs each have their
//! own. Anonymous visitors who only begin logins cost the server nothing it keeps, and
//! any instance with the same `SESSION_SECRET` can finish a login another one began.
//!
//! ## Routes
//! [`KakaoAuth::routes`] mounts the login routes, `POST` logout and Kakao logout and a
//! bilingual error page always; SDK sign-in, disconnect and the unlink webhook only when
//! configured. Paths: [`config::RoutePaths`].
//!
//! ## Sessions
//! Any `actix-session` store works; [`KakaoAuth::session_middleware`] gives the
//! recommended settings, and [`session`] says which stores keep an ended session ended.
//!
//! Ended sessions stay ended:
//! * **One session** (logout): purged from the store. A request that loaded it before
//!   must not write it back: a server-side store's `update` of a session that is gone
//!   must not re-create it (Django's `UpdateError`). The demo's database and Redis
//!   stores answer such an update with a key that names nothing, so the request
//!   completes and its cookie is useless.
//! * **Every session of a user** (disconnect, the unlink webhook, "log out
//!   everywhere"): on every request the identity middleware asks the store for the user
//!   ([`get_user`](store::UserStore::get_user)) and compares the user's
//!   [`session_auth_hash`](store::AuthUser::session_auth_hash) with the one stored at
//!   login. A deleted user, or a changed hash, makes the session anonymous at once, on
//!   every instance, also for cookie-only sessions. The bound is the store's own
//!   caching: a store that caches users for *t* may serve a deleted user for at most *t*
//!   on an instance that did not delete it (the demo: 2 seconds).
//! * `CookieSessionStore` keeps everything in the encrypted cookie: a copy of one
//!   logged-out cookie stays valid until it expires, unless the user's hash changes.
//!
//! ## CSRF
//! `POST` logout, Kakao logout and disconnect need proof of origin: `Sec-Fetch-Site:
//! same-origin` or an `Origin` equal to the app's; or, when a client sends neither
//! header, the session's token ([`CurrentUser::csrf_token`]) in the form field
//! [`session::CSRF_FIELD`]. Anything else is refused with 403 and changes nothing.
//!
//! ## Offline development
//! The separate crate [`kakao-emulator`](https://docs.rs/kakao-emulator) is a faithful fake
//! of Kakao's `kauth` and `kapi` hosts; point `auth_base_url` and `api_base_url` at it.
//! `examples/minimal.rs` (`cargo run --example minimal`) runs against it when
//! `KAKAO_CLIENT_ID` is unset.
//!
//! ## Several instances
//! The client address comes from [`client_addr`] (trusted proxies only). SDK sign-in
//! attempt counts, the SDK replay guard and token-refresh locks live in a
//! [`guard_store::GuardStore`]: the default is per process; give every instance the same
//! shared one ([`KakaoAuthConfigBuilder::guard_store`]).
//!
//! ## Metrics
//! Through the [`metrics`](https://docs.rs/metrics) facade (a no-op without a recorder):
//!
//! | name | kind | labels | what |
//! | --- | --- | --- | --- |
//! | `kakao_logins_total` | counter | `provider`: `kakao` or `naver`; `outcome`: `success` or a [`LoginFailure`] code (web), or an SDK sign-in reason; `via`: `web` or `sdk` | completed and failed logins |
//! | `kakao_api_request_duration_seconds` | histogram | `endpoint`: the Kakao path (`/oauth/token`, `/v2/user/me`, …) | time of each call to Kakao, failures included |
//! | `kakao_sessions_ended_total` | counter | `cause`: `logout`, `everywhere`, `disconnect`, `webhook`, `user_gone` | sessions ended on purpose, and sessions refused because their user is gone or their hash changed |
//! | `kakao_jwks_refreshes_total` | counter | `outcome`: `success`, `failure` | JWKS fetches |
//! | `kakao_token_refreshes_total` | counter | `outcome`: `success`, `relogin_required`, `failure` | access-token refreshes |
//!
//! ## Feature flags
//! * `sql-sessions`: `session_store::SqlSessionStore`, server-side sessions in SQLite or
//!   PostgreSQL that logout really ends.
//! * `redis-sessions`: `session_store::RedisSessionStore`, the same in Redis 7 or newer.
//! * `testing`: `testing::store_acceptance_suite`, `testing::guard_store_acceptance_suite`
//!   and `testing::session_store_acceptance_suite`, the checks every store must pass.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
pub mod client_addr;
pub mod config;
mod csrf;
pub mod error;
mod extract;
pub mod guard_store;
mod hex;
mod identity;
pub mod kakao;
mod log_safe;
mod metrics;
mod middleware;
pub mod naver;
mod next_url;
mod pending;
mod refresh_gate;
mod routes;
pub mod session;
pub mod session_store;
pub mod store;
mod token_crypto;

pub use actix_session;
pub use auth::KakaoAuth;
pub use config::{ConfigError, KakaoAuthConfig, KakaoAuthConfigBuilder};
pub use error::LoginFailure;
pub use extract::{AuthSession, CurrentUser};
pub use middleware::LoginRequired;
pub use store::{AuthUser, LinkStore, UserStore};

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
