//! [`KakaoAuthConfigBuilder::from_env`]: the library's own `KAKAO_*` environment
//! variables.

use super::builder::{split_scopes, KakaoAuthConfigBuilder};
use super::error::ConfigError;
use super::urls::{checked_base_url, parse_absolute};

impl KakaoAuthConfigBuilder {
    /// Reads these variables, and no others (empty reads as unset):
    ///
    /// | variable | setting |
    /// | --- | --- |
    /// | `KAKAO_CLIENT_ID` (required) | the REST API key |
    /// | `KAKAO_REDIRECT_URI` (required) | the registered redirect URI; the callback is mounted at its path |
    /// | `KAKAO_SESSION_SECRET` (required by [`build`](Self::build)) | [`session_secret`](Self::session_secret) |
    /// | `KAKAO_CLIENT_SECRET` | [`client_secret`](Self::client_secret) |
    /// | `KAKAO_SCOPE` | [`scopes`](Self::scopes), split on spaces and commas |
    /// | `KAKAO_AUTH_URL`, `KAKAO_API_URL` | [`auth_base_url`](Self::auth_base_url), [`api_base_url`](Self::api_base_url) |
    /// | `KAKAO_ADMIN_KEY` | [`admin_key`](Self::admin_key) |
    /// | `KAKAO_APP_ID` | [`app_id`](Self::app_id) |
    /// | `KAKAO_SDK_AUDIENCES` | [`SdkOptions::audiences`](super::SdkOptions::audiences) |
    /// | `NAVER_CLIENT_ID`, `NAVER_CLIENT_SECRET`, `NAVER_REDIRECT_URI` | [`naver`](Self::naver): Naver Login, when `NAVER_CLIENT_ID` is set (the other two are then required) |
    /// | `NAVER_AUTH_URL`, `NAVER_API_URL` | [`NaverSettings::base_urls`](crate::naver::NaverSettings::base_urls) |
    /// | `KAKAO_SERVICE_TERMS` | [`LoginDefaults::service_terms`](super::LoginDefaults::service_terms) |
    ///
    /// A bad value is refused naming its variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any variable source (tests, config files).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let client_id = get("KAKAO_CLIENT_ID").ok_or(ConfigError::Missing {
            name: "KAKAO_CLIENT_ID",
        })?;
        let redirect_uri = get("KAKAO_REDIRECT_URI").ok_or(ConfigError::Missing {
            name: "KAKAO_REDIRECT_URI",
        })?;
        parse_absolute("KAKAO_REDIRECT_URI", &redirect_uri)?;
        let mut builder = Self::new(client_id, redirect_uri);
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
        if let Some(secret) = get("KAKAO_SESSION_SECRET") {
            super::session::session_key_from_secret(&secret).map_err(|_| {
                ConfigError::invalid(
                    "KAKAO_SESSION_SECRET",
                    format!(
                        "must be at least {} characters",
                        super::session::MIN_SESSION_SECRET_LEN
                    ),
                )
            })?;
            builder.session_secret = Some(secret);
        }
        if let Some(audiences) = get("KAKAO_SDK_AUDIENCES") {
            builder.sdk.audiences = split_scopes(&audiences);
        }
        if let Some(terms) = get("KAKAO_SERVICE_TERMS") {
            builder.login.service_terms = split_scopes(&terms);
        }
        builder.admin_key = get("KAKAO_ADMIN_KEY");
        if let Some(naver_id) = get("NAVER_CLIENT_ID") {
            let secret = get("NAVER_CLIENT_SECRET").ok_or(ConfigError::Missing {
                name: "NAVER_CLIENT_SECRET",
            })?;
            let redirect = get("NAVER_REDIRECT_URI").ok_or(ConfigError::Missing {
                name: "NAVER_REDIRECT_URI",
            })?;
            let auth = get("NAVER_AUTH_URL")
                .unwrap_or_else(|| crate::naver::client::DEFAULT_NAVER_AUTH_URL.to_owned());
            let api = get("NAVER_API_URL")
                .unwrap_or_else(|| crate::naver::client::DEFAULT_NAVER_API_URL.to_owned());
            builder.naver = Some(
                crate::naver::NaverSettings::new(naver_id, secret, &redirect)?
                    .base_urls(&auth, &api)?,
            );
        }
        if let Some(app_id) = get("KAKAO_APP_ID") {
            let id = app_id.trim().parse::<i64>().map_err(|_| {
                ConfigError::invalid("KAKAO_APP_ID", "must be the app's numeric id")
            })?;
            builder.app_id = Some(id);
        }
        Ok(builder)
    }
}
