//! Calls to Kakao: one shared `reqwest` client, and the `oauth2` crate for the
//! authorization-code + PKCE mechanics.
//!
//! The HTTP client follows no redirects (an OAuth client that follows redirects can be
//! steered at internal hosts), uses rustls, and has a connect and a total timeout. Every
//! response body is read up to a size limit. `oauth2` reaches the network only through
//! `KakaoClient::send`, its HTTP seam, so every call shares the same client, limits
//! and error mapping.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::KakaoAuthConfig;
use crate::error::KakaoApiError;
use crate::profile::KakaoUserInfo;
use crate::secret::{AccessToken, IdToken, RefreshToken};
use crate::store::KakaoTokens;

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

type OAuthClient = oauth2::Client<
    KakaoTokenErrorResponse,
    KakaoTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The kapi error envelope `{"code": -401, "msg": "…"}`.
#[derive(Debug, Deserialize)]
struct KapiErrorBody {
    code: i64,
    #[serde(default)]
    msg: String,
}

/// A started authorization: the URL to send the browser to, and the secrets to keep.
#[derive(Debug)]
pub struct AuthorizationStart {
    /// Kakao's authorize URL with every parameter.
    pub url: Url,
    /// The one-time `state`.
    pub state: CsrfToken,
    /// The PKCE verifier for the token request.
    pub pkce_verifier: PkceCodeVerifier,
}

/// Talks to Kakao's two hosts. Cheap to clone; share one per application.
#[derive(Clone)]
pub struct KakaoClient {
    http: reqwest::Client,
    oauth: Arc<OAuthClient>,
    config: Arc<KakaoAuthConfig>,
    /// `/v2/user/me?secure_resource=true`, built once.
    user_me_url: Url,
}

