//! Account lifecycle routes: logout (plain and with the Kakao account), disconnect
//! (회원 탈퇴), and Kakao's unlink webhook.

use std::time::Duration;

use actix_session::Session;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::auth::KakaoAuth;
use crate::error::{KakaoApiError, LoginFailure};
use crate::kakao::client::KapiAuth;
use crate::store::{AuthUser, IdOf, LinkStore, Provider, UserStore};

/// How long logout waits for Kakao to revoke a token before giving up on it.
const REVOKE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the webhook works before answering (Kakao waits 3 s); the rest goes on in
/// the background.
const WEBHOOK_BUDGET: Duration = Duration::from_millis(2500);

/// Mounts the logouts always; disconnect only with a link store, and the unlink webhook
/// only with a link store and an admin key (without them they could only fail).
pub(super) fn register<S, L>(cfg: &mut web::ServiceConfig, config: &crate::KakaoAuthConfig)
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let paths = config.paths();
    cfg.route(&paths.logout_path, web::post().to(logout::<S, L>))
        .route(
            &paths.kakao_logout_path,
            web::post().to(logout_with_kakao::<S, L>),
        );
    if !L::KEEPS_LINKS {
        tracing::debug!("no link store: disconnect and the unlink webhook are not mounted");
        return;
    }
    cfg.route(
        &paths.disconnect_path,
        web::post().to(|req, body, session, auth| {
            disconnect::<S, L>(Provider::Kakao, req, body, session, auth)
        }),
    );
    if config.naver().is_some() {
        cfg.route(
            &paths.naver_disconnect_path,
            web::post().to(|req, body, session, auth| {
                disconnect::<S, L>(Provider::Naver, req, body, session, auth)
            }),
        );
        cfg.route(
            &paths.naver_unlink_path,
            web::post().to(naver_unlink_notification::<S, L>),
        );
    }
    if config.has_admin_key() {
        cfg.route(
            &paths.unlink_callback_path,
            web::get().to(unlink_webhook::<S, L>),
        )
        .route(
            &paths.unlink_callback_path,
            web::post().to(unlink_webhook::<S, L>),
        );
    } else {
        tracing::debug!("no admin key: the unlink webhook is not mounted");
    }
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::SEE_OTHER)
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The id of the request's logged-in user (checked by the identity middleware).
fn current_user<S: UserStore>(req: &HttpRequest) -> Option<IdOf<S>> {
    crate::identity::user_of::<S::User>(req).map(|user| user.id())
}

/// Revokes the user's stored access token at Kakao (`/v1/user/logout`), best effort: a
/// missing token, an expired one or a Kakao failure is logged and ignored, and Kakao
/// gets at most [`REVOKE_TIMEOUT`].
async fn revoke_token_best_effort<S, L>(auth: &KakaoAuth<S, L>, user: &IdOf<S>)
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let link = match auth.links().link(user, Provider::Kakao).await {
        Ok(Some(link)) => link,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(%error, "logout: could not read the stored Kakao token");
            return;
        }
    };
    let Some(tokens) = link.tokens.filter(|t| t.expires_at > chrono::Utc::now()) else {
        return;
    };
    let call = auth
        .client()
        .logout_user(KapiAuth::Bearer(&tokens.access_token));
    match tokio::time::timeout(REVOKE_TIMEOUT, call).await {
        Ok(Ok(_)) => tracing::debug!(%user, "Kakao token revoked at logout"),
        Ok(Err(error)) => tracing::warn!(%error, "logout: Kakao did not revoke the token"),
        Err(_) => tracing::warn!("logout: Kakao did not answer the token revocation in time"),
    }
}

/// Ends the local session of a logout request that proves its origin (CSRF): revokes
/// the user's Kakao token (best effort) and purges the session on the server, so a copy
/// of the old cookie no longer works. A refused request gets the 403 to answer instead.
async fn end_local_session<S, L>(
    req: &HttpRequest,
    body: &[u8],
    session: &Session,
    auth: &KakaoAuth<S, L>,
    action: &str,
) -> Result<(), HttpResponse>
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    crate::csrf::check(req, body, &auth.config().app_origin(), action)
        .map_err(crate::csrf::Refused::response)?;
    if let Some(user) = current_user::<S>(req) {
        revoke_token_best_effort(auth, &user).await;
        crate::metrics::session_ended("logout");
    }
    session.purge();
    Ok(())
}

/// `POST /logout/`: ends the session on the server, then 303 to the logout redirect URL.
async fn logout<S, L>(
    req: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<KakaoAuth<S, L>>,
) -> HttpResponse
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    match end_local_session(&req, &body, &session, &auth, "logout").await {
        Ok(()) => see_other(&auth.config().paths().logout_redirect_url),
        Err(refusal) => refusal,
    }
}

