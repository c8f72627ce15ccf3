//! [`KakaoAuth::preflight`](crate::KakaoAuth::preflight): checks the Kakao setup before a
//! user finds the mistake, as Django's `manage.py check` does. Each check asks Kakao
//! something that needs no user and creates nothing there:
//!
//! * **authorize**: `GET /oauth/authorize` with the client id, the redirect URI and the
//!   configured scopes must answer with a redirect or a page that is not an error page
//!   (KOE101: unknown key; KOE006: redirect URI not registered; KOE205: a consent item the
//!   app has not enabled). Redirects are not followed.
//! * **token**: `POST /oauth/token` with a dummy code must answer KOE320 (code not found):
//!   then the key, the client secret and the redirect URI were all accepted; KOE010 means
//!   the client secret is missing or wrong, KOE101 the key.
//! * with `openid`: **discovery** (`/.well-known/openid-configuration`) must answer and
//!   name the configured issuer; the **JWKS** must answer with usable keys.
//!
//! Every result explains itself in Korean and English, with what to change in the Kakao
//! console (menu names as Kakao's console shows them).

use std::time::Duration;

use http::Method;

use crate::config::KakaoAuthConfig;
use crate::kakao::client::KakaoClient;
use crate::kakao::oidc::JwkSet;

/// One check of [`KakaoAuth::preflight`](crate::KakaoAuth::preflight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Check {
    /// The authorize endpoint accepts the client id, the redirect URI and the scopes.
    Authorize,
    /// The token endpoint accepts the key, the client secret and the redirect URI.
    Token,
    /// OpenID Connect discovery answers and names the configured issuer.
    Discovery,
    /// The JWKS answers with usable keys.
    Jwks,
}

impl Check {
    /// A short English name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Authorize => "authorize",
            Self::Token => "token",
            Self::Discovery => "discovery",
            Self::Jwks => "jwks",
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Which check.
    pub check: Check,
    /// True when it passed.
    pub ok: bool,
    /// Kakao's `KOE…` code when Kakao gave one.
    pub kakao_code: Option<String>,
    /// What happened and what to do, in Korean.
    pub korean: String,
    /// What happened and what to do, in English.
    pub english: String,
}

impl CheckResult {
    pub(crate) fn pass(check: Check, korean: &str, english: &str) -> Self {
        Self {
            check,
            ok: true,
            kakao_code: None,
            korean: korean.to_owned(),
            english: english.to_owned(),
        }
    }

    pub(crate) fn fail(check: Check, code: Option<&str>, korean: String, english: String) -> Self {
        Self {
            check,
            ok: false,
            kakao_code: code.map(str::to_owned),
            korean,
            english,
        }
    }
}

/// The first `KOE` followed by three digits in `body` (Kakao's error pages and JSON both
/// carry it).
fn koe_code(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5)).find_map(|i| {
        let candidate = &bytes[i..i + 6];
        (candidate.starts_with(b"KOE") && candidate[3..].iter().all(u8::is_ascii_digit))
            .then(|| String::from_utf8_lossy(candidate).into_owned())
    })
}

/// Runs every check, each bounded by `per_check`, for apps that have a configuration and
/// a client but no [`KakaoAuth`](crate::KakaoAuth) (a command-line check, say).
pub async fn run(
    config: &KakaoAuthConfig,
    client: &KakaoClient,
    per_check: Duration,
) -> Vec<CheckResult> {
    let mut results = vec![
        bounded(Check::Authorize, per_check, authorize(config, client)).await,
        bounded(Check::Token, per_check, token(config, client)).await,
    ];
    if config.oidc_enabled() {
        results.push(bounded(Check::Discovery, per_check, discovery(config, client)).await);
        results.push(bounded(Check::Jwks, per_check, jwks(config, client)).await);
    }
    results
}

async fn bounded(
    check: Check,
    limit: Duration,
    work: impl std::future::Future<Output = CheckResult>,
) -> CheckResult {
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => CheckResult::fail(
            check,
            None,
            format!("카카오가 {}초 안에 응답하지 않았습니다. KAKAO_AUTH_URL·KAKAO_API_URL과 네트워크를 확인하세요.", limit.as_secs()),
            format!("Kakao did not answer within {} s. Check KAKAO_AUTH_URL, KAKAO_API_URL and the network.", limit.as_secs()),
        ),
    }
}

