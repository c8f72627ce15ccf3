//! Minting id_tokens: the claims Kakao puts in them (kakao-api.md §5.3), and each fault.

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Map, Value};

use super::super::faults::IdTokenFault;
use super::super::fixtures::FixtureUser;
use super::super::state::Shared;
use super::super::user_me::avatar_urls;
use super::signing::{self, corrupt_signature, ParsedKey};

/// An hour, in seconds: how far the time faults move `iat`/`exp`.
const HOUR: i64 = 3600;

/// Who a token is for.
pub(crate) struct Subject<'a> {
    pub user: &'a FixtureUser,
    pub scopes: &'a [String],
    pub nonce: Option<&'a str>,
    /// The `aud` when not the REST API key (an SDK client's key).
    pub audience: Option<&'a str>,
}

fn has(scopes: &[String], scope: &str) -> bool {
    scopes.iter().any(|s| s == scope)
}

/// The issuer: the emulator's base URL without its trailing slash.
pub(crate) fn issuer(shared: &Shared) -> String {
    shared.base_url.as_str().trim_end_matches('/').to_owned()
}

/// The profile claims the granted scopes allow: `nickname`, `picture`, and `email` only
/// when it is consented, valid and verified.
pub(crate) fn profile_claims(
    shared: &Shared,
    user: &FixtureUser,
    scopes: &[String],
) -> Map<String, Value> {
    let mut claims = Map::new();
    if has(scopes, "profile_nickname") {
        claims.insert("nickname".into(), json!(user.nickname));
    }
    if has(scopes, "profile_image") {
        claims.insert(
            "picture".into(),
            json!(avatar_urls(&shared.base_url, user).1),
        );
    }
    if let Some(email) = &user.email {
        if has(scopes, "account_email")
            && user.email_consent
            && user.email_valid
            && user.email_verified
        {
            claims.insert("email".into(), json!(email));
        }
    }
    claims
}

/// Mints the token for `subject`, with `fault` built in.
pub(crate) fn mint(
    shared: &Shared,
    subject: &Subject<'_>,
    fault: Option<IdTokenFault>,
) -> Result<String, String> {
    let now = Utc::now().timestamp();
    let lifetime = i64::try_from(shared.config.access_token_ttl.as_secs()).unwrap_or(i64::MAX / 4);
    let (iat, exp) = match fault {
        Some(IdTokenFault::Expired) => (now - lifetime - HOUR, now - HOUR),
        Some(IdTokenFault::IssuedInFuture) => (now + HOUR, now + HOUR + lifetime),
        _ => (now, now.saturating_add(lifetime)),
    };
    let mut claims = Map::new();
    let aud = match fault {
        Some(IdTokenFault::WrongAudience) => format!("{}-other-app", shared.config.client_id),
        _ => subject
            .audience
            .map_or_else(|| shared.config.client_id.clone(), str::to_owned),
    };
    claims.insert("aud".into(), json!(aud));
    let sub = match fault {
        Some(IdTokenFault::WrongSubject) => subject.user.id.wrapping_add(1),
        _ => subject.user.id,
    };
    claims.insert("sub".into(), json!(sub.to_string()));
    claims.insert("auth_time".into(), json!(iat));
    let iss = match fault {
        Some(IdTokenFault::WrongIssuer) => shared.base_url.as_str().to_owned(),
        _ => issuer(shared),
    };
    claims.insert("iss".into(), json!(iss));
    claims.extend(profile_claims(shared, subject.user, subject.scopes));
    claims.insert("exp".into(), json!(exp));
    claims.insert("iat".into(), json!(iat));
    match (fault, subject.nonce) {
        (Some(IdTokenFault::MissingNonce), _) => {}
        (Some(IdTokenFault::WrongNonce), _) => {
            claims.insert(
                "nonce".into(),
                json!(format!("not-{}", subject.nonce.unwrap_or("the-nonce"))),
            );
        }
        (_, Some(nonce)) => {
            claims.insert("nonce".into(), json!(nonce));
        }
        (_, None) => {}
    }
    sign_with_fault(&shared.oidc.rotation, &Value::Object(claims), fault)
}

fn header(alg: &str, kid: &str) -> Value {
    json!({"kid": kid, "typ": "JWT", "alg": alg})
}

fn rs256(key: &ParsedKey, claims: &Value) -> Result<String, String> {
    signing::sign(
        &header("RS256", key.kid),
        claims,
        &key.encoding,
        Algorithm::RS256,
    )
}

/// Signs `claims` with the signing key of `rotation`, with the signature-side part of
/// `fault` built in (the claim-side part is the caller's).
pub(crate) fn sign_with_fault(
    rotation: &super::signing::Rotation,
    claims: &Value,
    fault: Option<IdTokenFault>,
) -> Result<String, String> {
    let key = rotation.signing()?;
    match fault {
        Some(IdTokenFault::BadSignature) => rs256(key, claims).map(|t| corrupt_signature(&t)),
        Some(IdTokenFault::AlgNone) => Ok(format!(
            "{}.{}.",
            signing::encode_part(&header("none", key.kid)),
            signing::encode_part(claims)
        )),
        Some(IdTokenFault::Hs256WithPublicKey) => {
            let secret = EncodingKey::from_secret(key.jwk.to_string().as_bytes());
            signing::sign(&header("HS256", key.kid), claims, &secret, Algorithm::HS256)
        }
        Some(IdTokenFault::UnknownKid) => rs256(signing::unpublished()?, claims),
        _ => rs256(key, claims),
    }
}
