//! The login routes: `/login/`, begin, callback.

use actix_session::Session;
use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use oauth2::CsrfToken;
use serde::Deserialize;

use crate::auth::KakaoAuth;
use crate::error::LoginError;
use crate::identity::logged_in;
use crate::kakao::client::AuthorizeRequest;
use crate::kakao::login_options::{clean_login_hint, Prompt};
use crate::kakao::oidc::{IdTokenClaims, IdTokenError, IdTokenVerifier};
use crate::next_url::sanitize_next;
use crate::pending::{self, PendingLogin};
use crate::store::{IdOf, LinkStore, Provider, ProviderUser, SocialLogin, Tokens, UserStore};

/// Longest query string accepted on the login routes.
const MAX_QUERY_LEN: usize = 8 * 1024;

/// The begin route's (and `/login/`'s) query string, parsed once.
#[derive(Debug, Default, Deserialize)]
struct BeginQuery {
    next: Option<String>,
    scope: Option<String>,
    prompt: Option<String>,
    login_hint: Option<String>,
}

impl BeginQuery {
    /// Parses `req`'s query; an oversized or malformed one reads as empty.
    fn of(req: &HttpRequest) -> Self {
        if req.query_string().len() > MAX_QUERY_LEN {
            return Self::default();
        }
        web::Query::<Self>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .unwrap_or_default()
    }

    /// A safe `next`.
    fn next(&self) -> Option<String> {
        self.next.as_deref().and_then(sanitize_next)
    }
}

/// Most scopes one additional-consent request may add.
const MAX_EXTRA_SCOPES: usize = 16;

/// Additional consent (추가 항목 동의 받기): a logged-in user may ask for more scopes with
/// `?scope=account_email,gender`. Only the allowlisted ones
/// ([`additional_consent_scopes`](crate::config::LoginDefaults::additional_consent_scopes))
/// are passed on; an anonymous request gets the configured scopes only.
fn additional_scopes(
    req: &HttpRequest,
    query: &BeginQuery,
    config: &crate::KakaoAuthConfig,
) -> Vec<String> {
    let (Some(scope), Some(_)) = (&query.scope, logged_in(req)) else {
        return Vec::new();
    };
    crate::config::split_scopes(scope)
        .into_iter()
        .filter(|s| config.additional_consent_scopes().contains(s))
        .take(MAX_EXTRA_SCOPES)
        .collect()
}

fn redirect(status: StatusCode, location: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::LOCATION, location))
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .finish()
}

/// A begin route, keeping `next`.
fn begin_location(begin_path: &str, next: Option<&str>) -> String {
    match next {
        Some(next) => crate::next_url::login_url_with_next(begin_path, next),
        None => begin_path.to_owned(),
    }
}

/// `GET /login/`: with Kakao alone, forwards to its begin route, keeping a safe `next`;
/// with Naver too, a page with both login buttons, each keeping it.
pub(super) async fn login_page(req: HttpRequest) -> HttpResponse {
    let Some(config) = crate::identity::config_of(&req) else {
        tracing::error!("the login page needs .wrap(auth.identity()) around the app");
        return HttpResponse::InternalServerError().finish();
    };
    let next = BeginQuery::of(&req).next();
    let kakao = begin_location(&config.paths().begin_path, next.as_deref());
    if config.naver().is_none() {
        return redirect(StatusCode::FOUND, &kakao);
    }
    let naver = begin_location(&config.paths().naver_begin_path, next.as_deref());
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .body(super::pages::chooser(&kakao, &naver))
}

/// What one login asks Kakao for.
struct LoginStart {
    next: Option<String>,
    /// A connect flow's user (JSON id); `None` for a login.
    link_to: Option<String>,
    prompt: Option<&'static str>,
    login_hint: Option<String>,
    extra_scopes: Vec<String>,
    auto_login: bool,
}

