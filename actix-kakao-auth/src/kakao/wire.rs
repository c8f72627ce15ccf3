//! Kakao's JSON shapes: the token answer and its errors, kapi's error envelope, and their
//! conversion to the library's types.

use chrono::{DateTime, Utc};
use oauth2::basic::BasicTokenType;
use oauth2::{ExtraTokenFields, RequestTokenError, StandardTokenResponse, TokenResponse};
use serde::{Deserialize, Serialize};

use crate::error::KakaoApiError;
use crate::kakao::secret::IdToken;
use crate::store::Tokens;

/// Kakao's token answer beyond RFC 6749: the id_token and the refresh token's lifetime.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KakaoExtraTokenFields {
    /// The OpenID Connect id_token (present when `openid` was granted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Seconds until the refresh token expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<u64>,
}

impl ExtraTokenFields for KakaoExtraTokenFields {}

/// Kakao's token endpoint error: RFC 6749's fields plus Kakao's `error_code` (`KOE…`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KakaoTokenErrorResponse {
    /// The OAuth error code.
    pub error: String,
    /// Kakao's description.
    #[serde(default)]
    pub error_description: Option<String>,
    /// Kakao's `KOE…` code.
    #[serde(default)]
    pub error_code: Option<String>,
}

impl std::fmt::Display for KakaoTokenErrorResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(code) = &self.error_code {
            write!(f, " ({code})")?;
        }
        Ok(())
    }
}

impl oauth2::ErrorResponse for KakaoTokenErrorResponse {}

/// Kakao's token response.
pub type KakaoTokenResponse = StandardTokenResponse<KakaoExtraTokenFields, BasicTokenType>;

/// The kapi error envelope `{"code": -401, "msg": "…"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct KapiErrorBody {
    pub(crate) code: i64,
    #[serde(default)]
    pub(crate) msg: String,
    /// With `-402`: the consent items still to be agreed.
    #[serde(default)]
    pub(crate) required_scopes: Vec<String>,
    /// With `-402`: the consent items already agreed.
    #[serde(default)]
    pub(crate) allowed_scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct KapiIdBody {
    pub(crate) id: i64,
}

/// Maps a kapi non-200 answer to a typed error.
pub(crate) fn kapi_error(status: u16, body: &[u8]) -> KakaoApiError {
    match serde_json::from_slice::<KapiErrorBody>(body) {
        Ok(err) if err.code == -402 && !err.required_scopes.is_empty() => {
            KakaoApiError::InsufficientScope {
                status,
                required_scopes: err.required_scopes,
                allowed_scopes: err.allowed_scopes,
            }
        }
        Ok(err) => KakaoApiError::Api {
            status,
            code: err.code,
            msg: err.msg,
        },
        Err(_) if status >= 500 => KakaoApiError::Unavailable { status },
        Err(e) => KakaoApiError::invalid_response(status, e, body),
    }
}

pub(crate) fn token_error(
    err: RequestTokenError<KakaoApiError, KakaoTokenErrorResponse>,
) -> KakaoApiError {
    match err {
        RequestTokenError::ServerResponse(e) => KakaoApiError::Auth {
            status: None,
            error: e.error,
            error_description: e.error_description,
            error_code: e.error_code,
        },
        RequestTokenError::Request(e) => e,
        RequestTokenError::Parse(e, body) => KakaoApiError::invalid_response(200, e, &body),
        RequestTokenError::Other(message) => KakaoApiError::invalid_response(0, message, b""),
    }
}

/// `now + seconds`, saturating at chrono's largest date instead of panicking on a
/// hostile or broken `expires_in` (`DateTime + Duration` panics on overflow).
fn after(now: DateTime<Utc>, duration: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// One Kakao Sync service term as `/v2/user/service_terms` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceTerm {
    /// The term's tag, as configured in the Kakao console.
    pub tag: String,
    /// True when the term must be agreed to use the service.
    #[serde(default)]
    pub required: bool,
    /// True when the user agreed.
    #[serde(default)]
    pub agreed: bool,
    /// True when the user may withdraw the agreement (only meaningful when agreed).
    #[serde(default)]
    pub revocable: bool,
    /// When the user last agreed (RFC 3339), when agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreed_at: Option<String>,
}

