//! Calls to Kakao: the Kakao endpoints the login needs, over one [`HttpTransport`], with the
//! `oauth2` crate for the authorization-code + PKCE mechanics.
//!
//! Every request, `oauth2`'s included, goes through the client's transport (by default
//! [`ReqwestTransport`]: no redirects, rustls, timeouts, a body limit), and every answer
//! through the same size check and error mapping. Kakao's JSON shapes
//! live in `wire.rs`.

use std::sync::Arc;

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method};
use oauth2::basic::{BasicRevocationErrorResponse, BasicTokenIntrospectionResponse};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, StandardRevocableToken, TokenUrl,
};
use url::Url;

use crate::config::ClientSettings;
use crate::error::KakaoApiError;
use crate::kakao::http::{too_large, HttpTransport, KakaoRequest, KakaoResponse, ReqwestTransport};
use crate::kakao::profile::KakaoUserInfo;
use crate::kakao::secret::{AccessToken, RefreshToken};
use crate::kakao::wire::{
    kapi_error, token_error, tokens_from_response, KapiIdBody, RevokedTermsBody, ScopesBody,
    ServiceTermsBody,
};
pub use crate::kakao::wire::{AccessTokenInfo, ConsentScope, ServiceTerm};
pub(crate) use crate::kakao::wire::{KakaoTokenErrorResponse, KakaoTokenResponse};
use crate::store::Tokens;

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

/// What one authorize request asks for beyond the configured scopes.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthorizeRequest<'a> {
    /// The OpenID Connect `nonce`.
    pub nonce: Option<&'a str>,
    /// Scopes to ask for on top of the configured ones (additional consent).
    pub extra_scopes: &'a [String],
    /// Kakao's `prompt` (`none`, `login`, `select_account`, `create`).
    pub prompt: Option<&'a str>,
    /// Kakao's `login_hint`.
    pub login_hint: Option<&'a str>,
    /// Kakao Sync service-terms tags.
    pub service_terms: &'a [String],
}

/// Talks to Kakao's two hosts. Cheap to clone; share one per application.
#[derive(Clone)]
pub struct KakaoClient {
    http: Arc<dyn HttpTransport>,
    oauth: Arc<OAuthClient>,
    config: Arc<ClientSettings>,
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
    /// Builds the client over the default transport (no redirects, rustls, timeouts and
    /// the body limit from the config).
    pub fn new(config: Arc<ClientSettings>) -> Result<Self, KakaoApiError> {
        let http = ReqwestTransport::new(
            config.connect_timeout,
            config.request_timeout,
            config.max_response_bytes,
        )?;
        Ok(Self::with_transport(config, Arc::new(http)))
    }