/// The login a begin request asks for: its `prompt` (`login`, `select_account`,
/// `create`; anything else dropped) and `login_hint`, else the configured defaults; and
/// KakaoTalk auto-login (`prompt=none`) from the KakaoTalk in-app browser when no prompt
/// was asked.
fn login_start(req: &HttpRequest, config: &crate::KakaoAuthConfig) -> LoginStart {
    let query = BeginQuery::of(req);
    let prompt = query
        .prompt
        .as_deref()
        .and_then(Prompt::parse)
        .or(config.login.default_prompt)
        .map(Prompt::as_str);
    let login_hint = query
        .login_hint
        .as_deref()
        .and_then(clean_login_hint)
        .or_else(|| config.login.default_login_hint.clone());
    let in_kakaotalk = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.contains("KAKAOTALK"));
    let auto_login = prompt.is_none() && in_kakaotalk && config.login.kakaotalk_auto_login;
    LoginStart {
        next: query.next(),
        link_to: None,
        prompt: if auto_login { Some("none") } else { prompt },
        login_hint,
        extra_scopes: additional_scopes(req, &query, config),
        auto_login,
    }
}

/// `GET /accounts/oauth/login/kakao/`: starts a login and sends the browser to Kakao.
/// The pending login goes into a sealed cookie of its own: nothing is written on the
/// server and the session is not touched.
pub(super) async fn begin<S, L>(req: HttpRequest, auth: web::Data<KakaoAuth<S, L>>) -> HttpResponse
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let start = login_start(&req, auth.config());
    start_login(&req, &auth, start, StatusCode::FOUND)
}

/// Redirects to Kakao's authorize page for `start`, with its pending-login cookie (and
/// the removals of older pending logins that make room for it).
fn start_login<S, L>(
    req: &HttpRequest,
    auth: &KakaoAuth<S, L>,
    start: LoginStart,
    status: StatusCode,
) -> HttpResponse
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let config = auth.config();
    let nonce = config
        .oidc_enabled()
        .then(|| CsrfToken::new_random_len(32).secret().clone());
    let authorization = auth.client().start_authorization(&AuthorizeRequest {
        nonce: nonce.as_deref(),
        extra_scopes: &start.extra_scopes,
        prompt: start.prompt,
        login_hint: start.login_hint.as_deref(),
        service_terms: config.service_terms(),
    });
    let pending = PendingLogin {
        provider: Provider::Kakao,
        link_to: start.link_to,
        state: authorization.state.secret().clone(),
        pkce_verifier: authorization.pkce_verifier.secret().clone(),
        nonce,
        next: start.next,
        created_at: config.now().timestamp(),
        auto_login: start.auto_login,
        login_hint: start.login_hint,
        extra_scopes: start.extra_scopes,
    };
    tracing::debug!(
        auto_login = pending.auto_login,
        "login started; redirecting to Kakao"
    );
    redirect_with_pending(req, config, &pending, authorization.url.as_str(), status)
}

/// Redirects to `authorize_url` with the pending login in its sealed cookie (and the
/// removals of older pending logins that make room for it).
fn redirect_with_pending(
    req: &HttpRequest,
    config: &crate::KakaoAuthConfig,
    pending: &PendingLogin,
    authorize_url: &str,
    status: StatusCode,
) -> HttpResponse {
    let cookie = match pending::seal(config, pending) {
        Ok(cookie) => cookie,
        Err(error @ pending::SealError::TooLarge(_)) => {
            tracing::warn!(%error, "login refused: next or login_hint too long");
            return failure_redirect(
                &config.paths().login_error_url,
                crate::error::LoginFailure::InvalidRequest,
            );
        }
        Err(error) => {
            tracing::error!(%error, "could not seal the pending login");
            return failure_redirect(
                &config.paths().login_error_url,
                crate::error::LoginFailure::Internal,
            );
        }
    };
    let mut response = redirect(status, authorize_url);
    for old in pending::make_room(req, config, &cookie) {
        if let Err(error) = response.add_cookie(&old) {
            tracing::warn!(%error, "could not drop an old pending-login cookie");
        }
    }
    if let Err(error) = response.add_cookie(&cookie) {
        tracing::error!(%error, "could not set the pending-login cookie");
        return failure_redirect(
            &config.paths().login_error_url,
            crate::error::LoginFailure::Internal,
        );
    }
    response
}

