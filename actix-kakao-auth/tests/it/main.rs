//! The integration tests of `actix-kakao-auth`, as one test binary: one module per subject
//! (the Kakao client, OpenID Connect, token refresh, sessions, the app-facing surface).
#![allow(clippy::unwrap_used)]

mod client_limits;
mod examples;
mod korean_login;
mod linking;
mod naver;
mod oidc;
mod pending_cookies;
mod refresh;
mod rig;
mod sdk;
mod sessions;
mod surface;
