//! OpenID Connect: discovery, JWKS with key rotation, id_token minting (with faults),
//! tokeninfo and userinfo.
//!
//! * `GET /.well-known/openid-configuration`: kakao-api.md §5.1, URLs pointing at the
//!   emulator; `issuer` is the base URL without its trailing slash.
//! * `GET /.well-known/jwks.json`: two RSA keys. [`KakaoEmulator::rotate_signing_key`]
//!   retires the older one, publishes a new one and signs with it, so a client's cached
//!   set lacks the new `kid` (a rotation as Kakao does it). Requests are counted
//!   ([`KakaoEmulator::jwks_requests`]); [`Endpoint::Jwks`] faults make the fetch fail.
//! * `id_token` in the token response when `openid` was granted: RS256, header
//!   `kid`/`typ`/`alg`; claims `aud` (client id), `sub` (user id as a string), `auth_time`,
//!   `iss`, `nickname` / `picture` / `email` per consent (`email` only when valid and
//!   verified), `exp` (the access token's lifetime), `iat`, and the authorize `nonce`. A
//!   refresh returns one again (without `nonce`) when the original grant had one.
//!   [`Faults::set_id_token`] builds one [`IdTokenFault`] into every token minted.
//! * `POST /oauth/tokeninfo`: KOE400–403. `GET /v1/oidc/userinfo`: Bearer, `-3` without
//!   `openid`.
//!
//! The keys are committed, public, emulator-only test keys (see `oidc/keys.rs`).
//!
//! [`KakaoEmulator::rotate_signing_key`]: super::KakaoEmulator::rotate_signing_key
//! [`KakaoEmulator::jwks_requests`]: super::KakaoEmulator::jwks_requests
//! [`Endpoint::Jwks`]: super::Endpoint::Jwks
//! [`Faults::set_id_token`]: super::Faults::set_id_token
//! [`IdTokenFault`]: super::IdTokenFault

mod endpoints;
mod keys;
pub(crate) mod mint;
pub(crate) mod signing;
pub(crate) mod tokens_seen;

use actix_web::web;

use super::state::{CodeGrant, RefreshToken, Shared};

pub(crate) use mint::Subject;
pub(crate) use signing::jwks_document;

/// Registers the OIDC routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.well-known/openid-configuration")
            .route(web::get().to(endpoints::discovery)),
    )
    .service(web::resource("/.well-known/jwks.json").route(web::get().to(endpoints::jwks)))
    .service(web::resource("/oauth/tokeninfo").route(web::post().to(endpoints::tokeninfo)))
    .service(web::resource("/v1/oidc/userinfo").route(web::get().to(endpoints::userinfo)));
}

/// Mints a token for `subject` with the current fault; `None` (logged) if signing failed.
pub(crate) fn mint_for(shared: &Shared, subject: &Subject<'_>) -> Option<String> {
    match mint::mint(shared, subject, shared.faults.id_token()) {
        Ok(token) => {
            shared.oidc.remember(&token);
            Some(token)
        }
        Err(error) => {
            tracing::error!(%error, "kakao emulator: could not sign an id_token");
            None
        }
    }
}

/// The `id_token` for a code exchange, when `openid` was granted.
pub(crate) fn mint_id_token(shared: &Shared, grant: &CodeGrant) -> Option<String> {
    if !grant.scopes.iter().any(|s| s == "openid") {
        return None;
    }
    let user = shared.user(grant.user_id)?;
    mint_for(
        shared,
        &Subject {
            user: &user,
            scopes: &grant.scopes,
            nonce: grant.nonce.as_deref(),
            audience: None,
        },
    )
}

/// The `id_token` for a refresh, when the original grant had one (no `nonce`).
pub(crate) fn mint_id_token_on_refresh(shared: &Shared, refresh: &RefreshToken) -> Option<String> {
    if !refresh.with_id_token {
        return None;
    }
    let user = shared.user(refresh.user_id)?;
    mint_for(
        shared,
        &Subject {
            user: &user,
            scopes: &refresh.scopes,
            nonce: None,
            audience: None,
        },
    )
}
