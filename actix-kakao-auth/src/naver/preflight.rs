//! Setup checks for Naver Login, without a user: discovery names the configured issuer,
//! the JWKS has keys, the authorize endpoint accepts the Client ID and Callback URL
//! (Naver shows an error page instead of redirecting when either is unknown), and a dummy
//! code at the token endpoint is refused as a bad code, not as a bad client
//! (`invalid_client`: the id or secret is wrong). Each check says what to fix, in Korean
//! and English.

use std::time::Duration;

use http::Method;

use super::client::NaverClient;
use crate::config::client::join;
use crate::kakao::oidc::JwkSet;
use crate::kakao::preflight::{Check, CheckResult};

/// Runs every check, each bounded by `per_check`.
pub async fn run(client: &NaverClient, per_check: Duration) -> Vec<CheckResult> {
    vec![
        bounded(per_check, Check::Discovery, discovery(client)).await,
        bounded(per_check, Check::Jwks, jwks(client)).await,
        bounded(per_check, Check::Authorize, authorize(client)).await,
        bounded(per_check, Check::Token, token(client)).await,
    ]
}

async fn bounded(
    limit: Duration,
    check: Check,
    work: impl std::future::Future<Output = CheckResult>,
) -> CheckResult {
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => CheckResult::fail(
            check,
            None,
            format!(
                "네이버가 {}초 안에 답하지 않았습니다 ({})",
                limit.as_secs(),
                check.name()
            ),
            format!(
                "Naver did not answer within {} s ({})",
                limit.as_secs(),
                check.name()
            ),
        ),
    }
}

fn unreachable(check: Check, error: &super::NaverApiError) -> CheckResult {
    CheckResult::fail(
        check,
        None,
        format!("네이버에 연결하지 못했습니다 (NAVER_AUTH_URL 확인): {error}"),
        format!("Could not reach Naver (check NAVER_AUTH_URL): {error}"),
    )
}

async fn discovery(client: &NaverClient) -> CheckResult {
    let url = join(
        &client.settings().auth_base_url,
        "/.well-known/openid-configuration",
    );
    let (status, body) = match client.probe(Method::GET, &url, None).await {
        Ok(answer) => answer,
        Err(error) => return unreachable(Check::Discovery, &error),
    };
    let issuer = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|doc| doc["issuer"].as_str().map(str::to_owned));
    match issuer {
        Some(issuer) if status == 200 && issuer.trim_end_matches('/') == client.issuer() => {
            CheckResult::pass(
                Check::Discovery,
                "네이버 OpenID Connect 설정이 응답하고 issuer가 NAVER_AUTH_URL과 같습니다",
                "Naver's OpenID Connect discovery answers and its issuer is NAVER_AUTH_URL",
            )
        }
        other => CheckResult::fail(
            Check::Discovery,
            None,
            format!(
                "네이버 OpenID Connect 설정의 issuer({})가 NAVER_AUTH_URL({})과 다릅니다",
                other.as_deref().unwrap_or("-"),
                client.issuer()
            ),
            format!(
                "Naver's discovery issuer ({}) is not NAVER_AUTH_URL ({}) (HTTP {status})",
                other.as_deref().unwrap_or("-"),
                client.issuer()
            ),
        ),
    }
}

async fn jwks(client: &NaverClient) -> CheckResult {
    let (status, body) = match client.probe(Method::GET, &client.jwks_url(), None).await {
        Ok(answer) => answer,
        Err(error) => return unreachable(Check::Jwks, &error),
    };
    match JwkSet::from_json(&body) {
        Ok(keys) if status == 200 && !keys.is_empty() => CheckResult::pass(
            Check::Jwks,
            "네이버 서명 키(JWKS)를 읽었습니다",
            "Naver's signing keys (JWKS) are readable",
        ),
        _ => CheckResult::fail(
            Check::Jwks,
            None,
            format!("네이버 서명 키(JWKS)를 읽지 못했습니다 (HTTP {status})"),
            format!("Naver's signing keys (JWKS) could not be read (HTTP {status})"),
        ),
    }
}

async fn authorize(client: &NaverClient) -> CheckResult {
    let url = client.authorize_url(&super::NaverAuthorize {
        state: "doctor",
        nonce: "doctor",
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        reauthenticate: false,
    });
    match client.probe(Method::GET, &url, None).await {
        Ok((status, _)) if status < 400 => CheckResult::pass(
            Check::Authorize,
            "네이버 로그인 화면이 Client ID와 Callback URL을 받아들입니다",
            "Naver's authorize page accepts the Client ID and the Callback URL",
        ),
        Ok((status, _)) => CheckResult::fail(
            Check::Authorize,
            None,
            format!(
                "네이버가 오류 화면을 보였습니다 (HTTP {status}): 내 애플리케이션 → API 설정에서 Client ID와 Callback URL({})을 확인하세요",
                client.settings().redirect_uri()
            ),
            format!(
                "Naver showed an error page (HTTP {status}): check the Client ID and the Callback URL ({}) under Application → API settings",
                client.settings().redirect_uri()
            ),
        ),
        Err(error) => unreachable(Check::Authorize, &error),
    }
}

async fn token(client: &NaverClient) -> CheckResult {
    let url = join(&client.settings().auth_base_url, "/oauth2/token");
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", "doctor-dummy-code"),
        ("state", "doctor"),
        (
            "code_verifier",
            "doctor-dummy-verifier-doctor-dummy-verifier-00",
        ),
    ];
    let (status, body) = match client.probe(Method::POST, &url, Some(&fields)).await {
        Ok(answer) => answer,
        Err(error) => return unreachable(Check::Token, &error),
    };
    let error = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|doc| doc["error"].as_str().map(str::to_owned));
    match error.as_deref() {
        Some("invalid_client") | Some("unauthorized_client") => CheckResult::fail(
            Check::Token,
            error.as_deref(),
            "네이버가 Client ID 또는 Client Secret을 거부했습니다: NAVER_CLIENT_ID와 NAVER_CLIENT_SECRET을 확인하세요".to_owned(),
            "Naver refused the Client ID or Client Secret: check NAVER_CLIENT_ID and NAVER_CLIENT_SECRET".to_owned(),
        ),
        Some(_) => CheckResult::pass(
            Check::Token,
            "토큰 요청이 (가짜 코드라서) 코드 오류로 거절됐습니다: Client ID와 Secret은 맞습니다",
            "The token request was refused for the (dummy) code, not the client: the id and secret are right",
        ),
        None => CheckResult::fail(
            Check::Token,
            None,
            format!("네이버 토큰 응답을 이해하지 못했습니다 (HTTP {status})"),
            format!("Naver's token answer could not be understood (HTTP {status})"),
        ),
    }
}
