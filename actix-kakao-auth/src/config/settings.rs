//! [`KakaoAuthConfig`]: the validated configuration, in parts: the Kakao client's
//! settings, the route paths, the OpenID Connect settings and the session settings.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::client::ClientSettings;
use super::login::LoginSettings;
use super::oidc::OidcSettings;
use super::paths::RoutePaths;
use super::session::SessionSettings;

/// The validated configuration. Build it with [`KakaoAuthConfig::builder`] or
/// [`KakaoAuthConfigBuilder::from_env`](super::KakaoAuthConfigBuilder::from_env).
#[derive(Clone)]
pub struct KakaoAuthConfig {
    pub(crate) client: Arc<ClientSettings>,
    pub(crate) paths: RoutePaths,
    pub(crate) serve_error_page: bool,
    pub(crate) naver: Option<crate::naver::NaverSettings>,
    pub(crate) sdk_sign_in: bool,
    pub(crate) login: LoginSettings,
    pub(crate) flow_ttl: Duration,
    pub(crate) trusted_proxies: crate::client_addr::TrustedProxies,
    pub(crate) clock: crate::kakao::oidc::TimeFn,
    pub(crate) guard_store: Arc<dyn crate::guard_store::GuardStore>,
    pub(crate) token_refresh_margin: Duration,
    pub(crate) admin_key: Option<crate::kakao::secret::AdminKey>,
    pub(crate) app_id: Option<i64>,
    pub(crate) oidc: OidcSettings,
    pub(crate) session: SessionSettings,
}

impl std::fmt::Debug for KakaoAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KakaoAuthConfig")
            .field("client_id", &self.client.client_id)
            .field("client_secret", &self.client.client_secret)
            .field("redirect_uri", &self.client.redirect_uri.as_str())
            .field("scopes", &self.client.scopes)
            .field("auth_base_url", &self.client.auth_base_url.as_str())
            .field("api_base_url", &self.client.api_base_url.as_str())
            .field("login_redirect_url", &self.paths.login_redirect_url)
            .field("login_error_url", &self.paths.login_error_url)
            .field("oidc_issuer", &self.oidc.issuer)
            .field("jwks_url", &self.oidc.jwks_url.as_str())
            .field("session_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl KakaoAuthConfig {
    /// The trusted reverse proxies (see [`crate::client_addr`]).
    pub fn trusted_proxies(&self) -> &crate::client_addr::TrustedProxies {
        &self.trusted_proxies
    }

    /// The client address of `req`: the TCP peer, or what a trusted proxy reports.
    pub fn client_addr(&self, req: &actix_web::HttpRequest) -> std::net::IpAddr {
        self.trusted_proxies.client_of(req)
    }

    /// Now, by the configured clock (see
    /// [`KakaoAuthConfigBuilder::clock`](super::KakaoAuthConfigBuilder::clock)).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        (self.clock)()
    }

    /// Where attempt counts, replay markers and refresh locks live.
    pub fn guard_store(&self) -> &dyn crate::guard_store::GuardStore {
        &*self.guard_store
    }

    /// The REST API key.
    pub fn client_id(&self) -> &str {
        &self.client.client_id
    }

    /// The registered redirect URI.
    pub fn redirect_uri(&self) -> &Url {
        &self.client.redirect_uri
    }

    /// The requested scopes.
    pub fn scopes(&self) -> &[String] {
        &self.client.scopes
    }

    /// True when `openid` is among the scopes (OpenID Connect on).
    pub fn oidc_enabled(&self) -> bool {
        self.client.scopes.iter().any(|s| s == "openid")
    }

    /// The expected `iss` of id_tokens (by default the kauth base URL without its
    /// trailing slash: `https://kauth.kakao.com`).
    pub fn oidc_issuer(&self) -> &str {
        &self.oidc.issuer
    }

    /// Where the id_token signing keys are fetched (by default
    /// `{kauth base}/.well-known/jwks.json`).
    pub fn jwks_url(&self) -> &Url {
        &self.oidc.jwks_url
    }

    /// Clock skew tolerated on the id_token's `exp` and `iat`.
    pub fn id_token_leeway(&self) -> Duration {
        self.oidc.leeway
    }

    /// How long a fetched JWKS is used before it is fetched again.
    pub fn jwks_cache_ttl(&self) -> Duration {
        self.oidc.jwks_cache_ttl
    }

    /// The shortest time between two JWKS fetches caused by an unknown `kid`.
    pub fn jwks_min_refetch_interval(&self) -> Duration {
        self.oidc.jwks_min_refetch_interval
    }

    /// How long past [`jwks_cache_ttl`](Self::jwks_cache_ttl) the last fetched JWKS is
    /// still used while fetching a new one fails.
    pub fn jwks_stale_if_error(&self) -> Duration {
        self.oidc.jwks_stale_grace
    }

    /// The kauth base URL.
    pub fn auth_base_url(&self) -> &Url {
        &self.client.auth_base_url
    }

    /// The kapi base URL.
    pub fn api_base_url(&self) -> &Url {
        &self.client.api_base_url
    }

    /// The app's own origin, taken from the redirect URI (`scheme://host[:port]`).
    pub fn app_origin(&self) -> String {
        self.client.redirect_uri.origin().ascii_serialization()
    }

    /// The route paths and landing pages.
    pub fn paths(&self) -> &RoutePaths {
        &self.paths
    }

    /// True when [`KakaoAuth::routes`](crate::KakaoAuth::routes) mounts the built-in
    /// login error page.
    pub fn serves_error_page(&self) -> bool {
        self.serve_error_page
    }

    /// Naver's settings, when Naver Login is on.
    pub fn naver(&self) -> Option<&crate::naver::NaverSettings> {
        self.naver.as_ref()
    }

    /// The callback route (the redirect URI's path).
    pub fn callback_path(&self) -> &str {
        self.client.redirect_uri.path()
    }

    /// True when the session cookie carries `Secure`.
    pub fn cookie_secure(&self) -> bool {
        self.session.secure
    }

    /// The session cookie's name.
    pub fn cookie_name(&self) -> &str {
        &self.session.cookie_name
    }

    /// The Kakao Sync service-terms tags sent at authorize and checked at the callback.
    pub fn service_terms(&self) -> &[String] {
        &self.login.service_terms
    }

    /// True when the SDK sign-in route is mounted (see
    /// [`KakaoAuthConfigBuilder::sdk_sign_in`](crate::config::SdkOptions::mount)).
    pub fn sdk_sign_in_configured(&self) -> bool {
        self.sdk_sign_in
    }

    /// The app's numeric id (checked against access tokens and the unlink webhook).
    pub fn app_id(&self) -> Option<i64> {
        self.app_id
    }

    /// The consent items additional consent may ask for.
    pub fn additional_consent_scopes(&self) -> &[String] {
        &self.login.consent_allowlist
    }

    /// True when KakaoTalk auto-login (`prompt=none` in the KakaoTalk in-app browser) is on.
    pub fn kakaotalk_auto_login(&self) -> bool {
        self.login.kakaotalk_auto_login
    }

    /// True when an admin key is configured.
    pub fn has_admin_key(&self) -> bool {
        self.admin_key.is_some()
    }

    /// The Kakao client's settings.
    pub fn client(&self) -> &Arc<ClientSettings> {
        &self.client
    }
}
