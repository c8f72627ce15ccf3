//! Typed errors at the library boundary.
//!
//! [`KakaoApiError`] describes a failed call to Kakao and keeps the three kinds of failure
//! apart: Kakao answered with an error (its `error`/`error_description`/`error_code` or
//! `code`/`msg` are kept), the request never completed (transport), or the answer could not
//! be understood (the raw body is kept, truncated). [`LoginError`] is a failed login and
//! maps to one [`LoginFailure`] reason code for the login-error page.

use std::fmt;

/// Longest slice of an unparseable body kept in an error (and so in logs).
const BODY_SNIPPET_LIMIT: usize = 512;

/// A failed call to Kakao.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KakaoApiError {
    /// `kauth.kakao.com` answered `{"error", "error_description", "error_code"}`.
    #[error("Kakao auth error {error} ({}): {}", error_code.as_deref().unwrap_or("no KOE code"), error_description.as_deref().unwrap_or(""))]
    Auth {
        /// HTTP status, when known.
        status: Option<u16>,
        /// The OAuth error (`invalid_grant`, `invalid_client`, …).
        error: String,
        /// Kakao's human-readable text (may change; never branch on it).
        error_description: Option<String>,
        /// Kakao's `KOE…` code.
        error_code: Option<String>,
    },
    /// `kapi.kakao.com` answered `{"code", "msg"}`.
    #[error("Kakao API error {code} (HTTP {status}): {msg}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Kakao's negative error code (`-401`, `-402`, …).
        code: i64,
        /// Kakao's message.
        msg: String,
    },
    /// The request did not complete: connect failure, timeout, reset.
    #[error("could not reach Kakao: {message}")]
    Transport {
        /// What went wrong, without URLs or secrets.
        message: String,
        /// True when a timeout ended the request.
        timeout: bool,
    },
    /// Kakao answered 5xx (outage or maintenance) without a usable error body.
    #[error("Kakao is unavailable (HTTP {status})")]
    Unavailable {
        /// HTTP status.
        status: u16,
    },
    /// The answer could not be parsed or was larger than allowed.
    #[error("unexpected answer from Kakao (HTTP {status}): {reason}")]
    InvalidResponse {
        /// HTTP status.
        status: u16,
        /// Why it was rejected.
        reason: String,
        /// The start of the body, for diagnosis.
        body_snippet: String,
    },
}

impl KakaoApiError {
    pub(crate) fn invalid_response(status: u16, reason: impl fmt::Display, body: &[u8]) -> Self {
        let end = body.len().min(BODY_SNIPPET_LIMIT);
        Self::InvalidResponse {
            status,
            reason: reason.to_string(),
            body_snippet: String::from_utf8_lossy(&body[..end]).into_owned(),
        }
    }

    pub(crate) fn transport(err: &reqwest::Error) -> Self {
        let kind = if err.is_timeout() {
            "timed out"
        } else if err.is_connect() {
            "connection failed"
        } else if err.is_body() || err.is_decode() {
            "reading the answer failed"
        } else {
            "request failed"
        };
        Self::Transport {
            message: kind.to_owned(),
            timeout: err.is_timeout(),
        }
    }

    /// True when Kakao itself is down, slow or unreachable (worth a retry later).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Transport { .. } | Self::Unavailable { .. } => true,
            Self::Auth {
                error, error_code, ..
            } => error == "server_error" || error_code.as_deref() == Some("KOE003"),
            Self::Api { code, .. } => matches!(code, -1 | -7 | -9798),
            Self::InvalidResponse { .. } => false,
        }
    }

    /// Kakao's `KOE…` code or kapi numeric code, for one-line warnings.
    pub fn kakao_code(&self) -> Option<String> {
        match self {
            Self::Auth {
                error_code, error, ..
            } => Some(error_code.clone().unwrap_or_else(|| error.clone())),
            Self::Api { code, .. } => Some(code.to_string()),
            _ => None,
        }
    }
}

/// Why a login failed: the `reason` code of the login-error URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoginFailure {
    /// The callback's `state` was missing, unknown, expired or already used.
    StateMismatch,
    /// The user cancelled on Kakao's consent screen (or consent was required).
    AccessDenied,
    /// Kakao refused the code (reused, expired, redirect mismatch, bad client).
    InvalidCode,
    /// Kakao was down, too slow, or answered 5xx.
    KakaoUnavailable,
    /// Kakao answered something we could not accept.
    InvalidResponse,
    /// The OpenID Connect id_token failed verification.
    InvalidIdToken,
    /// Our side failed (store, session).
    Internal,
}

impl LoginFailure {
    /// Every reason, in documentation order.
    pub const ALL: [LoginFailure; 7] = [
        Self::StateMismatch,
        Self::AccessDenied,
        Self::InvalidCode,
        Self::KakaoUnavailable,
        Self::InvalidResponse,
        Self::InvalidIdToken,
        Self::Internal,
    ];

