//! The demo's environment, per the demo-app contract. Bad values stop the app with one
//! line naming the variable.

use actix_kakao_auth::config::{split_scopes, ConfigError};
use url::Url;

/// The key prefix of everything the demo keeps in Redis (`REDIS_KEY_PREFIX` changes it).
pub const DEFAULT_REDIS_PREFIX: &str = "demo-app:";

/// Where sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionBackend {
    /// The `sessions` table of the app's database (default): revocable.
    Database,
    /// Redis at `REDIS_URL`: revocable, shared by instances.
    Redis,
    /// The signed and encrypted cookie only: cannot be revoked before it expires.
    Cookie,
}

/// Everything the demo reads from the environment.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// `BIND`.
    pub bind: String,
    /// `APP_URL` without a trailing slash.
    pub app_url: String,
    /// `KAKAO_CLIENT_ID`; `None` means emulator mode.
    pub kakao_client_id: Option<String>,
    /// `KAKAO_CLIENT_SECRET`.
    pub kakao_client_secret: Option<String>,
    /// `KAKAO_AUTH_URL`.
    pub kakao_auth_url: Option<String>,
    /// `KAKAO_API_URL`.
    pub kakao_api_url: Option<String>,
    /// `KAKAO_SCOPE`, split.
    pub kakao_scope: Vec<String>,
    /// `KAKAO_ADMIN_KEY`.
    pub kakao_admin_key: Option<String>,
    /// `KAKAO_APP_ID`.
    pub kakao_app_id: Option<i64>,
    /// `KAKAO_SERVICE_TERMS`, split (Kakao Sync service-terms tags).
    pub kakao_service_terms: Vec<String>,
    /// `NAVER_CLIENT_ID`: Naver Login on (with `NAVER_CLIENT_SECRET`); in emulator mode the
    /// built-in Naver emulator stands in.
    pub naver_client_id: Option<String>,
    /// `NAVER_CLIENT_SECRET`.
    pub naver_client_secret: Option<String>,
    /// `NAVER_AUTH_URL`.
    pub naver_auth_url: Option<String>,
    /// `NAVER_API_URL`.
    pub naver_api_url: Option<String>,
    /// `KAKAO_SDK_AUDIENCES`, split: extra `aud` values for SDK id_tokens.
    pub kakao_sdk_audiences: Vec<String>,
    /// `TRUSTED_PROXIES`: reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: actix_kakao_auth::client_addr::TrustedProxies,
    /// `SDK_ATTEMPTS_PER_MINUTE`: refused SDK sign-in attempts per client address per
    /// minute (`0`: no limit).
    pub sdk_attempts_per_minute: u32,
    /// `METRICS_BIND`: where Prometheus metrics are served (`/metrics`), apart from the app.
    pub metrics_bind: Option<String>,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `REDIS_URL`.
    pub redis_url: Option<String>,
    /// `REDIS_KEY_PREFIX`: prefix of every Redis key (default `demo-app:`).
    pub redis_key_prefix: String,
    /// `SESSION_STORE` (resolved).
    pub session_backend: SessionBackend,
    /// `SESSION_SECRET`.
    pub session_secret: Option<String>,
    /// `TOKEN_KEY`: seals Kakao tokens at rest (≥ 32 characters); default: derived from
    /// `SESSION_SECRET`.
    pub token_key: Option<String>,
    /// `TOKEN_KEY_PREVIOUS`: the key before a rotation, still used to open old tokens.
    pub token_key_previous: Option<String>,
    /// Total timeout of each call to Kakao (not an environment variable; tests shorten it).
    pub kakao_timeout: Option<std::time::Duration>,
    /// Refresh margin for Kakao access tokens (not an environment variable; tests lengthen it).
    pub kakao_token_refresh_margin: Option<std::time::Duration>,
}

