//! Configuration: a builder with secure defaults, and [`KakaoAuthConfigBuilder::from_env`].
//!
//! Required inputs go to [`KakaoAuthConfig::builder`]; everything else is a chained setter
//! whose documentation ends with its default. When in doubt the default is the safer
//! choice: PKCE always on, one-time `state` that expires, session renewed at login,
//! `next` limited to local paths, cookies `HttpOnly` + `SameSite=Lax` (+ `Secure` for an
//! https redirect URI), no HTTP redirects followed when calling Kakao.

mod builder;
pub(crate) mod client;
mod env;
mod error;
mod login;
mod oidc;
mod options;
mod paths;
mod session;
mod settings;
pub(crate) mod urls;

pub use builder::{split_scopes, KakaoAuthConfigBuilder, DEFAULT_API_URL, DEFAULT_AUTH_URL};
pub use client::ClientSettings;
pub use error::ConfigError;
pub use options::{HttpOptions, LoginDefaults, OidcOptions, SdkOptions, SessionOptions};
pub use paths::RoutePaths;
pub use session::{session_key_from_secret, MIN_SESSION_SECRET_LEN};
pub use settings::KakaoAuthConfig;

#[cfg(test)]
mod tests {
    use super::client::join;
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;
    use url::Url;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const SECRET: &str = "0123456789012345678901234567890123456789012345678901234567890123";
    const REDIRECT: &str = "http://127.0.0.1:8000/accounts/oauth/complete/kakao/";

    /// The required variables plus `more`.
    fn env(more: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        let mut pairs = vec![
            ("KAKAO_CLIENT_ID", "abc"),
            ("KAKAO_REDIRECT_URI", REDIRECT),
            ("KAKAO_SESSION_SECRET", SECRET),
        ];
        for (name, value) in more {
            pairs.retain(|(n, _)| n != name);
            pairs.push((name, value));
        }
        vars(&pairs)
    }

    #[test]
    fn env_defaults_are_secure() {
        let config = KakaoAuthConfigBuilder::from_vars(env(&[]))
            .and_then(KakaoAuthConfigBuilder::build)
            .expect("valid");
        assert_eq!(config.redirect_uri().as_str(), REDIRECT);
        assert_eq!(config.auth_base_url().as_str(), "https://kauth.kakao.com/");
        assert!(!config.cookie_secure());
        assert_eq!(config.callback_path(), "/accounts/oauth/complete/kakao/");
        assert_eq!(config.paths(), &RoutePaths::default());
        assert!(config.serves_error_page());
        assert!(!config.sdk_sign_in_configured());
    }

    #[test]
    fn from_env_reads_only_its_own_variables() {
        let read = std::sync::Mutex::new(Vec::<String>::new());
        let _ = KakaoAuthConfigBuilder::from_vars(|name| {
            read.lock().expect("lock").push(name.to_owned());
            env(&[])(name)
        });
        let read = read.into_inner().expect("lock");
        assert!(!read.is_empty());
        assert!(
            read.iter()
                .all(|name| name.starts_with("KAKAO_") || name.starts_with("NAVER_")),
            "{read:?}"
        );
    }

    #[test]
    fn a_missing_session_secret_is_refused_naming_the_setting() {
        let error = KakaoAuthConfig::builder("abc", REDIRECT)
            .build()
            .expect_err("no secret");
        assert!(error.to_string().starts_with("session_secret"), "{error}");
        let missing = KakaoAuthConfigBuilder::from_vars(vars(&[("KAKAO_CLIENT_ID", "abc")]))
            .expect_err("no redirect uri");
        assert!(
            missing.to_string().starts_with("KAKAO_REDIRECT_URI"),
            "{missing}"
        );
    }