    /// The code used in `?reason=`.
    pub fn code(self) -> &'static str {
        match self {
            Self::StateMismatch => "state_mismatch",
            Self::AccessDenied => "access_denied",
            Self::InvalidCode => "invalid_code",
            Self::KakaoUnavailable => "kakao_unavailable",
            Self::InvalidResponse => "invalid_response",
            Self::InvalidIdToken => "invalid_id_token",
            Self::Internal => "internal",
        }
    }

    /// Parses a `reason` code; unknown codes give `None`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for LoginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A failed login, with its cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// No pending login matched the callback's `state`.
    #[error("state missing, unknown, expired or already used")]
    StateMismatch,
    /// Kakao redirected back with `error=…`.
    #[error("Kakao authorization failed: {error}")]
    Authorization {
        /// Kakao's `error` value (`access_denied`, `consent_required`, …).
        error: String,
    },
    /// The callback had neither `code` nor `error`, or was malformed.
    #[error("malformed callback: {0}")]
    MalformedCallback(String),
    /// The token exchange failed.
    #[error("token exchange failed: {0}")]
    Token(#[source] KakaoApiError),
    /// `/v2/user/me` failed.
    #[error("user info request failed: {0}")]
    UserInfo(#[source] KakaoApiError),
    /// The id_token failed verification (or its keys could not be fetched).
    #[error("id_token rejected: {0}")]
    IdToken(#[source] crate::oidc::IdTokenError),
    /// The application's store failed.
    #[error("user store failed: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The session could not be read or written.
    #[error("session error: {0}")]
    Session(String),
}

impl LoginError {
    /// The reason code shown to the user.
    pub fn failure(&self) -> LoginFailure {
        match self {
            Self::StateMismatch => LoginFailure::StateMismatch,
            Self::Authorization { error } => match error.as_str() {
                "access_denied"
                | "consent_required"
                | "login_required"
                | "interaction_required" => LoginFailure::AccessDenied,
                "server_error" | "temporarily_unavailable" => LoginFailure::KakaoUnavailable,
                _ => LoginFailure::InvalidCode,
            },
            Self::MalformedCallback(_) => LoginFailure::InvalidCode,
            Self::Token(e) if e.is_unavailable() => LoginFailure::KakaoUnavailable,
            Self::Token(KakaoApiError::Auth { .. }) => LoginFailure::InvalidCode,
            Self::Token(_) => LoginFailure::InvalidResponse,
            Self::UserInfo(e) if e.is_unavailable() => LoginFailure::KakaoUnavailable,
            Self::UserInfo(_) => LoginFailure::InvalidResponse,
            Self::IdToken(e) if e.is_unavailable() => LoginFailure::KakaoUnavailable,
            Self::IdToken(_) => LoginFailure::InvalidIdToken,
            Self::Store(_) | Self::Session(_) => LoginFailure::Internal,
        }
    }

    /// Kakao's error code when Kakao gave one (for the warning line).
    pub fn kakao_code(&self) -> Option<String> {
        match self {
            Self::Authorization { error } => Some(error.clone()),
            Self::Token(e) | Self::UserInfo(e) => e.kakao_code(),
            Self::IdToken(crate::oidc::IdTokenError::Jwks(e)) => e.kakao_code(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_code_round_trips() {
        for reason in LoginFailure::ALL {
            assert_eq!(LoginFailure::from_code(reason.code()), Some(reason));
        }
        assert_eq!(LoginFailure::from_code("nope"), None);
    }

    #[test]
    fn token_errors_map_to_reasons() {
        let koe320 = LoginError::Token(KakaoApiError::Auth {
            status: Some(400),
            error: "invalid_grant".into(),
            error_description: None,
            error_code: Some("KOE320".into()),
        });
        assert_eq!(koe320.failure(), LoginFailure::InvalidCode);
        assert_eq!(koe320.kakao_code().as_deref(), Some("KOE320"));
        let slow = LoginError::Token(KakaoApiError::Transport {
            message: "timed out".into(),
            timeout: true,
        });
        assert_eq!(slow.failure(), LoginFailure::KakaoUnavailable);
        let garbage = LoginError::Token(KakaoApiError::invalid_response(200, "bad json", b"{"));
        assert_eq!(garbage.failure(), LoginFailure::InvalidResponse);
        let denied = LoginError::Authorization {
            error: "access_denied".into(),
        };
        assert_eq!(denied.failure(), LoginFailure::AccessDenied);
    }

    #[test]
    fn id_token_errors_map_to_invalid_id_token_unless_kakao_is_down() {
        use crate::oidc::IdTokenError;
        let bad = LoginError::IdToken(IdTokenError::BadSignature);
        assert_eq!(bad.failure(), LoginFailure::InvalidIdToken);
        let down = LoginError::IdToken(IdTokenError::Jwks(KakaoApiError::Unavailable {
            status: 503,
        }));
        assert_eq!(down.failure(), LoginFailure::KakaoUnavailable);
        let refused = LoginError::IdToken(IdTokenError::Jwks(KakaoApiError::invalid_response(
            404, "refused", b"",
        )));
        assert_eq!(refused.failure(), LoginFailure::InvalidIdToken);
    }
}
