//! `POST /accounts/oauth/token/kakao/`: sign-in with a token a Kakao SDK obtained.
//!
//! Form or JSON body (at most [`MAX_BODY`] bytes) with `access_token` or `id_token` (and
//! `nonce`). A browser request from another site (`Origin` of another origin, or
//! `Sec-Fetch-Site: cross-site`/`same-site`) is refused with 403 before any token is
//! looked at: a page elsewhere must not sign a visitor into someone else's account (login
//! CSRF); native apps send neither header. Success: 200 `{"user_id", "kakao_id"}` and a
//! fresh session; failure: 401 `{"error": reason}` (400 for a malformed body, 429 once the
//! client address is over its refused-attempt limit), no row and no session.

use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::KakaoAuth;
use crate::csrf::{provenance, Provenance};
use crate::kakao::sdk::SdkTokens;
use crate::store::{AuthUser, IdOf, LinkStore, UserStore};

/// Largest accepted body.
pub(crate) const MAX_BODY: usize = 16 * 1024;

fn answer(status: u16, body: serde_json::Value) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

fn refusal(status: u16, reason: &str) -> HttpResponse {
    answer(status, serde_json::json!({ "error": reason }))
}

/// The posted tokens, from a JSON or form body.
fn parse(req: &HttpRequest, body: &[u8]) -> Option<SdkTokens> {
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if json {
        serde_json::from_slice(body).ok()
    } else {
        serde_urlencoded::from_bytes(body).ok()
    }
}

pub(super) async fn sign_in<S, L>(
    req: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<KakaoAuth<S, L>>,
) -> HttpResponse
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    if provenance(&req, &auth.config().app_origin()) == Provenance::CrossSite {
        tracing::warn!("SDK sign-in from another site refused");
        return refusal(403, "cross_site");
    }
    let config = auth.config();
    let client = config.client_addr(&req);
    let per_minute = config.login.sdk_attempts_per_minute;
    let guards = config.guard_store();
    match crate::kakao::sdk::over_attempt_limit(guards, client, per_minute).await {
        Ok(false) => {}
        Ok(true) => {
            tracing::warn!(%client, "SDK sign-in: refused attempts over the limit");
            crate::metrics::login("kakao", "sdk", "too_many_attempts");
            return refusal(429, "too_many_attempts");
        }
        Err(error) => {
            tracing::error!(%error, "SDK sign-in: the attempt count could not be read");
            return refusal(503, "unavailable");
        }
    }
    let result = match (body.len() <= MAX_BODY)
        .then(|| parse(&req, &body))
        .flatten()
    {
        Some(tokens) => auth
            .sign_in_with_sdk_tokens(&tokens)
            .await
            .map_err(|error| (error.status(), error.reason(), Some(error))),
        None => Err((400, "malformed_request", None)),
    };
    let signed_in = match result {
        Ok(signed_in) => signed_in,
        Err((status, reason, error)) => {
            crate::metrics::login("kakao", "sdk", reason);
            match &error {
                Some(error) => tracing::warn!(%client, reason, %error, "SDK sign-in refused"),
                None => tracing::warn!(%client, reason, "SDK sign-in refused"),
            }
            // The client's own failures count against its address; ours and Kakao's do not.
            if matches!(status, 400 | 401) {
                if let Err(error) =
                    crate::kakao::sdk::count_refused_attempt(guards, client, per_minute).await
                {
                    tracing::error!(%error, "SDK sign-in: the refused attempt could not be counted");
                }
            }
            return refusal(status, reason);
        }
    };
    let user = signed_in.user;
    if let Err(error) = crate::identity::log_in(&session, &user) {
        tracing::error!(%error, "SDK sign-in: the session could not be written");
        return refusal(500, "internal");
    }
    crate::metrics::login("kakao", "sdk", "success");
    tracing::info!(user = %user.id(), kakao_id = signed_in.kakao_id, "SDK sign-in succeeded");
    answer(
        200,
        serde_json::json!({ "user_id": user.id(), "kakao_id": signed_in.kakao_id.to_string() }),
    )
}
