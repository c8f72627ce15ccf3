//! kapi's user endpoints: `/v2/user/me`, `/v1/user/access_token_info`, `/v1/user/logout`,
//! `/v1/user/unlink`, plus the emulator's own avatar images.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::faults::Endpoint;
use super::pages;
use super::params;
use super::respond;
use super::state::{AccessToken, Shared};
use super::user_me::{self, UserMe};

/// Who is calling a kapi endpoint.
enum Caller {
    /// `Authorization: Bearer <access token>`.
    User { token: String, record: AccessToken },
    /// `Authorization: KakaoAK <admin key>` with `target_id_type=user_id&target_id=…`.
    Admin { user_id: i64 },
}

impl Caller {
    fn user_id(&self) -> i64 {
        match self {
            Caller::User { record, .. } => record.user_id,
            Caller::Admin { user_id } => *user_id,
        }
    }
}

/// Splits `Authorization` into (scheme, credentials); the scheme is matched case-insensitively.
fn scheme(header: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    Some((scheme, rest.trim()))
}

/// Why a kapi call was refused.
enum Refused {
    /// No (usable) `Authorization` header.
    NoKey,
    /// Unknown, expired or revoked access token.
    InvalidToken,
    /// `KakaoAK` on an endpoint that only takes user tokens.
    AdminNotAllowed,
    /// `KakaoAK` with a wrong key, or no admin key configured.
    BadAdminKey,
    /// Bad `target_id_type` / `target_id`.
    BadTarget(&'static str),
    /// The target user is not linked to the app.
    NotLinked,
}

impl Refused {
    fn response(self) -> HttpResponse {
        match self {
            Refused::NoKey => respond::kapi_error(401, -401, "no authentication key!"),
            Refused::InvalidToken => respond::invalid_token(),
            Refused::AdminNotAllowed => {
                respond::kapi_error(401, -401, "this API does not accept an admin key")
            }
            Refused::BadAdminKey => respond::kapi_error(401, -401, "invalid admin key"),
            Refused::BadTarget(msg) => respond::kapi_error(400, -2, msg),
            Refused::NotLinked => not_linked(),
        }
    }
}

fn not_linked() -> HttpResponse {
    respond::kapi_error(400, -101, "the user is not linked to this app")
}

/// Authenticates a kapi call. `allow_admin`: whether the admin-key form is accepted.
fn authenticate(
    req: &HttpRequest,
    params: &BTreeMap<String, String>,
    shared: &Shared,
    allow_admin: bool,
) -> Result<Caller, Refused> {
    let header = params::authorization(req).ok_or(Refused::NoKey)?;
    match scheme(&header) {
        Some((s, token)) if s.eq_ignore_ascii_case("bearer") => shared
            .access_token(token)
            .map(|record| Caller::User {
                token: token.to_owned(),
                record,
            })
            .ok_or(Refused::InvalidToken),
        Some((s, key)) if s.eq_ignore_ascii_case("kakaoak") => {
            if !allow_admin {
                return Err(Refused::AdminNotAllowed);
            }
            let key_ok = shared
                .config
                .admin_key
                .as_deref()
                .is_some_and(|admin| bool::from(admin.as_bytes().ct_eq(key.as_bytes())));
            if !key_ok {
                return Err(Refused::BadAdminKey);
            }
            if params::get(params, "target_id_type") != Some("user_id") {
                return Err(Refused::BadTarget("target_id_type must be user_id"));
            }
            let user_id = params::get(params, "target_id")
                .and_then(|t| t.parse::<i64>().ok())
                .ok_or(Refused::BadTarget("target_id is missing or not a number"))?;
            if shared.consent_of(user_id).is_none() {
                return Err(Refused::NotLinked);
            }
            Ok(Caller::Admin { user_id })
        }
        _ => Err(Refused::NoKey),
    }
}

/// `GET|POST /v2/user/me`. `secure_resource` is accepted and ignored (URLs point at the
/// emulator's own http address).
pub(crate) async fn user_me(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let params = params::query_and_form(&req, &body);
    shared.record_user_me_request(params::record(&req, &params));
    if let Some(response) = shared.faults.apply(Endpoint::UserMe).await {
        return response;
    }
    let caller = match authenticate(&req, &params, &shared, true) {
        Ok(caller) => caller,
        Err(refused) => return refused.response(),
    };
    let user_id = caller.user_id();
    let consent = shared.consent_of(user_id);
    let granted: Vec<String> = match &caller {
        Caller::User { record, .. } => record.scopes.clone(),
        Caller::Admin { .. } => consent
            .as_ref()
            .map(|c| c.scopes.iter().cloned().collect())
            .unwrap_or_default(),
    };
    let Some(user) = shared.user(user_id) else {
        return not_linked();
    };
    let keys = match params::get(&params, "property_keys") {
        None => None,
        Some(raw) => match user_me::parse_property_keys(raw) {
            Some(keys) => Some(keys),
            None => {
                return respond::kapi_error(
                    400,
                    -2,
                    "property_keys must be a JSON array of strings",
                )
            }
        },
    };
    let mut body = user_me::body(&UserMe {
        base_url: &shared.base_url,
        user: &user,
        granted: &granted,
        configured: &shared.config.allowed_scopes,
        connected_at: consent.map(|c| c.connected_at),
    });
    if let Some(keys) = keys {
        user_me::filter(&mut body, &keys);
    }
    respond::json(200, &body)
}

/// `GET /v1/user/access_token_info` (Bearer only): `{id, expires_in, app_id}`.
pub(crate) async fn access_token_info(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    if let Some(response) = shared.faults.apply(Endpoint::AccessTokenInfo).await {
        return response;
    }
    let params = params::parse(req.query_string().as_bytes());
    match authenticate(&req, &params, &shared, false) {
        Ok(Caller::User { record, .. }) => {
            let remaining = record
                .expires_at
                .saturating_duration_since(std::time::Instant::now())
                .as_secs();
            respond::json(
                200,
                &json!({"id": record.user_id, "expires_in": remaining, "app_id": record.app_id}),
            )
        }
        Ok(Caller::Admin { .. }) => Refused::AdminNotAllowed.response(),
        Err(refused) => refused.response(),
    }
}

/// `POST /v1/user/logout`: Bearer revokes that token and its refresh token; the admin form
/// revokes all of the user's tokens. Answers `{id}`.
pub(crate) async fn logout(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Some(response) = shared.faults.apply(Endpoint::Logout).await {
        return response;
    }
    let params = params::query_and_form(&req, &body);
    let caller = match authenticate(&req, &params, &shared, true) {
        Ok(caller) => caller,
        Err(refused) => return refused.response(),
    };
    match &caller {
        Caller::User { token, .. } => shared.revoke_access_token(token),
        Caller::Admin { user_id } => shared.revoke_user(*user_id),
    }
    respond::json(200, &json!({"id": caller.user_id()}))
}

/// `POST /v1/user/unlink`: revokes all of the user's tokens and forgets their consent. Answers `{id}`.
pub(crate) async fn unlink(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    if let Some(response) = shared.faults.apply(Endpoint::Unlink).await {
        return response;
    }
    let params = params::query_and_form(&req, &body);
    let caller = match authenticate(&req, &params, &shared, true) {
        Ok(caller) => caller,
        Err(refused) => return refused.response(),
    };
    shared.unlink_user(caller.user_id());
    respond::json(200, &json!({"id": caller.user_id()}))
}

/// `GET /emulator/avatar/{file}`: `{id}.svg` for a user's generated picture, `default.svg`
/// for Kakao's default one.
pub(crate) async fn avatar(path: web::Path<String>, shared: web::Data<Shared>) -> HttpResponse {
    let Some(stem) = path.as_str().strip_suffix(".svg") else {
        return HttpResponse::NotFound().finish();
    };
    if stem == "default" {
        return pages::avatar_response(pages::avatar_svg(None));
    }
    match stem.parse::<i64>().ok().and_then(|id| shared.user(id)) {
        Some(user) => pages::avatar_response(pages::avatar_svg(Some(&user))),
        None => HttpResponse::NotFound().finish(),
    }
}

/// The first of `tags` that is not a service term of the app.
fn unknown_tag<'a>(shared: &Shared, tags: &[&'a str]) -> Option<&'a str> {
    tags.iter()
        .copied()
        .find(|tag| !shared.config.service_terms.iter().any(|(t, _)| t == tag))
}

