//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`). Not a stable API.
//!
//! Each function feeds untrusted bytes to one parser exactly as the login does, and
//! returns what it made of them; the targets assert the properties that must hold.

use std::sync::{Arc, OnceLock};

use crate::kakao::client::{KakaoClient, KakaoTokenResponse};
use crate::kakao::oidc::{IdTokenClaims, IdTokenError, IdTokenVerifier, JwkSet};
use crate::kakao::profile::KakaoUserInfo;
use crate::kakao::wire::tokens_from_response;
use crate::store::Tokens;
use crate::KakaoAuthConfig;

pub use crate::next_url::sanitize_next;

/// The client id the fuzzing verifier expects in `aud`.
pub const CLIENT_ID: &str = "fuzz-client";
/// The issuer the fuzzing verifier expects in `iss`.
pub const ISSUER: &str = "http://127.0.0.1:1";
/// The nonce the fuzzing verifier expects.
pub const NONCE: &str = "fuzz-nonce";

/// The callback query parser: `Some((code, state, error))` when it parsed.
pub fn callback_query(query: &str) -> Option<(Option<String>, Option<String>, Option<String>)> {
    crate::routes::login::parse_callback_query(query)
        .ok()
        .map(|q| (q.code, q.state, q.error))
}

/// The token-response parser and the expiry arithmetic that follows it.
pub fn token_response(body: &[u8]) -> Option<Tokens> {
    serde_json::from_slice::<KakaoTokenResponse>(body)
        .ok()
        .map(|response| tokens_from_response(&response))
}

/// The `/v2/user/me` parser and its accessors.
pub fn user_me(body: &[u8]) -> Option<KakaoUserInfo> {
    let info = KakaoUserInfo::from_json(body).ok()?;
    let _ = (
        info.nickname(),
        info.profile_image_url(),
        info.verified_email(),
        info.uid(),
    );
    Some(info)
}

/// The JWKS parser.
pub fn jwks(body: &[u8]) -> Result<JwkSet, IdTokenError> {
    JwkSet::from_json(body)
}

fn fixture(jwks_document: &str) -> Option<&'static (IdTokenVerifier, JwkSet)> {
    static FIXTURE: OnceLock<Option<(IdTokenVerifier, JwkSet)>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let config = KakaoAuthConfig::builder(CLIENT_ID, "http://127.0.0.1:2/cb/")
                .auth_base_url(ISSUER)
                .session_secret("f".repeat(64))
                .build()
                .ok()?;
            let client = KakaoClient::new(Arc::clone(config.client())).ok()?;
            let keys = JwkSet::from_json(jwks_document.as_bytes()).ok()?;
            Some((IdTokenVerifier::from_config(&config, client), keys))
        })
        .as_ref()
}

/// The id_token verifier on an arbitrary token, against the keys of `jwks_document` (the
/// fuzz target passes the emulator's published keys; the first call's document is kept).
/// `None` only if the fixture could not be built.
pub fn id_token(jwks_document: &str, token: &str) -> Option<Result<IdTokenClaims, IdTokenError>> {
    let (verifier, keys) = fixture(jwks_document)?;
    Some(verifier.verify_with_keys(token, NONCE, keys))
}

/// The header and claim checks the verifier runs once the signature verified, on an
/// arbitrary header and payload. `None` only if the fixture could not be built.
pub fn id_token_checks(
    jwks_document: &str,
    header: &[u8],
    payload: &[u8],
) -> Option<Result<IdTokenClaims, IdTokenError>> {
    let (verifier, _) = fixture(jwks_document)?;
    Some(verifier.checks_after_signature(header, payload, NONCE))
}