/// `GET /accounts/oauth/login/naver/`: starts a Naver login (the OpenID Connect path:
/// `state`, `nonce`, PKCE S256; `prompt=login` becomes `auth_type=reauthenticate`) with
/// the same sealed pending-login cookie as Kakao's. Nothing is written on the server.
pub(super) async fn begin_naver<S, L>(
    req: HttpRequest,
    auth: web::Data<KakaoAuth<S, L>>,
) -> HttpResponse
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let query = BeginQuery::of(&req);
    start_naver(
        &req,
        &auth,
        query.next(),
        query.prompt.as_deref() == Some("login"),
        None,
        StatusCode::FOUND,
    )
}

/// Redirects to Naver's authorize page with a fresh `state`, `nonce` and PKCE
/// verifier in the pending-login cookie.
fn start_naver<S, L>(
    req: &HttpRequest,
    auth: &KakaoAuth<S, L>,
    next: Option<String>,
    reauthenticate: bool,
    link_to: Option<String>,
    status: StatusCode,
) -> HttpResponse
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let config = auth.config();
    let Some(naver) = auth.naver() else {
        return HttpResponse::NotFound().finish();
    };
    let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
    let state = CsrfToken::new_random_len(16).secret().clone();
    let nonce = CsrfToken::new_random_len(32).secret().clone();
    let url = naver.client.authorize_url(&crate::naver::NaverAuthorize {
        state: &state,
        nonce: &nonce,
        code_challenge: challenge.as_str(),
        reauthenticate,
    });
    let pending = PendingLogin {
        provider: Provider::Naver,
        link_to,
        state,
        pkce_verifier: verifier.secret().clone(),
        nonce: Some(nonce),
        next,
        created_at: config.now().timestamp(),
        auto_login: false,
        login_hint: None,
        extra_scopes: Vec::new(),
    };
    tracing::debug!("login started; redirecting to Naver");
    redirect_with_pending(req, config, &pending, url.as_str(), status)
}

/// `POST {connect_prefix}kakao/` and `…naver/`: a logged-in user connects another
/// provider account. The same proof of origin as logout is required (403 otherwise);
/// an anonymous request is sent to log in. 303 to the provider's authorize page, with a
/// pending login bound to this user: its callback links the account to them, and only
/// while the same user is logged in.
pub(super) async fn connect<S, L>(
    req: HttpRequest,
    body: web::Bytes,
    auth: web::Data<KakaoAuth<S, L>>,
    provider: Provider,
) -> HttpResponse
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let config = auth.config();
    if let Err(refused) = crate::csrf::check(&req, &body, &config.app_origin(), "connect") {
        return refused.response();
    }
    let Some(user) =
        crate::identity::user_of::<S::User>(&req).filter(|_| logged_in(&req).is_some())
    else {
        return crate::middleware::login_redirect(&req);
    };
    let Ok(link_to) = serde_json::to_string(&crate::store::AuthUser::id(&user)) else {
        return failure_redirect(
            &config.paths().login_error_url,
            crate::error::LoginFailure::Internal,
        );
    };
    let next = Some(config.paths().account_url.clone());
    match provider {
        Provider::Kakao => start_login(
            &req,
            &auth,
            LoginStart {
                next,
                link_to: Some(link_to),
                prompt: None,
                login_hint: None,
                extra_scopes: Vec::new(),
                auto_login: false,
            },
            StatusCode::SEE_OTHER,
        ),
        Provider::Naver => start_naver(
            &req,
            &auth,
            next,
            false,
            Some(link_to),
            StatusCode::SEE_OTHER,
        ),
    }
}