/// `GET /v2/user/service_terms` (Kakao Sync): `result=agreed_service_terms` (default, the
/// terms the user agreed to) or `app_service_terms` (every term of the app), optionally
/// filtered by `tags`. Each term: `tag`, `required`, `agreed`, `revocable`, and
/// `agreed_at` when agreed. An unknown tag in the filter is `-2`.
pub(crate) async fn service_terms(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let params = params::parse(req.query_string().as_bytes());
    if let Some(response) = shared.faults.apply(Endpoint::ServiceTerms).await {
        return response;
    }
    let caller = match authenticate(&req, &params, &shared, true) {
        Ok(caller) => caller,
        Err(refused) => return refused.response(),
    };
    let user_id = caller.user_id();
    let filter: Option<Vec<&str>> =
        params::get(&params, "tags").map(|tags| tags.split(',').map(str::trim).collect());
    if let Some(unknown) = filter
        .as_deref()
        .and_then(|tags| unknown_tag(&shared, tags))
    {
        return respond::kapi_error(
            400,
            -2,
            &format!(
                "There is no tags to get service terms. check out to configured this tags([{unknown}]) in app."
            ),
        );
    }
    let all = match params::get(&params, "result") {
        None | Some("agreed_service_terms") => false,
        Some("app_service_terms") => true,
        Some(_) => {
            return respond::kapi_error(
                400,
                -2,
                "result must be agreed_service_terms or app_service_terms",
            )
        }
    };
    let agreed = shared.agreed_terms(user_id);
    let terms: Vec<serde_json::Value> = shared
        .config
        .service_terms
        .iter()
        .filter(|(tag, _)| {
            filter
                .as_ref()
                .is_none_or(|tags| tags.contains(&tag.as_str()))
        })
        .filter(|(tag, _)| all || agreed.contains_key(tag))
        .map(|(tag, required)| {
            let mut term = json!({
                "tag": tag,
                "required": required,
                "agreed": agreed.contains_key(tag),
                "revocable": !required,
            });
            if let Some(at) = agreed.get(tag) {
                term["agreed_at"] = json!(at);
            }
            term
        })
        .collect();
    respond::json(200, &json!({"id": user_id, "service_terms": terms}))
}

