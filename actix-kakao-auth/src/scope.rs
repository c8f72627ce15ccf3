//! The login routes: `/login/`, begin, callback, logout.

use actix_identity::Identity;
use actix_session::Session;
use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use oauth2::CsrfToken;
use serde::Deserialize;

use crate::auth::KakaoAuth;
use crate::error::LoginError;
use crate::flow::{self, PendingLogin};
use crate::next_url::sanitize_next;
use crate::origin::is_same_origin;
use crate::store::{AuthUser, KakaoLogin, KakaoUserStore};

/// Longest query string accepted on the login routes.
const MAX_QUERY_LEN: usize = 8 * 1024;

pub(crate) fn register<S: KakaoUserStore>(cfg: &mut web::ServiceConfig, auth: KakaoAuth<S>) {
    let config = auth.config().clone();
    cfg.app_data(web::Data::new(auth))
        .route(config.login_url(), web::get().to(login_page))
        .route(config.begin_path(), web::get().to(begin::<S>))
        .route(config.callback_path(), web::get().to(callback::<S>))
        .route(config.logout_path(), web::post().to(logout::<S>));
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn next_from(req: &HttpRequest) -> Option<String> {
    if req.query_string().len() > MAX_QUERY_LEN {
        return None;
    }
    web::Query::<NextQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().next)
        .and_then(|n| sanitize_next(&n))
}

fn redirect(status: StatusCode, location: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::LOCATION, location))
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .finish()
}

/// `GET /login/`: forwards to the begin route, keeping a safe `next`.
async fn login_page(req: HttpRequest) -> HttpResponse {
    let Some(config) = crate::middleware::config_of(&req) else {
        return HttpResponse::InternalServerError().finish();
    };
    let location = match next_from(&req) {
        Some(next) => crate::next_url::login_url_with_next(config.begin_path(), &next),
        None => config.begin_path().to_owned(),
    };
    redirect(StatusCode::FOUND, &location)
}

/// `GET /accounts/oauth/login/kakao/`: starts a login and sends the browser to Kakao.
async fn begin<S: KakaoUserStore>(
    req: HttpRequest,
    session: Session,
    auth: web::Data<KakaoAuth<S>>,
) -> HttpResponse {
    let config = auth.config();
    let nonce = config
        .oidc_enabled()
        .then(|| CsrfToken::new_random_len(32).secret().clone());
    let start = auth.client().start_authorization(nonce.as_deref(), &[]);
    let pending = PendingLogin {
        state: start.state.secret().clone(),
        pkce_verifier: start.pkce_verifier.secret().clone(),
        nonce,
        next: next_from(&req),
        created_at: flow::now(),
    };
    if let Err(error) = flow::push(
        &session,
        pending,
        config.flow_ttl,
        config.max_pending_logins,
    ) {
        tracing::error!(%error, "could not store the pending login in the session");
        return failure_redirect(
            config.login_error_url(),
            crate::error::LoginFailure::Internal,
        );
    }
    tracing::debug!("login started; redirecting to Kakao");
    redirect(StatusCode::FOUND, start.url.as_str())
}

#[derive(Debug, Default, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /accounts/oauth/complete/kakao/`: finishes a login.
async fn callback<S: KakaoUserStore>(
    req: HttpRequest,
    session: Session,
    auth: web::Data<KakaoAuth<S>>,
) -> HttpResponse {
    let config = auth.config();
    let result = complete_login(&req, &session, &auth).await;
    let mut response = match result {
        Ok(next) => redirect(StatusCode::FOUND, &next),
        Err(error) => {
            let failure = error.failure();
            tracing::warn!(
                reason = failure.code(),
                kakao_code = error.kakao_code().as_deref().unwrap_or("-"),
                %error,
                "Kakao login failed"
            );
            forget_empty_session(&session);
            failure_redirect(config.login_error_url(), failure)
        }
    };
    // The callback URL holds the code: never cache it, never leak it in a Referer.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    response
}

fn failure_redirect(error_url: &str, failure: crate::error::LoginFailure) -> HttpResponse {
    let separator = if error_url.contains('?') { '&' } else { '?' };
    redirect(
        StatusCode::FOUND,
        &format!("{error_url}{separator}reason={}", failure.code()),
    )
}

/// After a failed login, a session that holds nothing else is removed entirely, so a
/// failure never leaves a session cookie behind.
fn forget_empty_session(session: &Session) {
    if session.entries().is_empty() {
        session.purge();
    }
}

async fn complete_login<S: KakaoUserStore>(
    req: &HttpRequest,
    session: &Session,
    auth: &KakaoAuth<S>,
) -> Result<String, LoginError> {
    let config = auth.config();
    if req.query_string().len() > MAX_QUERY_LEN {
        return Err(LoginError::MalformedCallback(
            "query string too long".into(),
        ));
    }
    let query = web::Query::<CallbackQuery>::from_query(req.query_string())
        .map_err(|e| LoginError::MalformedCallback(e.to_string()))?
        .into_inner();
    // Consume the pending login first: a state is single use whatever happens next.
    let pending = match &query.state {
        Some(state) => flow::take(session, state, config.flow_ttl).map_err(LoginError::Session)?,
        None => None,
    };
    if let Some(error) = query.error {
        return Err(LoginError::Authorization {
            error: error.chars().take(64).collect(),
        });
    }
    let pending = pending.ok_or(LoginError::StateMismatch)?;
    let code = query
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| LoginError::MalformedCallback("no code".into()))?;

    let tokens = auth
        .client()
        .exchange_code(&code, &pending.pkce_verifier)
        .await
        .map_err(LoginError::Token)?;
    let user = auth
        .client()
        .user_info(&tokens.access_token)
        .await
        .map_err(LoginError::UserInfo)?;
    let login = KakaoLogin { user, tokens };
    let local_user = auth
        .store()
        .find_or_create_user(&login)
        .await
        .map_err(|e| LoginError::Store(Box::new(e)))?;
    // Identity::login renews the session id (session fixation defence).
    Identity::login(&req.extensions(), local_user.auth_id())
        .map_err(|e| LoginError::Session(e.to_string()))?;
    tracing::info!(kakao_id = login.user.id, user = %local_user.auth_id(), "Kakao login succeeded");
    let next = pending
        .next
        .as_deref()
        .and_then(sanitize_next)
        .unwrap_or_else(|| config.login_redirect_url().to_owned());
    Ok(next)
}

/// `POST /logout/`: ends the session on the server, then 303 to the logout redirect URL.
async fn logout<S: KakaoUserStore>(
    req: HttpRequest,
    session: Session,
    auth: web::Data<KakaoAuth<S>>,
) -> HttpResponse {
    let config = auth.config();
    if !is_same_origin(&req, &config.app_origin()) {
        tracing::warn!("cross-site logout refused");
        return HttpResponse::Forbidden().body("cross-site request refused");
    }
    // Purging deletes the server-side state: a copy of the old cookie no longer works.
    session.purge();
    redirect(StatusCode::SEE_OTHER, config.logout_redirect_url())
}
