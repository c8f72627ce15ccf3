//! [`NaverClient`]: Naver Login's OpenID Connect path (`/oauth2/*`) and `/v1/nid/me`,
//! through the crate's one HTTP seam (no redirects, timeouts, a body limit).

use std::sync::Arc;

use chrono::Utc;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method};
use serde::Deserialize;
use url::Url;

use super::error::NaverApiError;
use super::profile::NaverUserInfo;
use crate::config::client::{join, ClientSettings};
use crate::config::urls::{check_kakao_scheme, parse_absolute};
use crate::config::{ConfigError, HttpOptions};
use crate::kakao::client::KakaoClient;
use crate::kakao::http::{HttpTransport, KakaoRequest, KakaoResponse, ReqwestTransport};
use crate::kakao::oidc::{IdTokenVerifier, JwksSource};
use crate::kakao::secret::{AccessToken, ClientSecret, IdToken, RefreshToken};
use crate::store::Tokens;

/// Naver's `nid` host.
pub const DEFAULT_NAVER_AUTH_URL: &str = "https://nid.naver.com";
/// Naver's `openapi` host.
pub const DEFAULT_NAVER_API_URL: &str = "https://openapi.naver.com";

/// A Naver Login application: Client ID, Client Secret, the Callback URL, the two hosts
/// and the HTTP limits.
#[derive(Clone)]
pub struct NaverSettings {
    pub(crate) client_id: String,
    pub(crate) client_secret: ClientSecret,
    pub(crate) redirect_uri: Url,
    pub(crate) auth_base_url: Url,
    pub(crate) api_base_url: Url,
    pub(crate) http: HttpOptions,
}

impl std::fmt::Debug for NaverSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NaverSettings")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("auth_base_url", &self.auth_base_url.as_str())
            .field("api_base_url", &self.api_base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl NaverSettings {
    /// The application the console shows: its Client ID and Client Secret (both
    /// required), and a registered Callback URL (absolute). The hosts are Naver's.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: &str,
    ) -> Result<Self, ConfigError> {
        let client_id = client_id.into();
        let client_secret = client_secret.into();
        if client_id.trim().is_empty() {
            return Err(ConfigError::Missing {
                name: "naver.client_id",
            });
        }
        if client_secret.trim().is_empty() {
            return Err(ConfigError::Missing {
                name: "naver.client_secret",
            });
        }
        Ok(Self {
            client_id,
            client_secret: ClientSecret::new(client_secret),
            redirect_uri: parse_absolute("naver.redirect_uri", redirect_uri)?,
            auth_base_url: parse_absolute("NAVER_AUTH_URL", DEFAULT_NAVER_AUTH_URL)?,
            api_base_url: parse_absolute("NAVER_API_URL", DEFAULT_NAVER_API_URL)?,
            http: HttpOptions::default(),
        })
    }

    /// Other hosts (an emulator): `auth` for `nid`, `api` for `openapi`. Plain http only on
    /// loopback. Default: Naver's.
    pub fn base_urls(mut self, auth: &str, api: &str) -> Result<Self, ConfigError> {
        let auth = parse_absolute("NAVER_AUTH_URL", auth)?;
        check_kakao_scheme("NAVER_AUTH_URL", &auth, false)?;
        let api = parse_absolute("NAVER_API_URL", api)?;
        check_kakao_scheme("NAVER_API_URL", &api, false)?;
        self.auth_base_url = auth;
        self.api_base_url = api;
        Ok(self)
    }

    /// Timeouts and the body limit. Default: [`HttpOptions::default()`].
    pub fn http(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// The Client ID.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The Callback URL.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// The `nid` base URL.
    pub fn auth_base_url(&self) -> &Url {
        &self.auth_base_url
    }
}

/// What one authorize request carries besides the app's settings.
#[derive(Debug, Clone, Copy)]
pub struct NaverAuthorize<'a> {
    /// The one-time `state`.
    pub state: &'a str,
    /// The `nonce` the id_token must carry back.
    pub nonce: &'a str,
    /// The PKCE S256 challenge.
    pub code_challenge: &'a str,
    /// Ask for the password again (`auth_type=reauthenticate`; the app's `prompt=login`).
    pub reauthenticate: bool,
}

