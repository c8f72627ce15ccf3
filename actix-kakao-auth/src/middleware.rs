//! The one `.wrap()`: sessions (`actix-session`) + identity (`actix-identity`) + the login
//! configuration for guards and extractors; and [`LoginRequired`], the guard middleware.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_identity::{IdentityExt, IdentityMiddleware};
use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_session::storage::SessionStore;
use actix_session::SessionMiddleware;
use actix_web::body::EitherBody;
use actix_web::cookie::SameSite;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header;
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse};
use futures_util::FutureExt;

use crate::config::KakaoAuthConfig;
use crate::next_url::login_url_with_next;

/// The login configuration, placed in every request's extensions by the middleware.
#[derive(Clone)]
struct AuthContext(Arc<KakaoAuthConfig>);

/// The configuration of the [`KakaoAuthMiddleware`] serving this request, if any.
pub(crate) fn config_of(req: &HttpRequest) -> Option<Arc<KakaoAuthConfig>> {
    req.extensions()
        .get::<AuthContext>()
        .map(|c| Arc::clone(&c.0))
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Sessions, identity and login context in one middleware. Built by
/// [`KakaoAuth::middleware`](crate::KakaoAuth::middleware).
///
/// The session cookie is `HttpOnly`, `SameSite=Lax`, `Secure` when the redirect URI is
/// https, encrypted, and persistent for the configured session TTL (extended when the
/// session changes).
pub struct KakaoAuthMiddleware<St: SessionStore + 'static> {
    session: SessionMiddleware<St>,
    config: Arc<KakaoAuthConfig>,
}

impl<St: SessionStore + 'static> std::fmt::Debug for KakaoAuthMiddleware<St> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KakaoAuthMiddleware")
            .finish_non_exhaustive()
    }
}

impl<St: SessionStore + 'static> KakaoAuthMiddleware<St> {
    pub(crate) fn new(store: St, config: Arc<KakaoAuthConfig>) -> Self {
        let settings = &config.session;
        let ttl = actix_web::cookie::time::Duration::seconds(
            i64::try_from(settings.ttl.as_secs()).unwrap_or(i64::MAX),
        );
        let session = SessionMiddleware::builder(store, settings.key.clone())
            .cookie_name(settings.cookie_name.clone())
            .cookie_secure(settings.secure)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".to_owned())
            .session_lifecycle(
                PersistentSession::default()
                    .session_ttl(ttl)
                    .session_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
            )
            .build();
        Self { session, config }
    }
}

/// Inserts the [`AuthContext`] into each request, innermost of the three layers.
#[doc(hidden)]
pub struct ContextService<S> {
    service: S,
    context: AuthContext,
}

impl<S> std::fmt::Debug for ContextService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextService").finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for ContextService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = S::Future;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        req.extensions_mut().insert(self.context.clone());
        self.service.call(req)
    }
}

type IdentityService<S> =
    <IdentityMiddleware as Transform<ContextService<S>, ServiceRequest>>::Transform;
type SessionService<S, St> =
    <SessionMiddleware<St> as Transform<IdentityService<S>, ServiceRequest>>::Transform;

impl<S, B, St> Transform<S, ServiceRequest> for KakaoAuthMiddleware<St>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: actix_web::body::MessageBody + 'static,
    St: SessionStore + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = SessionService<S, St>;
    type InitError = ();
    type Future = BoxFuture<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let context = ContextService {
            service,
            context: AuthContext(Arc::clone(&self.config)),
        };
        // Both inner transforms are ready immediately (they build no resources).
        match IdentityMiddleware::default()
            .new_transform(context)
            .now_or_never()
        {
            Some(Ok(identity)) => Box::pin(self.session.new_transform(identity)),
            _ => Box::pin(ready(Err(()))),
        }
    }
}

/// Guard middleware: anonymous requests are redirected to the login URL with
/// `?next=<percent-encoded path and query>`; logged-in requests pass through.
///
/// ```no_run
/// # use actix_web::{web, App, HttpResponse};
/// use actix_kakao_auth::LoginRequired;
/// let protected = web::scope("/members").wrap(LoginRequired).route("/", web::get().to(HttpResponse::Ok));
/// ```
///
/// It needs [`KakaoAuthMiddleware`] around it (the app-level `.wrap()`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LoginRequired;

impl<S, B> Transform<S, ServiceRequest> for LoginRequired
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = LoginRequiredService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(LoginRequiredService {
            service: Rc::new(service),
        }))
    }
}

/// The service behind [`LoginRequired`].
#[doc(hidden)]
pub struct LoginRequiredService<S> {
    service: Rc<S>,
}

impl<S> std::fmt::Debug for LoginRequiredService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequiredService")
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for LoginRequiredService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = BoxFuture<Result<Self::Response, Error>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if req.get_identity().is_ok() {
            let service = Rc::clone(&self.service);
            return Box::pin(async move {
                service
                    .call(req)
                    .await
                    .map(ServiceResponse::map_into_left_body)
            });
        }
        let response = login_redirect(req.request());
        Box::pin(async move { Ok(req.into_response(response).map_into_right_body()) })
    }
}

/// The redirect an anonymous request gets: `login_url?next=<path and query>`.
pub(crate) fn login_redirect(req: &HttpRequest) -> HttpResponse {
    let Some(config) = config_of(req) else {
        tracing::error!(
            "LoginRequired used without KakaoAuth::middleware() wrapped around the app"
        );
        return HttpResponse::InternalServerError().finish();
    };
    let uri = req.uri();
    let next = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    HttpResponse::Found()
        .insert_header((
            header::LOCATION,
            login_url_with_next(config.login_url(), next),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
