//! Who is logged in: the one session entry the library owns, and the middleware that
//! re-checks it against the app's store on every request.
//!
//! At login the session gets one entry, [`SESSION_USER_KEY`]: the user's id, the SHA-256
//! of their [`session_auth_hash`](crate::store::AuthUser::session_auth_hash) and a random
//! CSRF token. On every request [`KakaoIdentity`] reads it, asks the store for the user
//! ([`get_user`](crate::store::UserStore::get_user)) and compares the hash in
//! constant time. A user who is gone, or whose hash changed, is treated as anonymous and
//! the entry is removed: ending every session of a user is one change to that user, and
//! it works with cookie-only sessions too.

use std::any::Any;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_session::{Session, SessionExt, SessionInsertError};
use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse};
use oauth2::CsrfToken;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::KakaoAuthConfig;
use crate::store::{AuthUser, IdOf, UserStore};

/// The session entry that holds the logged-in user (JSON: `id`, `hash`, `csrf`).
///
/// A server-side session store may read the id from its value with [`user_id_in_entry`]
/// (for instance to index sessions by user); nothing else should touch it.
pub const SESSION_USER_KEY: &str = "kakao_auth.user";

/// The form field that carries the CSRF token in state-changing forms.
pub const CSRF_FIELD: &str = "csrf_token";

#[derive(Serialize, Deserialize)]
struct SessionUser<Id> {
    id: Id,
    /// Hex SHA-256 of the user's session auth hash at login.
    hash: String,
    csrf: String,
}

#[derive(Deserialize)]
struct SessionUserId<Id> {
    id: Id,
}

/// The logged-in user's id in the value of the session entry [`SESSION_USER_KEY`], or
/// `None` when the value is not a well-formed entry.
///
/// A server-side session store sees each session's entries as strings; this reads the
/// one the library owns without tying the store to the library's internals:
///
/// ```
/// use actix_kakao_auth::session::{user_id_in_entry, SESSION_USER_KEY};
/// # let state = std::collections::HashMap::from([(SESSION_USER_KEY.to_owned(), r#"{"id":42,"hash":"","csrf":""}"#.to_owned())]);
/// let user: Option<i64> = state.get(SESSION_USER_KEY).and_then(|raw| user_id_in_entry(raw));
/// assert_eq!(user, Some(42));
/// assert_eq!(user_id_in_entry::<i64>("not json"), None);
/// ```
pub fn user_id_in_entry<Id: DeserializeOwned>(raw: &str) -> Option<Id> {
    serde_json::from_str::<SessionUserId<Id>>(raw)
        .ok()
        .map(|entry| entry.id)
}

fn auth_hash_hex<U: AuthUser>(user: &U) -> String {
    crate::hex::encode(&Sha256::digest(user.session_auth_hash()))
}

/// Logs `user` in: renews the session id (session fixation defence) and stores the
/// entry with a fresh CSRF token, which it returns.
pub(crate) fn log_in<U: AuthUser>(
    session: &Session,
    user: &U,
) -> Result<String, SessionInsertError> {
    let csrf = CsrfToken::new_random_len(32).secret().clone();
    session.renew();
    session.insert(
        SESSION_USER_KEY,
        SessionUser {
            id: user.id(),
            hash: auth_hash_hex(user),
            csrf: csrf.clone(),
        },
    )?;
    Ok(csrf)
}

/// The logged-in user of this request, as checked by [`KakaoIdentity`].
pub(crate) struct Authenticated<U> {
    pub(crate) user: U,
}

/// That someone is logged in, for code that does not know the user type.
#[derive(Clone)]
pub(crate) struct LoggedIn {
    /// The session's CSRF token.
    pub(crate) csrf: String,
}

/// The logged-in marker of `req`, when the request carries a valid login.
pub(crate) fn logged_in(req: &HttpRequest) -> Option<LoggedIn> {
    req.extensions().get::<LoggedIn>().cloned()
}

/// The logged-in user of `req`, when the request carries a valid login.
pub(crate) fn user_of<U: AuthUser>(req: &HttpRequest) -> Option<U> {
    req.extensions()
        .get::<Authenticated<U>>()
        .map(|a| a.user.clone())
}

/// The login configuration and the user store, placed in every request's extensions.
#[derive(Clone)]
struct AuthContext {
    config: Arc<KakaoAuthConfig>,
    store: Arc<dyn Any + Send + Sync>,
}

/// The configuration of the [`KakaoIdentity`] serving this request, if any.
pub(crate) fn config_of(req: &HttpRequest) -> Option<Arc<KakaoAuthConfig>> {
    req.extensions()
        .get::<AuthContext>()
        .map(|c| Arc::clone(&c.config))
}

/// Why a typed view of the request's login is not available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Misconfigured {
    /// No [`KakaoIdentity`] wraps the route.
    NoIdentity,
    /// The [`KakaoIdentity`] around the route serves another store type.
    OtherStore,
}

