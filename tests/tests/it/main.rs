//! The end-to-end tests as one test binary: one module per subject (the demo app driven
//! over HTTP and in Chromium).
#![allow(clippy::unwrap_used)]

mod browser;
mod browser_support;
mod common;
mod hardening;
mod korean_login;
mod lifecycle;
mod logging;
mod login_failures;
mod login_flow;
mod oidc_login;
mod sdk_sign_in;
mod sessions;
