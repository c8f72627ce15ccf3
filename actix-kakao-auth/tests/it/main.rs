//! The integration tests of `actix-kakao-auth`, as one test binary: one module per subject
//! (the Kakao client, OpenID Connect, token refresh, sessions and session stores, the
//! app-facing surface). Tests of PostgreSQL and Redis read `TEST_DATABASE_URL` and
//! `TEST_REDIS_URL`; without them they print a skip notice, and `REQUIRE_SERVICES=1`
//! turns a skip into a failure.
#![allow(clippy::unwrap_used)]

mod client_limits;
#[cfg(feature = "sql-sessions")]
mod examples;
mod korean_login;
mod linking;
mod naver;
mod oidc;
mod pending_cookies;
mod refresh;
mod rig;
mod sdk;
#[cfg(all(feature = "sql-sessions", feature = "redis-sessions"))]
mod session_stores;
mod sessions;
mod surface;