/// `POST /logout/kakao/`: ends the local session like `POST /logout/`, then sends the
/// browser to Kakao to end its Kakao Account session too.
async fn logout_with_kakao<S, L>(
    req: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<KakaoAuth<S, L>>,
) -> HttpResponse
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    if let Err(refusal) = end_local_session(&req, &body, &session, &auth, "Kakao logout").await {
        return refusal;
    }
    let config = auth.config();
    let back = format!(
        "{}{}",
        config.app_origin(),
        &config.paths().logout_redirect_url
    );
    see_other(auth.client().kakao_logout_url(&back).as_str())
}

/// The user a disconnect request acts for, once its proof of origin checked: otherwise
/// the 403, or the redirect to log in.
fn disconnect_user<S: UserStore>(
    req: &HttpRequest,
    body: &[u8],
    config: &crate::KakaoAuthConfig,
) -> Result<IdOf<S>, Box<HttpResponse>> {
    crate::csrf::check(req, body, &config.app_origin(), "disconnect")
        .map_err(|refused| Box::new(refused.response()))?;
    current_user::<S>(req).ok_or_else(|| Box::new(crate::middleware::login_redirect(req)))
}

/// 303 to the login-error page with `reason`.
fn failure(config: &crate::KakaoAuthConfig, reason: LoginFailure) -> HttpResponse {
    see_other(&super::failure_location(
        &config.paths().login_error_url,
        reason,
    ))
}

/// `POST /accounts/oauth/disconnect/{provider}/`: revokes the user's link at the
/// provider ([`unlink_at_kakao`], [`revoke_at_naver`]), then removes it as
/// [`finish_disconnect`] says. Nothing is removed when the provider refuses.
async fn disconnect<S, L>(
    provider: Provider,
    req: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<KakaoAuth<S, L>>,
) -> HttpResponse
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let config = auth.config();
    let user = match disconnect_user::<S>(&req, &body, config) {
        Ok(user) => user,
        Err(answer) => return *answer,
    };
    let link = match auth.links().link(&user, provider).await {
        Ok(Some(link)) => link,
        Ok(None) => {
            tracing::warn!(%user, %provider, "disconnect: no link to this provider stored for the user");
            return failure(config, LoginFailure::InvalidRequest);
        }
        Err(error) => {
            tracing::error!(%error, "disconnect: link store failed");
            return failure(config, LoginFailure::Internal);
        }
    };
    let revoked = match provider {
        Provider::Kakao => unlink_at_kakao(&auth, &user, &link).await,
        Provider::Naver => revoke_at_naver(&auth, &link).await,
    };
    match revoked {
        Ok(()) => finish_disconnect(&auth, &session, &user, provider).await,
        Err(reason) => failure(config, reason),
    }
}

/// The failure for a provider that did not answer (unavailable) or answered wrongly.
fn provider_failure(unavailable: bool) -> LoginFailure {
    if unavailable {
        LoginFailure::KakaoUnavailable
    } else {
        LoginFailure::InvalidResponse
    }
}

/// Unlinks the user at Kakao: with the admin key when configured, else with the user's
/// token (refreshed if needed). Kakao's `-101` (not linked any more) counts as done.
async fn unlink_at_kakao<S, L>(
    auth: &KakaoAuth<S, L>,
    user: &IdOf<S>,
    link: &crate::store::Link,
) -> Result<(), LoginFailure>
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let unlinked = match (&auth.config().admin_key, link.kakao_id()) {
        (Some(key), Some(target_id)) => {
            auth.client()
                .unlink_user(KapiAuth::Admin { key, target_id })
                .await
        }
        _ => match auth.access_token_for(user).await {
            Ok(token) => auth.client().unlink_user(KapiAuth::Bearer(&token)).await,
            Err(error) => {
                tracing::warn!(%error, "disconnect: no usable Kakao token");
                return Err(LoginFailure::InvalidCode);
            }
        },
    };
    match unlinked {
        Ok(kakao_id) => {
            tracing::info!(kakao_id, %user, "user disconnected from Kakao");
            Ok(())
        }
        // -101: not linked any more (already unlinked at Kakao): finish locally.
        Err(KakaoApiError::Api { code: -101, .. }) => Ok(()),
        Err(error) => {
            tracing::warn!(%error, "disconnect: Kakao unlink failed; nothing removed");
            Err(provider_failure(error.is_unavailable()))
        }
    }
}

