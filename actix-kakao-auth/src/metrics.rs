//! Metrics through the [`metrics`](https://docs.rs/metrics) facade: the library records,
//! the application chooses an exporter (the demo serves Prometheus text). Without an
//! installed recorder every call is a no-op.
//!
//! | name | kind | labels | what |
//! | --- | --- | --- | --- |
//! | `kakao_logins_total` | counter | `outcome`: `success` or a [`LoginFailure`](crate::LoginFailure) code (web), or an SDK sign-in reason; `via`: `web` or `sdk` | completed and failed logins |
//! | `kakao_api_request_duration_seconds` | histogram | `endpoint`: the Kakao path (`/oauth/token`, `/v2/user/me`, …) | time of each call to Kakao, failures included |
//! | `kakao_sessions_ended_total` | counter | `cause`: `logout`, `disconnect`, `webhook`, `user_gone` | sessions ended on purpose, and sessions refused because their user is gone or their hash changed |
//! | `kakao_jwks_refreshes_total` | counter | `outcome`: `success`, `failure` | JWKS fetches |
//! | `kakao_token_refreshes_total` | counter | `outcome`: `success`, `relogin_required`, `failure` | access-token refreshes |

use std::time::Duration;

/// The endpoint label of a Kakao request path: only the paths the library calls, so the
/// label set stays small whatever a base URL prefix adds.
pub(crate) fn endpoint_label(path: &str) -> &'static str {
    const KNOWN: [&str; 18] = [
        "/oauth/authorize",
        "/oauth/token",
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
        "/v2/user/me",
        "/v1/user/access_token_info",
        "/v1/user/logout",
        "/v1/user/unlink",
        "/v2/user/scopes",
        "/v2/user/revoke/scopes",
        "/v2/user/service_terms",
        "/v2/user/revoke/service_terms",
        "/oauth/logout",
        // Naver
        "/oauth2/token",
        "/oauth2/jwks",
        "/oauth2.0/token",
        "/oauth2.0/revoke",
        "/v1/nid/me",
    ];
    KNOWN
        .into_iter()
        .find(|known| path.ends_with(known))
        .unwrap_or("other")
}

pub(crate) fn kakao_call(endpoint: &'static str, took: Duration) {
    metrics::histogram!("kakao_api_request_duration_seconds", "endpoint" => endpoint)
        .record(took.as_secs_f64());
}

pub(crate) fn login(provider: &'static str, via: &'static str, outcome: &'static str) {
    metrics::counter!("kakao_logins_total", "provider" => provider, "via" => via, "outcome" => outcome)
        .increment(1);
}

pub(crate) fn session_ended(cause: &'static str) {
    metrics::counter!("kakao_sessions_ended_total", "cause" => cause).increment(1);
}

pub(crate) fn jwks_refresh(ok: bool) {
    let outcome = if ok { "success" } else { "failure" };
    metrics::counter!("kakao_jwks_refreshes_total", "outcome" => outcome).increment(1);
}

pub(crate) fn token_refresh(outcome: &'static str) {
    metrics::counter!("kakao_token_refreshes_total", "outcome" => outcome).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_labels_are_the_known_paths_only() {
        assert_eq!(endpoint_label("/kauth/oauth/token"), "/oauth/token");
        assert_eq!(endpoint_label("/v2/user/me"), "/v2/user/me");
        assert_eq!(endpoint_label("/anything/else"), "other");
        assert_eq!(endpoint_label("/v1/nid/me"), "/v1/nid/me");
        assert_eq!(endpoint_label("/oauth2/token"), "/oauth2/token");
    }
}
