//! kauth's browser-facing endpoints: `GET /oauth/authorize` (validation and the consent page),
//! `POST /oauth/authorize/decision` (the consent form) and `GET /oauth/logout`.

use std::collections::BTreeMap;
use std::time::Instant;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::faults::Endpoint;
use super::fixtures::FixtureUser;
use super::pages::{self, ConsentPage};
use super::params;
use super::respond;
use super::state::{deadline, CodeGrant, PendingAuthorize, Shared};

/// Longest nickname accepted on the consent page (in characters).
const MAX_NICKNAME: usize = 40;

/// Splits `scope` on commas **and** spaces (Kakao documents commas; its SDKs send spaces).
pub(crate) fn split_scopes(scope: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for s in scope
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !scopes.iter().any(|known| known == s) {
            scopes.push(s.to_owned());
        }
    }
    scopes
}

/// A PKCE S256 challenge: 43–128 characters of RFC 7636's unreserved set.
fn valid_challenge(challenge: &str) -> bool {
    (43..=128).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `params[name]` as given (not trimmed), if non-empty.
fn raw<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// Redirects an error to the app, echoing `state` when one was given.
fn error_redirect(
    redirect_uri: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> HttpResponse {
    let mut query = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        query.push(("state", state));
    }
    respond::redirect_with(redirect_uri, &query)
}

/// `GET /oauth/authorize`.
///
/// Configuration errors are HTML error pages, never redirects (as at Kakao): unknown
/// `client_id` → KOE101 (401); unregistered `redirect_uri` → KOE006; `response_type=token` →
/// KOE202; any other `response_type` but `code` → KOE201; a scope the app has not configured →
/// KOE205 (all 400). A `code_challenge` whose method is not `S256` (a missing method means
/// `plain`), or a malformed challenge, redirects with `error=invalid_request` (RFC 7636 §4.4.1).
/// Without `scope`, every configured item except `openid` is requested.
/// Kakao's KOE101 page when the request's `client_id` is not the app's, else `None`.
fn check_client_id(
    params: &BTreeMap<String, String>,
    config: &super::state::Config,
) -> Option<HttpResponse> {
    let client_id = raw(params, "client_id").unwrap_or_default();
    if client_id == config.client_id {
        return None;
    }
    Some(pages::error_page(
        401,
        "KOE101",
        &format!("잘못된 앱 키입니다. / Invalid app key (client_id): \"{client_id}\""),
    ))
}

pub(crate) async fn authorize(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    if let Some(response) = shared.faults.apply(Endpoint::Authorize).await {
        return response;
    }
    let params = params::parse(req.query_string().as_bytes());
    let config = &shared.config;

    if let Some(page) = check_client_id(&params, config) {
        return page;
    }
    let redirect_uri = raw(&params, "redirect_uri").unwrap_or_default();
    if !config.redirect_uris.iter().any(|uri| uri == redirect_uri) {
        return pages::error_page(
            400,
            "KOE006",
            &format!(
                "등록하지 않은 리다이렉트 URI를 사용해 인가 코드를 요청했습니다. / \
                 The redirect URI is not registered for this app: \"{redirect_uri}\""
            ),
        );
    }
    match raw(&params, "response_type") {
        Some("code") => {}
        Some("token") => {
            return pages::error_page(
                400,
                "KOE202",
                "암시적 승인(response_type=token)은 지원하지 않습니다. / \
                 The implicit grant (response_type=token) is not supported.",
            )
        }
        other => {
            return pages::error_page(
                400,
                "KOE201",
                &format!("Unsupported response type: {}", other.unwrap_or_default()),
            )
        }
    }
    let scopes = match raw(&params, "scope") {
        Some(scope) => split_scopes(scope),
        None => config
            .allowed_scopes
            .iter()
            .filter(|s| *s != "openid")
            .cloned()
            .collect(),
    };
    let unknown: Vec<&str> = scopes
        .iter()
        .filter(|s| !config.allowed_scopes.contains(s))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return pages::error_page(
            400,
            "KOE205",
            &format!(
                "설정하지 않은 동의 항목: {list} / Consent items not configured for the app: {list}",
                list = unknown.join(", ")
            ),
        );
    }

    let state = raw(&params, "state");
    let code_challenge = raw(&params, "code_challenge");
    if let Some(challenge) = code_challenge {
        let method = raw(&params, "code_challenge_method").unwrap_or("plain");
        if method != "S256" {
            return error_redirect(
                redirect_uri,
                "invalid_request",
                "code_challenge_method must be S256",
                state,
            );
        }
        if !valid_challenge(challenge) {
            return error_redirect(
                redirect_uri,
                "invalid_request",
                "invalid code_challenge",
                state,
            );
        }
    }
    let nonce = raw(&params, "nonce").map(str::to_owned);
    // Kakao Sync: the requested terms the app has; other tags are ignored.
    let service_terms: Vec<String> = raw(&params, "service_terms")
        .map(|tags| {
            tags.split(',')
                .map(str::trim)
                .filter(|tag| config.service_terms.iter().any(|(t, _)| t == tag))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();

    if let Some(error) = shared.faults.authorize_error() {
        return error_redirect(redirect_uri, &error, "emulated error", state);
    }
    let prompt_none =
        raw(&params, "prompt").is_some_and(|p| p.split(',').any(|v| v.trim() == "none"));
    if prompt_none {
        // The emulated Kakao Account session is the last user who approved; it must still be linked.
        let session_user = shared.lock().session_user;
        let linked = session_user.filter(|id| shared.consent_of(*id).is_some());
        return match linked {
            Some(user_id) => issue_code(
                &shared,
                user_id,
                &PendingAuthorize {
                    redirect_uri: redirect_uri.to_owned(),
                    state: state.map(str::to_owned),
                    scopes,
                    code_challenge: code_challenge.map(str::to_owned),
                    nonce,
                    created: Instant::now(),
                    service_terms: Vec::new(),
                },
            ),
            None => error_redirect(
                redirect_uri,
                "consent_required",
                "user consent required.",
                state,
            ),
        };
    }

    let request_id = shared.add_pending(PendingAuthorize {
        redirect_uri: redirect_uri.to_owned(),
        state: state.map(str::to_owned),
        scopes: scopes.clone(),
        code_challenge: code_challenge.map(str::to_owned),
        nonce,
        created: Instant::now(),
        service_terms: service_terms.clone(),
    });
    let html = pages::consent_page(&ConsentPage {
        client_id: &config.client_id,
        redirect_uri,
        request_id: &request_id,
        scopes: &scopes,
        users: &config.users,
        login_hint: raw(&params, "login_hint"),
        terms: &config
            .service_terms
            .iter()
            .filter(|(tag, _)| service_terms.contains(tag))
            .cloned()
            .collect::<Vec<_>>(),
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
        ))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(html)
}

/// Mints a code for `user_id` and redirects to the app with `code` (and `state`).
fn issue_code(shared: &Shared, user_id: i64, pending: &PendingAuthorize) -> HttpResponse {
    let code = shared.mint_code(CodeGrant {
        client_id: shared.config.client_id.clone(),
        redirect_uri: pending.redirect_uri.clone(),
        code_challenge: pending.code_challenge.clone(),
        scopes: pending.scopes.clone(),
        user_id,
        nonce: pending.nonce.clone(),
        expires_at: deadline(Instant::now(), shared.config.code_ttl),
    });
    let mut query = vec![("code", code.as_str())];
    if let Some(state) = pending.state.as_deref() {
        query.push(("state", state));
    }
    respond::redirect_with(&pending.redirect_uri, &query)
}

/// The user picked on the consent form.
fn chosen_user(shared: &Shared, form: &BTreeMap<String, String>) -> Result<FixtureUser, String> {
    match params::get(form, "user") {
        Some("custom") | None => {
            let nickname = params::get(form, "nickname")
                .ok_or("닉네임을 입력하세요. / Please type a nickname.")?;
            if nickname.chars().count() > MAX_NICKNAME || nickname.chars().any(char::is_control) {
                return Err(format!(
                    "닉네임은 {MAX_NICKNAME}자 이하여야 합니다. / A nickname has at most {MAX_NICKNAME} characters."
                ));
            }
            Ok(FixtureUser::from_nickname(nickname))
        }
        Some(id) => id
            .parse::<i64>()
            .ok()
            .and_then(|id| shared.user(id))
            .ok_or_else(|| format!("알 수 없는 사용자 / Unknown user: {id}")),
    }
}

/// `POST /oauth/authorize/decision`: the consent form's answer. Only `request_id`, `action`,
/// `user` and `nickname` are read; everything else comes from the server-side pending request.
pub(crate) async fn decision(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let form = params::parse(&body);
    let approve = match params::get(&form, "action") {
        Some("approve") => true,
        Some("cancel") => false,
        _ => return pages::error_page(400, "KOE001", "알 수 없는 동작 / Unknown action."),
    };
    let user = if approve {
        match chosen_user(&shared, &form) {
            Ok(user) => Some(user),
            Err(message) => return pages::error_page(400, "KOE001", &message),
        }
    } else {
        None
    };
    let Some(pending) = params::get(&form, "request_id").and_then(|id| shared.take_pending(id))
    else {
        return pages::error_page(
            400,
            "KOE001",
            "동의 요청이 만료되었거나 이미 처리되었습니다. / \
             This consent request expired or was already answered. Start the login again.",
        );
    };
    match user {
        Some(user) => {
            tracing::debug!(user_id = user.id, "kakao emulator: consent approved");
            shared.record_consent(&user, &pending.scopes);
            let agreed: Vec<String> = url::form_urlencoded::parse(&body)
                .filter(|(name, _)| name == "term")
                .map(|(_, tag)| tag.into_owned())
                .filter(|tag| pending.service_terms.contains(tag))
                .collect();
            shared.agree_terms(user.id, &agreed);
            issue_code(&shared, user.id, &pending)
        }
        None => {
            tracing::debug!("kakao emulator: consent cancelled");
            error_redirect(
                &pending.redirect_uri,
                "access_denied",
                "User denied access",
                pending.state.as_deref(),
            )
        }
    }
}

/// `GET /oauth/logout` (logout with Kakao Account): ends the emulated browser session and
/// redirects to the registered `logout_redirect_uri` (KOE007 page otherwise; KOE101 for an
/// unknown `client_id`).
pub(crate) async fn logout(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let params = params::parse(req.query_string().as_bytes());
    let config = &shared.config;
    if let Some(page) = check_client_id(&params, config) {
        return page;
    }
    let uri = raw(&params, "logout_redirect_uri").unwrap_or_default();
    if !config.logout_redirect_uris.iter().any(|u| u == uri) {
        return pages::error_page(
            400,
            "KOE007",
            &format!(
                "등록하지 않은 로그아웃 리다이렉트 URI입니다. / \
                 The logout redirect URI is not registered for this app: \"{uri}\""
            ),
        );
    }
    shared.lock().session_user = None;
    let mut query = Vec::new();
    if let Some(state) = raw(&params, "state") {
        query.push(("state", state));
    }
    respond::redirect_with(uri, &query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_split_on_commas_and_spaces() {
        assert_eq!(
            split_scopes("profile_nickname,account_email openid, ,openid"),
            vec!["profile_nickname", "account_email", "openid"]
        );
    }

    #[test]
    fn challenge_format() {
        assert!(valid_challenge(&"a".repeat(43)));
        assert!(!valid_challenge(&"a".repeat(42)));
        assert!(!valid_challenge(&format!("{}=", "a".repeat(43))));
    }
}