/// Kakao's answers to `prompt=none` that mean "not without a screen".
fn needs_interaction(error: &str) -> bool {
    matches!(
        error,
        "consent_required" | "login_required" | "interaction_required"
    )
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CallbackQuery {
    pub(crate) code: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) error: Option<String>,
}

/// Parses the callback's query string (at most [`MAX_QUERY_LEN`] bytes).
pub(crate) fn parse_callback_query(query: &str) -> Result<CallbackQuery, LoginError> {
    if query.len() > MAX_QUERY_LEN {
        return Err(LoginError::MalformedCallback(
            "query string too long".into(),
        ));
    }
    web::Query::<CallbackQuery>::from_query(query)
        .map(web::Query::into_inner)
        .map_err(|e| LoginError::MalformedCallback(e.to_string()))
}

/// `GET` of a provider's callback (`/accounts/oauth/complete/kakao/`, `…/naver/`): one
/// callback for every provider. The pending login for the query's `state` is opened and
/// cleared, the provider's code exchanged and its user identified, then the same store,
/// session and redirect steps.
pub(super) async fn callback<S, L>(
    provider: Provider,
    req: HttpRequest,
    session: Session,
    auth: web::Data<KakaoAuth<S, L>>,
) -> HttpResponse
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let config = auth.config();
    let query = parse_callback_query(req.query_string());
    // The pending login is single use whatever happens next: its cookie is cleared.
    let state = query
        .as_ref()
        .ok()
        .and_then(|q| q.state.clone())
        .filter(|s| !s.is_empty());
    let pending = state
        .as_deref()
        .and_then(|state| pending::open(&req, config, state));
    let mut response = match (query, pending) {
        // KakaoTalk auto-login that Kakao could not do silently: the same login once more,
        // with the screens (never `prompt=none` again, so it cannot loop).
        (Ok(query), Some(login))
            if provider == Provider::Kakao
                && login.provider == Provider::Kakao
                && login.auto_login
                && query.error.as_deref().is_some_and(needs_interaction) =>
        {
            tracing::info!(
                "KakaoTalk auto-login needs the user: starting the login with its screens"
            );
            start_login(
                &req,
                &auth,
                LoginStart {
                    next: login.next,
                    link_to: login.link_to,
                    prompt: None,
                    login_hint: login.login_hint,
                    extra_scopes: login.extra_scopes,
                    auto_login: false,
                },
                StatusCode::FOUND,
            )
        }
        (query, pending) => {
            let result = match query {
                Ok(query) => complete_login(&req, &session, &auth, provider, query, pending).await,
                Err(error) => Err(error),
            };
            match result {
                Ok(next) => {
                    crate::metrics::login(provider.as_str(), "web", "success");
                    redirect(StatusCode::FOUND, &next)
                }
                Err(error) => {
                    let failure = error.failure();
                    crate::metrics::login(provider.as_str(), "web", failure.code());
                    tracing::warn!(
                        %provider,
                        client = %config.client_addr(&req),
                        reason = failure.code(),
                        kakao_code = error.kakao_code().as_deref().unwrap_or("-"),
                        %error,
                        "login failed"
                    );
                    failure_redirect(&config.paths().login_error_url, failure)
                }
            }
        }
    };
    if let Some(state) = state {
        if let Err(error) = response.add_cookie(&pending::removal(config, &state)) {
            tracing::warn!(%error, "could not clear the pending-login cookie");
        }
    }
    // The callback URL holds the code: never cache it, never leak it in a Referer.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    response
}

fn failure_redirect(error_url: &str, failure: crate::error::LoginFailure) -> HttpResponse {
    redirect(
        StatusCode::FOUND,
        &super::failure_location(error_url, failure),
    )
}

