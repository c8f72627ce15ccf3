//! `POST /oauth/token` (kauth): the authorization-code and refresh-token grants.
//!
//! Order of checks, as a Spring-style OAuth server does it: client (`client_id` → 401 KOE101,
//! then `client_secret` from the **form body** → 401 KOE010; HTTP Basic counts as no secret),
//! then `grant_type`, then the grant itself.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::faults::Endpoint;
use super::oidc;
use super::params;
use super::respond;
use super::state::{Minted, Shared};

/// The error code given when a PKCE `code_verifier` is missing or does not match the stored
/// challenge. Kakao's real answer is unconfirmed; the emulator treats it like a bad code
/// (`400 invalid_grant`, KOE320) with a distinct description.
pub(crate) const PKCE_FAILURE_CODE: &str = "KOE320";

fn bad_request(error: &str, description: &str, koe: &str) -> HttpResponse {
    respond::kauth_error(400, error, description, koe)
}

fn rate_limited() -> HttpResponse {
    bad_request(
        "invalid_request",
        "token request rate limit exceeded",
        "KOE237",
    )
}

/// Whether `BASE64URL-NOPAD(SHA256(verifier)) == challenge`.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

fn secret_matches(expected: &str, given: Option<&str>) -> bool {
    given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.as_bytes())))
}

/// `POST /oauth/token`.
pub(crate) async fn token(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let form = params::parse(&body);
    shared.record_token_request(params::record(&req, &form));
    if let Some(response) = shared.faults.apply(Endpoint::Token).await {
        return response;
    }
    let config = &shared.config;

    let client_id = form
        .get("client_id")
        .map(String::as_str)
        .unwrap_or_default();
    if client_id != config.client_id {
        return respond::kauth_error(
            401,
            "invalid_client",
            &format!("Not exist client_id [{client_id}]"),
            "KOE101",
        );
    }
    if let Some(secret) = &config.client_secret {
        if !secret_matches(secret, form.get("client_secret").map(String::as_str)) {
            return respond::kauth_error(401, "invalid_client", "Bad client credentials", "KOE010");
        }
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => authorization_code(&shared, &form),
        Some("refresh_token") => refresh_token(&shared, &form),
        Some(other) => bad_request(
            "unsupported_grant_type",
            &format!("Unsupported grant type: {other}"),
            "KOE001",
        ),
        None => bad_request("invalid_request", "grant_type is required.", "KOE001"),
    }
}

fn token_body(
    shared: &Shared,
    minted: &Minted,
    scope: Option<&[String]>,
    id_token: Option<String>,
) -> Value {
    let config = &shared.config;
    let mut body = Map::new();
    body.insert("token_type".into(), json!("bearer"));
    body.insert("access_token".into(), json!(minted.access_token));
    if let Some(id_token) = id_token {
        body.insert("id_token".into(), json!(id_token));
    }
    body.insert(
        "expires_in".into(),
        json!(config.access_token_ttl.as_secs()),
    );
    if let Some(refresh) = &minted.refresh_token {
        body.insert("refresh_token".into(), json!(refresh));
        body.insert(
            "refresh_token_expires_in".into(),
            json!(config.refresh_token_ttl.as_secs()),
        );
    }
    if let Some(scope) = scope {
        body.insert("scope".into(), json!(scope.join(" ")));
    }
    Value::Object(body)
}

fn authorization_code(shared: &Shared, form: &BTreeMap<String, String>) -> HttpResponse {
    let code = form.get("code").map(String::as_str).unwrap_or_default();
    // Single use: the lookup consumes the code even if a later check fails.
    let Some(grant) = shared.take_code(code) else {
        return bad_request(
            "invalid_grant",
            &format!("authorization code not found for code={code}"),
            "KOE320",
        );
    };
    if grant.client_id != shared.config.client_id {
        return respond::kauth_error(401, "invalid_client", "Application ID mismatch", "KOE114");
    }
    if form.get("redirect_uri").map(String::as_str) != Some(grant.redirect_uri.as_str()) {
        return bad_request("invalid_grant", "Redirect URI mismatch.", "KOE303");
    }
    if let Some(challenge) = &grant.code_challenge {
        let verified = form
            .get("code_verifier")
            .is_some_and(|verifier| pkce_matches(verifier, challenge));
        if !verified {
            return bad_request(
                "invalid_grant",
                "PKCE verification failed: code_verifier does not match code_challenge.",
                PKCE_FAILURE_CODE,
            );
        }
    }
    if !shared.allow_issuance(grant.user_id, false) {
        return rate_limited();
    }
    let id_token = oidc::mint_id_token(shared, &grant);
    let minted = shared.mint_pair(grant.user_id, &grant.scopes, id_token.is_some());
    respond::json(
        200,
        &token_body(shared, &minted, Some(&grant.scopes), id_token),
    )
}

fn refresh_token(shared: &Shared, form: &BTreeMap<String, String>) -> HttpResponse {
    let Some(old) = params::get(form, "refresh_token") else {
        return bad_request("invalid_grant", "refresh_token is required.", "KOE319");
    };
    let invalid = || {
        bad_request(
            "invalid_grant",
            "expired_or_invalid_refresh_token",
            "KOE322",
        )
    };
    let Some(record) = shared.refresh_token(old) else {
        return invalid();
    };
    if !shared.allow_issuance(record.user_id, true) {
        return rate_limited();
    }
    let Some((minted, record)) = shared.mint_from_refresh(old) else {
        return invalid();
    };
    let id_token = oidc::mint_id_token_on_refresh(shared, &record);
    respond::json(200, &token_body(shared, &minted, None, id_token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_example() {
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "wrong",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }
}