fn unreachable(check: Check, error: &crate::error::KakaoApiError) -> CheckResult {
    CheckResult::fail(
        check,
        None,
        format!("카카오에 연결하지 못했습니다({error}). KAKAO_AUTH_URL·KAKAO_API_URL과 네트워크를 확인하세요."),
        format!("Could not reach Kakao ({error}). Check KAKAO_AUTH_URL, KAKAO_API_URL and the network."),
    )
}

fn koe_explained(check: Check, code: &str) -> CheckResult {
    let (korean, english) = match code {
        "KOE101" => (
            "앱 키가 올바르지 않습니다. 내 애플리케이션 → 앱 키의 REST API 키를 KAKAO_CLIENT_ID에 넣으세요.",
            "The app key is wrong. Put the REST API key from My Application → App Keys into KAKAO_CLIENT_ID.",
        ),
        "KOE006" => (
            "등록되지 않은 Redirect URI입니다. 카카오 로그인 → Redirect URI에 콜백 주소를 그대로 등록하세요.",
            "The redirect URI is not registered. Add the callback URL exactly under Kakao Login → Redirect URI.",
        ),
        "KOE010" => (
            "Client Secret이 없거나 다릅니다. 보안 → Client Secret의 코드를 KAKAO_CLIENT_SECRET에 넣거나 사용 설정을 끄세요.",
            "The client secret is missing or wrong. Put the code from Security → Client Secret into KAKAO_CLIENT_SECRET, or turn the setting off.",
        ),
        "KOE205" => (
            "앱에 설정하지 않은 동의 항목을 요청했습니다. 카카오 로그인 → 동의항목에서 KAKAO_SCOPE의 항목을 설정하세요.",
            "A consent item the app has not enabled was requested. Enable KAKAO_SCOPE's items under Kakao Login → Consent Items.",
        ),
        "KOE004" => (
            "카카오 로그인이 꺼져 있습니다. 카카오 로그인 → 활성화 설정을 켜세요.",
            "Kakao Login is off for the app. Turn it on under Kakao Login → Activation.",
        ),
        "KOE303" => (
            "토큰 요청의 Redirect URI가 인가 요청과 다릅니다. APP_URL을 확인하세요.",
            "The token request's redirect URI differs from the authorize request's. Check APP_URL.",
        ),
        _ => (
            "카카오가 오류로 응답했습니다.",
            "Kakao answered with an error.",
        ),
    };
    CheckResult::fail(
        check,
        Some(code),
        format!("{code}: {korean}"),
        format!("{code}: {english}"),
    )
}

async fn authorize(config: &KakaoAuthConfig, client: &KakaoClient) -> CheckResult {
    let mut url = config.client().auth_endpoint("/oauth/authorize");
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", config.client_id())
            .append_pair("redirect_uri", config.redirect_uri().as_str())
            .append_pair("response_type", "code");
        if !config.scopes().is_empty() {
            query.append_pair("scope", &config.scopes().join(","));
        }
    }
    let answer = match client.probe(Method::GET, &url, None).await {
        Ok(answer) => answer,
        Err(error) => return unreachable(Check::Authorize, &error),
    };
    if let Some(code) = koe_code(&answer.body) {
        return koe_explained(Check::Authorize, &code);
    }
    if answer.status >= 400 {
        return CheckResult::fail(
            Check::Authorize,
            None,
            format!(
                "인가 주소가 HTTP {}로 응답했습니다. KAKAO_AUTH_URL을 확인하세요.",
                answer.status
            ),
            format!(
                "The authorize endpoint answered HTTP {}. Check KAKAO_AUTH_URL.",
                answer.status
            ),
        );
    }
    CheckResult::pass(
        Check::Authorize,
        "인가 요청: 앱 키, Redirect URI, 동의 항목이 받아들여졌습니다.",
        "Authorize: the app key, the redirect URI and the consent items were accepted.",
    )
}

