//! [`NaverApiError`]: a failed call to Naver, with Naver's own envelopes kept apart.

use crate::error::KakaoApiError;
use crate::log_safe::log_safe;

/// A failed call to Naver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NaverApiError {
    /// `nid.naver.com` answered `{"error", "error_description"}`, whatever the HTTP status
    /// (Naver often says 200).
    #[error("Naver auth error {} (HTTP {status}): {}", log_safe(error), log_safe(error_description.as_deref().unwrap_or("")))]
    Auth {
        /// HTTP status.
        status: u16,
        /// The OAuth error (`invalid_request`, `invalid_client`, …).
        error: String,
        /// Naver's text (never branch on it).
        error_description: Option<String>,
    },
    /// `/v1/nid/me` answered a `resultcode` other than `"00"` (`024`: a bad token).
    #[error(
        "Naver profile error {} (HTTP {status}): {}",
        log_safe(resultcode),
        log_safe(message)
    )]
    Profile {
        /// HTTP status.
        status: u16,
        /// Naver's result code.
        resultcode: String,
        /// Naver's message.
        message: String,
    },
    /// The request did not complete: connect failure, timeout, reset.
    #[error("could not reach Naver: {message}")]
    Transport {
        /// What went wrong, without URLs or secrets.
        message: String,
        /// True when a timeout ended the request.
        timeout: bool,
    },
    /// Naver answered 5xx without a usable error body.
    #[error("Naver is unavailable (HTTP {status})")]
    Unavailable {
        /// HTTP status.
        status: u16,
    },
    /// The answer could not be parsed, was too large, or broke a rule of the login.
    #[error("unexpected answer from Naver (HTTP {status}): {}", log_safe(reason))]
    InvalidResponse {
        /// HTTP status (0 when no request was made).
        status: u16,
        /// Why it was rejected.
        reason: String,
    },
}

impl NaverApiError {
    pub(crate) fn invalid(status: u16, reason: impl std::fmt::Display) -> Self {
        Self::InvalidResponse {
            status,
            reason: reason.to_string(),
        }
    }

    /// True when Naver itself is down, slow or unreachable (worth a retry later).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Transport { .. } | Self::Unavailable { .. } => true,
            Self::Auth { error, .. } => {
                error == "server_error" || error == "temporarily_unavailable"
            }
            Self::Profile { .. } | Self::InvalidResponse { .. } => false,
        }
    }
}

/// The shared transport reports its own failures as [`KakaoApiError`]s; for a call to
/// Naver they mean the same thing.
impl From<KakaoApiError> for NaverApiError {
    fn from(error: KakaoApiError) -> Self {
        match error {
            KakaoApiError::Transport { message, timeout } => Self::Transport { message, timeout },
            KakaoApiError::Unavailable { status } => Self::Unavailable { status },
            KakaoApiError::InvalidResponse { status, reason, .. } => {
                Self::InvalidResponse { status, reason }
            }
            other => Self::invalid(0, other),
        }
    }
}
