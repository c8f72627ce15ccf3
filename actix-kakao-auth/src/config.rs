//! Configuration: a builder with secure defaults, and [`KakaoAuthConfigBuilder::from_env`].
//!
//! Required inputs go to [`KakaoAuthConfig::builder`]; everything else is a chained setter
//! whose documentation ends with its default. When in doubt the default is the safer
//! choice: PKCE always on, one-time `state` that expires, session renewed at login,
//! `next` limited to local paths, cookies `HttpOnly` + `SameSite=Lax` (+ `Secure` for an
//! https redirect URI), no HTTP redirects followed when calling Kakao.

use std::time::Duration;

use actix_web::cookie::Key;
use sha2::{Digest, Sha512};
use url::{Host, Url};

use crate::secret::ClientSecret;

/// Kakao's OAuth host.
pub const DEFAULT_AUTH_URL: &str = "https://kauth.kakao.com";
/// Kakao's API host.
pub const DEFAULT_API_URL: &str = "https://kapi.kakao.com";
/// Shortest accepted `SESSION_SECRET`.
pub const MIN_SESSION_SECRET_LEN: usize = 64;

/// A configuration value was missing or malformed. `Display` is one line naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required value is absent.
    #[error("{name} is required but not set")]
    Missing {
        /// The setting or environment variable.
        name: &'static str,
    },
    /// A value is present but unusable.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The setting or environment variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            name,
            reason: reason.into(),
        }
    }
}

/// Session cookie settings derived from the configuration.
#[derive(Clone)]
pub(crate) struct SessionSettings {
    pub(crate) key: Key,
    pub(crate) cookie_name: String,
    pub(crate) secure: bool,
    pub(crate) ttl: Duration,
    /// Seals the pending-login cookies; derived from `key`.
    pub(crate) pending_key: Key,
    pub(crate) pending_cookie_prefix: String,
}

/// The validated configuration. Build it with [`KakaoAuthConfig::builder`] or
/// [`KakaoAuthConfigBuilder::from_env`].
#[derive(Clone)]
pub struct KakaoAuthConfig {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<ClientSecret>,
    pub(crate) redirect_uri: Url,
    pub(crate) scopes: Vec<String>,
    pub(crate) auth_base_url: Url,
    pub(crate) api_base_url: Url,
    pub(crate) login_url: String,
    pub(crate) begin_path: String,
    pub(crate) logout_path: String,
    pub(crate) login_redirect_url: String,
    pub(crate) login_error_url: String,
    pub(crate) logout_redirect_url: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) flow_ttl: Duration,
    pub(crate) token_refresh_margin: Duration,
    pub(crate) admin_key: Option<crate::secret::AdminKey>,
    pub(crate) app_id: Option<i64>,
    pub(crate) kakao_logout_path: String,
    pub(crate) disconnect_path: String,
    pub(crate) unlink_callback_path: String,
    pub(crate) oidc: OidcSettings,
    pub(crate) session: SessionSettings,
}

/// OpenID Connect settings, resolved at build time.
#[derive(Debug, Clone)]
pub(crate) struct OidcSettings {
    pub(crate) issuer: String,
    pub(crate) jwks_url: Url,
    pub(crate) leeway: Duration,
    pub(crate) jwks_cache_ttl: Duration,
    pub(crate) jwks_min_refetch_interval: Duration,
    /// How long past its TTL a JWKS may still be used while fetching a new one fails.
    pub(crate) jwks_stale_grace: Duration,
}

