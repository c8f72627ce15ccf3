//! # actix-kakao-auth
//!
//! Kakao Login (카카오 로그인, OAuth 2.0 + OpenID Connect) for Actix Web: one `.wrap()`
//! and one `.configure()` give any app a login flow and a session identity.
//!
//! ```no_run
//! use actix_kakao_auth::{KakaoAuth, KakaoAuthConfigBuilder, LoginRequired, CurrentUser};
//! # use actix_kakao_auth::store::{KakaoUserStore, KakaoLogin, AuthUser};
//! # use actix_session::storage::CookieSessionStore;
//! # use actix_web::{web, App, HttpServer};
//! # struct MyStore;
//! # struct MyUser(i64);
//! # impl AuthUser for MyUser { fn auth_id(&self) -> String { self.0.to_string() } }
//! # impl KakaoUserStore for MyStore {
//! #     type User = MyUser;
//! #     type Error = std::io::Error;
//! #     async fn find_or_create_user(&self, login: &KakaoLogin) -> Result<MyUser, std::io::Error> { Ok(MyUser(1)) }
//! # }
//! # async fn downloads(user: CurrentUser) -> String { user.id().to_owned() }
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let my_session_store = || CookieSessionStore::default();
//! let auth = KakaoAuth::new(KakaoAuthConfigBuilder::from_env()?.build()?, MyStore)?;
//! HttpServer::new(move || App::new()
//!     .wrap(auth.middleware(my_session_store()))
//!     .configure(auth.routes())
//!     .service(web::resource("/download-list/").wrap(LoginRequired).to(downloads)))
//! .bind("127.0.0.1:8000")?.run().await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## What happens
//! 1. `GET /login/?next=/download-list/` redirects to the begin route, keeping a safe `next`.
//! 2. The begin route stores a one-time `state`, a PKCE S256 verifier (and a `nonce` with
//!    `openid`) in the session and redirects to Kakao's authorize page.
//! 3. Kakao redirects back to the callback with `code` and `state`.
//! 4. The state is checked in constant time and consumed; the code is exchanged
//!    (`client_secret_post`, `code_verifier`, exact `redirect_uri`).
//!    With `openid`, the `id_token` is verified now, before anything is stored (see [`oidc`]).
//! 5. `/v2/user/me` describes the user (with `openid`, its id must equal the token's `sub`).
//! 6. Your [`KakaoUserStore`](store::KakaoUserStore) maps the Kakao id to a local user,
//!    creating user and link atomically.
//! 7. The session id is renewed, the user id stored, and the browser goes to `next` or the
//!    login-redirect URL. Any failure goes to the login-error URL with a
//!    [`reason`](LoginFailure) code instead: no session, no row.
//!
//! ## Sessions
//! Any `actix-session` store works. Prefer a server-side one (a database table or Redis):
//! logout then ends the session on the server. `CookieSessionStore` keeps everything in
//! the encrypted cookie, so a copied cookie cannot be revoked before it expires.
//!
//! ## Feature flags
//! * `emulator`: [`emulator::KakaoEmulator`], an in-process Kakao for offline development.
//! * `testing`: `testing::store_acceptance_suite`, the checks every store must pass.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod account;
mod account_routes;
mod auth;
pub mod client;
pub mod config;
pub mod error;
mod extract;
mod flow;
mod log_safe;
pub mod middleware;
pub mod next_url;
pub mod oidc;
pub mod origin;
pub mod profile;
mod scope;
pub mod secret;
pub mod store;
pub mod token_crypto;

pub use auth::KakaoAuth;
pub use config::{ConfigError, KakaoAuthConfig, KakaoAuthConfigBuilder};
pub use error::{KakaoApiError, LoginError, LoginFailure};
pub use extract::{CurrentUser, NotLoggedIn};
pub use middleware::{KakaoAuthMiddleware, LoginRequired};

#[cfg(feature = "emulator")]
pub mod emulator;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
