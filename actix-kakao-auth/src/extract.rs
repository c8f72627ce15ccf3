//! The extractors: [`CurrentUser<S>`] (the logged-in user, the store's own type) and
//! [`AuthSession<S>`] (the login of this request, with `log_in` / `log_out`).
//!
//! Both are typed by the app's [`UserStore`], not by its user type, so the user a
//! handler receives is the one that store returns: a type that is not a store does not
//! compile, and a store other than the one [`KakaoAuth::identity`](crate::KakaoAuth::identity)
//! was built with is an error at the first request, never a silent "anonymous".
//!
//! ```compile_fail
//! # use actix_kakao_auth::CurrentUser;
//! #[derive(Clone)]
//! struct User { id: i64 }
//! // `User` is a user, not a store: this does not compile.
//! async fn profile(user: CurrentUser<User>) -> String { user.id.to_string() }
//! ```

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_session::{Session, SessionExt, SessionInsertError};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};

use crate::identity::{logged_in, store_of, user_of, Misconfigured};
use crate::store::{AuthUser, UserStore};

/// The logged-in user, as the app's store `S` returned it for this request.
///
/// The identity middleware fetched it with
/// [`get_user`](crate::store::UserStore::get_user) and checked its session auth
/// hash, so a handler never sees a user that is gone. It dereferences to `S::User`. As a
/// handler argument it rejects anonymous requests with a redirect to the login URL
/// (keeping `?next=`); use `Option<CurrentUser<S>>` where login is optional.
///
/// ```no_run
/// use actix_kakao_auth::CurrentUser;
/// # use actix_kakao_auth::store::{AuthUser, SocialLogin, UserStore};
/// # #[derive(Clone)] struct User { id: i64, nickname: String }
/// # impl AuthUser for User { type Id = i64; fn id(&self) -> i64 { self.id } }
/// # struct Users;
/// # impl UserStore for Users {
/// #     type User = User;
/// #     type Error = std::io::Error;
/// #     async fn find_or_create(&self, _: &SocialLogin) -> Result<User, std::io::Error> { unimplemented!() }
/// #     async fn get_user(&self, _: &i64) -> Result<Option<User>, std::io::Error> { Ok(None) }
/// # }
/// async fn profile(user: CurrentUser<Users>) -> String {
///     format!("{} (#{})", user.nickname, user.id)
/// }
/// async fn home(user: Option<CurrentUser<Users>>) -> &'static str {
///     if user.is_some() { "welcome back" } else { "hello" }
/// }
/// ```
pub struct CurrentUser<S: UserStore> {
    user: S::User,
    csrf_token: String,
}

impl<S: UserStore> Clone for CurrentUser<S> {
    fn clone(&self) -> Self {
        Self {
            user: self.user.clone(),
            csrf_token: self.csrf_token.clone(),
        }
    }
}

impl<S: UserStore> std::fmt::Debug for CurrentUser<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentUser")
            .field("id", &self.user.id())
            .finish_non_exhaustive()
    }
}

impl<S: UserStore> CurrentUser<S> {
    /// The user.
    pub fn user(&self) -> &S::User {
        &self.user
    }

    /// The user, by value.
    pub fn into_inner(self) -> S::User {
        self.user
    }