impl std::fmt::Debug for KakaoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KakaoClient")
            .field("auth_base_url", &self.config.auth_base_url.as_str())
            .field("api_base_url", &self.config.api_base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl KakaoClient {
    /// Builds the shared HTTP client (no redirects, rustls, timeouts from the config).
    pub fn new(config: Arc<KakaoAuthConfig>) -> Result<Self, KakaoApiError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("actix-kakao-auth/", env!("CARGO_PKG_VERSION")))
            .use_rustls_tls()
            .build()
            .map_err(|e| KakaoApiError::transport(&e))?;
        let mut oauth = oauth2::Client::new(ClientId::new(config.client_id.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_auth_uri(AuthUrl::from_url(config.auth_endpoint("/oauth/authorize")))
            .set_token_uri(TokenUrl::from_url(config.auth_endpoint("/oauth/token")))
            .set_redirect_uri(RedirectUrl::from_url(config.redirect_uri.clone()));
        if let Some(secret) = &config.client_secret {
            oauth = oauth.set_client_secret(oauth2::ClientSecret::new(secret.secret().to_owned()));
        }
        let mut user_me_url = config.api_endpoint("/v2/user/me");
        user_me_url
            .query_pairs_mut()
            .append_pair("secure_resource", "true");
        Ok(Self {
            http,
            oauth: Arc::new(oauth),
            config,
            user_me_url,
        })
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &KakaoAuthConfig {
        &self.config
    }

    /// Builds the authorize URL: fresh `state` (128 bits from the OS CSPRNG), PKCE S256
    /// challenge, the configured scopes, and `nonce` when given.
    pub fn start_authorization(
        &self,
        nonce: Option<&str>,
        extra_scopes: &[String],
    ) -> AuthorizationStart {
        let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .oauth
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .add_scopes(
                self.config
                    .scopes
                    .iter()
                    .chain(extra_scopes)
                    .map(|s| Scope::new(s.clone())),
            );
        if let Some(nonce) = nonce {
            request = request.add_extra_param("nonce", nonce.to_owned());
        }
        let (url, state) = request.url();
        AuthorizationStart {
            url,
            state,
            pkce_verifier,
        }
    }

    /// Exchanges an authorization code (`client_secret_post`, with the PKCE verifier and
    /// the exact redirect URI).
    pub async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<KakaoTokens, KakaoApiError> {
        let send = |request| self.send(request);
        let response = self
            .oauth
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&send)
            .await
            .map_err(token_error)?;
        Ok(tokens_from_response(&response))
    }

    /// `GET /v2/user/me` with `Authorization: Bearer`.
    pub async fn user_info(
        &self,
        access_token: &AccessToken,
    ) -> Result<KakaoUserInfo, KakaoApiError> {
        let request = self
            .http
            .get(self.user_me_url.clone())
            .bearer_auth(access_token.secret());
        let (status, body) = self.read(request).await?;
        if status != 200 {
            return Err(kapi_error(status, &body));
        }
        KakaoUserInfo::from_json(&body)
            .map_err(|e| KakaoApiError::invalid_response(status, e, &body))
    }

    /// `GET` a JWKS document (OpenID Connect signing keys) through the shared client: no
    /// redirects, the configured timeouts and body size limit. Any status but 200 is an
    /// error (5xx: [`KakaoApiError::Unavailable`]).
    pub async fn fetch_jwks(&self, url: &Url) -> Result<Vec<u8>, KakaoApiError> {
        let (status, body) = self.read(self.http.get(url.clone())).await?;
        match status {
            200 => Ok(body),
            500.. => Err(KakaoApiError::Unavailable { status }),
            _ => Err(KakaoApiError::invalid_response(
                status,
                "JWKS request refused",
                &body,
            )),
        }
    }

    /// The `oauth2` HTTP seam: sends one request through the shared client.
    async fn send(
        &self,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, KakaoApiError> {
        let (parts, body) = request.into_parts();
        let url = Url::parse(&parts.uri.to_string()).map_err(|e| {
            KakaoApiError::invalid_response(0, format!("bad request URL: {e}"), b"")
        })?;
        let builder = self
            .http
            .request(parts.method, url)
            .headers(parts.headers)
            .body(body);
        let (status, body) = self.read(builder).await?;
        if status >= 500 {
            return Err(KakaoApiError::Unavailable { status });
        }
        let mut response = http::Response::new(body);
        *response.status_mut() = http::StatusCode::from_u16(status)
            .map_err(|e| KakaoApiError::invalid_response(status, e, b""))?;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        Ok(response)
    }

    /// Sends a request and reads the body up to the configured limit.
    async fn read(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Vec<u8>), KakaoApiError> {
        let mut response = request
            .send()
            .await
            .map_err(|e| KakaoApiError::transport(&e))?;
        let status = response.status().as_u16();
        let limit = self.config.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(KakaoApiError::invalid_response(
                status,
                format!("body larger than {limit} bytes"),
                b"",
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| KakaoApiError::transport(&e))?
        {
            if body.len() + chunk.len() > limit {
                return Err(KakaoApiError::invalid_response(
                    status,
                    format!("body larger than {limit} bytes"),
                    &body,
                ));
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(status, bytes = body.len(), "Kakao answered");
        Ok((status, body))
    }
}

/// How a kapi call authenticates.
#[derive(Debug, Clone, Copy)]
pub enum KapiAuth<'a> {
    /// `Authorization: Bearer {access token}`: acts on that token's user.
    Bearer(&'a AccessToken),
    /// `Authorization: KakaoAK {admin key}` with `target_id_type=user_id&target_id=…`.
    Admin {
        /// The admin key.
        key: &'a crate::secret::AdminKey,
        /// The Kakao user id.
        target_id: i64,
    },
}

#[derive(Debug, Deserialize)]
struct KapiIdBody {
    id: i64,
}

impl KakaoClient {
    /// `POST /oauth/token` with `grant_type=refresh_token`. When Kakao does not rotate
    /// the refresh token (it does only when less than a month is left), the answer has
    /// none: the caller keeps the old one.
    pub async fn refresh_tokens(
        &self,
        refresh_token: &RefreshToken,
    ) -> Result<KakaoTokens, KakaoApiError> {
        let send = |request| self.send(request);
        let token = oauth2::RefreshToken::new(refresh_token.secret().to_owned());
        let response = self
            .oauth
            .exchange_refresh_token(&token)
            .request_async(&send)
            .await
            .map_err(token_error)?;
        Ok(tokens_from_response(&response))
    }

    /// `POST /v1/user/logout`: revokes the user's tokens. Returns the Kakao id.
    pub async fn logout_user(&self, auth: KapiAuth<'_>) -> Result<i64, KakaoApiError> {
        self.kapi_post("/v1/user/logout", auth).await
    }

    /// `POST /v1/user/unlink`: disconnects the user from the app (consents withdrawn,
    /// every token revoked). Returns the Kakao id.
    pub async fn unlink_user(&self, auth: KapiAuth<'_>) -> Result<i64, KakaoApiError> {
        self.kapi_post("/v1/user/unlink", auth).await
    }

    /// `{kauth}/oauth/logout?client_id=…&logout_redirect_uri=…`: the URL that ends the
    /// browser's Kakao Account session, then returns to `logout_redirect_uri` (which
    /// must be registered in the Kakao console as a logout redirect URI).
    pub fn kakao_logout_url(&self, logout_redirect_uri: &str) -> Url {
        let mut url = self.config.auth_endpoint("/oauth/logout");
        url.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("logout_redirect_uri", logout_redirect_uri);
        url
    }

    async fn kapi_post(&self, path: &str, auth: KapiAuth<'_>) -> Result<i64, KakaoApiError> {
        let request = self.http.post(self.config.api_endpoint(path));
        let request = match auth {
            KapiAuth::Bearer(token) => request.bearer_auth(token.secret()),
            KapiAuth::Admin { key, target_id } => request
                .header(
                    reqwest::header::AUTHORIZATION,
                    format!("KakaoAK {}", key.secret()),
                )
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded;charset=utf-8",
                )
                .body(format!("target_id_type=user_id&target_id={target_id}")),
        };
        let (status, body) = self.read(request).await?;
        if status != 200 {
            return Err(kapi_error(status, &body));
        }
        serde_json::from_slice::<KapiIdBody>(&body)
            .map(|b| b.id)
            .map_err(|e| KakaoApiError::invalid_response(status, e, &body))
    }
}

/// Maps a kapi non-200 answer to a typed error.
fn kapi_error(status: u16, body: &[u8]) -> KakaoApiError {
    match serde_json::from_slice::<KapiErrorBody>(body) {
        Ok(err) => KakaoApiError::Api {
            status,
            code: err.code,
            msg: err.msg,
        },
        Err(_) if status >= 500 => KakaoApiError::Unavailable { status },
        Err(e) => KakaoApiError::invalid_response(status, e, body),
    }
}

fn token_error(err: RequestTokenError<KakaoApiError, KakaoTokenErrorResponse>) -> KakaoApiError {
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

/// Converts Kakao's token answer to absolute expiry times.
pub(crate) fn tokens_from_response(response: &KakaoTokenResponse) -> KakaoTokens {
    let now = Utc::now();
    let expires_in = response
        .expires_in()
        .unwrap_or(std::time::Duration::from_secs(6 * 3600));
    let refresh_expires_at = response
        .extra_fields()
        .refresh_token_expires_in
        .map(|s| after(now, std::time::Duration::from_secs(s)));
    KakaoTokens {
        access_token: AccessToken::new(response.access_token().secret().clone()),
        expires_at: after(now, expires_in),
        refresh_token: response
            .refresh_token()
            .map(|t| RefreshToken::new(t.secret().clone())),
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
    fn the_user_info_url_keeps_the_base_prefix_and_asks_for_https_images() {
        let config = crate::KakaoAuthConfig::builder("abc", "http://127.0.0.1:8000/cb/")
            .api_base_url("http://127.0.0.1:9/kapi/")
            .build()
            .expect("valid");
        let client = KakaoClient::new(Arc::new(config)).expect("client");
        assert_eq!(
            client.user_me_url.as_str(),
            "http://127.0.0.1:9/kapi/v2/user/me?secure_resource=true"
        );
    }

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