/// `POST /v2/user/revoke/service_terms` (Kakao Sync) with `tags=a,b`: withdraws the
/// revocable ones (agreed and not required). Answers the ones actually withdrawn; an
/// unknown tag is `-2`.
pub(crate) async fn revoke_service_terms(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let params = params::query_and_form(&req, &body);
    let caller = match authenticate(&req, &params, &shared, true) {
        Ok(caller) => caller,
        Err(refused) => return refused.response(),
    };
    let Some(tags) = params::get(&params, "tags") else {
        return respond::kapi_error(400, -2, "tags is required");
    };
    let tags: Vec<&str> = tags.split(',').map(str::trim).collect();
    if let Some(unknown) = unknown_tag(&shared, &tags) {
        return respond::kapi_error(
            400,
            -2,
            &format!(
                "There is no tags to revoke. check out if given tag([{unknown}]) is correct again."
            ),
        );
    }
    let user_id = caller.user_id();
    let revoked: Vec<serde_json::Value> = shared
        .revoke_terms(user_id, &tags)
        .into_iter()
        .map(|tag| json!({"tag": tag, "agreed": false}))
        .collect();
    respond::json(
        200,
        &json!({"id": user_id, "revoked_service_terms": revoked}),
    )
}

/// Consent items that cannot be withdrawn (required on the emulated app).
const REQUIRED_SCOPES: [&str; 2] = ["profile_nickname", "openid"];

/// A `scopes` parameter: a JSON array (as Kakao's SDKs send it) or a comma list.
fn scope_list(raw: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(raw).unwrap_or_else(|_| {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// `{"id", "scopes": [...]}` for `user_id`, optionally only the items in `only`.
fn scopes_body(shared: &Shared, user_id: i64, only: Option<&[String]>) -> serde_json::Value {
    let agreed = shared
        .consent_of(user_id)
        .map(|c| c.scopes)
        .unwrap_or_default();
    let scopes: Vec<serde_json::Value> = shared
        .config
        .allowed_scopes
        .iter()
        .filter(|id| only.is_none_or(|only| only.contains(id)))
        .map(|id| {
            let is_agreed = agreed.contains(id);
            let mut scope = json!({
                "id": id,
                "display_name": id,
                "type": if id == "openid" { "SERVICE" } else { "PRIVACY" },
                "using": true,
                "agreed": is_agreed,
            });
            if is_agreed {
                scope["revocable"] = json!(!REQUIRED_SCOPES.contains(&id.as_str()));
            }
            scope
        })
        .collect();
    json!({"id": user_id, "scopes": scopes})
}

/// `GET /v2/user/scopes`: the app's consent items with the user's status (optionally
/// filtered by `scopes`). `profile_nickname` and `openid` are required (not revocable).
pub(crate) async fn scopes(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let params = params::parse(req.query_string().as_bytes());
    let caller = match authenticate(&req, &params, &shared, true) {
        Ok(caller) => caller,
        Err(refused) => return refused.response(),
    };
    let only = params::get(&params, "scopes").map(scope_list);
    respond::json(
        200,
        &scopes_body(&shared, caller.user_id(), only.as_deref()),
    )
}

/// `POST /v2/user/revoke/scopes` with `scopes=["account_email"]`: withdraws revocable
/// items; a required one is `403 -3`, an unknown one `400 -2`.
pub(crate) async fn revoke_scopes(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let params = params::query_and_form(&req, &body);
    let caller = match authenticate(&req, &params, &shared, true) {
        Ok(caller) => caller,
        Err(refused) => return refused.response(),
    };
    let Some(list) = params::get(&params, "scopes").map(scope_list) else {
        return respond::kapi_error(400, -2, "scopes is required");
    };
    if let Some(unknown) = list
        .iter()
        .find(|s| !shared.config.allowed_scopes.contains(s))
    {
        return respond::kapi_error(
            400,
            -2,
            &format!("There is no scopes to revoke. check out if given scope id([{unknown}]) is correct again."),
        );
    }
    if let Some(required) = list.iter().find(|s| REQUIRED_SCOPES.contains(&s.as_str())) {
        return respond::kapi_error(
            403,
            -3,
            &format!("[{required}] is not revocable. check out if it's set as required on developers.kakao.com"),
        );
    }
    let user_id = caller.user_id();
    for scope in &list {
        shared.revoke_scope(user_id, scope);
    }
    respond::json(200, &scopes_body(&shared, user_id, Some(&list)))
}