impl std::fmt::Debug for KakaoAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KakaoAuthConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("scopes", &self.scopes)
            .field("auth_base_url", &self.auth_base_url.as_str())
            .field("api_base_url", &self.api_base_url.as_str())
            .field("login_redirect_url", &self.login_redirect_url)
            .field("login_error_url", &self.login_error_url)
            .field("oidc_issuer", &self.oidc.issuer)
            .field("jwks_url", &self.oidc.jwks_url.as_str())
            .field("session_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl KakaoAuthConfig {
    /// Starts a builder from the two values Kakao's console gives you: the REST API key
    /// and a registered redirect URI (absolute, e.g.
    /// `https://example.com/accounts/oauth/complete/kakao/`). The callback route is mounted
    /// at the redirect URI's path.
    pub fn builder(
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> KakaoAuthConfigBuilder {
        KakaoAuthConfigBuilder::new(client_id.into(), redirect_uri.into())
    }

    /// The REST API key.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The registered redirect URI.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// The requested scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// True when `openid` is among the scopes (OpenID Connect on).
    pub fn oidc_enabled(&self) -> bool {
        self.scopes.iter().any(|s| s == "openid")
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
        &self.auth_base_url
    }

    /// The kapi base URL.
    pub fn api_base_url(&self) -> &Url {
        &self.api_base_url
    }

    /// The app's own origin, taken from the redirect URI (`scheme://host[:port]`).
    pub fn app_origin(&self) -> String {
        self.redirect_uri.origin().ascii_serialization()
    }

    /// Where anonymous users are sent to log in (`/login/` by default).
    pub fn login_url(&self) -> &str {
        &self.login_url
    }

    /// The route that starts a Kakao login.
    pub fn begin_path(&self) -> &str {
        &self.begin_path
    }

    /// The callback route (the redirect URI's path).
    pub fn callback_path(&self) -> &str {
        self.redirect_uri.path()
    }

    /// The logout route (POST).
    pub fn logout_path(&self) -> &str {
        &self.logout_path
    }

    /// Where a successful login lands when no `next` was given.
    pub fn login_redirect_url(&self) -> &str {
        &self.login_redirect_url
    }

    /// Where a failed login lands (with `?reason=`).
    pub fn login_error_url(&self) -> &str {
        &self.login_error_url
    }

    /// Where logout lands.
    pub fn logout_redirect_url(&self) -> &str {
        &self.logout_redirect_url
    }

    /// True when the session cookie carries `Secure`.
    pub fn cookie_secure(&self) -> bool {
        self.session.secure
    }

    /// The session cookie's name.
    pub fn cookie_name(&self) -> &str {
        &self.session.cookie_name
    }

    /// The "log out with the Kakao account" route.
    pub fn kakao_logout_path(&self) -> &str {
        &self.kakao_logout_path
    }

    /// The disconnect route.
    pub fn disconnect_path(&self) -> &str {
        &self.disconnect_path
    }

    /// The unlink webhook route.
    pub fn unlink_callback_path(&self) -> &str {
        &self.unlink_callback_path
    }

    /// True when an admin key is configured.
    pub fn has_admin_key(&self) -> bool {
        self.admin_key.is_some()
    }

    pub(crate) fn auth_endpoint(&self, path: &str) -> Url {
        join(&self.auth_base_url, path)
    }

    pub(crate) fn api_endpoint(&self, path: &str) -> Url {
        join(&self.api_base_url, path)
    }
}

/// Joins an absolute path onto a base URL that may itself carry a path prefix.
fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}{path}"));
    url
}

/// Builder for [`KakaoAuthConfig`]. Every setter's doc ends with its default.
#[must_use]
#[derive(Clone)]
pub struct KakaoAuthConfigBuilder {
    client_id: String,
    redirect_uri: String,
    client_secret: Option<String>,
    scopes: Vec<String>,
    auth_base_url: String,
    api_base_url: String,
    login_url: String,
    begin_path: String,
    logout_path: String,
    login_redirect_url: String,
    login_error_url: String,
    logout_redirect_url: String,
    connect_timeout: Duration,
    request_timeout: Duration,
    max_response_bytes: usize,
    flow_ttl: Duration,
    pending_cookie_prefix: String,
    token_refresh_margin: Duration,
    admin_key: Option<String>,
    app_id: Option<i64>,
    kakao_logout_path: String,
    disconnect_path: String,
    unlink_callback_path: String,
    oidc_issuer: Option<String>,
    jwks_url: Option<String>,
    id_token_leeway: Duration,
    jwks_cache_ttl: Duration,
    jwks_min_refetch_interval: Duration,
    jwks_stale_if_error: Duration,
    insecure_allow_http_kakao: bool,
    session_secret: Option<String>,
    cookie_name: String,
    cookie_secure: Option<bool>,
    session_ttl: Duration,
}

