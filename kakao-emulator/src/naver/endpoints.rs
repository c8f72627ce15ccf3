//! The Naver hosts' endpoints: `nid` (authorize, token, revoke, discovery, JWKS) and
//! `openapi` (`/v1/nid/me`), served from one base URL.

use std::time::Instant;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::faults::{NaverEndpoint, NaverFault};
use super::pages;
use super::state::{random, CodeGrant, Grant, PathFamily, PendingConsent, Shared};
use crate::params;
use crate::respond;

type Data = web::Data<Shared>;

/// The fault on `endpoint`, applied: `Some(answer)` when the fault answers instead.
async fn faulted(shared: &Shared, endpoint: NaverEndpoint) -> Option<HttpResponse> {
    match shared.faults.on(endpoint)? {
        NaverFault::Delay(delay) => {
            actix_web::rt::time::sleep(delay).await;
            None
        }
        NaverFault::ServerErrorPage => Some(respond::raw(
            500,
            500,
            "text/html; charset=utf-8",
            "<html><body><h1>500 Internal Server Error</h1></body></html>".to_owned(),
        )),
        NaverFault::Unavailable => Some(respond::json(
            503,
            &json!({"error": "temporarily_unavailable", "error_description": "server is busy"}),
        )),
        NaverFault::ErrorWithOk(error) => (endpoint == NaverEndpoint::Token).then(|| {
            respond::json(
                200,
                &json!({"error": error, "error_description": "emulated failure"}),
            )
        }),
        NaverFault::ResultCode(code) => (endpoint == NaverEndpoint::Me).then(|| {
            respond::json(
                200,
                &json!({"resultcode": code, "message": "emulated failure"}),
            )
        }),
    }
}

fn family_of(req: &HttpRequest) -> PathFamily {
    if req.path().starts_with("/oauth2.0/") {
        PathFamily::Classic
    } else {
        PathFamily::Oidc
    }
}

/// `GET /oauth2/authorize` and `/oauth2.0/authorize`.
pub(crate) async fn authorize(req: HttpRequest, shared: Data) -> HttpResponse {
    let params = params::parse(req.query_string().as_bytes());
    shared
        .lock()
        .authorize_log
        .push(params::record(&req, &params));
    let config = &shared.config;
    let client_ok = params::get(&params, "client_id") == Some(config.client_id.as_str());
    let Some(redirect_uri) = params::get(&params, "redirect_uri") else {
        return pages::error_page("redirect_uri가 없습니다 · no redirect_uri");
    };
    if !client_ok || !config.redirect_uris.iter().any(|u| u == redirect_uri) {
        return pages::error_page(
            "등록되지 않은 애플리케이션 또는 Callback URL입니다 · unknown client or Callback URL",
        );
    }
    let state = params::get(&params, "state").unwrap_or("");
    let fail = |error: &str, description: &str| {
        respond::redirect_with(
            redirect_uri,
            &[
                ("state", state),
                ("error", error),
                ("error_description", description),
            ],
        )
    };
    if params::get(&params, "response_type") != Some("code") {
        return fail("unsupported_response_type", "response_type must be code");
    }
    if state.is_empty() {
        return fail("invalid_request", "state is required");
    }
    let family = family_of(&req);
    let code_challenge = params::get(&params, "code_challenge").map(str::to_owned);
    if family == PathFamily::Oidc {
        let scopes = params::get(&params, "scope").unwrap_or("");
        if !scopes.split([' ', ',']).any(|s| s == "openid") {
            return fail("invalid_scope", "openid is required on /oauth2/authorize");
        }
        if code_challenge.is_some() && params::get(&params, "code_challenge_method") != Some("S256")
        {
            return fail("invalid_request", "code_challenge_method must be S256");
        }
    }
    let auth_type = params::get(&params, "auth_type").map(str::to_owned);
    let request_id = random(24);
    shared.lock().consents.insert(
        request_id.clone(),
        PendingConsent {
            family,
            redirect_uri: redirect_uri.to_owned(),
            state: state.to_owned(),
            code_challenge: if family == PathFamily::Oidc {
                code_challenge
            } else {
                None
            },
            nonce: params::get(&params, "nonce").map(str::to_owned),
        },
    );
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(pages::consent_page(
            &request_id,
            &config.users,
            auth_type.as_deref() == Some("reauthenticate"),
        ))
}