impl DemoConfig {
    /// `SESSION_SECRET`, or a random one for this start (with a warning: sessions and
    /// logins in progress do not survive a restart and are not shared between
    /// instances). Called once per start.
    pub fn session_secret_or_random(&self) -> String {
        if let Some(secret) = &self.session_secret {
            return secret.clone();
        }
        tracing::warn!(
            "SESSION_SECRET is not set: using a random one; sessions end when the process restarts and are not shared between instances"
        );
        use rand::distributions::{Alphanumeric, DistString};
        Alphanumeric.sample_string(&mut rand::thread_rng(), 64)
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The defaults (emulator mode, database sessions) on a free loopback port, with
    /// the SQLite file at `database`: for tests and tools that start the app in-process
    /// with [`crate::app::start`], which fills in the port it was given.
    pub fn on_free_port(database: &std::path::Path) -> Result<Self, ConfigError> {
        let mut config = Self::from_vars(|_| None)?;
        config.bind = "127.0.0.1:0".into();
        config.app_url = "http://127.0.0.1:0".into();
        config.database_url = database.to_string_lossy().into_owned();
        Ok(config)
    }

    /// Reads any variable source.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let bind = get("BIND").unwrap_or_else(|| "127.0.0.1:8000".to_owned());
        if bind.parse::<std::net::SocketAddr>().is_err() && !bind.contains(':') {
            return Err(invalid("BIND", format!("{bind:?} is not host:port")));
        }
        let app_url = match get("APP_URL") {
            Some(url) => checked_url("APP_URL", &url)?,
            None => format!("http://{bind}"),
        };
        let kakao_auth_url = get("KAKAO_AUTH_URL")
            .map(|u| checked_url("KAKAO_AUTH_URL", &u))
            .transpose()?;
        let kakao_api_url = get("KAKAO_API_URL")
            .map(|u| checked_url("KAKAO_API_URL", &u))
            .transpose()?;
        let redis_url = get("REDIS_URL");
        if let Some(url) = &redis_url {
            let parsed = Url::parse(url).map_err(|e| invalid("REDIS_URL", e.to_string()))?;
            if !matches!(parsed.scheme(), "redis" | "rediss") {
                return Err(invalid(
                    "REDIS_URL",
                    "must start with redis:// or rediss://",
                ));
            }
        }
        let session_backend = match get("SESSION_STORE").as_deref() {
            None if redis_url.is_some() => SessionBackend::Redis,
            None | Some("db") => SessionBackend::Database,
            Some("redis") if redis_url.is_some() => SessionBackend::Redis,
            Some("redis") => return Err(invalid("SESSION_STORE", "redis needs REDIS_URL")),
            Some("cookie") => SessionBackend::Cookie,
            Some(other) => {
                return Err(invalid(
                    "SESSION_STORE",
                    format!("{other:?} is not db, redis or cookie"),
                ))
            }
        };
        let session_secret = get("SESSION_SECRET");
        if let Some(secret) = &session_secret {
            actix_kakao_auth::config::session_key_from_secret(secret)?;
        }
        let token_key = get("TOKEN_KEY");
        let token_key_previous = get("TOKEN_KEY_PREVIOUS");
        for (name, value) in [
            ("TOKEN_KEY", &token_key),
            ("TOKEN_KEY_PREVIOUS", &token_key_previous),
        ] {
            if value
                .as_ref()
                .is_some_and(|v| v.chars().count() < actix_kakao_auth::store::MIN_TOKEN_SECRET_LEN)
            {
                return Err(invalid(name, "must be at least 32 characters"));
            }
        }
        let naver_client_id = get("NAVER_CLIENT_ID");
        let naver_client_secret = get("NAVER_CLIENT_SECRET");
        if naver_client_id.is_some() && naver_client_secret.is_none() {
            return Err(invalid(
                "NAVER_CLIENT_SECRET",
                "is required with NAVER_CLIENT_ID",
            ));
        }
        let naver_auth_url = get("NAVER_AUTH_URL")
            .map(|u| checked_url("NAVER_AUTH_URL", &u))
            .transpose()?;
        let naver_api_url = get("NAVER_API_URL")
            .map(|u| checked_url("NAVER_API_URL", &u))
            .transpose()?;
        let metrics_bind = get("METRICS_BIND");
        if let Some(addr) = &metrics_bind {
            if addr.parse::<std::net::SocketAddr>().is_err() {
                return Err(invalid(
                    "METRICS_BIND",
                    format!("{addr:?} is not host:port"),
                ));
            }
            if *addr == bind {
                return Err(invalid(
                    "METRICS_BIND",
                    "must differ from BIND: metrics are never served on the app's own address",
                ));
            }
        }
        let trusted_proxies = match get("TRUSTED_PROXIES") {
            Some(list) => actix_kakao_auth::client_addr::TrustedProxies::parse(&list)
                .map_err(|e| invalid("TRUSTED_PROXIES", e.to_string()))?,
            None => actix_kakao_auth::client_addr::TrustedProxies::none(),
        };
        let sdk_attempts_per_minute = match get("SDK_ATTEMPTS_PER_MINUTE") {
            Some(v) => v.trim().parse::<u32>().map_err(|_| {
                invalid(
                    "SDK_ATTEMPTS_PER_MINUTE",
                    "must be a whole number (0 turns the limit off)",
                )
            })?,
            None => 20,
        };
        let kakao_app_id = get("KAKAO_APP_ID")
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| invalid("KAKAO_APP_ID", "must be a number"))
            })
            .transpose()?;
        Ok(Self {
            bind,
            app_url: app_url.trim_end_matches('/').to_owned(),
            kakao_client_id: get("KAKAO_CLIENT_ID"),
            kakao_client_secret: get("KAKAO_CLIENT_SECRET"),
            kakao_auth_url,
            kakao_api_url,
            kakao_scope: get("KAKAO_SCOPE")
                .map(|s| split_scopes(&s))
                .unwrap_or_default(),
            kakao_admin_key: get("KAKAO_ADMIN_KEY"),
            kakao_app_id,
            kakao_service_terms: get("KAKAO_SERVICE_TERMS")
                .map(|s| split_scopes(&s))
                .unwrap_or_default(),
            naver_client_id,
            naver_client_secret,
            naver_auth_url,
            naver_api_url,
            kakao_sdk_audiences: get("KAKAO_SDK_AUDIENCES")
                .map(|s| split_scopes(&s))
                .unwrap_or_default(),
            trusted_proxies,
            sdk_attempts_per_minute,
            metrics_bind,
            database_url: get("DATABASE_URL").unwrap_or_else(|| "demo-app.sqlite3".to_owned()),
            redis_url,
            redis_key_prefix: get("REDIS_KEY_PREFIX")
                .unwrap_or_else(|| DEFAULT_REDIS_PREFIX.to_owned()),
            session_backend,
            session_secret,
            token_key,
            token_key_previous,
            kakao_timeout: None,
            kakao_token_refresh_margin: None,
        })
    }

    /// The redirect URI registered with Kakao.
    pub fn redirect_uri(&self) -> String {
        format!("{}/accounts/oauth/complete/kakao/", self.app_url)
    }

    /// The Callback URL registered with Naver.
    pub fn naver_redirect_uri(&self) -> String {
        format!("{}/accounts/oauth/complete/naver/", self.app_url)
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

fn checked_url(name: &'static str, value: &str) -> Result<String, ConfigError> {
    let url = Url::parse(value).map_err(|e| invalid(name, format!("{e} in {value:?}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(name, format!("{value:?} is not an http(s) URL")));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<DemoConfig, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        DemoConfig::from_vars(move |n| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = from(&[]).expect("defaults are valid");
        assert_eq!(c.bind, "127.0.0.1:8000");
        assert_eq!(c.app_url, "http://127.0.0.1:8000");
        assert_eq!(c.database_url, "demo-app.sqlite3");
        assert_eq!(c.session_backend, SessionBackend::Database);
        assert!(c.kakao_client_id.is_none());
        assert!(c.trusted_proxies.is_empty());
        assert_eq!(c.sdk_attempts_per_minute, 20);
        assert_eq!(
            c.redirect_uri(),
            "http://127.0.0.1:8000/accounts/oauth/complete/kakao/"
        );
    }

    #[test]
    fn redis_url_switches_sessions_to_redis_unless_told_otherwise() {
        let c = from(&[("REDIS_URL", "redis://127.0.0.1:6379")]).expect("valid");
        assert_eq!(c.session_backend, SessionBackend::Redis);
        let c = from(&[
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("SESSION_STORE", "db"),
        ])
        .expect("valid");
        assert_eq!(c.session_backend, SessionBackend::Database);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (var, value) in [
            ("APP_URL", "not a url"),
            ("KAKAO_AUTH_URL", "ftp://x"),
            ("SESSION_SECRET", "short"),
            ("SESSION_STORE", "memcached"),
            ("REDIS_URL", "http://x"),
            ("KAKAO_APP_ID", "abc"),
            ("TOKEN_KEY", "short"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal"),
            ("SDK_ATTEMPTS_PER_MINUTE", "-1"),
        ] {
            let err = from(&[(var, value)]).expect_err(var);
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }
}
