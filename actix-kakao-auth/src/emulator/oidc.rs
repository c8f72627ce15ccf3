//! OpenID Connect hooks — **not implemented yet**.
//!
//! The emulator already accepts `openid` as a consent item (when it is in `allowed_scopes`),
//! stores the authorize `nonce` with each code, and reports `openid` in the token response's
//! `scope`. What remains, and where it plugs in:
//!
//! * [`configure`]: register `GET /.well-known/openid-configuration` (the kakao-api.md §5.1
//!   fields, URLs pointing at `Shared::base_url`), `GET /.well-known/jwks.json` (two RSA keys
//!   and a switch to rotate the signing `kid`), `POST /oauth/tokeninfo` (KOE400–403) and
//!   `GET /v1/oidc/userinfo`. It is already called from the app factory.
//! * [`mint_id_token`]: return an RS256 JWT (header `kid`/`typ`/`alg`; claims `iss`, `aud` =
//!   client id, `sub` = user id as a string, `iat`/`exp`/`auth_time`, `nonce` if sent,
//!   `nickname`/`picture`/`email` per consent — `email` only when valid and verified) when
//!   the grant's scopes contain `openid`. The token endpoint already puts `Some(jwt)` into the
//!   response as `id_token` and remembers it on the refresh token.
//! * [`mint_id_token_on_refresh`]: same, only when the original grant carried an ID token.

use actix_web::web;

use super::state::{CodeGrant, RefreshToken, Shared};

/// Registers the OIDC routes. Currently none.
pub(crate) fn configure(_cfg: &mut web::ServiceConfig) {
    // Hook: discovery, JWKS, tokeninfo and userinfo go here.
}

/// The `id_token` for a code exchange, when `openid` was granted. Currently never minted.
pub(crate) fn mint_id_token(_shared: &Shared, grant: &CodeGrant) -> Option<String> {
    if grant.scopes.iter().any(|s| s == "openid") {
        tracing::debug!(
            nonce = grant.nonce.as_deref().unwrap_or(""),
            "kakao emulator: openid granted, but ID-token minting is not implemented yet"
        );
    }
    None
}

/// The `id_token` for a refresh, when the original grant had one. Currently never minted.
pub(crate) fn mint_id_token_on_refresh(_shared: &Shared, refresh: &RefreshToken) -> Option<String> {
    let _ = refresh.with_id_token;
    None
}
