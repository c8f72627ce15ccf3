//! [`KakaoAuthConfigBuilder`]: the builder, its secure defaults, and validation.

use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::Key;

use super::client::{join, ClientSettings};
use super::error::ConfigError;
use super::login::LoginSettings;
use super::oidc::OidcSettings;
use super::paths::RoutePaths;
use super::session::{pending_cookie_key, session_key_from_secret, SessionSettings};
use super::settings::KakaoAuthConfig;
use super::urls::{check_kakao_scheme, parse_absolute};
use crate::kakao::login_options::{clean_login_hint, Prompt};
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
    pub(super) connect_timeout: Duration,
    pub(super) request_timeout: Duration,
    pub(super) max_response_bytes: usize,
    pub(super) flow_ttl: Duration,
    pub(super) pending_cookie_prefix: String,
    pub(super) token_refresh_margin: Duration,
    pub(super) admin_key: Option<String>,
    pub(super) paths: RoutePaths,
    pub(super) serve_error_page: bool,
    pub(super) sdk_sign_in: Option<bool>,
    pub(super) pending_cookie_key: Option<Key>,
    pub(super) app_id: Option<i64>,
    pub(super) oidc_issuer: Option<String>,
    pub(super) jwks_url: Option<String>,
    pub(super) id_token_leeway: Duration,
    pub(super) jwks_cache_ttl: Duration,
    pub(super) jwks_min_refetch_interval: Duration,
    pub(super) jwks_stale_if_error: Duration,
    pub(super) insecure_allow_http_kakao: bool,
    pub(super) session_secret: Option<String>,
    pub(super) cookie_name: String,
    pub(super) cookie_secure: Option<bool>,
    pub(super) session_ttl: Duration,
    pub(super) default_prompt: Option<Prompt>,
    pub(super) default_login_hint: Option<String>,
    pub(super) kakaotalk_auto_login: bool,
    pub(super) service_terms: Vec<String>,
    pub(super) consent_allowlist: Vec<String>,
    pub(super) sdk_audiences: Vec<String>,
    pub(super) sdk_attempts_per_minute: u32,
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
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            max_response_bytes: 256 * 1024,
            flow_ttl: Duration::from_secs(600),
            pending_cookie_prefix: "kakao_auth_flow_".to_owned(),
            token_refresh_margin: Duration::from_secs(300),
            admin_key: None,
            paths: RoutePaths::default(),
            serve_error_page: true,
            sdk_sign_in: None,
            pending_cookie_key: None,
            app_id: None,
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
            default_prompt: None,
            default_login_hint: None,
            kakaotalk_auto_login: true,
            service_terms: Vec::new(),
            consent_allowlist: Vec::new(),
            sdk_audiences: Vec::new(),
            sdk_attempts_per_minute: 20,
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
    /// with a digest of its `state`, `Path=/`, living the flow TTL; `__Host-` is put in front
    /// on https).
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

    /// Whether [`KakaoAuth::routes`](crate::KakaoAuth::routes) mounts the built-in login
    /// error page (Korean and English, one message per
    /// [`LoginFailure`](crate::LoginFailure)) at
    /// [`RoutePaths::login_error_url`](crate::config::RoutePaths::login_error_url). Turn it
    /// off when the app serves its own page there. Default: on.
    pub fn serve_error_page(mut self, serve: bool) -> Self {
        self.serve_error_page = serve;
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

    /// The `prompt` every login sends unless its begin request names one. Default: none
    /// (Kakao decides: no prompt).
    pub fn default_prompt(mut self, prompt: Prompt) -> Self {
        self.default_prompt = Some(prompt);
        self
    }

    /// The `login_hint` every login sends unless its begin request names one. Default:
    /// none.
    pub fn default_login_hint(mut self, hint: impl Into<String>) -> Self {
        self.default_login_hint = Some(hint.into());
        self
    }

    /// KakaoTalk auto-login: a begin request whose `User-Agent` contains `KAKAOTALK` (the
    /// KakaoTalk in-app browser) and that names no `prompt` is sent with `prompt=none`,
    /// which logs a linked user in without a screen. When Kakao answers
    /// `consent_required`, `login_required` or `interaction_required`, the same login
    /// starts once more without `prompt=none`; a second such answer is a normal failure,
    /// so it never loops. Default: on.
    pub fn kakaotalk_auto_login(mut self, on: bool) -> Self {
        self.kakaotalk_auto_login = on;
        self
    }

    /// Kakao Sync service-terms tags: sent as `service_terms` at authorize; at the
    /// callback the login completes only when every term Kakao marks `required` is
    /// agreed (reason `terms_required` otherwise, before the store creates anything),
    /// and the agreed terms reach the store with the login. Default: none (no terms step).
    pub fn service_terms<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.service_terms = tags.into_iter().map(Into::into).collect();
        self
    }

    /// The consent items a logged-in user may be sent to agree to later (additional
    /// consent, 추가 항목 동의): the begin route's `?scope=` passes on only these, so a link
    /// from another site cannot ask for arbitrary items, and
    /// [`KakaoAuth::additional_consent_url`](crate::KakaoAuth::additional_consent_url)
    /// offers only these. Default: none (`?scope=` is ignored).
    pub fn additional_consent_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.consent_allowlist = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Whether [`KakaoAuth::routes`](crate::KakaoAuth::routes) mounts the SDK sign-in
    /// route. An id_token whose `aud` is the REST API key needs no other setting, so an
    /// app that takes only those turns it on here. Default: on exactly when an
    /// [`app_id`](Self::app_id) or [`sdk_audiences`](Self::sdk_audiences) is set.
    pub fn sdk_sign_in(mut self, mount: bool) -> Self {
        self.sdk_sign_in = Some(mount);
        self
    }

    /// Extra `aud` values accepted for an id_token posted by a Kakao SDK: the app's native
    /// app key (Android/iOS) and JavaScript key. The REST API key is always accepted.
    /// Default: none.
    pub fn sdk_audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.sdk_audiences = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// How many *refused* SDK sign-in attempts one client address (see
    /// [`trusted_proxies`](Self::trusted_proxies)) may make per minute; once over, its
    /// attempts answer 429 before any call to Kakao until the minute has passed. A
    /// successful sign-in never counts. `0` turns the limit off. The counts live in the
    /// [`guard_store`](Self::guard_store). Default: 20.
    pub fn sdk_attempts_per_minute(mut self, attempts: u32) -> Self {
        self.sdk_attempts_per_minute = attempts;
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
        for (name, path) in self.paths.named() {
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
        for tag in &self.service_terms {
            let ok = !tag.is_empty()
                && tag.len() <= 64
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !ok {
                return Err(ConfigError::invalid(
                    "service_terms",
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
        let secure = self
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
                connect_timeout: self.connect_timeout,
                request_timeout: self.request_timeout,
                max_response_bytes: self.max_response_bytes,
            }),
            paths: self.paths,
            serve_error_page: self.serve_error_page,
            sdk_sign_in: self
                .sdk_sign_in
                .unwrap_or(self.app_id.is_some() || !self.sdk_audiences.is_empty()),
            login: LoginSettings {
                default_prompt: self.default_prompt,
                default_login_hint: self
                    .default_login_hint
                    .as_deref()
                    .and_then(clean_login_hint),
                kakaotalk_auto_login: self.kakaotalk_auto_login,
                service_terms: self.service_terms,
                consent_allowlist: self.consent_allowlist,
                sdk_audiences: self.sdk_audiences,
                sdk_attempts_per_minute: self.sdk_attempts_per_minute,
            },
            flow_ttl: self.flow_ttl,
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
                cookie_name: self.cookie_name,
                secure,
                ttl: self.session_ttl,
                pending_cookie_prefix: self.pending_cookie_prefix,
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