/// `/v1/user/access_token_info`: whose token, for how long, issued to which app.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccessTokenInfo {
    /// The Kakao user id.
    pub id: i64,
    /// Seconds left.
    #[serde(default)]
    pub expires_in: i64,
    /// The id of the app the token was issued to.
    pub app_id: i64,
}

/// One consent item as `/v2/user/scopes` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentScope {
    /// The item's id (`profile_nickname`, `account_email`, …).
    pub id: String,
    /// As shown on the consent screen.
    #[serde(default)]
    pub display_name: String,
    /// `PRIVACY` or `SERVICE`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// False when agreed earlier but no longer set on the app.
    #[serde(default)]
    pub using: bool,
    /// True when the user agreed.
    #[serde(default)]
    pub agreed: bool,
    /// True when the user may withdraw it (only reported when agreed).
    #[serde(default)]
    pub revocable: bool,
}

/// `/v2/user/scopes`'s (and `/v2/user/revoke/scopes`') answer.
#[derive(Debug, Deserialize)]
pub(crate) struct ScopesBody {
    #[serde(default)]
    pub(crate) scopes: Vec<ConsentScope>,
}

/// `/v2/user/service_terms`'s answer.
#[derive(Debug, Deserialize)]
pub(crate) struct ServiceTermsBody {
    #[serde(default)]
    pub(crate) service_terms: Vec<ServiceTerm>,
}

/// `/v2/user/revoke/service_terms`'s answer.
#[derive(Debug, Deserialize)]
pub(crate) struct RevokedTermsBody {
    #[serde(default)]
    pub(crate) revoked_service_terms: Vec<RevokedTerm>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RevokedTerm {
    pub(crate) tag: String,
}

/// Converts Kakao's token answer to absolute expiry times.
pub(crate) fn tokens_from_response(response: &KakaoTokenResponse) -> Tokens {
    let now = Utc::now();
    let expires_in = response
        .expires_in()
        .unwrap_or(std::time::Duration::from_secs(6 * 3600));
    let refresh_expires_at = response
        .extra_fields()
        .refresh_token_expires_in
        .map(|s| after(now, std::time::Duration::from_secs(s)));
    Tokens {
        access_token: response.access_token().clone(),
        expires_at: after(now, expires_in),
        refresh_token: response.refresh_token().cloned(),
        refresh_token_expires_at: response.refresh_token().and(refresh_expires_at),
        scopes: response
            .scopes()
            .map(|scopes| scopes.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
        id_token: response.extra_fields().id_token.clone().map(IdToken::new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_parse_with_kakao_fields() {
        let body = br#"{"token_type":"bearer","access_token":"a","expires_in":21599,"refresh_token":"r","refresh_token_expires_in":5183999,"scope":"profile_nickname openid","id_token":"x.y.z"}"#;
        let response: KakaoTokenResponse = serde_json::from_slice(body).expect("parses");
        let tokens = tokens_from_response(&response);
        assert_eq!(tokens.scopes, ["profile_nickname", "openid"]);
        assert_eq!(tokens.id_token.as_ref().map(IdToken::secret), Some("x.y.z"));
        assert!(tokens.refresh_token_expires_at.is_some());
        let left = tokens.expires_at - Utc::now();
        assert!(
            left > chrono::Duration::seconds(21500) && left <= chrono::Duration::seconds(21599)
        );
    }

    #[test]
    fn huge_lifetimes_saturate_instead_of_panicking() {
        let body = br#"{"token_type":"bearer","access_token":"a","expires_in":18446744073709551615,"refresh_token":"r","refresh_token_expires_in":18446744073709551615}"#;
        let response: KakaoTokenResponse = serde_json::from_slice(body).expect("parses");
        let tokens = tokens_from_response(&response);
        assert_eq!(tokens.expires_at, DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            tokens.refresh_token_expires_at,
            Some(DateTime::<Utc>::MAX_UTC)
        );
    }

    #[test]
    fn kapi_errors_keep_code_and_message() {
        let err = kapi_error(
            401,
            br#"{"msg":"this access token does not exist","code":-401}"#,
        );
        assert!(
            matches!(
                err,
                KakaoApiError::Api {
                    status: 401,
                    code: -401,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(matches!(
            kapi_error(503, b"<html>"),
            KakaoApiError::Unavailable { status: 503 }
        ));
        assert!(matches!(
            kapi_error(400, b"<html>"),
            KakaoApiError::InvalidResponse { status: 400, .. }
        ));
    }
}