/// Calls Naver Login. Cheap to clone.
#[derive(Clone)]
pub struct NaverClient {
    settings: Arc<NaverSettings>,
    http: Arc<dyn HttpTransport>,
}

impl std::fmt::Debug for NaverClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NaverClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The token endpoint's answer: a success or Naver's `{error, error_description}`, which
/// may come with any status.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    refresh_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `expires_in` as Naver sends it (a string of digits) or as a number.
fn seconds(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|s| *s >= 0)
}

impl NaverClient {
    /// A client over the default transport (`reqwest`, rustls, no redirects).
    pub fn new(settings: NaverSettings) -> Result<Self, NaverApiError> {
        let transport = ReqwestTransport::new(
            settings.http.connect_timeout,
            settings.http.request_timeout,
            settings.http.max_response_bytes,
        )?;
        Ok(Self::with_transport(settings, Arc::new(transport)))
    }

    /// A client over `transport` (tests, or the app's own HTTP stack).
    pub fn with_transport(settings: NaverSettings, transport: Arc<dyn HttpTransport>) -> Self {
        Self {
            settings: Arc::new(settings),
            http: transport,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &NaverSettings {
        &self.settings
    }

    /// The `iss` of Naver's id_tokens: the `nid` base URL without its trailing slash.
    pub fn issuer(&self) -> String {
        self.settings
            .auth_base_url
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }

    /// Where Naver publishes its signing keys: `{nid}/oauth2/jwks`.
    pub fn jwks_url(&self) -> Url {
        join(&self.settings.auth_base_url, "/oauth2/jwks")
    }

    /// A verifier of this app's Naver id_tokens: RS256 with keys from
    /// [`jwks_url`](Self::jwks_url) (cached, fetched again once for an unknown `kid`,
    /// served stale while Naver's JWKS is down, as for Kakao), `iss` =
    /// [`issuer`](Self::issuer) and `aud` = the Client ID. Naver does not document that it
    /// echoes the `nonce`: verify with
    /// [`IdTokenVerifier::verify_nonce_if_present`], then tie `sub` to `/v1/nid/me` with
    /// [`IdTokenClaims::check_subject_text`](crate::kakao::oidc::IdTokenClaims::check_subject_text).
    pub fn id_token_verifier(&self) -> IdTokenVerifier {
        // The JWKS cache fetches through a KakaoClient, which here only carries this
        // client's transport and limits to Naver's JWKS URL.
        let carrier = KakaoClient::with_transport(
            Arc::new(ClientSettings {
                client_id: self.settings.client_id.clone(),
                client_secret: None,
                redirect_uri: self.settings.redirect_uri.clone(),
                scopes: Vec::new(),
                auth_base_url: self.settings.auth_base_url.clone(),
                api_base_url: self.settings.api_base_url.clone(),
                connect_timeout: self.settings.http.connect_timeout,
                request_timeout: self.settings.http.request_timeout,
                max_response_bytes: self.settings.http.max_response_bytes,
            }),
            Arc::clone(&self.http),
        );
        IdTokenVerifier::new(
            self.settings.client_id.clone(),
            self.issuer(),
            JwksSource::new(carrier, self.jwks_url()),
        )
    }

    /// The authorize URL of the OpenID Connect path: `response_type=code`, `client_id`,
    /// `redirect_uri`, `state`, `scope=openid`, `nonce`, the S256 challenge, and
    /// `auth_type=reauthenticate` when asked.
    pub fn authorize_url(&self, request: &NaverAuthorize<'_>) -> Url {
        let mut url = join(&self.settings.auth_base_url, "/oauth2/authorize");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", self.settings.redirect_uri.as_str())
            .append_pair("state", request.state)
            .append_pair("scope", "openid")
            .append_pair("nonce", request.nonce)
            .append_pair("code_challenge", request.code_challenge)
            .append_pair("code_challenge_method", "S256");
        if request.reauthenticate {
            url.query_pairs_mut()
                .append_pair("auth_type", "reauthenticate");
        }
        url
    }

    /// Redeems `code` at `/oauth2/token` (a POST form with the secret, the PKCE verifier,
    /// `state` and `redirect_uri`). An answer carrying `error` fails whatever its status.
    pub async fn exchange_code(
        &self,
        code: &str,
        code_verifier: &str,
        state: &str,
    ) -> Result<Tokens, NaverApiError> {
        let form = self.form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", code_verifier),
            ("state", state),
            ("redirect_uri", self.settings.redirect_uri.as_str()),
        ]);
        let (status, body) = self
            .post_form(join(&self.settings.auth_base_url, "/oauth2/token"), form)
            .await?;
        self.tokens(status, &body, None)
    }

