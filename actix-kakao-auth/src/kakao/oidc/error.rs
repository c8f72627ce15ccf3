//! Why an id_token was rejected.

use crate::error::KakaoApiError;
use crate::log_safe::log_safe;

/// Longest piece of token-supplied text (an `alg`, an `iss`, a `kid`) kept in an error.
const ECHO_LIMIT: usize = 80;

/// Token-supplied text, shortened and escaped (see [`crate::log_safe`]) for errors and
/// logs: a control character in a `kid`, `alg` or `iss` can never start a log line.
pub(crate) fn echo(text: &str) -> String {
    crate::log_safe::escape(text, ECHO_LIMIT)
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
    #[error("malformed id_token: {}", log_safe(.0))]
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
    #[error("unusable JWKS: {}", log_safe(.0))]
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

#[cfg(test)]
mod tests {
    use super::*;

    const FORGED: &str = "x\r\nFORGED level=ERROR\u{7}";

    fn is_one_line(text: &str) -> bool {
        !text.chars().any(char::is_control)
    }

    #[test]
    fn token_supplied_text_is_one_line_in_every_display() {
        for error in [
            IdTokenError::Malformed(FORGED.into()),
            IdTokenError::InvalidJwks(FORGED.into()),
            IdTokenError::UnsupportedAlgorithm(echo(FORGED)),
            IdTokenError::UnknownKey { kid: echo(FORGED) },
            IdTokenError::WrongIssuer {
                expected: "https://kauth.kakao.com".into(),
                found: echo(FORGED),
            },
        ] {
            let printed = error.to_string();
            assert!(is_one_line(&printed), "{printed:?}");
            assert!(printed.contains("FORGED"), "{printed}");
        }
    }

    #[test]
    fn echo_escapes_control_characters_and_keeps_ordinary_text() {
        assert_eq!(echo("a\nb"), "a\\nb");
        assert!(is_one_line(&echo(FORGED)));
        assert_eq!(echo("kid-2024_01"), "kid-2024_01");
        assert_eq!(echo(&"k".repeat(200)).chars().count(), ECHO_LIMIT + 1);
    }
}