impl std::fmt::Debug for KakaoAuthConfigBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KakaoAuthConfigBuilder")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl KakaoAuthConfigBuilder {
    fn new(client_id: String, redirect_uri: String) -> Self {
        Self {
            client_id,
            redirect_uri,
            client_secret: None,
            scopes: Vec::new(),
            auth_base_url: DEFAULT_AUTH_URL.to_owned(),
            api_base_url: DEFAULT_API_URL.to_owned(),
            login_url: "/login/".to_owned(),
            begin_path: "/accounts/oauth/login/kakao/".to_owned(),
            logout_path: "/logout/".to_owned(),
            login_redirect_url: "/".to_owned(),
            login_error_url: "/login/error/".to_owned(),
            logout_redirect_url: "/".to_owned(),
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            max_response_bytes: 256 * 1024,
            flow_ttl: Duration::from_secs(600),
            pending_cookie_prefix: "kakao_auth_flow_".to_owned(),
            token_refresh_margin: Duration::from_secs(300),
            admin_key: None,
            app_id: None,
            kakao_logout_path: "/logout/kakao/".to_owned(),
            disconnect_path: "/accounts/oauth/disconnect/kakao/".to_owned(),
            unlink_callback_path: "/accounts/oauth/unlink/kakao/".to_owned(),
            oidc_issuer: None,
            jwks_url: None,
            id_token_leeway: Duration::from_secs(60),
            jwks_cache_ttl: Duration::from_secs(600),
            jwks_min_refetch_interval: Duration::from_secs(30),
            jwks_stale_if_error: Duration::from_secs(3600),
            insecure_allow_http_kakao: false,
            session_secret: None,
            cookie_name: "sessionid".to_owned(),
            cookie_secure: None,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
        }
    }

    /// Reads the variables of the demo-app contract: `KAKAO_CLIENT_ID` (required),
    /// `KAKAO_CLIENT_SECRET`, `APP_URL` (else `http://{BIND}`, else
    /// `http://127.0.0.1:8000`), `KAKAO_AUTH_URL`, `KAKAO_API_URL`, `KAKAO_SCOPE` and
    /// `SESSION_SECRET`. The redirect URI is `{APP_URL}/accounts/oauth/complete/kakao/`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any variable source (tests, config files).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let client_id = get("KAKAO_CLIENT_ID").ok_or(ConfigError::Missing {
            name: "KAKAO_CLIENT_ID",
        })?;
        let app_url = app_url_from(&get)?;
        let mut builder = Self::new(
            client_id,
            format!("{app_url}/accounts/oauth/complete/kakao/"),
        );
        builder.client_secret = get("KAKAO_CLIENT_SECRET");
        if let Some(url) = get("KAKAO_AUTH_URL") {
            builder.auth_base_url = checked_base_url("KAKAO_AUTH_URL", &url)?;
        }
        if let Some(url) = get("KAKAO_API_URL") {
            builder.api_base_url = checked_base_url("KAKAO_API_URL", &url)?;
        }
        if let Some(scope) = get("KAKAO_SCOPE") {
            builder.scopes = split_scopes(&scope);
        }
        builder.session_secret = get("SESSION_SECRET");
        builder.admin_key = get("KAKAO_ADMIN_KEY");
        if let Some(app_id) = get("KAKAO_APP_ID") {
            let id = app_id.trim().parse::<i64>().map_err(|_| {
                ConfigError::invalid("KAKAO_APP_ID", "must be the app's numeric id")
            })?;
            builder.app_id = Some(id);
        }
        Ok(builder)
    }

    /// The client secret, sent in the token request body (`client_secret_post`, the only
    /// method Kakao accepts). Default: none.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Scopes (consent items) to request, e.g. `["profile_nickname", "openid"]`.
    /// Default: none (the app's default consent items).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Base URL of the OAuth host. Default: `https://kauth.kakao.com`.
    pub fn auth_base_url(mut self, url: impl Into<String>) -> Self {
        self.auth_base_url = url.into();
        self
    }

    /// Base URL of the API host. Default: `https://kapi.kakao.com`.
    pub fn api_base_url(mut self, url: impl Into<String>) -> Self {
        self.api_base_url = url.into();
        self
    }

    /// The login page that anonymous users are sent to, with `?next=`; the library
    /// mounts it as a redirect to the begin route. Default: `/login/`.
    pub fn login_url(mut self, path: impl Into<String>) -> Self {
        self.login_url = path.into();
        self
    }

    /// The route that starts a login. Default: `/accounts/oauth/login/kakao/`.
    pub fn begin_path(mut self, path: impl Into<String>) -> Self {
        self.begin_path = path.into();
        self
    }

    /// The logout route (POST only). Default: `/logout/`.
    pub fn logout_path(mut self, path: impl Into<String>) -> Self {
        self.logout_path = path.into();
        self
    }

    /// Where a login lands without `next`. Must be a local path. Default: `/`.
    pub fn login_redirect_url(mut self, path: impl Into<String>) -> Self {
        self.login_redirect_url = path.into();
        self
    }

    /// Where a failed login lands, with `?reason=<code>`. Default: `/login/error/`.
    pub fn login_error_url(mut self, path: impl Into<String>) -> Self {
        self.login_error_url = path.into();
        self
    }

    /// Where logout lands. Default: `/`.
    pub fn logout_redirect_url(mut self, path: impl Into<String>) -> Self {
        self.logout_redirect_url = path.into();
        self
    }

    /// TCP connect timeout for calls to Kakao. Default: 3 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Total timeout of one call to Kakao. Default: 10 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Largest response body accepted from Kakao. Default: 256 KiB.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// How long a started login (state, PKCE verifier, nonce) stays valid. Default: 10 min.
    pub fn login_flow_ttl(mut self, ttl: Duration) -> Self {
        self.flow_ttl = ttl;
        self
    }

    /// Name prefix of the sealed pending-login cookies (one per login in progress, named
    /// with a digest of its `state`, scoped to the callback path, living the flow TTL).
    /// Default: `kakao_auth_flow_`.
    pub fn pending_cookie_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.pending_cookie_prefix = prefix.into();
        self
    }

    /// The issuer an id_token's `iss` must equal exactly (OpenID Connect, with `openid` in
    /// the scopes). Default: the kauth base URL without its trailing slash, i.e.
    /// `https://kauth.kakao.com`, or the emulator's URL when pointed at it.
    pub fn oidc_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.oidc_issuer = Some(issuer.into());
        self
    }

    /// Where the id_token signing keys (JWKS) are fetched. Default:
    /// `{kauth base URL}/.well-known/jwks.json`.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// Clock skew tolerated when checking an id_token's `exp` and `iat`. Default: 60 s.
    pub fn id_token_leeway(mut self, leeway: Duration) -> Self {
        self.id_token_leeway = leeway;
        self
    }

    /// How long a fetched JWKS is trusted before it is fetched again. Default: 10 min.
    pub fn jwks_cache_ttl(mut self, ttl: Duration) -> Self {
        self.jwks_cache_ttl = ttl;
        self
    }

    /// The shortest time between two JWKS fetches triggered by an id_token whose `kid` is
    /// not in the cached set (Kakao may block clients that fetch too often). Default: 30 s.
    pub fn jwks_min_refetch_interval(mut self, interval: Duration) -> Self {
        self.jwks_min_refetch_interval = interval;
        self
    }

    /// How long past [`jwks_cache_ttl`](Self::jwks_cache_ttl) the last good JWKS is still
    /// used when fetching a fresh one fails (stale-if-error): an outage of Kakao's JWKS
    /// endpoint then does not stop logins at once. Each failed fetch that falls back on
    /// the stale keys logs a warning; a fetch is retried at most once per
    /// [`jwks_min_refetch_interval`](Self::jwks_min_refetch_interval); a successful fetch
    /// starts over with fresh keys. Once the grace period has passed too, the fetch error
    /// is returned. `Duration::ZERO` turns this off. Default: 1 hour.
    pub fn jwks_stale_if_error(mut self, grace: Duration) -> Self {
        self.jwks_stale_if_error = grace;
        self
    }

    /// Allows plain `http` for the kauth and kapi base URLs and the JWKS URL on hosts that
    /// are not loopback. Without it, `build()` accepts `http` only for `localhost`,
    /// `127.0.0.0/8` and `[::1]` (a local emulator): tokens, client secret and signing
    /// keys must not cross a network unencrypted. Only for test rigs on other hosts.
    /// Default: false.
    pub fn insecure_allow_http_kakao(mut self, allow: bool) -> Self {
        self.insecure_allow_http_kakao = allow;
        self
    }

    /// Secret from which the session cookie key is derived (at least 64 characters).
    /// Instances sharing it share sessions. Default: a random key per start (sessions
    /// end at restart), with a warning.
    pub fn session_secret(mut self, secret: impl Into<String>) -> Self {
        self.session_secret = Some(secret.into());
        self
    }

    /// Session cookie name. Default: `sessionid`.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// Forces the cookie's `Secure` flag. Default: on exactly when the redirect URI is https.
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.cookie_secure = Some(secure);
        self
    }

    /// Session lifetime (renewed on activity). Default: 14 days, as in Django.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// How long before expiry [`KakaoAuth::access_token_for`](crate::KakaoAuth::access_token_for)
    /// refreshes a token. Default: 5 minutes.
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.token_refresh_margin = margin;
        self
    }

    /// The admin key. It authenticates Kakao's unlink webhook (`Authorization: KakaoAK …`)
    /// and lets disconnect unlink without the user's token. Default: none (the webhook
    /// route answers 404).
    pub fn admin_key(mut self, key: impl Into<String>) -> Self {
        self.admin_key = Some(key.into());
        self
    }

    /// The app's numeric id; when set, the unlink webhook also requires a matching
    /// `app_id`. Default: not checked.
    pub fn app_id(mut self, app_id: i64) -> Self {
        self.app_id = Some(app_id);
        self
    }

    /// The route of "log out with the Kakao account" (POST). Default: `/logout/kakao/`.
    pub fn kakao_logout_path(mut self, path: impl Into<String>) -> Self {
        self.kakao_logout_path = path.into();
        self
    }

    /// The disconnect (회원 탈퇴) route (POST). Default: `/accounts/oauth/disconnect/kakao/`.
    pub fn disconnect_path(mut self, path: impl Into<String>) -> Self {
        self.disconnect_path = path.into();
        self
    }

    /// The route of Kakao's unlink webhook (GET and POST).
    /// Default: `/accounts/oauth/unlink/kakao/`.
    pub fn unlink_callback_path(mut self, path: impl Into<String>) -> Self {
        self.unlink_callback_path = path.into();
        self
    }

    /// Validates and builds.
    pub fn build(self) -> Result<KakaoAuthConfig, ConfigError> {
        if self.client_id.trim().is_empty() {
            return Err(ConfigError::Missing { name: "client_id" });
        }
        for (name, secret) in [
            ("client_secret", &self.client_secret),
            ("admin_key", &self.admin_key),
            ("session_secret", &self.session_secret),
        ] {
            if secret.as_deref().is_some_and(|s| s.trim().is_empty()) {
                return Err(ConfigError::invalid(
                    name,
                    "is empty; set a real value or leave it unset",
                ));
            }
        }
        let redirect_uri = parse_absolute("redirect_uri", &self.redirect_uri)?;
        let allow_http = self.insecure_allow_http_kakao;
        let auth_base_url = parse_absolute("KAKAO_AUTH_URL", &self.auth_base_url)?;
        check_kakao_scheme("KAKAO_AUTH_URL", &auth_base_url, allow_http)?;
        let api_base_url = parse_absolute("KAKAO_API_URL", &self.api_base_url)?;
        check_kakao_scheme("KAKAO_API_URL", &api_base_url, allow_http)?;
        let oidc = OidcSettings {
            issuer: match self.oidc_issuer {
                Some(issuer) if issuer.trim().is_empty() => {
                    return Err(ConfigError::invalid("oidc_issuer", "must not be empty"))
                }
                Some(issuer) => issuer,
                None => auth_base_url.as_str().trim_end_matches('/').to_owned(),
            },
            jwks_url: match &self.jwks_url {
                Some(url) => {
                    let url = parse_absolute("jwks_url", url)?;
                    check_kakao_scheme("jwks_url", &url, allow_http)?;
                    url
                }
                None => join(&auth_base_url, "/.well-known/jwks.json"),
            },
            leeway: self.id_token_leeway,
            jwks_cache_ttl: self.jwks_cache_ttl,
            jwks_min_refetch_interval: self.jwks_min_refetch_interval,
            jwks_stale_grace: self.jwks_stale_if_error,
        };
        for (name, path) in [
            ("login_url", &self.login_url),
            ("begin_path", &self.begin_path),
            ("logout_path", &self.logout_path),
            ("login_redirect_url", &self.login_redirect_url),
            ("login_error_url", &self.login_error_url),
            ("logout_redirect_url", &self.logout_redirect_url),
            ("kakao_logout_path", &self.kakao_logout_path),
            ("disconnect_path", &self.disconnect_path),
            ("unlink_callback_path", &self.unlink_callback_path),
        ] {
            if crate::next_url::sanitize_next(path).is_none() {
                return Err(ConfigError::invalid(
                    name,
                    "must be a local path starting with '/'",
                ));
            }
        }
        for (name, value) in [
            ("cookie_name", &self.cookie_name),
            ("pending_cookie_prefix", &self.pending_cookie_prefix),
        ] {
            let token = !value.is_empty()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !token {
                return Err(ConfigError::invalid(
                    name,
                    "must be non-empty and use only ASCII letters, digits, '_' and '-'",
                ));
            }
        }
        if self.cookie_name.starts_with(&self.pending_cookie_prefix) {
            return Err(ConfigError::invalid(
                "pending_cookie_prefix",
                "must not be a prefix of the session cookie's name",
            ));
        }
        let key = match &self.session_secret {
            Some(secret) => session_key_from_secret(secret)?,
            None => {
                tracing::warn!(
                    "SESSION_SECRET is not set: using a random session key; sessions end when the process restarts and are not shared between instances"
                );
                Key::generate()
            }
        };
        let secure = self
            .cookie_secure
            .unwrap_or(redirect_uri.scheme() == "https");
        Ok(KakaoAuthConfig {
            client_id: self.client_id,
            client_secret: self.client_secret.map(ClientSecret::new),
            redirect_uri,
            scopes: self.scopes,
            auth_base_url,
            api_base_url,
            login_url: self.login_url,
            begin_path: self.begin_path,
            logout_path: self.logout_path,
            login_redirect_url: self.login_redirect_url,
            login_error_url: self.login_error_url,
            logout_redirect_url: self.logout_redirect_url,
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            max_response_bytes: self.max_response_bytes,
            flow_ttl: self.flow_ttl,
            token_refresh_margin: self.token_refresh_margin,
            admin_key: self.admin_key.map(crate::secret::AdminKey::new),
            app_id: self.app_id,
            kakao_logout_path: self.kakao_logout_path,
            disconnect_path: self.disconnect_path,
            unlink_callback_path: self.unlink_callback_path,
            oidc,
            session: SessionSettings {
                pending_key: pending_cookie_key(&key),
                key,
                cookie_name: self.cookie_name,
                secure,
                ttl: self.session_ttl,
                pending_cookie_prefix: self.pending_cookie_prefix,
            },
        })
    }
}