    /// A new access token for `refresh_token`. Naver sends no new refresh token: the one
    /// given is kept in the answer.
    pub async fn refresh(&self, refresh_token: &RefreshToken) -> Result<Tokens, NaverApiError> {
        let form = self.form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.secret()),
        ]);
        let (status, body) = self
            .post_form(join(&self.settings.auth_base_url, "/oauth2/token"), form)
            .await?;
        self.tokens(status, &body, Some(refresh_token))
    }

    /// `/v1/nid/me` with the Bearer token: the user, when `resultcode` is `"00"`.
    pub async fn user_info(&self, token: &AccessToken) -> Result<NaverUserInfo, NaverApiError> {
        let bearer = HeaderValue::from_str(&format!("Bearer {}", token.secret()))
            .map_err(|_| NaverApiError::invalid(0, "the access token is not a header value"))?;
        let request = http::Request::builder()
            .method(Method::GET)
            .uri(join(&self.settings.api_base_url, "/v1/nid/me").as_str())
            .header(AUTHORIZATION, bearer)
            .body(Vec::new())
            .map_err(|e| NaverApiError::invalid(0, e))?;
        let (status, body) = self.call(request).await?;
        NaverUserInfo::from_response(status, &body)
    }

    /// Revokes `token` (and its pair) at `/oauth2.0/revoke`: the user's consent to the
    /// app ends. Judged by the status: 200 is done, also for a token already dead.
    pub async fn revoke(&self, token: &AccessToken) -> Result<(), NaverApiError> {
        let form = self.form(&[
            ("token", token.secret()),
            ("token_type_hint", "access_token"),
        ]);
        let (status, body) = self
            .post_form(join(&self.settings.auth_base_url, "/oauth2.0/revoke"), form)
            .await?;
        match status {
            200 => Ok(()),
            500.. => Err(NaverApiError::Unavailable { status }),
            _ => Err(auth_error(status, &body)
                .unwrap_or_else(|| NaverApiError::invalid(status, "revoke refused"))),
        }
    }

    /// One request for a setup check: `url` with an optional form body (sent with the
    /// client id and secret), answered with whatever status and body came back.
    pub(crate) async fn probe(
        &self,
        method: Method,
        url: &Url,
        form: Option<&[(&str, &str)]>,
    ) -> Result<(u16, Vec<u8>), NaverApiError> {
        match form {
            Some(fields) => self.post_form(url.clone(), self.form(fields)).await,
            None => {
                let request = http::Request::builder()
                    .method(method)
                    .uri(url.as_str())
                    .body(Vec::new())
                    .map_err(|e| NaverApiError::invalid(0, e))?;
                self.call(request).await
            }
        }
    }

    /// `client_id`, `client_secret` and `fields`, form-encoded.
    fn form(&self, fields: &[(&str, &str)]) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("client_id", &self.settings.client_id)
            .append_pair("client_secret", self.settings.client_secret.secret());
        for (name, value) in fields {
            form.append_pair(name, value);
        }
        form.finish()
    }

    async fn post_form(&self, url: Url, form: String) -> Result<(u16, Vec<u8>), NaverApiError> {
        let request = http::Request::builder()
            .method(Method::POST)
            .uri(url.as_str())
            .header(
                CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(form.into_bytes())
            .map_err(|e| NaverApiError::invalid(0, e))?;
        self.call(request).await
    }

    /// Sends through the transport, checks the body size, records the call's duration.
    async fn call(&self, request: KakaoRequest) -> Result<(u16, Vec<u8>), NaverApiError> {
        let endpoint = crate::metrics::endpoint_label(request.uri().path());
        let started = std::time::Instant::now();
        let answer = self.http.send(request).await;
        crate::metrics::kakao_call(endpoint, started.elapsed());
        let KakaoResponse { status, body } = answer?;
        if body.len() > self.settings.http.max_response_bytes {
            return Err(NaverApiError::invalid(status, "body larger than allowed"));
        }
        tracing::debug!(status, bytes = body.len(), "Naver answered");
        Ok((status, body))
    }

    fn tokens(
        &self,
        status: u16,
        body: &[u8],
        kept_refresh: Option<&RefreshToken>,
    ) -> Result<Tokens, NaverApiError> {
        if let Some(error) = auth_error(status, body) {
            return Err(error);
        }
        if status >= 500 {
            return Err(NaverApiError::Unavailable { status });
        }
        let answer: TokenAnswer =
            serde_json::from_slice(body).map_err(|e| NaverApiError::invalid(status, e))?;
        if status != 200 {
            return Err(NaverApiError::invalid(status, "token request refused"));
        }
        let access = answer
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| NaverApiError::invalid(status, "no access_token"))?;
        if !answer
            .token_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
        {
            return Err(NaverApiError::invalid(status, "token_type is not bearer"));
        }
        let expires_in = answer
            .expires_in
            .as_ref()
            .and_then(seconds)
            .ok_or_else(|| NaverApiError::invalid(status, "no usable expires_in"))?;
        Ok(Tokens {
            access_token: AccessToken::new(access),
            expires_at: Utc::now() + chrono::Duration::seconds(expires_in),
            refresh_token: answer
                .refresh_token
                .filter(|t| !t.is_empty())
                .map(RefreshToken::new)
                .or_else(|| kept_refresh.cloned()),
            refresh_token_expires_at: None,
            scopes: Vec::new(),
            id_token: answer.id_token.map(IdToken::new),
        })
    }
}

