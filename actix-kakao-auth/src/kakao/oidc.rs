//! OpenID Connect: verifying the `id_token` Kakao returns when `openid` is among the scopes.
//!
//! [`IdTokenVerifier`] checks a token in the order of OpenID Connect Core §3.1.3.7 (the
//! walk-through, one comment per step, is in the private `checks` module): RS256 only, a
//! signature by a key from Kakao's JWKS, `iss`, `aud`, `exp`/`iat` with a small leeway and an
//! injectable clock, and the `nonce` of the login (compared in constant time). After
//! `/v2/user/me`, [`IdTokenClaims::check_subject`] ties `sub` to the user id.
//!
//! The keys come from [`KakaoAuthConfig::jwks_url`](crate::KakaoAuthConfig::jwks_url) through
//! the crate's one HTTP client ([`KakaoClient::fetch_jwks`](crate::kakao::client::KakaoClient::fetch_jwks):
//! no redirects, size limit). They are cached for
//! [`jwks_cache_ttl`](crate::KakaoAuthConfig::jwks_cache_ttl); a `kid` missing from the cache
//! causes one re-fetch, at most once per
//! [`jwks_min_refetch_interval`](crate::KakaoAuthConfig::jwks_min_refetch_interval), so a key
//! Kakao rotated in is accepted without a restart while a forged `kid` cannot make the app
//! hammer Kakao. Concurrent logins share one fetch.
//!
//! The cryptography (RSA PKCS#1 v1.5 with SHA-256) is done by the `jsonwebtoken` crate with
//! its pure-Rust `rust_crypto` backend; this module never lets the token choose the
//! algorithm or the key type.

mod checks;
mod claims;
mod clock;
mod error;
mod jwks;
mod jws;
mod verifier;

pub use claims::IdTokenClaims;
pub use clock::TimeFn;
pub use error::IdTokenError;
pub use jwks::JwkSet;
pub use jwks::JwksSource;
pub use verifier::IdTokenVerifier;
