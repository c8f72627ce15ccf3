//! Typed errors at the library boundary.
//!
//! [`KakaoApiError`] describes a failed call to Kakao and keeps the three kinds of failure
//! apart: Kakao answered with an error (its `error`/`error_description`/`error_code` or
//! `code`/`msg` are kept), the request never completed (transport), or the answer could not
//! be understood (the raw body is kept, truncated). [`LoginError`] is a failed login and
//! maps to one [`LoginFailure`] reason code for the login-error page.
//!
//! Text that comes from a request or from Kakao is escaped in every `Display` (a line
//! break or other control character is printed as a `\n`, `\r` or `\u{..}` escape) and
//! bounded, so an error printed to a log stays on one line that no request can forge.

use std::fmt;

use crate::log_safe::{escape, log_safe, LogSafe};

/// Longest slice of an unparseable body kept in an error (and so in logs).
const BODY_SNIPPET_LIMIT: usize = 512;
/// Longest slice of the callback's `error` value shown in an error (and so in logs).
const AUTHORIZATION_ERROR_LIMIT: usize = 64;

/// A failed call to Kakao.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KakaoApiError {
    /// `kauth.kakao.com` answered `{"error", "error_description", "error_code"}`.
    #[error(
        "Kakao auth error {} ({}): {}",
        log_safe(error),
        log_safe(error_code.as_deref().unwrap_or("no KOE code")),
        log_safe(error_description.as_deref().unwrap_or(""))
    )]
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
    #[error("Kakao API error {code} (HTTP {status}): {}", log_safe(msg))]
    Api {
        /// HTTP status.
        status: u16,
        /// Kakao's negative error code (`-401`, `-402`, …).
        code: i64,
        /// Kakao's message.
        msg: String,
    },
    /// kapi `-402`: a consent item the call needs is not agreed. Send the user to an
    /// additional-consent login for `required_scopes` (see
    /// [`KakaoAuth::additional_consent_url`](crate::KakaoAuth::additional_consent_url)).
    #[error("Kakao API error -402 (HTTP {status}): consent needed for {}", log_safe(&required_scopes.join(",")))]
    InsufficientScope {
        /// HTTP status (403).
        status: u16,
        /// The consent items still to be agreed.
        required_scopes: Vec<String>,
        /// The consent items already agreed.
        allowed_scopes: Vec<String>,
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
    #[error("unexpected answer from Kakao (HTTP {status}): {}", log_safe(reason))]
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
            Self::InsufficientScope { .. } => false,
            Self::InvalidResponse { .. } => false,
        }
    }

    /// Kakao's `KOE…` code or kapi numeric code, for one-line warnings (escaped like
    /// `Display`).
    pub fn kakao_code(&self) -> Option<String> {
        match self {
            Self::Auth {
                error_code, error, ..
            } => Some(escape(
                error_code.as_deref().unwrap_or(error),
                AUTHORIZATION_ERROR_LIMIT,
            )),
            Self::Api { code, .. } => Some(code.to_string()),
            Self::InsufficientScope { .. } => Some("-402".to_owned()),
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
    /// Kakao Sync: a service term Kakao marks required is not agreed.
    TermsRequired,
    /// The login request itself was unusable (a `next` or `login_hint` too long to carry).
    InvalidRequest,
    /// A connect flow reached a provider account that belongs to another user: nothing
    /// was linked, and the browser stays logged in as before.
    IdentityInUse,
}

impl LoginFailure {
    /// Every reason, in documentation order.
    pub const ALL: [LoginFailure; 10] = [
        Self::StateMismatch,
        Self::AccessDenied,
        Self::InvalidCode,
        Self::KakaoUnavailable,
        Self::InvalidResponse,
        Self::InvalidIdToken,
        Self::Internal,
        Self::TermsRequired,
        Self::InvalidRequest,
        Self::IdentityInUse,
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
            Self::TermsRequired => "terms_required",
            Self::InvalidRequest => "invalid_request",
            Self::IdentityInUse => "identity_in_use",
        }
    }

    /// What to tell the user, in Korean and in English (the built-in error page shows
    /// both).
    pub fn messages(self) -> (&'static str, &'static str) {
        match self {
            Self::StateMismatch => (
                "로그인 요청이 만료되었거나 올바르지 않습니다. 다시 시도해 주세요.",
                "The login request expired or did not match. Please try again.",
            ),
            Self::AccessDenied => (
                "카카오 동의 화면에서 로그인을 취소했습니다.",
                "You cancelled the login on Kakao's consent screen.",
            ),
            Self::InvalidCode => (
                "카카오 인가 코드가 유효하지 않거나 이미 사용되었습니다.",
                "Kakao's authorization code was invalid or already used.",
            ),
            Self::KakaoUnavailable => (
                "카카오 서버가 응답하지 않습니다. 잠시 후 다시 시도해 주세요.",
                "Kakao is not answering right now. Please try again in a moment.",
            ),
            Self::InvalidResponse => (
                "카카오에서 예상하지 못한 응답을 받았습니다.",
                "Kakao sent an answer we could not use.",
            ),
            Self::InvalidIdToken => (
                "카카오 ID 토큰을 검증하지 못했습니다.",
                "Kakao's ID token could not be verified.",
            ),
            Self::TermsRequired => (
                "필수 서비스 약관에 동의해야 가입할 수 있습니다. 다시 시도해 약관에 동의해 주세요.",
                "You need to agree to the required service terms to sign up. Please try again and agree to them.",
            ),
            Self::InvalidRequest => (
                "로그인 요청이 너무 길거나 올바르지 않습니다. 처음 화면에서 다시 로그인해 주세요.",
                "The login request was too long or malformed. Please start again from the home page.",
            ),
            Self::IdentityInUse => (
                "이 계정은 이미 다른 사용자에게 연결되어 있어 연결하지 않았습니다.",
                "That account is already linked to another user, so it was not connected.",
            ),
            Self::Internal => (
                "로그인 처리 중 문제가 발생했습니다.",
                "Something went wrong on our side while logging you in.",
            ),
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
    #[error(
        "Kakao authorization failed: {}",
        LogSafe::new(error, AUTHORIZATION_ERROR_LIMIT)
    )]
    Authorization {
        /// Kakao's `error` value (`access_denied`, `consent_required`, …), as the request
        /// gave it: escape it before printing it anywhere but through this error.
        error: String,
    },
    /// The callback had neither `code` nor `error`, or was malformed.
    #[error("malformed callback: {}", log_safe(.0))]
    MalformedCallback(String),
    /// The token exchange failed.
    #[error("token exchange failed: {0}")]
    Token(#[source] KakaoApiError),
    /// `/v2/user/me` failed.
    #[error("user info request failed: {0}")]
    UserInfo(#[source] KakaoApiError),
    /// The id_token failed verification (or its keys could not be fetched).
    #[error("id_token rejected: {0}")]
    IdToken(#[source] crate::kakao::oidc::IdTokenError),
    /// Kakao Sync: `/v2/user/service_terms` could not be read.
    #[error("service terms request failed: {0}")]
    ServiceTerms(#[source] KakaoApiError),
    /// Kakao Sync: required service terms are not agreed.
    #[error("required service terms not agreed: {}", log_safe(&missing.join(",")))]
    TermsRequired {
        /// The tags of the required terms the user has not agreed to.
        missing: Vec<String>,
    },
    /// Naver's token exchange or `/v1/nid/me` failed.
    #[error("Naver request failed: {0}")]
    Naver(#[source] crate::naver::NaverApiError),
    /// A connect flow reached an account that belongs to another user.
    #[error("the account belongs to another user")]
    IdentityInUse,
    /// A connect flow reached a second account of a provider the user has linked already.
    #[error("the user has another account of this provider linked")]
    ProviderAlreadyLinked,
    /// A connect flow finished in a browser that is no longer logged in as the user who
    /// began it.
    #[error("the connect flow was begun by another session's user")]
    ConnectUserChanged,
    /// A login arrived at one provider's callback with a login begun for another.
    #[error("the pending login was begun for another provider")]
    ProviderMismatch,
    /// The application's store failed.
    #[error("user store failed: {}", log_safe(&.0.to_string()))]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The session could not be read or written.
    #[error("session error: {}", log_safe(.0))]
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
            Self::ServiceTerms(e) if e.is_unavailable() => LoginFailure::KakaoUnavailable,
            Self::ServiceTerms(_) => LoginFailure::InvalidResponse,
            Self::TermsRequired { .. } => LoginFailure::TermsRequired,
            Self::Naver(e) if e.is_unavailable() => LoginFailure::KakaoUnavailable,
            Self::Naver(crate::naver::NaverApiError::Auth { .. }) => LoginFailure::InvalidCode,
            Self::Naver(_) => LoginFailure::InvalidResponse,
            Self::ProviderMismatch | Self::ConnectUserChanged => LoginFailure::StateMismatch,
            Self::IdentityInUse => LoginFailure::IdentityInUse,
            Self::ProviderAlreadyLinked => LoginFailure::InvalidRequest,
            Self::Store(_) | Self::Session(_) => LoginFailure::Internal,
        }
    }

    /// Kakao's error code when Kakao gave one (for the warning line), escaped like
    /// `Display`.
    pub fn kakao_code(&self) -> Option<String> {
        match self {
            Self::Authorization { error } => Some(escape(error, AUTHORIZATION_ERROR_LIMIT)),
            Self::Token(e) | Self::UserInfo(e) | Self::ServiceTerms(e) => e.kakao_code(),
            Self::IdToken(crate::kakao::oidc::IdTokenError::Jwks(e)) => e.kakao_code(),
            Self::Naver(crate::naver::NaverApiError::Auth { error, .. }) => {
                Some(escape(error, AUTHORIZATION_ERROR_LIMIT))
            }
            Self::Naver(crate::naver::NaverApiError::Profile { resultcode, .. }) => {
                Some(escape(resultcode, AUTHORIZATION_ERROR_LIMIT))
            }
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
        use crate::kakao::oidc::IdTokenError;
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

    /// The callback's `error` parameter, percent-decoded as the callback decodes it.
    fn decoded_error(query: &str) -> String {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
        pairs
            .into_iter()
            .find(|(name, _)| name == "error")
            .map(|(_, value)| value)
            .expect("an error parameter")
    }

    fn is_one_line(text: &str) -> bool {
        !text.contains('\n') && !text.contains('\r') && !text.chars().any(char::is_control)
    }

    #[test]
    fn a_decoded_newline_in_the_callback_error_never_starts_a_log_line() {
        let error = decoded_error("error=access_denied%0Aforged%20line%0D%0Aand%20more");
        assert!(error.contains('\n'), "the test needs a real line break");
        let login = LoginError::Authorization { error };
        let printed = login.to_string();
        assert!(is_one_line(&printed), "{printed:?}");
        assert!(printed.contains("access_denied\\nforged line"), "{printed}");
        let code = login.kakao_code().expect("a code");
        assert!(is_one_line(&code), "{code:?}");
    }

    #[test]
    fn an_ordinary_callback_error_keeps_its_reason_and_code() {
        let login = LoginError::Authorization {
            error: decoded_error("error=access_denied&state=s"),
        };
        assert_eq!(login.failure(), LoginFailure::AccessDenied);
        assert_eq!(login.kakao_code().as_deref(), Some("access_denied"));
        assert_eq!(
            login.to_string(),
            "Kakao authorization failed: access_denied"
        );
    }

    #[test]
    fn a_forged_callback_error_cannot_pass_for_an_ordinary_one() {
        let login = LoginError::Authorization {
            error: "access_denied\nforged".into(),
        };
        assert_eq!(login.failure(), LoginFailure::InvalidCode);
    }

    #[test]
    fn text_from_kakao_or_the_request_is_one_line_in_every_display() {
        let forged = "x\r\nFORGED level=ERROR\u{1b}[2J";
        let errors: Vec<Box<dyn std::error::Error>> = vec![
            Box::new(KakaoApiError::Auth {
                status: Some(400),
                error: forged.into(),
                error_description: Some(forged.into()),
                error_code: Some(forged.into()),
            }),
            Box::new(KakaoApiError::Api {
                status: 401,
                code: -401,
                msg: forged.into(),
            }),
            Box::new(KakaoApiError::invalid_response(
                200,
                forged,
                forged.as_bytes(),
            )),
            Box::new(LoginError::MalformedCallback(forged.into())),
            Box::new(LoginError::Session(forged.into())),
            Box::new(LoginError::Store(forged.into())),
            Box::new(LoginError::Token(KakaoApiError::Api {
                status: 401,
                code: -401,
                msg: forged.into(),
            })),
        ];
        for error in errors {
            let printed = error.to_string();
            assert!(is_one_line(&printed), "{printed:?}");
            assert!(printed.contains("FORGED"), "{printed}");
        }
        let auth = KakaoApiError::Auth {
            status: Some(400),
            error: forged.into(),
            error_description: None,
            error_code: None,
        };
        assert!(is_one_line(&auth.kakao_code().expect("a code")));
    }

    #[test]
    fn long_text_from_kakao_is_bounded_in_display() {
        let error = KakaoApiError::Api {
            status: 400,
            code: -2,
            msg: "m".repeat(10_000),
        };
        assert!(error.to_string().len() < 400, "{}", error.to_string().len());
    }
}