/// Naver's `{"error", "error_description"}`, when the body is one.
fn auth_error(status: u16, body: &[u8]) -> Option<NaverApiError> {
    let answer: TokenAnswer = serde_json::from_slice(body).ok()?;
    let error = answer.error.filter(|e| !e.is_empty())?;
    Some(NaverApiError::Auth {
        status,
        error,
        error_description: answer.error_description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_is_read_as_a_string_or_a_number() {
        assert_eq!(seconds(&serde_json::json!("3600")), Some(3600));
        assert_eq!(seconds(&serde_json::json!(3600)), Some(3600));
        assert_eq!(seconds(&serde_json::json!("soon")), None);
        assert_eq!(seconds(&serde_json::json!(-1)), None);
        assert_eq!(seconds(&serde_json::json!(null)), None);
    }

    #[test]
    fn an_error_field_is_a_failure_whatever_the_status() {
        let body = br#"{"error":"invalid_request","error_description":"no valid data in session"}"#;
        assert!(matches!(
            auth_error(200, body),
            Some(NaverApiError::Auth { status: 200, error, .. }) if error == "invalid_request"
        ));
        assert!(auth_error(200, br#"{"access_token":"a"}"#).is_none());
    }

    #[test]
    fn settings_refuse_empty_keys_and_plain_http_off_loopback() {
        let cb = "https://app.example/accounts/oauth/complete/naver/";
        let missing = NaverSettings::new("", "s", cb).expect_err("no id");
        assert!(
            missing.to_string().starts_with("naver.client_id"),
            "{missing}"
        );
        let missing = NaverSettings::new("id", " ", cb).expect_err("no secret");
        assert!(
            missing.to_string().starts_with("naver.client_secret"),
            "{missing}"
        );
        let settings = NaverSettings::new("id", "s", cb).expect("valid");
        let refused = settings
            .clone()
            .base_urls("http://nid.example", "https://openapi.example")
            .expect_err("plain http");
        assert!(
            refused.to_string().starts_with("NAVER_AUTH_URL"),
            "{refused}"
        );
        settings
            .base_urls("http://127.0.0.1:9", "http://127.0.0.1:9")
            .expect("loopback is fine");
    }
}