/// `POST /oauth2/authorize/decision`: the consent form.
pub(crate) async fn decision(body: web::Bytes, shared: Data) -> HttpResponse {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(pending) = value("request_id").and_then(|id| shared.lock().consents.remove(id)) else {
        return pages::error_page("만료된 요청입니다 · expired request");
    };
    if value("action") != Some("approve") {
        return respond::redirect_with(
            &pending.redirect_uri,
            &[
                ("state", pending.state.as_str()),
                ("error", "access_denied"),
                ("error_description", "Canceled By User"),
            ],
        );
    }
    let Some(user) = value("user").filter(|id| shared.user(id).is_some()) else {
        return pages::error_page("사용자를 고르세요 · choose a user");
    };
    let kept: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "item")
        .map(|(_, v)| v.as_str())
        .collect();
    let declined = pages::OPTIONAL_ITEMS
        .iter()
        .filter(|item| !kept.contains(item))
        .map(|item| (*item).to_owned())
        .collect();
    let code = random(18);
    shared.lock().codes.insert(
        code.clone(),
        CodeGrant {
            family: pending.family,
            user: user.to_owned(),
            declined,
            redirect_uri: pending.redirect_uri.clone(),
            code_challenge: pending.code_challenge,
            nonce: pending.nonce,
            issued: Instant::now(),
        },
    );
    respond::redirect_with(
        &pending.redirect_uri,
        &[("code", code.as_str()), ("state", pending.state.as_str())],
    )
}

/// Naver's token-endpoint error: `{"error","error_description"}`.
fn token_error(status: u16, error: &str, description: &str) -> HttpResponse {
    respond::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// `GET|POST /oauth2/token` and `/oauth2.0/token`.
pub(crate) async fn token(req: HttpRequest, body: web::Bytes, shared: Data) -> HttpResponse {
    let params = params::query_and_form(&req, &body);
    shared.lock().token_log.push(params::record(&req, &params));
    if let Some(answer) = faulted(&shared, NaverEndpoint::Token).await {
        return answer;
    }
    let family = family_of(&req);
    let config = &shared.config;
    let client_ok = params::get(&params, "client_id") == Some(config.client_id.as_str())
        && bool::from(
            params::get(&params, "client_secret")
                .unwrap_or("")
                .as_bytes()
                .ct_eq(config.client_secret.as_bytes()),
        );
    if !client_ok {
        let status = if family == PathFamily::Oidc { 401 } else { 200 };
        return token_error(status, "invalid_client", "client authentication failed");
    }
    match params::get(&params, "grant_type") {
        Some("authorization_code") => redeem_code(&shared, family, &params),
        Some("refresh_token") => refresh(&shared, &params),
        _ => token_error(200, "unsupported_grant_type", "unsupported grant_type"),
    }
}

fn no_valid_data() -> HttpResponse {
    token_error(200, "invalid_request", "no valid data in session")
}

fn expires_in(shared: &Shared) -> Value {
    let seconds = shared.config.access_token_ttl.as_secs();
    if shared.faults.expires_in_as_number() {
        json!(seconds)
    } else {
        json!(seconds.to_string())
    }
}

fn redeem_code(
    shared: &Shared,
    family: PathFamily,
    params: &std::collections::BTreeMap<String, String>,
) -> HttpResponse {
    let Some(grant) = params::get(params, "code").and_then(|c| shared.lock().codes.remove(c))
    else {
        return no_valid_data();
    };
    if grant.issued.elapsed() > shared.config.code_ttl || grant.family != family {
        return no_valid_data();
    }
    if let Some(sent) = params::get(params, "redirect_uri") {
        if sent != grant.redirect_uri {
            return no_valid_data();
        }
    }
    if let Some(challenge) = &grant.code_challenge {
        let verifier = params::get(params, "code_verifier").unwrap_or("");
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if !bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) {
            return token_error(400, "invalid_grant", "code_verifier does not match");
        }
    }
    let refresh = random(40);
    let token_grant = Grant {
        user: grant.user.clone(),
        declined: grant.declined.clone(),
    };
    shared
        .lock()
        .refresh
        .insert(refresh.clone(), token_grant.clone());
    let access = shared.new_access_token(token_grant, refresh.clone());
    let mut answer = json!({
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": expires_in(shared),
    });
    if family == PathFamily::Oidc {
        match id_token(shared, &grant.user, grant.nonce.as_deref()) {
            Ok(token) => answer["id_token"] = json!(token),
            Err(error) => {
                tracing::error!(%error, "naver emulator: could not sign an id_token");
                return token_error(500, "server_error", "signing failed");
            }
        }
    }
    respond::json(200, &answer)
}

/// An RS256 id_token: `iss`, `aud`, `sub` (the user's id), `iat`, `exp`, `nonce` if sent;
/// with the configured [`IdTokenFault`](crate::IdTokenFault) built in.
fn id_token(shared: &Shared, user: &str, nonce: Option<&str>) -> Result<String, String> {
    use crate::IdTokenFault as F;
    let fault = shared.faults.id_token();
    let now = chrono::Utc::now().timestamp();
    let ttl = i64::try_from(shared.config.access_token_ttl.as_secs()).unwrap_or(3600);
    let (iat, exp) = match fault {
        Some(F::Expired) => (now - ttl - 3600, now - 3600),
        Some(F::IssuedInFuture) => (now + 3600, now + 3600 + ttl),
        _ => (now, now + ttl),
    };
    let sub = match (fault, shared.faults.id_token_sub()) {
        (_, Some(sub)) => sub,
        (Some(F::WrongSubject), None) => format!("{user}-other"),
        _ => user.to_owned(),
    };
    let mut claims = json!({
        "iss": match fault {
            Some(F::WrongIssuer) => shared.base_url.as_str().to_owned(),
            _ => shared.issuer(),
        },
        "aud": match fault {
            Some(F::WrongAudience) => format!("{}-other-app", shared.config.client_id),
            _ => shared.config.client_id.clone(),
        },
        "sub": sub,
        "iat": iat,
        "exp": exp,
    });
    match (fault, nonce) {
        (Some(F::MissingNonce), _) | (_, None) => {}
        (Some(F::WrongNonce), Some(nonce)) => claims["nonce"] = json!(format!("not-{nonce}")),
        (_, Some(nonce)) => claims["nonce"] = json!(nonce),
    }
    crate::oidc::mint::sign_with_fault(&shared.rotation, &claims, fault)
}