/// The key that seals pending-login cookies: HKDF-SHA256 of the session key with its own
/// label, so the two keys are independent.
fn pending_cookie_key(session_key: &Key) -> Key {
    let mut derived = [0u8; 64];
    // 64 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
    let _ = hkdf::Hkdf::<sha2::Sha256>::new(None, session_key.master())
        .expand(b"actix-kakao-auth pending login v1", &mut derived);
    Key::from(&derived)
}

/// Derives the 64-byte cookie key from `SESSION_SECRET` (SHA-512, so every character counts).
pub fn session_key_from_secret(secret: &str) -> Result<Key, ConfigError> {
    if secret.chars().count() < MIN_SESSION_SECRET_LEN {
        return Err(ConfigError::invalid(
            "SESSION_SECRET",
            format!("must be at least {MIN_SESSION_SECRET_LEN} characters"),
        ));
    }
    Ok(Key::from(&Sha512::digest(secret.as_bytes())[..]))
}

/// Splits `KAKAO_SCOPE` on spaces and commas (Kakao's docs use commas, its SDKs spaces).
pub fn split_scopes(value: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in value
        .split([' ', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    scopes
}

fn app_url_from(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let app_url = match get("APP_URL") {
        Some(url) => {
            let parsed = parse_absolute("APP_URL", &url)?;
            if parsed.query().is_some() || parsed.fragment().is_some() {
                return Err(ConfigError::invalid(
                    "APP_URL",
                    "must not carry a query or fragment",
                ));
            }
            url
        }
        None => format!(
            "http://{}",
            get("BIND").unwrap_or_else(|| "127.0.0.1:8000".to_owned())
        ),
    };
    Ok(app_url.trim_end_matches('/').to_owned())
}

fn checked_base_url(name: &'static str, value: &str) -> Result<String, ConfigError> {
    parse_absolute(name, value).map(|_| value.to_owned())
}

/// Refuses plain `http` for a Kakao URL unless its host is loopback or `allow_http` is set.
fn check_kakao_scheme(name: &'static str, url: &Url, allow_http: bool) -> Result<(), ConfigError> {
    if url.scheme() == "http" && !allow_http && !is_loopback(url) {
        return Err(ConfigError::invalid(
            name,
            format!(
                "{:?} is plain http on a host that is not loopback; use https \
                 (insecure_allow_http_kakao(true) allows it for a test rig)",
                url.as_str()
            ),
        ));
    }
    Ok(())
}

/// `localhost`, `127.0.0.0/8` or `[::1]`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn parse_absolute(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url =
        Url::parse(value).map_err(|e| ConfigError::invalid(name, format!("{e} in {value:?}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::invalid(
            name,
            format!("{value:?} is not an http(s) URL"),
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn env_defaults_follow_the_contract() {
        let config = KakaoAuthConfigBuilder::from_vars(vars(&[("KAKAO_CLIENT_ID", "abc")]))
            .and_then(KakaoAuthConfigBuilder::build)
            .expect("valid");
        assert_eq!(
            config.redirect_uri().as_str(),
            "http://127.0.0.1:8000/accounts/oauth/complete/kakao/"
        );
        assert_eq!(config.auth_base_url().as_str(), "https://kauth.kakao.com/");
        assert!(!config.cookie_secure());
        assert_eq!(config.callback_path(), "/accounts/oauth/complete/kakao/");
    }

    #[test]
    fn https_app_url_makes_the_cookie_secure_and_scopes_split_both_ways() {
        let config = KakaoAuthConfigBuilder::from_vars(vars(&[
            ("KAKAO_CLIENT_ID", "abc"),
            ("APP_URL", "https://example.com/"),
            ("KAKAO_SCOPE", "openid,profile_nickname account_email"),
        ]))
        .and_then(KakaoAuthConfigBuilder::build)
        .expect("valid");
        assert!(config.cookie_secure());
        assert_eq!(
            config.scopes(),
            ["openid", "profile_nickname", "account_email"]
        );
        assert!(config.oidc_enabled());
        assert_eq!(config.app_origin(), "https://example.com");
    }

    #[test]
    fn bad_values_name_their_variable() {
        let short = KakaoAuthConfigBuilder::from_vars(vars(&[
            ("KAKAO_CLIENT_ID", "abc"),
            ("SESSION_SECRET", "short"),
        ]))
        .and_then(KakaoAuthConfigBuilder::build)
        .expect_err("short secret");
        assert!(short.to_string().starts_with("SESSION_SECRET"), "{short}");
        let url = KakaoAuthConfigBuilder::from_vars(vars(&[
            ("KAKAO_CLIENT_ID", "abc"),
            ("KAKAO_AUTH_URL", "not a url"),
        ]))
        .expect_err("bad url");
        assert!(url.to_string().starts_with("KAKAO_AUTH_URL"), "{url}");
        let missing = KakaoAuthConfigBuilder::from_vars(vars(&[])).expect_err("no client id");
        assert!(missing.to_string().starts_with("KAKAO_CLIENT_ID"));
    }

    #[test]
    fn endpoints_keep_a_base_path_prefix() {
        let base = Url::parse("http://127.0.0.1:9/kauth/").expect("url");
        assert_eq!(
            join(&base, "/oauth/token").as_str(),
            "http://127.0.0.1:9/kauth/oauth/token"
        );
        let root = Url::parse("https://kauth.kakao.com").expect("url");
        assert_eq!(
            join(&root, "/oauth/token").as_str(),
            "https://kauth.kakao.com/oauth/token"
        );
    }

    #[test]
    fn oidc_defaults_follow_the_auth_base_url() {
        let config = KakaoAuthConfig::builder("abc", "http://127.0.0.1:8000/cb/")
            .build()
            .expect("valid");
        assert_eq!(config.oidc_issuer(), "https://kauth.kakao.com");
        assert_eq!(
            config.jwks_url().as_str(),
            "https://kauth.kakao.com/.well-known/jwks.json"
        );
        assert_eq!(config.id_token_leeway(), Duration::from_secs(60));
        assert_eq!(config.jwks_cache_ttl(), Duration::from_secs(600));
        assert_eq!(config.jwks_min_refetch_interval(), Duration::from_secs(30));
        let emulated = KakaoAuthConfig::builder("abc", "http://127.0.0.1:8000/cb/")
            .auth_base_url("http://127.0.0.1:9999/")
            .build()
            .expect("valid");
        assert_eq!(emulated.oidc_issuer(), "http://127.0.0.1:9999");
        assert_eq!(
            emulated.jwks_url().as_str(),
            "http://127.0.0.1:9999/.well-known/jwks.json"
        );
        let custom = KakaoAuthConfig::builder("abc", "http://127.0.0.1:8000/cb/")
            .oidc_issuer("https://issuer.example")
            .jwks_url("not a url")
            .build()
            .expect_err("bad jwks url");
        assert!(custom.to_string().starts_with("jwks_url"), "{custom}");
    }

    fn builder() -> KakaoAuthConfigBuilder {
        KakaoAuthConfig::builder("abc", "http://127.0.0.1:8000/cb/")
    }

    /// Builds, expecting a refusal of setting `name`.
    fn refused(builder: KakaoAuthConfigBuilder, name: &str) -> ConfigError {
        let error = builder.build().expect_err("refused");
        assert!(
            matches!(&error, ConfigError::Invalid { name: n, .. } if *n == name),
            "{error:?}"
        );
        assert!(error.to_string().starts_with(name), "{error}");
        error
    }

    #[test]
    fn empty_admin_key_is_refused_naming_the_setting() {
        refused(builder().admin_key(""), "admin_key");
        refused(builder().admin_key("  \t"), "admin_key");
        assert!(builder()
            .admin_key("k")
            .build()
            .expect("valid")
            .has_admin_key());
    }

    #[test]
    fn empty_client_secret_is_refused_naming_the_setting() {
        refused(builder().client_secret(""), "client_secret");
        refused(builder().client_secret(" "), "client_secret");
        builder().client_secret("s").build().expect("valid");
    }

    #[test]
    fn empty_session_secret_is_refused_naming_the_setting() {
        refused(builder().session_secret(""), "session_secret");
        refused(builder().session_secret(" ".repeat(64)), "session_secret");
        builder()
            .session_secret("s".repeat(64))
            .build()
            .expect("valid");
    }

    #[test]
    fn empty_environment_secrets_read_as_unset() {
        let config = KakaoAuthConfigBuilder::from_vars(vars(&[
            ("KAKAO_CLIENT_ID", "abc"),
            ("KAKAO_CLIENT_SECRET", ""),
            ("KAKAO_ADMIN_KEY", " "),
            ("SESSION_SECRET", ""),
        ]))
        .and_then(KakaoAuthConfigBuilder::build)
        .expect("valid");
        assert!(!config.has_admin_key());
        assert!(config.client_secret.is_none());
    }

    #[test]
    fn plain_http_kakao_urls_on_other_hosts_are_refused_naming_the_setting() {
        refused(
            builder().auth_base_url("http://kauth.example"),
            "KAKAO_AUTH_URL",
        );
        refused(
            builder().api_base_url("http://kapi.example/"),
            "KAKAO_API_URL",
        );
        refused(
            builder().jwks_url("http://kauth.example/.well-known/jwks.json"),
            "jwks_url",
        );
        refused(
            builder().auth_base_url("http://10.0.0.1:9/"),
            "KAKAO_AUTH_URL",
        );
        refused(builder().auth_base_url("http://[::2]:9/"), "KAKAO_AUTH_URL");
        refused(
            builder().auth_base_url("http://localhost.evil.example/"),
            "KAKAO_AUTH_URL",
        );
        let from_env = KakaoAuthConfigBuilder::from_vars(vars(&[
            ("KAKAO_CLIENT_ID", "abc"),
            ("KAKAO_API_URL", "http://kapi.example"),
        ]))
        .and_then(KakaoAuthConfigBuilder::build)
        .expect_err("plain http");
        assert!(
            from_env.to_string().starts_with("KAKAO_API_URL"),
            "{from_env}"
        );
    }

    #[test]
    fn plain_http_kakao_urls_on_loopback_are_accepted() {
        for url in [
            "http://127.0.0.1:9/",
            "http://127.1.2.3:9/kauth/",
            "http://localhost:9",
            "http://[::1]:9/",
        ] {
            let config = builder()
                .auth_base_url(url)
                .api_base_url(url)
                .jwks_url(format!("{}/jwks", url.trim_end_matches('/')))
                .build()
                .unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(config.auth_base_url().scheme(), "http");
        }
    }

    #[test]
    fn the_insecure_setter_accepts_plain_http_on_any_host() {
        let config = builder()
            .insecure_allow_http_kakao(true)
            .auth_base_url("http://kauth.example")
            .api_base_url("http://kapi.example")
            .jwks_url("http://keys.example/jwks.json")
            .build()
            .expect("allowed");
        assert_eq!(config.api_base_url().as_str(), "http://kapi.example/");
        builder()
            .insecure_allow_http_kakao(true)
            .insecure_allow_http_kakao(false)
            .auth_base_url("http://kauth.example")
            .build()
            .expect_err("turned off again");
    }

    #[test]
    fn the_jwks_grace_period_defaults_to_an_hour_and_is_configurable() {
        assert_eq!(
            builder().build().expect("valid").jwks_stale_if_error(),
            Duration::from_secs(3600)
        );
        let config = builder()
            .jwks_stale_if_error(Duration::from_secs(5))
            .build()
            .expect("valid");
        assert_eq!(config.jwks_stale_if_error(), Duration::from_secs(5));
    }

    #[test]
    fn session_key_needs_sixty_four_characters() {
        assert!(session_key_from_secret(&"x".repeat(63)).is_err());
        assert!(session_key_from_secret(&"x".repeat(64)).is_ok());
    }
}