    /// The session's CSRF token: render it as the hidden field
    /// [`CSRF_FIELD`](crate::session::CSRF_FIELD) in every form that posts to the
    /// logout and disconnect routes (HTML-escape it like any value; it is URL-safe
    /// base64).
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl<S: UserStore> std::ops::Deref for CurrentUser<S> {
    type Target = S::User;

    fn deref(&self) -> &S::User {
        &self.user
    }
}

/// Rejection of [`CurrentUser`]: a redirect to the login URL for an anonymous request;
/// an opaque 500 (with an ERROR log line naming the cause) when the route is not wrapped
/// in the identity middleware of the same store.
#[derive(Debug, thiserror::Error)]
#[error("login required")]
pub struct NotLoggedIn {
    redirect_to: HttpRequest,
    misconfigured: Option<Misconfigured>,
}

impl ResponseError for NotLoggedIn {
    fn status_code(&self) -> StatusCode {
        match self.misconfigured {
            None => StatusCode::FOUND,
            Some(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self.misconfigured {
            None => crate::middleware::login_redirect(&self.redirect_to),
            Some(_) => internal_error(),
        }
    }
}

fn internal_error() -> HttpResponse {
    HttpResponse::InternalServerError()
        .content_type("text/plain; charset=utf-8")
        .body("internal server error")
}

/// Logs what is wrong with the app's wiring, naming the fix.
fn report(misconfigured: Misconfigured, extractor: &str) {
    match misconfigured {
        Misconfigured::NoIdentity => tracing::error!(
            "{extractor} used on a route without the identity middleware: add \
             .wrap(auth.identity()) (inside the SessionMiddleware) to the App"
        ),
        Misconfigured::OtherStore => tracing::error!(
            "{extractor} names a store other than the one KakaoAuth::identity() was built with"
        ),
    }
}

impl<S: UserStore> FromRequest for CurrentUser<S> {
    type Error = NotLoggedIn;
    type Future = Ready<Result<Self, NotLoggedIn>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Err(misconfigured) = store_of::<S>(req) {
            report(misconfigured, "CurrentUser");
            return ready(Err(NotLoggedIn {
                redirect_to: req.clone(),
                misconfigured: Some(misconfigured),
            }));
        }
        let found = user_of::<S::User>(req).zip(logged_in(req));
        ready(
            found
                .map(|(user, login)| CurrentUser {
                    user,
                    csrf_token: login.csrf,
                })
                .ok_or_else(|| NotLoggedIn {
                    redirect_to: req.clone(),
                    misconfigured: None,
                }),
        )
    }
}

/// The login of this request, for handlers that log users in or out themselves (an
/// account-switching page, a test login, "log out everywhere").
///
/// [`log_in`](Self::log_in) renews the session id (session fixation defence) exactly as
/// the Kakao callback does; [`log_out`](Self::log_out) purges the session on the
/// server. Extracting it never fails for an anonymous request; it fails with an opaque
/// 500 when the route is not wrapped in the identity middleware of store `S`.
///
/// ```no_run
/// use actix_kakao_auth::session::AuthSessionError;
/// use actix_kakao_auth::AuthSession;
/// use actix_web::HttpResponse;
/// # use actix_kakao_auth::store::{AuthUser, SocialLogin, UserStore};
/// # #[derive(Clone)] struct User { id: i64 }
/// # impl AuthUser for User { type Id = i64; fn id(&self) -> i64 { self.id } }
/// # struct Users;
/// # impl UserStore for Users {
/// #     type User = User;
/// #     type Error = std::io::Error;
/// #     async fn find_or_create(&self, _: &SocialLogin) -> Result<User, std::io::Error> { unimplemented!() }
/// #     async fn get_user(&self, _: &i64) -> Result<Option<User>, std::io::Error> { Ok(None) }
/// # }
/// async fn sign_out_everywhere(mut auth: AuthSession<Users>) -> Result<HttpResponse, AuthSessionError> {
///     auth.log_out_everywhere().await?;
///     Ok(HttpResponse::SeeOther().insert_header(("Location", "/")).finish())
/// }
/// ```
pub struct AuthSession<S: UserStore> {
    user: Option<S::User>,
    csrf_token: Option<String>,
    session: Session,
    store: Arc<S>,
}

impl<S: UserStore> std::fmt::Debug for AuthSession<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSession")
            .field("user", &self.user.as_ref().map(AuthUser::id))
            .finish_non_exhaustive()
    }
}