    /// Builds the client over `transport` (tests, or an app's own HTTP stack).
    pub fn with_transport(config: Arc<ClientSettings>, transport: Arc<dyn HttpTransport>) -> Self {
        let mut oauth = oauth2::Client::new(ClientId::new(config.client_id.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_auth_uri(AuthUrl::from_url(config.auth_endpoint("/oauth/authorize")))
            .set_token_uri(TokenUrl::from_url(config.auth_endpoint("/oauth/token")))
            .set_redirect_uri(RedirectUrl::from_url(config.redirect_uri.clone()));
        if let Some(secret) = &config.client_secret {
            oauth = oauth.set_client_secret(secret.clone());
        }
        let mut user_me_url = config.api_endpoint("/v2/user/me");
        user_me_url
            .query_pairs_mut()
            .append_pair("secure_resource", "true");
        Self {
            http: transport,
            oauth: Arc::new(oauth),
            config,
            user_me_url,
        }
    }

    /// The settings this client was built from.
    pub fn settings(&self) -> &ClientSettings {
        &self.config
    }

    /// Builds the authorize URL: fresh `state` (128 bits from the OS CSPRNG), PKCE S256
    /// challenge, the configured scopes plus `request.extra_scopes`, and `nonce`, `prompt`,
    /// `login_hint` and `service_terms` when given.
    pub fn start_authorization(&self, request: &AuthorizeRequest<'_>) -> AuthorizationStart {
        let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
        let mut authorize = self
            .oauth
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .add_scopes(
                self.config
                    .scopes
                    .iter()
                    .chain(request.extra_scopes)
                    .map(|s| Scope::new(s.clone())),
            );
        if let Some(nonce) = request.nonce {
            authorize = authorize.add_extra_param("nonce", nonce.to_owned());
        }
        if let Some(prompt) = request.prompt {
            authorize = authorize.add_extra_param("prompt", prompt.to_owned());
        }
        if let Some(hint) = request.login_hint {
            authorize = authorize.add_extra_param("login_hint", hint.to_owned());
        }
        if !request.service_terms.is_empty() {
            authorize = authorize.add_extra_param("service_terms", request.service_terms.join(","));
        }
        let (url, state) = authorize.url();
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
    ) -> Result<Tokens, KakaoApiError> {
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
        let request = self.request(
            Method::GET,
            &self.user_me_url,
            Some(bearer(access_token)?),
            None,
        )?;
        let (status, body) = self.call(request).await?;
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
        let (status, body) = self
            .call(self.request(Method::GET, url, None, None)?)
            .await?;
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

    /// The `oauth2` HTTP seam: sends one of its requests through the transport.
    async fn send(
        &self,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, KakaoApiError> {
        let (status, body) = self.call(request).await?;
        if status >= 500 {
            return Err(KakaoApiError::Unavailable { status });
        }
        let mut response = http::Response::new(body);
        *response.status_mut() = http::StatusCode::from_u16(status)
            .map_err(|e| KakaoApiError::invalid_response(status, e, b""))?;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(response)
    }

    /// A request to `url`, with an `Authorization` header and a form body when given.
    fn request(
        &self,
        method: Method,
        url: &Url,
        authorization: Option<HeaderValue>,
        form: Option<String>,
    ) -> Result<KakaoRequest, KakaoApiError> {
        let mut builder = http::Request::builder().method(method).uri(url.as_str());
        if let Some(value) = authorization {
            builder = builder.header(AUTHORIZATION, value);
        }
        let body = match form {
            Some(form) => {
                builder = builder.header(
                    CONTENT_TYPE,
                    "application/x-www-form-urlencoded;charset=utf-8",
                );
                form.into_bytes()
            }
            None => Vec::new(),
        };
        builder
            .body(body)
            .map_err(|e| KakaoApiError::invalid_response(0, format!("bad request: {e}"), b""))
    }

    /// Sends a kapi request: a 200 answer parsed as `T`, anything else kapi's typed error.
    async fn kapi_json<T: serde::de::DeserializeOwned>(
        &self,
        request: KakaoRequest,
    ) -> Result<T, KakaoApiError> {
        let (status, body) = self.call(request).await?;
        if status != 200 {
            return Err(kapi_error(status, &body));
        }
        serde_json::from_slice::<T>(&body)
            .map_err(|e| KakaoApiError::invalid_response(status, e, &body))
    }

    /// One request for a setup check: `url` with an optional form body, answered with
    /// whatever status and body came back (redirects are not followed).
    pub(crate) async fn probe(
        &self,
        method: Method,
        url: &Url,
        form: Option<String>,
    ) -> Result<KakaoResponse, KakaoApiError> {
        let (status, body) = self.call(self.request(method, url, None, form)?).await?;
        Ok(KakaoResponse::new(status, body))
    }

    /// Sends a request through the transport and checks the body size, whatever the
    /// transport did. Each call's duration goes to the
    /// `kakao_api_request_duration_seconds` histogram, by endpoint path.
    async fn call(&self, request: KakaoRequest) -> Result<(u16, Vec<u8>), KakaoApiError> {
        let endpoint = crate::metrics::endpoint_label(request.uri().path());
        let started = std::time::Instant::now();
        let answer = self.http.send(request).await;
        crate::metrics::kakao_call(endpoint, started.elapsed());
        let KakaoResponse { status, body } = answer?;
        let limit = self.config.max_response_bytes;
        if body.len() > limit {
            return Err(too_large(status, limit, &body[..limit.min(body.len())]));
        }
        tracing::debug!(status, bytes = body.len(), "Kakao answered");
        Ok((status, body))
    }
}

/// `Bearer {token}` as a header value (a token with characters no header may carry is
/// refused rather than sent).
fn bearer(token: &AccessToken) -> Result<HeaderValue, KakaoApiError> {
    HeaderValue::from_str(&format!("Bearer {}", token.secret())).map_err(|_| {
        KakaoApiError::invalid_response(0, "the access token is not a valid header value", b"")
    })
}

/// How a kapi call authenticates.
#[derive(Debug, Clone, Copy)]
pub enum KapiAuth<'a> {
    /// `Authorization: Bearer {access token}`: acts on that token's user.
    Bearer(&'a AccessToken),
    /// `Authorization: KakaoAK {admin key}` with `target_id_type=user_id&target_id=…`.
    Admin {
        /// The admin key.
        key: &'a crate::kakao::secret::AdminKey,
        /// The Kakao user id.
        target_id: i64,
    },
}

impl KakaoClient {
    /// `POST /oauth/token` with `grant_type=refresh_token`. When Kakao does not rotate
    /// the refresh token (it does only when less than a month is left), the answer has
    /// none: the caller keeps the old one.
    pub async fn refresh_tokens(
        &self,
        refresh_token: &RefreshToken,
    ) -> Result<Tokens, KakaoApiError> {
        let send = |request| self.send(request);
        let response = self
            .oauth
            .exchange_refresh_token(refresh_token)
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

    /// `GET /v1/user/access_token_info`: the token's user, remaining lifetime and the app
    /// it was issued to (`-401` for an unknown, expired or revoked token).
    pub async fn access_token_info(
        &self,
        access_token: &AccessToken,
    ) -> Result<AccessTokenInfo, KakaoApiError> {
        let url = self.config.api_endpoint("/v1/user/access_token_info");
        let request = self.request(Method::GET, &url, Some(bearer(access_token)?), None)?;
        self.kapi_json::<AccessTokenInfo>(request).await
    }

    /// `GET /v2/user/scopes`: the app's consent items with the user's status.
    pub async fn scopes(
        &self,
        access_token: &AccessToken,
    ) -> Result<Vec<ConsentScope>, KakaoApiError> {
        let url = self.config.api_endpoint("/v2/user/scopes");
        let request = self.request(Method::GET, &url, Some(bearer(access_token)?), None)?;
        Ok(self.kapi_json::<ScopesBody>(request).await?.scopes)
    }

    /// `POST /v2/user/revoke/scopes`: withdraws the user's consent to revocable items
    /// (required ones answer `-3`). Returns the items with their new status.
    pub async fn revoke_scopes(
        &self,
        access_token: &AccessToken,
        scopes: &[&str],
    ) -> Result<Vec<ConsentScope>, KakaoApiError> {
        let url = self.config.api_endpoint("/v2/user/revoke/scopes");
        let list = serde_json::to_string(scopes)
            .map_err(|e| KakaoApiError::invalid_response(0, e, b""))?;
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("scopes", &list)
            .finish();
        let request = self.request(Method::POST, &url, Some(bearer(access_token)?), Some(form))?;
        Ok(self.kapi_json::<ScopesBody>(request).await?.scopes)
    }

    /// Kakao Sync: `GET /v2/user/service_terms?result=app_service_terms`, every service
    /// term enabled on the app with whether the user agreed (and when).
    pub async fn service_terms(
        &self,
        access_token: &AccessToken,
    ) -> Result<Vec<ServiceTerm>, KakaoApiError> {
        let mut url = self.config.api_endpoint("/v2/user/service_terms");
        url.query_pairs_mut()
            .append_pair("result", "app_service_terms");
        let request = self.request(Method::GET, &url, Some(bearer(access_token)?), None)?;
        Ok(self
            .kapi_json::<ServiceTermsBody>(request)
            .await?
            .service_terms)
    }

    /// Kakao Sync: `POST /v2/user/revoke/service_terms` withdraws the user's agreement to
    /// revocable terms. Returns the tags actually revoked (required and unagreed terms are
    /// left as they are).
    pub async fn revoke_service_terms(
        &self,
        access_token: &AccessToken,
        tags: &[&str],
    ) -> Result<Vec<String>, KakaoApiError> {
        let url = self.config.api_endpoint("/v2/user/revoke/service_terms");
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("tags", &tags.join(","))
            .finish();
        let request = self.request(Method::POST, &url, Some(bearer(access_token)?), Some(form))?;
        let revoked = self.kapi_json::<RevokedTermsBody>(request).await?;
        Ok(revoked
            .revoked_service_terms
            .into_iter()
            .map(|t| t.tag)
            .collect())
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
        let url = self.config.api_endpoint(path);
        let request = match auth {
            KapiAuth::Bearer(token) => {
                self.request(Method::POST, &url, Some(bearer(token)?), None)?
            }
            KapiAuth::Admin { key, target_id } => {
                let value =
                    HeaderValue::from_str(&format!("KakaoAK {}", key.secret())).map_err(|_| {
                        KakaoApiError::invalid_response(
                            0,
                            "the admin key is not a valid header value",
                            b"",
                        )
                    })?;
                self.request(
                    Method::POST,
                    &url,
                    Some(value),
                    Some(format!("target_id_type=user_id&target_id={target_id}")),
                )?
            }
        };
        Ok(self.kapi_json::<KapiIdBody>(request).await?.id)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;
    use crate::error::{LoginError, LoginFailure};

    #[test]
    fn the_user_info_url_keeps_the_base_prefix_and_asks_for_https_images() {
        let config = crate::KakaoAuthConfig::builder("abc", "http://127.0.0.1:8000/cb/")
            .session_secret("s".repeat(64))
            .api_base_url("http://127.0.0.1:9/kapi/")
            .build()
            .expect("valid");
        let client = KakaoClient::new(Arc::clone(config.client())).expect("client");
        assert_eq!(
            client.user_me_url.as_str(),
            "http://127.0.0.1:9/kapi/v2/user/me?secure_resource=true"
        );
    }

    /// Canned answers by path; every request is recorded.
    #[derive(Default)]
    struct FakeKakao {
        answers: Mutex<HashMap<String, Result<KakaoResponse, KakaoApiError>>>,
        seen: Mutex<Vec<(String, String)>>,
    }

    impl FakeKakao {
        fn answer(&self, path: &str, status: u16, body: &str) {
            self.answers.lock().expect("lock").insert(
                path.to_owned(),
                Ok(KakaoResponse::new(status, body.as_bytes().to_vec())),
            );
        }

        fn fail(&self, path: &str, error: KakaoApiError) {
            self.answers
                .lock()
                .expect("lock")
                .insert(path.to_owned(), Err(error));
        }
    }

    impl HttpTransport for FakeKakao {
        fn send(
            &self,
            request: KakaoRequest,
        ) -> futures_util::future::BoxFuture<'_, Result<KakaoResponse, KakaoApiError>> {
            let path = request.uri().path().to_owned();
            let authorization = request
                .headers()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            self.seen
                .lock()
                .expect("lock")
                .push((path.clone(), authorization));
            let answer = match self.answers.lock().expect("lock").remove(&path) {
                Some(answer) => answer,
                None => Ok(KakaoResponse::new(404, b"not found".to_vec())),
            };
            Box::pin(async move { answer })
        }
    }

    fn client(fake: &Arc<FakeKakao>) -> KakaoClient {
        let config = crate::KakaoAuthConfig::builder("client", "http://127.0.0.1:8000/cb/")
            .session_secret("s".repeat(64))
            .auth_base_url("http://127.0.0.1:9")
            .api_base_url("http://127.0.0.1:9")
            .http(crate::config::HttpOptions {
                max_response_bytes: 1024,
                ..crate::config::HttpOptions::default()
            })
            .build()
            .expect("valid");
        KakaoClient::with_transport(
            Arc::clone(config.client()),
            Arc::clone(fake) as Arc<dyn HttpTransport>,
        )
    }

    fn koe(error: &str, code: &str) -> String {
        format!(r#"{{"error":"{error}","error_description":"d","error_code":"{code}"}}"#)
    }

    /// What a login shows and logs when a call fails with `error`.
    #[derive(Debug)]
    struct Outcome {
        failure: LoginFailure,
        message: String,
        kakao_code: Option<String>,
    }

    impl std::fmt::Display for Outcome {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.message)
        }
    }

    fn outcome(error: LoginError) -> Outcome {
        Outcome {
            failure: error.failure(),
            message: error.to_string(),
            kakao_code: error.kakao_code(),
        }
    }

    /// The reason a login shows when the token exchange fails this way.
    async fn token_failure(status: u16, body: &str) -> (LoginFailure, Outcome) {
        let fake = Arc::new(FakeKakao::default());
        fake.answer("/oauth/token", status, body);
        let error = client(&fake)
            .exchange_code("code", "verifier")
            .await
            .expect_err("refused");
        let outcome = outcome(LoginError::Token(error));
        (outcome.failure, outcome)
    }

    /// The reason a login shows when `/v2/user/me` fails this way.
    async fn user_me_failure(status: u16, body: &[u8]) -> (LoginFailure, Outcome) {
        let fake = Arc::new(FakeKakao::default());
        fake.answers.lock().expect("lock").insert(
            "/v2/user/me".into(),
            Ok(KakaoResponse::new(status, body.to_vec())),
        );
        let error = client(&fake)
            .user_info(&AccessToken::new("at".into()))
            .await
            .expect_err("refused");
        let outcome = outcome(LoginError::UserInfo(error));
        (outcome.failure, outcome)
    }

    #[tokio::test]
    async fn every_token_endpoint_koe_code_maps_to_its_reason() {
        let cases = [
            ("invalid_grant", "KOE320", LoginFailure::InvalidCode),
            ("invalid_grant", "KOE303", LoginFailure::InvalidCode),
            ("invalid_grant", "KOE319", LoginFailure::InvalidCode),
            ("invalid_grant", "KOE322", LoginFailure::InvalidCode),
            ("invalid_client", "KOE010", LoginFailure::InvalidCode),
            ("invalid_client", "KOE101", LoginFailure::InvalidCode),
            ("misconfigured", "KOE009", LoginFailure::InvalidCode),
            ("invalid_request", "KOE237", LoginFailure::InvalidCode),
            ("invalid_request", "KOE114", LoginFailure::InvalidCode),
            ("server_error", "KOE003", LoginFailure::KakaoUnavailable),
        ];
        for (error, code, expected) in cases {
            let (failure, err) = token_failure(400, &koe(error, code)).await;
            assert_eq!(failure, expected, "{code}: {err}");
            assert_eq!(err.kakao_code.as_deref(), Some(code), "{code}");
        }
    }

    #[tokio::test]
    async fn token_endpoint_outages_and_garbage_map_to_their_reasons() {
        let (failure, err) = token_failure(503, "<html>maintenance</html>").await;
        assert_eq!(failure, LoginFailure::KakaoUnavailable, "{err}");
        let (failure, err) = token_failure(200, "{not json").await;
        assert_eq!(failure, LoginFailure::InvalidResponse, "{err}");
        let (failure, err) =
            token_failure(200, &format!(r#"{{"pad":"{}"}}"#, "x".repeat(2000))).await;
        assert_eq!(failure, LoginFailure::InvalidResponse, "{err}");
        assert!(err.message.contains("larger than 1024 bytes"), "{err}");
        let (failure, err) = token_failure(400, r#"{"unexpected":true}"#).await;
        assert_eq!(failure, LoginFailure::InvalidResponse, "{err}");
    }

    #[tokio::test]
    async fn transport_errors_are_kakao_unavailable() {
        for timeout in [true, false] {
            let fake = Arc::new(FakeKakao::default());
            fake.fail(
                "/oauth/token",
                KakaoApiError::Transport {
                    message: "connection failed".into(),
                    timeout,
                },
            );
            let err = client(&fake)
                .exchange_code("code", "verifier")
                .await
                .expect_err("refused");
            assert!(matches!(err, KakaoApiError::Transport { .. }), "{err:?}");
            assert_eq!(
                LoginError::Token(err).failure(),
                LoginFailure::KakaoUnavailable
            );
        }
    }

    #[tokio::test]
    async fn every_kapi_code_the_login_distinguishes_maps_to_its_reason() {
        let cases: [(u16, i64, LoginFailure); 8] = [
            (401, -401, LoginFailure::InvalidResponse),
            (400, -2, LoginFailure::InvalidResponse),
            (403, -3, LoginFailure::InvalidResponse),
            (403, -402, LoginFailure::InvalidResponse),
            (400, -10, LoginFailure::InvalidResponse),
            (400, -1, LoginFailure::KakaoUnavailable),
            (400, -7, LoginFailure::KakaoUnavailable),
            (503, -9798, LoginFailure::KakaoUnavailable),
        ];
        for (status, code, expected) in cases {
            let body = format!(r#"{{"msg":"m","code":{code}}}"#);
            let (failure, err) = user_me_failure(status, body.as_bytes()).await;
            assert_eq!(failure, expected, "{code}: {err}");
            assert_eq!(err.kakao_code, Some(code.to_string()));
        }
    }

    #[tokio::test]
    async fn user_me_garbage_outages_and_oversized_bodies_never_log_anyone_in() {
        let (failure, err) = user_me_failure(200, b"{\"id\":").await;
        assert_eq!(failure, LoginFailure::InvalidResponse, "{err}");
        let (failure, err) = user_me_failure(502, b"<html>bad gateway</html>").await;
        assert_eq!(failure, LoginFailure::KakaoUnavailable, "{err}");
        let (failure, err) = user_me_failure(200, &vec![b' '; 4096]).await;
        assert_eq!(failure, LoginFailure::InvalidResponse, "{err}");
    }

    #[tokio::test]
    async fn kapi_calls_send_their_authorization_and_read_the_id() {
        let fake = Arc::new(FakeKakao::default());
        fake.answer("/v1/user/unlink", 200, r#"{"id":9007199254740993}"#);
        let id = client(&fake)
            .unlink_user(KapiAuth::Bearer(&AccessToken::new("user-token".into())))
            .await
            .expect("unlinked");
        assert_eq!(id, 9_007_199_254_740_993);
        fake.answer("/v1/user/logout", 200, r#"{"id":7}"#);
        let key = crate::kakao::secret::AdminKey::new("admin");
        client(&fake)
            .logout_user(KapiAuth::Admin {
                key: &key,
                target_id: 7,
            })
            .await
            .expect("logged out");
        let seen = fake.seen.lock().expect("lock").clone();
        assert_eq!(
            seen,
            [
                ("/v1/user/unlink".to_owned(), "Bearer user-token".to_owned()),
                ("/v1/user/logout".to_owned(), "KakaoAK admin".to_owned()),
            ]
        );
        let err = client(&fake)
            .unlink_user(KapiAuth::Bearer(&AccessToken::new("bad\ntoken".into())))
            .await
            .expect_err("a token that is no header value is refused");
        assert!(
            matches!(err, KakaoApiError::InvalidResponse { .. }),
            "{err:?}"
        );
    }
}