async fn complete_login<S, L>(
    req: &HttpRequest,
    session: &Session,
    auth: &KakaoAuth<S, L>,
    provider: Provider,
    query: CallbackQuery,
    pending: Option<PendingLogin>,
) -> Result<String, LoginError>
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    if let Some(error) = query.error {
        return Err(LoginError::Authorization {
            error: error.chars().take(64).collect(),
        });
    }
    let pending = pending.ok_or(LoginError::StateMismatch)?;
    if pending.provider != provider {
        return Err(LoginError::ProviderMismatch);
    }
    let code = query
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| LoginError::MalformedCallback("no code".into()))?;
    let login = match provider {
        Provider::Kakao => identify_kakao(auth, &code, &pending).await?,
        Provider::Naver => identify_naver(auth, &code, &pending).await?,
    };
    let next = pending
        .next
        .as_deref()
        .and_then(sanitize_next)
        .unwrap_or_else(|| auth.config().paths().login_redirect_url.clone());
    if let Some(link_to) = &pending.link_to {
        connect_account(req, auth, link_to, &login).await?;
        return Ok(next);
    }
    let local_user = auth
        .store()
        .find_or_create(&login)
        .await
        .map_err(|e| LoginError::Store(Box::new(e)))?;
    // A new session id (session fixation defence), the user and a fresh CSRF token.
    crate::identity::log_in(session, &local_user)
        .map_err(|e| LoginError::Session(e.to_string()))?;
    tracing::info!(
        provider = %login.provider(),
        uid = %login.uid(),
        user = %crate::store::AuthUser::id(&local_user),
        "login succeeded"
    );
    Ok(next)
}

/// The callback of a connect flow: the browser must still be logged in as the user who
/// began it; the account is then linked to them (or found theirs already), never taken
/// from another user, and the session is left as it is.
async fn connect_account<S, L>(
    req: &HttpRequest,
    auth: &KakaoAuth<S, L>,
    link_to: &str,
    login: &SocialLogin,
) -> Result<(), LoginError>
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let current = crate::identity::user_of::<S::User>(req)
        .filter(|_| logged_in(req).is_some())
        .map(|user| crate::store::AuthUser::id(&user));
    let Some(user) = current.filter(|id| {
        serde_json::to_string(id).is_ok_and(|json| json.as_bytes() == link_to.as_bytes())
    }) else {
        return Err(LoginError::ConnectUserChanged);
    };
    let outcome = auth
        .store()
        .link_login(&user, login)
        .await
        .map_err(|e| LoginError::Store(Box::new(e)))?;
    match outcome {
        crate::store::LinkOutcome::Linked => {
            tracing::info!(provider = %login.provider(), %user, "account connected");
            Ok(())
        }
        crate::store::LinkOutcome::AlreadyYours => Ok(()),
        crate::store::LinkOutcome::ProviderAlreadyLinked => {
            tracing::warn!(provider = %login.provider(), %user, "connect refused: another account of this provider is linked");
            Err(LoginError::ProviderAlreadyLinked)
        }
        crate::store::LinkOutcome::OwnedBy(owner) => {
            tracing::warn!(provider = %login.provider(), %user, %owner, "connect refused: the account belongs to another user");
            Err(LoginError::IdentityInUse)
        }
        _ => Err(LoginError::Store(
            "the user store does not link accounts".into(),
        )),
    }
}

