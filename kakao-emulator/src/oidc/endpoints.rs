//! The OIDC routes: discovery, JWKS, tokeninfo (kauth) and userinfo (kapi).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{json, Value};

use super::super::faults::Endpoint;
use super::super::params;
use super::super::respond;
use super::super::state::Shared;
use super::mint::{issuer, profile_claims};

/// `GET /.well-known/openid-configuration`: kakao-api.md §5.1, pointing at the emulator.
pub(crate) async fn discovery(shared: web::Data<Shared>) -> HttpResponse {
    let issuer = issuer(&shared);
    respond::json(
        200,
        &json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/oauth/authorize"),
            "token_endpoint": format!("{issuer}/oauth/token"),
            "userinfo_endpoint": format!("{issuer}/v1/oidc/userinfo"),
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "request_uri_parameter_supported": false,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["iss","aud","sub","auth_time","exp","iat","nonce","nickname","picture","email"],
        }),
    )
}

fn key_trouble(error: &str) -> HttpResponse {
    tracing::error!(%error, "kakao emulator: the committed OIDC keys do not parse");
    respond::kauth_error(500, "server_error", "emulator keys unavailable", "KOE003")
}

/// `GET /.well-known/jwks.json`: the two published keys. Counted, and subject to
/// [`Endpoint::Jwks`] faults.
pub(crate) async fn jwks(shared: web::Data<Shared>) -> HttpResponse {
    shared.oidc.count_jwks_request();
    if let Some(response) = shared.faults.apply(Endpoint::Jwks).await {
        return response;
    }
    match shared.oidc.rotation.published() {
        Ok(keys) => respond::json(200, &json!({"keys": keys.map(|k| k.jwk.clone())})),
        Err(error) => key_trouble(error),
    }
}

fn invalid_token(description: &str, koe: &str) -> HttpResponse {
    respond::kauth_error(400, "invalid_token", description, koe)
}

/// `POST /oauth/tokeninfo` (form `id_token`): the decoded payload of a token this emulator
/// signed with a published key. KOE400 missing or malformed, KOE402 bad signature (also a
/// non-RS256 `alg` or an unknown `kid`), KOE401 foreign issuer, KOE403 expired. Kakao
/// offers it for debugging only; so does the emulator.
pub(crate) async fn tokeninfo(body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    if let Some(response) = shared.faults.apply(Endpoint::TokenInfo).await {
        return response;
    }
    let form = params::parse(&body);
    let Some(token) = params::get(&form, "id_token") else {
        return invalid_token("id_token is required", "KOE400");
    };
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return invalid_token("malformed id_token", "KOE400");
    };
    let published = match shared.oidc.rotation.published() {
        Ok(keys) => keys,
        Err(error) => return key_trouble(error),
    };
    let key = published
        .iter()
        .find(|k| header.kid.as_deref() == Some(k.kid));
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = match key.map(|k| jsonwebtoken::decode::<Value>(token, &k.decoding, &validation)) {
        Some(Ok(data)) => data.claims,
        Some(Err(e))
            if matches!(
                e.kind(),
                jsonwebtoken::errors::ErrorKind::Json(_)
                    | jsonwebtoken::errors::ErrorKind::Base64(_)
                    | jsonwebtoken::errors::ErrorKind::Utf8(_)
            ) =>
        {
            return invalid_token("malformed id_token", "KOE400")
        }
        Some(Err(_)) | None => return invalid_token("invalid signature", "KOE402"),
    };
    if claims.get("iss").and_then(Value::as_str) != Some(issuer(&shared).as_str()) {
        return invalid_token("issuer is not kakao", "KOE401");
    }
    let expired = claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_none_or(|exp| exp <= Utc::now().timestamp());
    if expired {
        return invalid_token("id_token expired", "KOE403");
    }
    respond::json(200, &claims)
}

/// `GET /v1/oidc/userinfo` (Bearer): the standard claims the user consented to. A token
/// without `openid` gets `403 {"code":-3}` (feature not enabled).
pub(crate) async fn userinfo(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    if let Some(response) = shared.faults.apply(Endpoint::OidcUserInfo).await {
        return response;
    }
    let Some(header) = params::authorization(&req) else {
        return respond::kapi_error(401, -401, "no authentication key!");
    };
    let record = match header.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            shared.access_token(token.trim())
        }
        _ => None,
    };
    let Some(record) = record else {
        return respond::invalid_token();
    };
    if !record.scopes.iter().any(|s| s == "openid") {
        return respond::kapi_error(403, -3, "OpenID Connect is not enabled for this token");
    }
    let Some(user) = shared.user(record.user_id) else {
        return respond::kapi_error(400, -101, "the user is not linked to this app");
    };
    let mut body = profile_claims(&shared, &user, &record.scopes);
    body.insert("sub".into(), json!(user.id.to_string()));
    let email_granted = record.scopes.iter().any(|s| s == "account_email");
    if let (true, true, Some(email)) = (email_granted, user.email_consent, &user.email) {
        body.insert("email".into(), json!(email));
        body.insert(
            "email_verified".into(),
            json!(user.email_valid && user.email_verified),
        );
    }
    respond::json(200, &Value::Object(body))
}
