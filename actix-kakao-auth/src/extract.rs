//! [`CurrentUser`]: the logged-in user, the app's own type, as an extractor.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};

use crate::identity::{logged_in, user_of};
use crate::store::AuthUser;

/// The logged-in user, as the app's store returned it for this request.
///
/// The identity middleware fetched it with
/// [`get_user`](crate::store::KakaoUserStore::get_user) and checked its session auth
/// hash, so a handler never sees a user that is gone. As a handler argument it rejects
/// anonymous requests with a redirect to the login URL (keeping `?next=`); use
/// `Option<CurrentUser<U>>` where login is optional. `U` must be the store's `User`
/// type, else every request looks anonymous.
///
/// ```no_run
/// use actix_kakao_auth::CurrentUser;
/// # #[derive(Clone)] struct User { id: i64, nickname: String }
/// # impl actix_kakao_auth::store::AuthUser for User {
/// #     type Id = i64;
/// #     fn id(&self) -> i64 { self.id }
/// # }
/// async fn profile(user: CurrentUser<User>) -> String {
///     format!("{} (#{})", user.nickname, user.id)
/// }
/// async fn home(user: Option<CurrentUser<User>>) -> &'static str {
///     if user.is_some() { "welcome back" } else { "hello" }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CurrentUser<U> {
    user: U,
    csrf_token: String,
}

impl<U> CurrentUser<U> {
    /// The user.
    pub fn user(&self) -> &U {
        &self.user
    }

    /// The user, by value.
    pub fn into_inner(self) -> U {
        self.user
    }

    /// The session's CSRF token: render it as the hidden field
    /// [`CSRF_FIELD`](crate::identity::CSRF_FIELD) in every form that posts to the
    /// logout and disconnect routes (HTML-escape it like any value; it is URL-safe
    /// base64).
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl<U> std::ops::Deref for CurrentUser<U> {
    type Target = U;

    fn deref(&self) -> &U {
        &self.user
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

impl<U: AuthUser> FromRequest for CurrentUser<U> {
    type Error = NotLoggedIn;
    type Future = Ready<Result<Self, NotLoggedIn>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = user_of::<U>(req).zip(logged_in(req));
        ready(
            found
                .map(|(user, login)| CurrentUser {
                    user,
                    csrf_token: login.csrf,
                })
                .ok_or_else(|| NotLoggedIn {
                    redirect_to: req.clone(),
                }),
        )
    }
}
