//! Why an id_token was rejected.

use crate::error::KakaoApiError;

/// Longest piece of token-supplied text (an `alg`, an `iss`, a `kid`) kept in an error.
const ECHO_LIMIT: usize = 80;

/// Token-supplied text, shortened for errors and logs.
pub(crate) fn echo(text: &str) -> String {
    text.chars().take(ECHO_LIMIT).collect()
}

/// A rejected id_token. Every variant maps to the login failure `invalid_id_token`, except
/// a JWKS that could not be fetched because Kakao is unreachable (`kakao_unavailable`,
/// see [`is_unavailable`](Self::is_unavailable)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// `openid` was requested but the token response carried no `id_token`.
    #[error("the token response carried no id_token")]
    Missing,
    /// Not a compact JWS with a JSON header and payload, or too long.
    #[error("malformed id_token: {0}")]
    Malformed(String),
    /// The header's `alg` is not `RS256` (`none`, `HS256`, …).
    #[error("id_token algorithm {0:?} is not accepted (RS256 only)")]
    UnsupportedAlgorithm(String),
    /// The header has no `kid`, so no key can be chosen.
    #[error("id_token header has no kid")]
    MissingKeyId,
    /// No key with this `kid` in the JWKS, even after a re-fetch (or the re-fetch was
    /// rate-limited).
    #[error("no key {kid:?} in the JWKS")]
    UnknownKey {
        /// The header's `kid`.
        kid: String,
    },
    /// The RS256 signature does not verify with the key named by `kid`.
    #[error("id_token signature does not verify")]
    BadSignature,
    /// `iss` is not exactly the configured issuer.
    #[error("id_token issuer {found:?} is not {expected:?}")]
    WrongIssuer {
        /// The configured issuer.
        expected: String,
        /// The token's `iss` (shortened).
        found: String,
    },
    /// `aud` is not exactly this client id.
    #[error("id_token audience is not this client")]
    WrongAudience,
    /// `azp` is present and is not this client id.
    #[error("id_token authorized party is not this client")]
    WrongAuthorizedParty,
    /// `exp` (plus the leeway) has passed.
    #[error("id_token expired")]
    Expired,
    /// `iat` is later than now plus the leeway.
    #[error("id_token issued in the future")]
    IssuedInFuture,
    /// The login sent a nonce but the token has none.
    #[error("id_token has no nonce")]
    NonceMissing,
    /// The token's nonce is not the one this login sent.
    #[error("id_token nonce does not match the login's")]
    NonceMismatch,
    /// `sub` is not the `/v2/user/me` id.
    #[error("id_token sub does not match the user id")]
    SubjectMismatch,
    /// The JWKS could not be fetched.
    #[error("could not fetch the JWKS: {0}")]
    Jwks(#[source] KakaoApiError),
    /// A JWKS fetch failed moments ago; no new attempt until the minimum interval passes.
    #[error("the JWKS could not be fetched recently; not retrying yet")]
    JwksBackoff,
    /// The JWKS was fetched but holds no usable RS256 key, or is not a JWKS.
    #[error("unusable JWKS: {0}")]
    InvalidJwks(String),
}

impl IdTokenError {
    /// True when the failure is Kakao being unreachable (worth a retry later) rather than
    /// a bad token.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Jwks(e) => e.is_unavailable(),
            Self::JwksBackoff => true,
            _ => false,
        }
    }
}
