//! [`CurrentUser`]: the logged-in user's local id, as an extractor.

use std::future::{ready, Ready};

use actix_identity::IdentityExt;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};

/// The logged-in user (the id the store returned at login, see
/// [`AuthUser::auth_id`](crate::store::AuthUser::auth_id)).
///
/// As a handler argument it rejects anonymous requests with a redirect to the login URL
/// (keeping `?next=`); use `Option<CurrentUser>` where login is optional.
///
/// ```no_run
/// use actix_kakao_auth::CurrentUser;
/// async fn profile(user: CurrentUser) -> String {
///     format!("user #{}", user.id())
/// }
/// async fn home(user: Option<CurrentUser>) -> &'static str {
///     if user.is_some() { "welcome back" } else { "hello" }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    id: String,
}

impl CurrentUser {
    /// The local user id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Rejection of [`CurrentUser`] for an anonymous request: a redirect to the login URL.
#[derive(Debug, thiserror::Error)]
#[error("login required")]
pub struct NotLoggedIn {
    redirect_to: HttpRequest,
}

impl ResponseError for NotLoggedIn {
    fn error_response(&self) -> HttpResponse {
        crate::middleware::login_redirect(&self.redirect_to)
    }
}

impl FromRequest for CurrentUser {
    type Error = NotLoggedIn;
    type Future = Ready<Result<Self, NotLoggedIn>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = req
            .get_identity()
            .ok()
            .and_then(|identity| identity.id().ok())
            .map(|id| CurrentUser { id })
            .ok_or_else(|| NotLoggedIn {
                redirect_to: req.clone(),
            });
        ready(result)
    }
}