/// Revokes the link's Naver token (`/oauth2.0/revoke`, with the refresh token when the
/// access token has expired). A link without tokens has nothing to revoke.
async fn revoke_at_naver<S, L>(
    auth: &KakaoAuth<S, L>,
    link: &crate::store::Link,
) -> Result<(), LoginFailure>
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let Some(naver) = auth.naver_client() else {
        return Err(LoginFailure::Internal);
    };
    let Some(tokens) = &link.tokens else {
        return Ok(());
    };
    let token = if tokens.expires_at > auth.config().now() {
        Some(tokens.access_token.clone())
    } else {
        tokens
            .refresh_token
            .as_ref()
            .map(|r| crate::kakao::secret::AccessToken::new(r.secret().clone()))
    };
    let Some(token) = token else {
        return Ok(());
    };
    naver.revoke(&token).await.map_err(|error| {
        tracing::warn!(%error, "disconnect: Naver revoke failed; nothing removed");
        provider_failure(error.is_unavailable())
    })
}

/// Removes the user's `provider` link (revoked at the provider already). A user left
/// with another way in keeps their account and this session (303 to the account page);
/// one left with none is gone, and so is this session (303 to the logout landing).
async fn finish_disconnect<S, L>(
    auth: &KakaoAuth<S, L>,
    session: &Session,
    user: &IdOf<S>,
    provider: Provider,
) -> HttpResponse
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let paths = auth.config().paths();
    if let Err(error) = auth.links().remove_link(user, provider).await {
        tracing::error!(%error, %provider, "disconnect: revoked at the provider but the local cleanup failed");
        return failure(auth.config(), LoginFailure::Internal);
    }
    match auth.store().get_user(user).await {
        Ok(Some(_)) => {
            tracing::info!(%user, %provider, "one link removed; the user keeps another");
            see_other(&paths.account_url)
        }
        Ok(None) => {
            session.purge();
            crate::metrics::session_ended("disconnect");
            see_other(&paths.logout_redirect_url)
        }
        Err(error) => {
            tracing::error!(%error, "disconnect: the user store failed after removing the link");
            session.purge();
            see_other(&paths.logout_redirect_url)
        }
    }
}

/// `POST /accounts/oauth/unlink/naver/`: Naver's unlink notification (a user withdrew
/// consent or left Naver). Verified as [`crate::naver::unlink`] describes; a valid one
/// removes that Naver link (the user too when it was their last way in, ending their
/// sessions) and answers 204, anything else 401 and changes nothing. Naver does not retry,
/// so a store failure is logged and still answered 204.
async fn naver_unlink_notification<S, L>(
    body: web::Bytes,
    auth: web::Data<KakaoAuth<S, L>>,
) -> HttpResponse
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let config = auth.config();
    let Some(naver) = config.naver() else {
        return HttpResponse::NotFound().finish();
    };
    let notice: crate::naver::UnlinkNotification =
        serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let uid = match notice.verify(
        naver.client_id(),
        naver.client_secret.secret(),
        config.now().timestamp(),
    ) {
        Ok(uid) => uid,
        Err(refused) => {
            tracing::warn!(%refused, "Naver unlink notification refused");
            return HttpResponse::Unauthorized().finish();
        }
    };
    match auth.links().user_for(Provider::Naver, &uid).await {
        Ok(Some(user)) => match auth.links().remove_link(&user, Provider::Naver).await {
            Ok(_) => {
                crate::metrics::session_ended("webhook");
                tracing::info!(%user, "Naver unlink notification: link removed");
            }
            Err(error) => {
                tracing::error!(%error, "Naver unlink notification: removing the link failed")
            }
        },
        Ok(None) => tracing::info!("Naver unlink notification for a user unknown here"),
        Err(error) => tracing::error!(%error, "Naver unlink notification: link store failed"),
    }
    HttpResponse::NoContent().finish()
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
async fn unlink_webhook<S, L>(
    req: HttpRequest,
    body: web::Bytes,
    auth: web::Data<KakaoAuth<S, L>>,
) -> HttpResponse
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let config = auth.config();
    let Some(admin_key) = &config.admin_key else {
        // Not mounted without an admin key; reached only through an app's own mounting.
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
        let uid = kakao_id.to_string();
        match auth.links().user_for(Provider::Kakao, &uid).await {
            Ok(Some(user)) => match auth.links().remove_link(&user, Provider::Kakao).await {
                Ok(_) => {
                    crate::metrics::session_ended("webhook");
                    tracing::info!(kakao_id, %user, "unlinked user removed")
                }
                Err(error) => {
                    tracing::error!(%error, kakao_id, "unlink webhook: removing the user failed")
                }
            },
            Ok(None) => tracing::info!(kakao_id, "unlink webhook for a user unknown here"),
            Err(error) => tracing::error!(%error, kakao_id, "unlink webhook: link store failed"),
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