/// Kakao: the code exchanged, the id_token verified (with `openid`) before anything is
/// stored, `/v2/user/me` tied to it, the service terms checked.
async fn identify_kakao<S, L>(
    auth: &KakaoAuth<S, L>,
    code: &str,
    pending: &PendingLogin,
) -> Result<SocialLogin, LoginError>
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let tokens = auth
        .client()
        .exchange_code(code, &pending.pkce_verifier)
        .await
        .map_err(LoginError::Token)?;
    // OpenID Connect: the id_token is verified before anything is stored.
    let id_claims = match auth.id_token_verifier() {
        Some(verifier) => Some(verify_id_token(verifier, &tokens, pending.nonce.as_deref()).await?),
        None => None,
    };
    let user = auth
        .client()
        .user_info(&tokens.access_token)
        .await
        .map_err(LoginError::UserInfo)?;
    if let Some(claims) = &id_claims {
        // The token must describe the user /v2/user/me describes.
        claims.check_subject(user.id).map_err(LoginError::IdToken)?;
    }
    let service_terms = auth
        .agreed_service_terms(&tokens.access_token)
        .await
        .map_err(|check| match check {
            crate::auth::TermsCheck::Kakao(error) => LoginError::ServiceTerms(error),
            crate::auth::TermsCheck::Missing(missing) => LoginError::TermsRequired { missing },
        })?;
    Ok(SocialLogin {
        user: ProviderUser::Kakao(user),
        tokens: Some(tokens),
        service_terms,
    })
}

/// Naver: the code exchanged (an `error` field fails whatever the status), the id_token
/// verified (its `nonce` when it carries one), `/v1/nid/me`'s id tied to its `sub`.
async fn identify_naver<S, L>(
    auth: &KakaoAuth<S, L>,
    code: &str,
    pending: &PendingLogin,
) -> Result<SocialLogin, LoginError>
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    let naver = auth.naver().ok_or(LoginError::ProviderMismatch)?;
    let tokens = naver
        .client
        .exchange_code(code, &pending.pkce_verifier, &pending.state)
        .await
        .map_err(LoginError::Naver)?;
    let id_token = tokens
        .id_token
        .as_ref()
        .ok_or(LoginError::IdToken(IdTokenError::Missing))?;
    let nonce = pending
        .nonce
        .as_deref()
        .ok_or(LoginError::IdToken(IdTokenError::NonceMissing))?;
    let claims = naver
        .verifier
        .verify_nonce_if_present(id_token.secret(), nonce)
        .await
        .map_err(LoginError::IdToken)?;
    let user = naver
        .client
        .user_info(&tokens.access_token)
        .await
        .map_err(LoginError::Naver)?;
    claims
        .check_subject_text(&user.id)
        .map_err(LoginError::IdToken)?;
    Ok(SocialLogin {
        user: ProviderUser::Naver(user),
        tokens: Some(tokens),
        service_terms: None,
    })
}

/// Verifies the id_token of a login that sent `nonce` at authorize. A login started
/// without a nonce (begun before `openid` was configured) cannot be verified and fails.
async fn verify_id_token(
    verifier: &IdTokenVerifier,
    tokens: &Tokens,
    nonce: Option<&str>,
) -> Result<IdTokenClaims, LoginError> {
    let id_token = tokens
        .id_token
        .as_ref()
        .ok_or(LoginError::IdToken(IdTokenError::Missing))?;
    let nonce = nonce.ok_or(LoginError::IdToken(IdTokenError::NonceMissing))?;
    verifier
        .verify(id_token.secret(), nonce)
        .await
        .map_err(LoginError::IdToken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callback_query_is_size_limited() {
        let at_limit = format!("code={}&state=s", "c".repeat(MAX_QUERY_LEN - 13));
        assert_eq!(at_limit.len(), MAX_QUERY_LEN);
        let parsed = parse_callback_query(&at_limit).expect("at the limit");
        assert_eq!(parsed.state.as_deref(), Some("s"));
        let over = format!("{at_limit}x");
        assert!(matches!(
            parse_callback_query(&over),
            Err(LoginError::MalformedCallback(_))
        ));
    }

    #[test]
    fn callback_queries_parse_leniently_and_never_panic() {
        let q =
            parse_callback_query("code=a%20b&state=s&error=access_denied&extra=1").expect("parses");
        assert_eq!(q.code.as_deref(), Some("a b"));
        assert_eq!(q.error.as_deref(), Some("access_denied"));
        for odd in ["", "&&&", "code", "code=%ZZ", "state=%FF%FE", "=x"] {
            let _ = parse_callback_query(odd);
        }
    }
}
