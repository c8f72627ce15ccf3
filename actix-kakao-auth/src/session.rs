//! Sessions: the identity middleware, the one session entry the library owns, CSRF,
//! and which session stores keep an ended session ended.
//!
//! The app owns its `SessionMiddleware` (store, key, cookie domain) and wraps the
//! identity middleware inside it:
//!
//! ```no_run
//! # use actix_kakao_auth::{actix_session, KakaoAuth, store::UserStore};
//! # fn app<S: UserStore>(auth: KakaoAuth<S>) {
//! use actix_session::storage::CookieSessionStore;
//! let app = actix_web::App::new()
//!     .configure(auth.routes())
//!     .wrap(auth.identity())
//!     .wrap(auth.session_middleware(CookieSessionStore::default()).build());
//! # }
//! ```
//!
//! [`KakaoAuth::session_middleware`](crate::KakaoAuth::session_middleware) is a
//! `SessionMiddleware` builder with the recommended settings and the key derived from
//! [`session_secret`](crate::KakaoAuthConfigBuilder::session_secret); change what you need
//! before `.build()`, or build your own (`actix-session` is re-exported as
//! [`crate::actix_session`], so the versions match). The pending-login cookies do not
//! use the session middleware: they are sealed with their own key, derived from the
//! same required secret (or set with
//! [`pending_cookie_key`](crate::KakaoAuthConfigBuilder::pending_cookie_key)), so every
//! instance and every restart can finish a login another began.
//!
//! # Session stores
//! Logout purges the session. A request that loaded the session before must not write
//! it back, or the logged-out cookie works again. Which `actix-session` stores hold to
//! that:
//!
//! | store | feature | a logged-out session stays ended? |
//! | --- | --- | --- |
//! | [`SqlSessionStore`](crate::session_store) (SQLite or PostgreSQL) | `sql-sessions` | **yes**: an update of a session that no longer exists writes nothing |
//! | [`RedisSessionStore`](crate::session_store) (Redis 7+) | `redis-sessions` | **yes**, the same rule |
//! | `CookieSessionStore` | none | no server state: a *copy* of the old cookie stays valid until it expires, unless the user's [`session_auth_hash`](crate::store::AuthUser::session_auth_hash) changes |
//! | actix-session's `RedisSessionStore` | none | **no**: its `update` of a deleted session re-creates it under a new key, so a request in flight at logout revives the session; do not use it for logins |
//!
//! [`testing::session_store_acceptance_suite`](crate::session_store) checks a store of
//! your own against the same rules.
//!
//! Ending *every* session of a user (disconnect, the unlink webhook,
//! [`AuthSession::log_out_everywhere`](crate::AuthSession::log_out_everywhere)) does
//! not depend on the store: the identity middleware compares the user's session auth
//! hash with the one kept at login on every request.

pub use crate::extract::{AuthSessionError, IdentityMissing, NotLoggedIn};
pub use crate::identity::{
    user_id_in_entry, KakaoIdentity, KakaoIdentityService, CSRF_FIELD, SESSION_USER_KEY,
};
pub use crate::middleware::LoginRequiredService;