fn refresh(shared: &Shared, params: &std::collections::BTreeMap<String, String>) -> HttpResponse {
    let Some(refresh) = params::get(params, "refresh_token") else {
        return token_error(200, "invalid_request", "refresh_token is required");
    };
    let Some(grant) = shared.lock().refresh.get(refresh).cloned() else {
        return token_error(200, "invalid_request", "invalid refresh token");
    };
    let access = shared.new_access_token(grant, refresh.to_owned());
    // Naver returns no new refresh token.
    respond::json(
        200,
        &json!({"access_token": access, "token_type": "bearer", "expires_in": expires_in(shared)}),
    )
}

/// `POST /oauth2.0/revoke`: `client_id`, `client_secret`, `token`. 200 with an empty body
/// also for a token already dead.
pub(crate) async fn revoke(req: HttpRequest, body: web::Bytes, shared: Data) -> HttpResponse {
    let params = params::query_and_form(&req, &body);
    shared.lock().revoke_log.push(params::record(&req, &params));
    if let Some(answer) = faulted(&shared, NaverEndpoint::Revoke).await {
        return answer;
    }
    let config = &shared.config;
    let client_ok = params::get(&params, "client_id") == Some(config.client_id.as_str())
        && params::get(&params, "client_secret") == Some(config.client_secret.as_str());
    if !client_ok {
        return token_error(401, "unauthorized_client", "Client authentication failed.");
    }
    let Some(token) = params::get(&params, "token") else {
        return token_error(400, "invalid_request", "token is required");
    };
    shared.revoke(token);
    HttpResponse::Ok().finish()
}

/// `GET|POST /v1/nid/me`: Bearer; `resultcode` `00` with the user, minus declined items.
pub(crate) async fn me(req: HttpRequest, shared: Data) -> HttpResponse {
    let params = params::parse(req.query_string().as_bytes());
    shared.lock().me_log.push(params::record(&req, &params));
    if let Some(answer) = faulted(&shared, NaverEndpoint::Me).await {
        return answer;
    }
    let Some(token) =
        params::authorization(&req).and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned))
    else {
        return respond::json(
            401,
            &json!({"resultcode": "028", "message": "Authentication header not exists"}),
        );
    };
    let grant = {
        let memory = shared.lock();
        memory
            .access
            .get(&token)
            .filter(|a| a.expires > Instant::now())
            .map(|a| a.grant.clone())
    };
    // A dead token, or one whose account is gone: Naver's `024`.
    let Some((grant, user)) = grant.and_then(|g| shared.user(&g.user).map(|u| (g, u))) else {
        let status = if shared.faults.me_errors_with_ok() {
            200
        } else {
            401
        };
        return respond::json(
            status,
            &json!({"resultcode": "024", "message": "Authentication failed (인증 실패하였습니다.)"}),
        );
    };
    let mut response = json!({"id": user.id});
    let mut put = |name: &str, value: &Option<String>| {
        if let Some(value) = value {
            if !grant.declined.iter().any(|d| d == name) {
                response[name] = json!(value);
            }
        }
    };
    put("nickname", &user.nickname);
    put("name", &user.name);
    put("email", &user.email);
    put("profile_image", &user.profile_image);
    respond::json(
        200,
        &json!({"resultcode": "00", "message": "success", "response": response}),
    )
}

/// `GET /.well-known/openid-configuration`.
pub(crate) async fn discovery(shared: Data) -> HttpResponse {
    let issuer = shared.issuer();
    respond::json(
        200,
        &json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
            "token_endpoint": format!("{issuer}/oauth2/token"),
            "jwks_uri": format!("{issuer}/oauth2/jwks"),
            "userinfo_endpoint": format!("{issuer}/v1/nid/me"),
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "profile"],
            "grant_types_supported": ["authorization_code"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }),
    )
}

/// `GET /oauth2/jwks`: the two published keys.
pub(crate) async fn jwks(shared: Data) -> HttpResponse {
    if let Some(answer) = faulted(&shared, NaverEndpoint::Jwks).await {
        return answer;
    }
    match shared.rotation.published() {
        Ok(keys) => respond::json(200, &json!({"keys": keys.map(|k| k.jwk.clone())})),
        Err(error) => {
            tracing::error!(%error, "naver emulator: keys unavailable");
            respond::json(500, &json!({"error": "server_error"}))
        }
    }
}