    #[test]
    fn https_redirect_uri_makes_the_cookie_secure_and_scopes_split_both_ways() {
        let config = KakaoAuthConfigBuilder::from_vars(env(&[
            (
                "KAKAO_REDIRECT_URI",
                "https://example.com/accounts/oauth/complete/kakao/",
            ),
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
        let short = KakaoAuthConfigBuilder::from_vars(env(&[("KAKAO_SESSION_SECRET", "short")]))
            .expect_err("short secret");
        assert!(
            short.to_string().starts_with("KAKAO_SESSION_SECRET"),
            "{short}"
        );
        let url = KakaoAuthConfigBuilder::from_vars(env(&[("KAKAO_AUTH_URL", "not a url")]))
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
        let config = builder().build().expect("valid");
        assert_eq!(config.oidc_issuer(), "https://kauth.kakao.com");
        assert_eq!(
            config.jwks_url().as_str(),
            "https://kauth.kakao.com/.well-known/jwks.json"
        );
        assert_eq!(config.id_token_leeway(), Duration::from_secs(60));
        assert_eq!(config.jwks_cache_ttl(), Duration::from_secs(600));
        assert_eq!(config.jwks_min_refetch_interval(), Duration::from_secs(30));
        let emulated = builder()
            .auth_base_url("http://127.0.0.1:9999/")
            .build()
            .expect("valid");
        assert_eq!(emulated.oidc_issuer(), "http://127.0.0.1:9999");
        assert_eq!(
            emulated.jwks_url().as_str(),
            "http://127.0.0.1:9999/.well-known/jwks.json"
        );
        let custom = builder()
            .oidc(OidcOptions {
                issuer: Some("https://issuer.example".into()),
                jwks_url: Some("not a url".into()),
                ..OidcOptions::default()
            })
            .build()
            .expect_err("bad jwks url");
        assert!(custom.to_string().starts_with("oidc.jwks_url"), "{custom}");
    }

    fn builder() -> KakaoAuthConfigBuilder {
        KakaoAuthConfig::builder("abc", "http://127.0.0.1:8000/cb/").session_secret(SECRET)
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
        refused(builder().session_secret("s".repeat(63)), "SESSION_SECRET");
        builder()
            .session_secret("s".repeat(64))
            .build()
            .expect("valid");
    }

    #[test]
    fn empty_environment_secrets_read_as_unset() {
        let config = KakaoAuthConfigBuilder::from_vars(env(&[
            ("KAKAO_CLIENT_SECRET", ""),
            ("KAKAO_ADMIN_KEY", " "),
        ]))
        .and_then(KakaoAuthConfigBuilder::build)
        .expect("valid");
        assert!(!config.has_admin_key());
        assert!(config.client.client_secret.is_none());
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
            builder().oidc(OidcOptions {
                jwks_url: Some("http://kauth.example/.well-known/jwks.json".into()),
                ..OidcOptions::default()
            }),
            "oidc.jwks_url",
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
        let from_env =
            KakaoAuthConfigBuilder::from_vars(env(&[("KAKAO_API_URL", "http://kapi.example")]))
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
                .oidc(OidcOptions {
                    jwks_url: Some(format!("{}/jwks", url.trim_end_matches('/'))),
                    ..OidcOptions::default()
                })
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
            .oidc(OidcOptions {
                jwks_url: Some("http://keys.example/jwks.json".into()),
                ..OidcOptions::default()
            })
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
            .oidc(OidcOptions {
                jwks_stale_if_error: Duration::from_secs(5),
                ..OidcOptions::default()
            })
            .build()
            .expect("valid");
        assert_eq!(config.jwks_stale_if_error(), Duration::from_secs(5));
    }

    #[test]
    fn route_paths_are_set_as_a_group_and_checked_by_name() {
        let config = builder()
            .paths(RoutePaths {
                login_url: "/accounts/login/".into(),
                ..RoutePaths::default()
            })
            .serve_error_page(false)
            .build()
            .expect("valid");
        assert_eq!(config.paths().login_url, "/accounts/login/");
        assert_eq!(config.paths().logout_path, "/logout/");
        assert!(!config.serves_error_page());
        refused(
            builder().paths(RoutePaths {
                logout_path: "https://evil.example/".into(),
                ..RoutePaths::default()
            }),
            "paths.logout_path",
        );
    }

    #[test]
    fn session_key_needs_sixty_four_characters() {
        assert!(session_key_from_secret(&"x".repeat(63)).is_err());
        assert!(session_key_from_secret(&"x".repeat(64)).is_ok());
    }
}