/// What [`AuthSession`]'s changes can fail with. As a response it is an opaque 500 (401
/// for [`NotLoggedIn`](Self::NotLoggedIn)); the cause is in the message, for the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthSessionError {
    /// The session could not be written.
    #[error("the session could not be written: {0}")]
    Session(#[from] SessionInsertError),
    /// The request has no logged-in user.
    #[error("nobody is logged in")]
    NotLoggedIn,
    /// The store does not implement
    /// [`end_all_sessions`](crate::store::UserStore::end_all_sessions).
    #[error(
        "the user store cannot end every session of a user (implement UserStore::end_all_sessions)"
    )]
    Unsupported,
    /// The user store failed.
    #[error("the user store failed: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ResponseError for AuthSessionError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotLoggedIn => StatusCode::UNAUTHORIZED,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if !matches!(self, Self::NotLoggedIn) {
            tracing::error!(error = %self, "changing the login of a session failed");
        }
        HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(match self {
                Self::NotLoggedIn => "login required",
                _ => "internal server error",
            })
    }
}

impl<S: UserStore> AuthSession<S> {
    /// The logged-in user, checked against the store for this request; after
    /// [`log_in`](Self::log_in) the user just logged in, after
    /// [`log_out`](Self::log_out) `None`.
    pub fn user(&self) -> Option<&S::User> {
        self.user.as_ref()
    }

    /// The session's CSRF token, while someone is logged in (see
    /// [`CurrentUser::csrf_token`]).
    pub fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }

    /// Logs `user` in: renews the session id, keeps the user's id and a digest of their
    /// session auth hash, and a fresh CSRF token. The user must be one the store's
    /// [`get_user`](UserStore::get_user) finds, or the next request is anonymous.
    pub fn log_in(&mut self, user: S::User) -> Result<(), AuthSessionError> {
        let csrf = crate::identity::log_in(&self.session, &user)?;
        self.user = Some(user);
        self.csrf_token = Some(csrf);
        Ok(())
    }

    /// Ends this session: purged from the session store (a server-side store deletes it,
    /// so a copy of the cookie no longer works). Kakao's tokens are left alone; the
    /// library's `POST` logout route also revokes the stored access token.
    pub fn log_out(&mut self) {
        if self.user.take().is_some() {
            crate::metrics::session_ended("logout");
        }
        self.csrf_token = None;
        self.session.purge();
    }

    /// Ends every session of the logged-in user, on every instance (through the store's
    /// [`end_all_sessions`](UserStore::end_all_sessions)), this one included.
    pub async fn log_out_everywhere(&mut self) -> Result<(), AuthSessionError> {
        let user = self.user.as_ref().ok_or(AuthSessionError::NotLoggedIn)?;
        let ended = self
            .store
            .end_all_sessions(&user.id())
            .await
            .map_err(|e| AuthSessionError::Store(Box::new(e)))?;
        if !ended {
            return Err(AuthSessionError::Unsupported);
        }
        crate::metrics::session_ended("everywhere");
        self.user = None;
        self.csrf_token = None;
        self.session.purge();
        Ok(())
    }
}

/// Rejection of [`AuthSession`]: the route is not wrapped in the identity middleware of
/// the same store (an opaque 500; the log names the fix).
#[derive(Debug, thiserror::Error)]
#[error("the identity middleware of this store does not wrap the route")]
pub struct IdentityMissing(());

impl ResponseError for IdentityMissing {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        internal_error()
    }
}

impl<S: UserStore> FromRequest for AuthSession<S> {
    type Error = IdentityMissing;
    type Future = Ready<Result<Self, IdentityMissing>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let store = match store_of::<S>(req) {
            Ok(store) => store,
            Err(misconfigured) => {
                report(misconfigured, "AuthSession");
                return ready(Err(IdentityMissing(())));
            }
        };
        let login = logged_in(req);
        ready(Ok(AuthSession {
            user: user_of::<S::User>(req).filter(|_| login.is_some()),
            csrf_token: login.map(|l| l.csrf),
            session: req.get_session(),
            store,
        }))
    }
}