/// The store of the [`KakaoIdentity`] serving this request, when it is an `S`.
pub(crate) fn store_of<S: UserStore>(req: &HttpRequest) -> Result<Arc<S>, Misconfigured> {
    let context = req
        .extensions()
        .get::<AuthContext>()
        .cloned()
        .ok_or(Misconfigured::NoIdentity)?;
    Arc::downcast::<S>(context.store).map_err(|_| Misconfigured::OtherStore)
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// The identity middleware, built by [`KakaoAuth::identity`](crate::KakaoAuth::identity):
/// needs the app's `SessionMiddleware` around it (see
/// [`KakaoAuth::session_middleware`](crate::KakaoAuth::session_middleware) for the
/// recommended settings). Requests served without one are anonymous.
pub struct KakaoIdentity<S> {
    store: Arc<S>,
    config: Arc<KakaoAuthConfig>,
}

impl<S> Clone for KakaoIdentity<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            config: Arc::clone(&self.config),
        }
    }
}

impl<S> std::fmt::Debug for KakaoIdentity<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KakaoIdentity").finish_non_exhaustive()
    }
}

impl<S> KakaoIdentity<S> {
    pub(crate) fn new(store: Arc<S>, config: Arc<KakaoAuthConfig>) -> Self {
        Self { store, config }
    }
}

impl<Svc, B, S> Transform<Svc, ServiceRequest> for KakaoIdentity<S>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
    S: UserStore,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = KakaoIdentityService<Svc, S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: Svc) -> Self::Future {
        ready(Ok(KakaoIdentityService {
            service: Rc::new(service),
            identity: self.clone(),
        }))
    }
}

/// The service behind [`KakaoIdentity`].
#[doc(hidden)]
pub struct KakaoIdentityService<Svc, S> {
    service: Rc<Svc>,
    identity: KakaoIdentity<S>,
}

impl<Svc, S> std::fmt::Debug for KakaoIdentityService<Svc, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KakaoIdentityService")
            .finish_non_exhaustive()
    }
}

/// What the session says about the user, before the store is asked.
enum Claimed<Id> {
    Anonymous,
    Unreadable,
    User(SessionUser<Id>),
}

fn claimed<Id: DeserializeOwned>(session: &Session) -> Claimed<Id> {
    match session.get::<SessionUser<Id>>(SESSION_USER_KEY) {
        Ok(None) => Claimed::Anonymous,
        Ok(Some(entry)) => Claimed::User(entry),
        Err(_) => Claimed::Unreadable,
    }
}

impl<Svc, B, S> Service<ServiceRequest> for KakaoIdentityService<Svc, S>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
    S: UserStore,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = BoxFuture<Result<Self::Response, Error>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let store = Arc::clone(&self.identity.store);
        req.extensions_mut().insert(AuthContext {
            config: Arc::clone(&self.identity.config),
            store: Arc::clone(&store) as Arc<dyn Any + Send + Sync>,
        });
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let session = req.get_session();
            match claimed::<IdOf<S>>(&session) {
                Claimed::Anonymous => {}
                Claimed::Unreadable => {
                    tracing::info!("unreadable login entry in the session: removed");
                    session.remove(SESSION_USER_KEY);
                }
                Claimed::User(entry) => match store.get_user(&entry.id).await {
                    Ok(Some(user)) if hash_matches(&user, &entry.hash) => {
                        let mut extensions = req.extensions_mut();
                        extensions.insert(LoggedIn { csrf: entry.csrf });
                        extensions.insert(Authenticated { user });
                    }
                    Ok(found) => {
                        crate::metrics::session_ended("user_gone");
                        tracing::info!(
                            user = ?entry.id,
                            gone = found.is_none(),
                            "session of a user who is gone or whose sessions were ended: treated as anonymous"
                        );
                        session.remove(SESSION_USER_KEY);
                    }
                    Err(error) => {
                        tracing::error!(%error, "the user store failed while checking a session");
                        let response = HttpResponse::ServiceUnavailable()
                            .content_type("text/plain; charset=utf-8")
                            .body("service unavailable");
                        return Ok(req.into_response(response).map_into_right_body());
                    }
                },
            }
            service
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        })
    }
}

fn hash_matches<U: AuthUser>(user: &U, stored: &str) -> bool {
    auth_hash_hex(user)
        .as_bytes()
        .ct_eq(stored.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct U(i64, Vec<u8>);

    impl AuthUser for U {
        type Id = i64;
        fn id(&self) -> i64 {
            self.0
        }
        fn session_auth_hash(&self) -> Vec<u8> {
            self.1.clone()
        }
    }

    #[test]
    fn a_changed_session_auth_hash_no_longer_matches() {
        let stored = auth_hash_hex(&U(1, b"epoch-1".to_vec()));
        assert!(hash_matches(&U(1, b"epoch-1".to_vec()), &stored));
        assert!(!hash_matches(&U(1, b"epoch-2".to_vec()), &stored));
        assert!(!hash_matches(&U(1, Vec::new()), &stored));
    }

    #[test]
    fn the_user_id_is_read_only_from_well_formed_entries() {
        assert_eq!(
            user_id_in_entry::<i64>(r#"{"id":7,"hash":"h","csrf":"c"}"#),
            Some(7)
        );
        assert_eq!(
            user_id_in_entry::<String>(r#"{"id":"u-7"}"#).as_deref(),
            Some("u-7")
        );
        assert_eq!(user_id_in_entry::<i64>(r#"{"id":"seven"}"#), None);
        assert_eq!(user_id_in_entry::<i64>("not json"), None);
    }
}
