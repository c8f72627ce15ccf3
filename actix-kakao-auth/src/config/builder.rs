//! [`KakaoAuthConfigBuilder`]: the builder, its secure defaults, and validation.

use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::Key;

use super::client::{join, ClientSettings};
use super::error::ConfigError;
use super::login::LoginSettings;
use super::oidc::OidcSettings;
use super::options::{HttpOptions, LoginDefaults, OidcOptions, SdkOptions, SessionOptions};
use super::paths::RoutePaths;
use super::session::{pending_cookie_key, session_key_from_secret, SessionSettings};
use super::settings::KakaoAuthConfig;
use super::urls::{check_kakao_scheme, parse_absolute};
use crate::kakao::login_options::clean_login_hint;
use crate::kakao::secret::ClientSecret;

/// Kakao's OAuth host.
pub const DEFAULT_AUTH_URL: &str = "https://kauth.kakao.com";
/// Kakao's API host.
pub const DEFAULT_API_URL: &str = "https://kapi.kakao.com";

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
}

/// Builder for [`KakaoAuthConfig`]. Every setter's doc ends with its default.
#[must_use]
#[derive(Clone)]
pub struct KakaoAuthConfigBuilder {
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    pub(super) client_secret: Option<String>,
    pub(super) scopes: Vec<String>,
    pub(super) auth_base_url: String,
    pub(super) api_base_url: String,
    pub(super) token_refresh_margin: Duration,
    pub(super) admin_key: Option<String>,
    pub(super) paths: RoutePaths,
    pub(super) session: SessionOptions,
    pub(super) http: HttpOptions,
    pub(super) oidc: OidcOptions,
    pub(super) login: LoginDefaults,
    pub(super) sdk: SdkOptions,
    pub(super) naver: Option<crate::naver::NaverSettings>,
    pub(super) serve_error_page: bool,
    pub(super) pending_cookie_key: Option<Key>,
    pub(super) app_id: Option<i64>,
    pub(super) insecure_allow_http_kakao: bool,
    pub(super) session_secret: Option<String>,
    pub(super) trusted_proxies: crate::client_addr::TrustedProxies,
    pub(super) guard_store: Option<Arc<dyn crate::guard_store::GuardStore>>,
    pub(super) clock: Option<crate::kakao::oidc::TimeFn>,
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
    pub(super) fn new(client_id: String, redirect_uri: String) -> Self {
        Self {
            client_id,
            redirect_uri,
            client_secret: None,
            scopes: Vec::new(),
            auth_base_url: DEFAULT_AUTH_URL.to_owned(),
            api_base_url: DEFAULT_API_URL.to_owned(),
            token_refresh_margin: Duration::from_secs(300),
            admin_key: None,
            paths: RoutePaths::default(),
            session: SessionOptions::default(),
            http: HttpOptions::default(),
            oidc: OidcOptions::default(),
            login: LoginDefaults::default(),
            sdk: SdkOptions::default(),
            naver: None,
            serve_error_page: true,
            pending_cookie_key: None,
            app_id: None,
            insecure_allow_http_kakao: false,
            session_secret: None,
            trusted_proxies: crate::client_addr::TrustedProxies::none(),
            guard_store: None,
            clock: None,
        }
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

    /// Allows plain `http` for the kauth and kapi base URLs and the JWKS URL on hosts that
    /// are not loopback. Without it, `build()` accepts `http` only for `localhost`,
    /// `127.0.0.0/8` and `[::1]` (a local emulator): tokens, client secret and signing
    /// keys must not cross a network unencrypted. Only for test rigs on other hosts.
    /// Default: false.
    pub fn insecure_allow_http_kakao(mut self, allow: bool) -> Self {
        self.insecure_allow_http_kakao = allow;
        self
    }

    /// The secret (at least 64 characters) from which the keys are derived: the
    /// pending-login cookies' key (unless [`pending_cookie_key`](Self::pending_cookie_key)
    /// is set) and the key of [`KakaoAuth::session_middleware`](crate::KakaoAuth::session_middleware).
    /// Give every instance the same one, and keep it across restarts, or logins begun
    /// elsewhere (or before a restart) fail. **Required**: [`build`](Self::build) refuses
    /// a configuration without it, naming `session_secret`.
    pub fn session_secret(mut self, secret: impl Into<String>) -> Self {
        self.session_secret = Some(secret.into());
        self
    }

    /// The key that seals the pending-login cookies (AES-256-GCM), for an app that
    /// manages its keys itself. Default: derived (HKDF-SHA256) from
    /// [`session_secret`](Self::session_secret), independent of the session key.
    pub fn pending_cookie_key(mut self, key: Key) -> Self {
        self.pending_cookie_key = Some(key);
        self
    }

    /// All route paths and landing pages at once; start from
    /// [`RoutePaths::default()`](crate::config::RoutePaths) and change what collides with
    /// the app's own routes. Default: [`RoutePaths::default()`](crate::config::RoutePaths).
    pub fn paths(mut self, paths: RoutePaths) -> Self {
        self.paths = paths;
        self
    }

    /// The session and pending-login cookies. Default: [`SessionOptions::default()`].
    pub fn session(mut self, options: SessionOptions) -> Self {
        self.session = options;
        self
    }

    /// Timeouts and the body limit of calls to Kakao. Default: [`HttpOptions::default()`].
    pub fn http(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// OpenID Connect: issuer, JWKS URL and caching, clock leeway. Default:
    /// [`OidcOptions::default()`].
    pub fn oidc(mut self, options: OidcOptions) -> Self {
        self.oidc = options;
        self
    }

    /// What every login asks Kakao for: prompt, login hint, KakaoTalk auto-login, Kakao
    /// Sync service terms, additional consent. Default: [`LoginDefaults::default()`].
    pub fn login(mut self, defaults: LoginDefaults) -> Self {
        self.login = defaults;
        self
    }

    /// Naver Login beside Kakao: its begin route and callback (the Callback URL's path)
    /// are mounted, and `/login/` offers both. The Callback URL must be on the app's
    /// origin (the redirect URI's). Default: none (Kakao only).
    pub fn naver(mut self, settings: crate::naver::NaverSettings) -> Self {
        self.naver = Some(settings);
        self
    }

    /// Sign-in with Kakao SDK tokens. Default: [`SdkOptions::default()`].
    pub fn sdk(mut self, options: SdkOptions) -> Self {
        self.sdk = options;
        self
    }

    /// Whether [`KakaoAuth::routes`](crate::KakaoAuth::routes) mounts the built-in login
    /// error page (Korean and English, one message per
    /// [`LoginFailure`](crate::LoginFailure)) at
    /// [`RoutePaths::login_error_url`](crate::config::RoutePaths::login_error_url). Turn it
    /// off when the app serves its own page there. Default: on.
    pub fn serve_error_page(mut self, serve: bool) -> Self {
        self.serve_error_page = serve;
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

    /// The reverse proxies whose `X-Forwarded-For` (or `Forwarded`) header names the
    /// client; see [`crate::client_addr`]. Default: none (the TCP peer is the client and
    /// forwarding headers are ignored).
    pub fn trusted_proxies(mut self, proxies: crate::client_addr::TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Where attempt counts, the SDK replay guard and refresh locks live; see
    /// [`crate::guard_store`]. Give every instance of a multi-instance deployment the same
    /// shared store. Default: a [`MemoryGuardStore`](crate::guard_store::MemoryGuardStore)
    /// of this process (right for one instance only).
    pub fn guard_store(mut self, store: Arc<dyn crate::guard_store::GuardStore>) -> Self {
        self.guard_store = Some(store);
        self
    }

    /// The clock the login reads: pending-login ages, id_token `exp`/`iat`, the JWKS
    /// cache. For tests that play an instance whose clock is off. Default: the system
    /// clock ([`chrono::Utc::now`]).
    pub fn clock<F>(mut self, now: F) -> Self
    where
        F: Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync + 'static,
    {
        self.clock = Some(Arc::new(now));
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
            issuer: match self.oidc.issuer {
                Some(issuer) if issuer.trim().is_empty() => {
                    return Err(ConfigError::invalid("oidc.issuer", "must not be empty"))
                }
                Some(issuer) => issuer,
                None => auth_base_url.as_str().trim_end_matches('/').to_owned(),
            },
            jwks_url: match &self.oidc.jwks_url {
                Some(url) => {
                    let url = parse_absolute("oidc.jwks_url", url)?;
                    check_kakao_scheme("oidc.jwks_url", &url, allow_http)?;
                    url
                }
                None => join(&auth_base_url, "/.well-known/jwks.json"),
            },
            leeway: self.oidc.leeway,
            jwks_cache_ttl: self.oidc.jwks_cache_ttl,
            jwks_min_refetch_interval: self.oidc.jwks_min_refetch_interval,
            jwks_stale_grace: self.oidc.jwks_stale_if_error,
        };
        for (name, path) in self.paths.named() {
            if crate::next_url::sanitize_next(path).is_none() {
                return Err(ConfigError::invalid(
                    name,
                    "must be a local path starting with '/'",
                ));
            }
        }
        for (name, value) in [
            ("session.cookie_name", &self.session.cookie_name),
            (
                "session.pending_cookie_prefix",
                &self.session.pending_cookie_prefix,
            ),
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
        if self
            .session
            .cookie_name
            .starts_with(&self.session.pending_cookie_prefix)
        {
            return Err(ConfigError::invalid(
                "pending_cookie_prefix",
                "must not be a prefix of the session cookie's name",
            ));
        }
        for tag in &self.login.service_terms {
            let ok = !tag.is_empty()
                && tag.len() <= 64
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !ok {
                return Err(ConfigError::invalid(
                    "login.service_terms",
                    format!(
                        "{tag:?} is not a service-terms tag (ASCII letters, digits, '_', '-', '.')"
                    ),
                ));
            }
        }
        let key = match &self.session_secret {
            Some(secret) => session_key_from_secret(secret)?,
            None => {
                return Err(ConfigError::invalid(
                    "session_secret",
                    format!(
                        "is required: at least {} characters, the same on every instance \
                         (it keys the pending-login cookies and the recommended session middleware)",
                        super::session::MIN_SESSION_SECRET_LEN
                    ),
                ))
            }
        };
        if let Some(naver) = &self.naver {
            if naver.redirect_uri.origin() != redirect_uri.origin() {
                return Err(ConfigError::invalid(
                    "naver.redirect_uri",
                    "must be on the app's origin (the Kakao redirect URI's scheme, host and port)",
                ));
            }
            if crate::next_url::sanitize_next(naver.redirect_uri.path()).is_none()
                || naver.redirect_uri.path() == redirect_uri.path()
            {
                return Err(ConfigError::invalid(
                    "naver.redirect_uri",
                    "must have a path of its own, not the Kakao callback's",
                ));
            }
        }
        let secure = self
            .session
            .cookie_secure
            .unwrap_or(redirect_uri.scheme() == "https");
        Ok(KakaoAuthConfig {
            client: Arc::new(ClientSettings {
                client_id: self.client_id,
                client_secret: self.client_secret.map(ClientSecret::new),
                redirect_uri,
                scopes: self.scopes,
                auth_base_url,
                api_base_url,
                connect_timeout: self.http.connect_timeout,
                request_timeout: self.http.request_timeout,
                max_response_bytes: self.http.max_response_bytes,
            }),
            paths: self.paths,
            serve_error_page: self.serve_error_page,
            naver: self.naver,
            sdk_sign_in: self
                .sdk
                .mount
                .unwrap_or(self.app_id.is_some() || !self.sdk.audiences.is_empty()),
            login: LoginSettings {
                default_prompt: self.login.prompt,
                default_login_hint: self.login.login_hint.as_deref().and_then(clean_login_hint),
                kakaotalk_auto_login: self.login.kakaotalk_auto_login,
                service_terms: self.login.service_terms,
                consent_allowlist: self.login.additional_consent_scopes,
                sdk_audiences: self.sdk.audiences,
                sdk_attempts_per_minute: self.sdk.attempts_per_minute,
            },
            flow_ttl: self.session.login_flow_ttl,
            trusted_proxies: self.trusted_proxies,
            clock: self.clock.unwrap_or_else(|| Arc::new(chrono::Utc::now)),
            guard_store: self
                .guard_store
                .unwrap_or_else(|| Arc::new(crate::guard_store::MemoryGuardStore::default())),
            token_refresh_margin: self.token_refresh_margin,
            admin_key: self.admin_key.map(crate::kakao::secret::AdminKey::new),
            app_id: self.app_id,
            oidc,
            session: SessionSettings {
                pending_key: self
                    .pending_cookie_key
                    .unwrap_or_else(|| pending_cookie_key(&key)),
                key,
                cookie_name: self.session.cookie_name,
                secure,
                ttl: self.session.ttl,
                pending_cookie_prefix: self.session.pending_cookie_prefix,
            },
        })
    }
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
