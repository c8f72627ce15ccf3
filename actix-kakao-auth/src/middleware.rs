//! [`LoginRequired`], the guard middleware, and the redirect it answers with.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header;
use actix_web::{Error, HttpRequest, HttpResponse};

use crate::identity::{config_of, logged_in};
use crate::next_url::login_url_with_next;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Guard middleware: anonymous requests are redirected to the login URL with
/// `?next=<percent-encoded path and query>`; logged-in requests pass through.
///
/// ```no_run
/// # use actix_web::{web, App, HttpResponse};
/// use actix_kakao_auth::LoginRequired;
/// let protected = web::scope("/members").wrap(LoginRequired).route("/", web::get().to(HttpResponse::Ok));
/// ```
///
/// "Logged in" means the identity check of this request passed: the session names a
/// user that the store still has, with an unchanged session auth hash. It needs
/// [`KakaoAuth::identity`](crate::KakaoAuth::identity) around it.
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
        if logged_in(req.request()).is_some() {
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
        tracing::error!("LoginRequired used without .wrap(auth.identity()) around the app");
        return HttpResponse::InternalServerError().finish();
    };
    let uri = req.uri();
    let next = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    HttpResponse::Found()
        .insert_header((
            header::LOCATION,
            login_url_with_next(&config.paths().login_url, next),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
