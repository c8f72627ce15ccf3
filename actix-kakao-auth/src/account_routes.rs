//! Account lifecycle routes: logout (plain and with the Kakao account), disconnect
//! (회원 탈퇴), and Kakao's unlink webhook.

use std::time::Duration;

use actix_identity::IdentityExt;
use actix_session::Session;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::auth::KakaoAuth;
use crate::client::KapiAuth;
use crate::error::{KakaoApiError, LoginFailure};
use crate::origin::refuse_cross_site;
use crate::store::KakaoUserStore;

/// How long logout waits for Kakao to revoke a token before giving up on it.
const REVOKE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the webhook works before answering (Kakao waits 3 s); the rest goes on in
/// the background.
const WEBHOOK_BUDGET: Duration = Duration::from_millis(2500);

pub(crate) fn register<S: KakaoUserStore>(
    cfg: &mut web::ServiceConfig,
    paths: &crate::KakaoAuthConfig,
) {
    cfg.route(paths.logout_path(), web::post().to(logout::<S>))
        .route(
            paths.kakao_logout_path(),
            web::post().to(logout_with_kakao::<S>),
        )
        .route(paths.disconnect_path(), web::post().to(disconnect::<S>))
        .route(
            paths.unlink_callback_path(),
            web::get().to(unlink_webhook::<S>),
        )
        .route(
            paths.unlink_callback_path(),
            web::post().to(unlink_webhook::<S>),
        );
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::SEE_OTHER)
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn current_user(req: &HttpRequest) -> Option<String> {
    req.get_identity()
        .ok()
        .and_then(|identity| identity.id().ok())
}

/// Revokes the user's stored access token at Kakao (`/v1/user/logout`), best effort: a
/// missing token, an expired one or a Kakao failure is logged and ignored, and Kakao
/// gets at most [`REVOKE_TIMEOUT`].
async fn revoke_token_best_effort<S: KakaoUserStore>(auth: &KakaoAuth<S>, user_id: &str) {
    let account = match auth.store().kakao_account(user_id).await {
        Ok(Some(account)) => account,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(%error, "logout: could not read the stored Kakao token");
            return;
        }
    };
    let Some(tokens) = account.tokens.filter(|t| t.expires_at > chrono::Utc::now()) else {
        return;
    };
    let call = auth
        .client()
        .logout_user(KapiAuth::Bearer(&tokens.access_token));
    match tokio::time::timeout(REVOKE_TIMEOUT, call).await {
        Ok(Ok(_)) => tracing::debug!(user = user_id, "Kakao token revoked at logout"),
        Ok(Err(error)) => tracing::warn!(%error, "logout: Kakao did not revoke the token"),
        Err(_) => tracing::warn!("logout: Kakao did not answer the token revocation in time"),
    }
}

/// Ends the local session of a same-origin logout request: revokes the user's Kakao
/// token (best effort) and purges the session on the server, so a copy of the old
/// cookie no longer works. A cross-site request gets the 403 to answer instead.
async fn end_local_session<S: KakaoUserStore>(
    req: &HttpRequest,
    session: &Session,
    auth: &KakaoAuth<S>,
    action: &str,
) -> Result<(), HttpResponse> {
    if let Some(refusal) = refuse_cross_site(req, &auth.config().app_origin(), action) {
        return Err(refusal);
    }
    if let Some(user_id) = current_user(req) {
        revoke_token_best_effort(auth, &user_id).await;
    }
    session.purge();
    Ok(())
}

/// `POST /logout/`: ends the session on the server, then 303 to the logout redirect URL.
async fn logout<S: KakaoUserStore>(
    req: HttpRequest,
    session: Session,
    auth: web::Data<KakaoAuth<S>>,
) -> HttpResponse {
    match end_local_session(&req, &session, &auth, "logout").await {
        Ok(()) => see_other(auth.config().logout_redirect_url()),
        Err(refusal) => refusal,
    }
}

/// `POST /logout/kakao/`: ends the local session like `POST /logout/`, then sends the
/// browser to Kakao to end its Kakao Account session too.
async fn logout_with_kakao<S: KakaoUserStore>(
    req: HttpRequest,
    session: Session,
    auth: web::Data<KakaoAuth<S>>,
) -> HttpResponse {
    if let Err(refusal) = end_local_session(&req, &session, &auth, "Kakao logout").await {
        return refusal;
    }
    let config = auth.config();
    let back = format!("{}{}", config.app_origin(), config.logout_redirect_url());
    see_other(auth.client().kakao_logout_url(&back).as_str())
}