async fn token(config: &KakaoAuthConfig, client: &KakaoClient) -> CheckResult {
    let url = config.client().auth_endpoint("/oauth/token");
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("client_id", config.client_id())
        .append_pair("redirect_uri", config.redirect_uri().as_str())
        .append_pair("code", "actix-kakao-auth-preflight-dummy-code")
        .append_pair(
            "code_verifier",
            "actix-kakao-auth-preflight-dummy-code-verifier-0123456789",
        );
    if let Some(secret) = &config.client().client_secret {
        form.append_pair("client_secret", secret.secret());
    }
    let answer = match client.probe(Method::POST, &url, Some(form.finish())).await {
        Ok(answer) => answer,
        Err(error) => return unreachable(Check::Token, &error),
    };
    match koe_code(&answer.body).as_deref() {
        Some("KOE320") => CheckResult::pass(
            Check::Token,
            "토큰 요청: 앱 키, Client Secret, Redirect URI가 받아들여졌습니다(시험용 코드는 KOE320으로 거절됨).",
            "Token: the app key, the client secret and the redirect URI were accepted (the dummy code got KOE320).",
        ),
        Some(code) => koe_explained(Check::Token, code),
        None => CheckResult::fail(
            Check::Token,
            None,
            format!("토큰 주소가 예상과 다르게 응답했습니다(HTTP {}). KAKAO_AUTH_URL을 확인하세요.", answer.status),
            format!("The token endpoint answered unexpectedly (HTTP {}). Check KAKAO_AUTH_URL.", answer.status),
        ),
    }
}

async fn discovery(config: &KakaoAuthConfig, client: &KakaoClient) -> CheckResult {
    let url = config
        .client()
        .auth_endpoint("/.well-known/openid-configuration");
    let answer = match client.probe(Method::GET, &url, None).await {
        Ok(answer) => answer,
        Err(error) => return unreachable(Check::Discovery, &error),
    };
    let issuer = serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|doc| doc["issuer"].as_str().map(str::to_owned));
    match issuer {
        Some(issuer) if answer.status == 200 && issuer == config.oidc_issuer() => CheckResult::pass(
            Check::Discovery,
            "OpenID Connect 설정 문서가 응답했고 발급자가 일치합니다.",
            "OpenID Connect discovery answered and its issuer matches.",
        ),
        Some(issuer) => CheckResult::fail(
            Check::Discovery,
            None,
            format!("발급자가 다릅니다: 문서는 {issuer:?}, 설정은 {:?}. oidc_issuer 또는 KAKAO_AUTH_URL을 확인하세요.", config.oidc_issuer()),
            format!("The issuer differs: the document says {issuer:?}, the configuration {:?}. Check oidc_issuer or KAKAO_AUTH_URL.", config.oidc_issuer()),
        ),
        None => CheckResult::fail(
            Check::Discovery,
            None,
            format!("OpenID Connect 설정 문서를 읽지 못했습니다(HTTP {}). 카카오 로그인 → OpenID Connect 활성화를 확인하세요.", answer.status),
            format!("Could not read OpenID Connect discovery (HTTP {}). Check Kakao Login → OpenID Connect activation.", answer.status),
        ),
    }
}

async fn jwks(config: &KakaoAuthConfig, client: &KakaoClient) -> CheckResult {
    match client.fetch_jwks(config.jwks_url()).await {
        Ok(body) => match JwkSet::from_json(&body) {
            Ok(keys) => CheckResult::pass(
                Check::Jwks,
                &format!("서명 키(JWKS)가 응답했습니다: 키 {}개.", keys.len()),
                &format!("The signing keys (JWKS) answered: {} keys.", keys.len()),
            ),
            Err(error) => CheckResult::fail(
                Check::Jwks,
                None,
                format!("JWKS를 쓸 수 없습니다({error}). jwks_url을 확인하세요."),
                format!("The JWKS is unusable ({error}). Check jwks_url."),
            ),
        },
        Err(error) => CheckResult::fail(
            Check::Jwks,
            None,
            format!("JWKS를 받지 못했습니다({error}). jwks_url을 확인하세요."),
            format!("Could not fetch the JWKS ({error}). Check jwks_url."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn koe_codes_are_found_in_pages_and_json() {
        assert_eq!(koe_code(b"<h1>KOE006</h1>").as_deref(), Some("KOE006"));
        assert_eq!(
            koe_code(br#"{"error":"invalid_grant","error_code":"KOE320"}"#).as_deref(),
            Some("KOE320")
        );
        assert_eq!(koe_code(b"KOE1 KOEx12 nothing"), None);
        assert_eq!(koe_code(b""), None);
    }
}
