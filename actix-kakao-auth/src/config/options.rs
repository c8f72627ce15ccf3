//! The grouped settings: [`SessionOptions`], [`HttpOptions`], [`OidcOptions`],
//! [`LoginDefaults`] and [`SdkOptions`]. Each has pub fields and a `Default` with the
//! secure values; change what you need and keep the rest with `..Default::default()`.

use std::time::Duration;

use crate::kakao::login_options::Prompt;

/// The session cookie and the pending-login cookies. Set with
/// [`KakaoAuthConfigBuilder::session`](super::KakaoAuthConfigBuilder::session).
///
/// ```
/// use actix_kakao_auth::config::SessionOptions;
/// let options = SessionOptions { cookie_name: "myapp_session".into(), ..SessionOptions::default() };
/// assert_eq!(options.ttl, std::time::Duration::from_secs(14 * 24 * 3600));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOptions {
    /// The session cookie's name (used by
    /// [`KakaoAuth::session_middleware`](crate::KakaoAuth::session_middleware)). Default:
    /// `sessionid`.
    pub cookie_name: String,
    /// Forces the cookies' `Secure` flag. Default: `None`, on exactly when the redirect URI
    /// is https.
    pub cookie_secure: Option<bool>,
    /// Session lifetime, extended when the session changes. Default: 14 days, as in Django.
    pub ttl: Duration,
    /// How long a started login (state, PKCE verifier, nonce) stays valid. Default: 10 min.
    pub login_flow_ttl: Duration,
    /// Name prefix of the sealed pending-login cookies (one per login in progress, named
    /// with a digest of its `state`, `Path=/`, living the flow TTL; `__Host-` is put in
    /// front on https). Default: `kakao_auth_flow_`.
    pub pending_cookie_prefix: String,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            cookie_name: "sessionid".to_owned(),
            cookie_secure: None,
            ttl: Duration::from_secs(14 * 24 * 3600),
            login_flow_ttl: Duration::from_secs(600),
            pending_cookie_prefix: "kakao_auth_flow_".to_owned(),
        }
    }
}

/// Calls to Kakao. Set with
/// [`KakaoAuthConfigBuilder::http`](super::KakaoAuthConfigBuilder::http).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// TCP connect timeout. Default: 3 s.
    pub connect_timeout: Duration,
    /// Total timeout of one call. Default: 10 s.
    pub request_timeout: Duration,
    /// Largest response body accepted. Default: 256 KiB.
    pub max_response_bytes: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            max_response_bytes: 256 * 1024,
        }
    }
}

/// OpenID Connect (with `openid` in the scopes, and for id_tokens from Kakao SDKs). Set
/// with [`KakaoAuthConfigBuilder::oidc`](super::KakaoAuthConfigBuilder::oidc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcOptions {
    /// The issuer an id_token's `iss` must equal exactly. Default: `None`, the kauth base
    /// URL without its trailing slash (`https://kauth.kakao.com`, or the emulator's URL).
    pub issuer: Option<String>,
    /// Where the signing keys (JWKS) are fetched. Default: `None`,
    /// `{kauth base URL}/.well-known/jwks.json`.
    pub jwks_url: Option<String>,
    /// Clock skew tolerated on `exp` and `iat`. Default: 60 s.
    pub leeway: Duration,
    /// How long a fetched JWKS is trusted before it is fetched again. Default: 10 min.
    pub jwks_cache_ttl: Duration,
    /// The shortest time between two JWKS fetches triggered by an unknown `kid` (Kakao may
    /// block clients that fetch too often). Default: 30 s.
    pub jwks_min_refetch_interval: Duration,
    /// How long past `jwks_cache_ttl` the last good JWKS is still used while fetching a
    /// fresh one fails (stale-if-error), so an outage of Kakao's JWKS endpoint does not stop
    /// logins at once. Each fallback logs a warning; `Duration::ZERO` turns this off.
    /// Default: 1 hour.
    pub jwks_stale_if_error: Duration,
}

impl Default for OidcOptions {
    fn default() -> Self {
        Self {
            issuer: None,
            jwks_url: None,
            leeway: Duration::from_secs(60),
            jwks_cache_ttl: Duration::from_secs(600),
            jwks_min_refetch_interval: Duration::from_secs(30),
            jwks_stale_if_error: Duration::from_secs(3600),
        }
    }
}

/// What every Kakao login asks for unless its begin request says otherwise. Set with
/// [`KakaoAuthConfigBuilder::login`](super::KakaoAuthConfigBuilder::login).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginDefaults {
    /// The `prompt` sent unless the begin request names one. Default: none.
    pub prompt: Option<Prompt>,
    /// The `login_hint` sent unless the begin request names one. Default: none.
    pub login_hint: Option<String>,
    /// KakaoTalk auto-login: a begin request from the KakaoTalk in-app browser
    /// (`User-Agent` contains `KAKAOTALK`) that names no `prompt` is sent with
    /// `prompt=none`; when Kakao answers `consent_required`, `login_required` or
    /// `interaction_required`, the login starts once more without it (never a loop).
    /// Default: on.
    pub kakaotalk_auto_login: bool,
    /// Kakao Sync service-terms tags: sent as `service_terms` at authorize; the login
    /// completes only when every term Kakao marks `required` is agreed (reason
    /// `terms_required` otherwise, before the store creates anything), and the agreed
    /// terms reach the store. Default: none (no terms step).
    pub service_terms: Vec<String>,
    /// The consent items a logged-in user may be sent to agree to later (additional
    /// consent, 추가 항목 동의): the begin route's `?scope=` passes on only these, and
    /// [`KakaoAuth::additional_consent_url`](crate::KakaoAuth::additional_consent_url)
    /// offers only these. Default: none (`?scope=` is ignored).
    pub additional_consent_scopes: Vec<String>,
}

impl Default for LoginDefaults {
    fn default() -> Self {
        Self {
            prompt: None,
            login_hint: None,
            kakaotalk_auto_login: true,
            service_terms: Vec::new(),
            additional_consent_scopes: Vec::new(),
        }
    }
}

/// Sign-in with tokens a Kakao SDK obtained. Set with
/// [`KakaoAuthConfigBuilder::sdk`](super::KakaoAuthConfigBuilder::sdk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkOptions {
    /// Whether [`KakaoAuth::routes`](crate::KakaoAuth::routes) mounts the SDK sign-in
    /// route. An id_token whose `aud` is the REST API key needs no other setting, so an app
    /// that takes only those sets `Some(true)`. Default: `None`, mounted exactly when an
    /// [`app_id`](super::KakaoAuthConfigBuilder::app_id) or `audiences` are set.
    pub mount: Option<bool>,
    /// Extra `aud` values accepted for an id_token: the native app key (Android/iOS) and
    /// the JavaScript key. The REST API key is always accepted. Default: none.
    pub audiences: Vec<String>,
    /// How many *refused* attempts one client address may make per minute; once over, its
    /// attempts answer 429 before any call to Kakao until the minute has passed. A
    /// successful sign-in never counts; `0` turns the limit off. The counts live in the
    /// [`guard_store`](super::KakaoAuthConfigBuilder::guard_store). Default: 20.
    pub attempts_per_minute: u32,
}

impl Default for SdkOptions {
    fn default() -> Self {
        Self {
            mount: None,
            audiences: Vec::new(),
            attempts_per_minute: 20,
        }
    }
}
