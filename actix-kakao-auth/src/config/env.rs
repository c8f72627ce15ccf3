//! [`KakaoAuthConfigBuilder::from_env`]: the demo-app contract's environment variables.

use super::builder::{split_scopes, KakaoAuthConfigBuilder};
use super::error::ConfigError;
use super::urls::{checked_base_url, parse_absolute};

impl KakaoAuthConfigBuilder {
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
        if let Some(audiences) = get("KAKAO_SDK_AUDIENCES") {
            builder.sdk_audiences = split_scopes(&audiences);
        }
        if let Some(terms) = get("KAKAO_SERVICE_TERMS") {
            builder.service_terms = split_scopes(&terms);
        }
        builder.admin_key = get("KAKAO_ADMIN_KEY");
        if let Some(app_id) = get("KAKAO_APP_ID") {
            let id = app_id.trim().parse::<i64>().map_err(|_| {
                ConfigError::invalid("KAKAO_APP_ID", "must be the app's numeric id")
            })?;
            builder.app_id = Some(id);
        }
        Ok(builder)
    }
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
