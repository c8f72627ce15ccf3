//! What is Kakao's own: the kauth/kapi client, the user's profile, tokens and secrets,
//! id_token verification, per-login options, sign-in with SDK tokens and the setup
//! checks.
//!
//! The login flow, sessions, CSRF and the app's store are shared by every provider and
//! live at the crate root; this module holds only what Kakao does its own way.

pub mod client;
pub mod http;
pub mod login_options;
pub mod oidc;
pub mod preflight;
pub mod profile;
pub mod sdk;
pub mod secret;
pub mod tokens;
pub(crate) mod wire;

pub use client::KakaoClient;
pub use profile::KakaoUserInfo;