/// `POST /accounts/oauth/disconnect/kakao/`: unlinks the user at Kakao (with the admin
/// key when configured, else the user's token, refreshed if needed), removes the link,
/// ends every session of the user and this one.
async fn disconnect<S: KakaoUserStore>(
    req: HttpRequest,
    session: Session,
    auth: web::Data<KakaoAuth<S>>,
) -> HttpResponse {
    let config = auth.config();
    if let Some(refusal) = refuse_cross_site(&req, &config.app_origin(), "disconnect") {
        return refusal;
    }
    let Some(user_id) = current_user(&req) else {
        return crate::middleware::login_redirect(&req);
    };
    let failed = |reason: LoginFailure| {
        let url = config.login_error_url();
        let separator = if url.contains('?') { '&' } else { '?' };
        see_other(&format!("{url}{separator}reason={}", reason.code()))
    };
    let account = match auth.store().kakao_account(&user_id).await {
        Ok(account) => account,
        Err(error) => {
            tracing::error!(%error, "disconnect: store failed");
            return failed(LoginFailure::Internal);
        }
    };
    let unlinked = match (&config.admin_key, account.as_ref()) {
        (Some(key), Some(account)) => {
            auth.client()
                .unlink_user(KapiAuth::Admin {
                    key,
                    target_id: account.kakao_id,
                })
                .await
        }
        _ => match auth.access_token_for(&user_id).await {
            Ok(token) => auth.client().unlink_user(KapiAuth::Bearer(&token)).await,
            Err(error) => {
                tracing::warn!(%error, "disconnect: no usable Kakao token");
                return failed(LoginFailure::InvalidCode);
            }
        },
    };
    match unlinked {
        Ok(kakao_id) => tracing::info!(kakao_id, user = %user_id, "user disconnected from Kakao"),
        // -101: not linked any more (already unlinked at Kakao): finish locally.
        Err(KakaoApiError::Api { code: -101, .. }) => {}
        Err(error) => {
            tracing::warn!(%error, "disconnect: Kakao unlink failed; nothing removed");
            let reason = if error.is_unavailable() {
                LoginFailure::KakaoUnavailable
            } else {
                LoginFailure::InvalidResponse
            };
            return failed(reason);
        }
    }
    if let Err(error) = remove_everything(&auth, &user_id).await {
        tracing::error!(%error, "disconnect: unlinked at Kakao but the local cleanup failed");
        return failed(LoginFailure::Internal);
    }
    session.purge();
    see_other(config.logout_redirect_url())
}

async fn remove_everything<S: KakaoUserStore>(
    auth: &KakaoAuth<S>,
    user_id: &str,
) -> Result<u64, S::Error> {
    auth.store().remove_kakao_link(user_id).await?;
    auth.store().end_sessions(user_id).await
}

/// The webhook's parameters (query for GET, form body for POST).
#[derive(Debug, Default, Deserialize)]
struct UnlinkNotice {
    app_id: Option<String>,
    user_id: Option<String>,
    referrer_type: Option<String>,
}

/// `GET|POST /accounts/oauth/unlink/kakao/`: Kakao tells us a user unlinked the app
/// (or deleted their account). Checks the admin key in constant time, removes the user's
/// link and ends every session of theirs, and answers 200 within Kakao's 3 seconds,
/// also for an unknown user.
async fn unlink_webhook<S: KakaoUserStore>(
    req: HttpRequest,
    body: web::Bytes,
    auth: web::Data<KakaoAuth<S>>,
) -> HttpResponse {
    let config = auth.config();
    let Some(admin_key) = &config.admin_key else {
        return HttpResponse::NotFound().finish();
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("KakaoAK "))
        .unwrap_or("");
    let key_ok: bool = presented
        .as_bytes()
        .ct_eq(admin_key.secret().as_bytes())
        .into();
    if !key_ok {
        tracing::warn!("unlink webhook with a wrong or missing admin key refused");
        return HttpResponse::Unauthorized().finish();
    }
    let source = if body.is_empty() {
        req.query_string().as_bytes()
    } else {
        &body[..]
    };
    let notice: UnlinkNotice = serde_urlencoded::from_bytes(source).unwrap_or_default();
    if let Some(expected) = config.app_id {
        if notice.app_id.as_deref().map(str::trim) != Some(expected.to_string().as_str()) {
            tracing::warn!(app_id = ?notice.app_id, "unlink webhook for another app refused");
            return HttpResponse::Unauthorized().finish();
        }
    }
    let referrer_type = notice.referrer_type.as_deref().unwrap_or("-");
    let Some(kakao_id) = notice
        .user_id
        .as_deref()
        .and_then(|id| id.trim().parse::<i64>().ok())
    else {
        tracing::warn!(referrer_type, "unlink webhook without a valid user_id");
        return HttpResponse::BadRequest().finish();
    };
    tracing::info!(kakao_id, referrer_type, "Kakao unlink webhook received");
    let auth = auth.into_inner();
    let work = actix_web::rt::spawn(async move {
        match auth.store().user_for_kakao_id(kakao_id).await {
            Ok(Some(user_id)) => match remove_everything(&auth, &user_id).await {
                Ok(ended) => {
                    tracing::info!(kakao_id, user = %user_id, sessions_ended = ended, "unlinked user removed")
                }
                Err(error) => {
                    tracing::error!(%error, kakao_id, "unlink webhook: removing the user failed")
                }
            },
            Ok(None) => tracing::info!(kakao_id, "unlink webhook for a user unknown here"),
            Err(error) => tracing::error!(%error, kakao_id, "unlink webhook: store failed"),
        }
    });
    if tokio::time::timeout(WEBHOOK_BUDGET, work).await.is_err() {
        tracing::warn!(
            kakao_id,
            "unlink webhook: still removing the user after the answer"
        );
    }
    HttpResponse::Ok().content_type("text/plain").body("OK")
}
