//! [`KakaoAuth`]: the configured login, shared by the middleware and the routes.

use std::sync::Arc;

use actix_session::storage::SessionStore;
use actix_web::web;

use crate::client::KakaoClient;
use crate::config::KakaoAuthConfig;
use crate::error::KakaoApiError;
use crate::middleware::KakaoAuthMiddleware;
use crate::oidc::IdTokenVerifier;
use crate::store::KakaoUserStore;

/// Kakao login for one application: configuration, the Kakao client and the app's store.
///
/// Cheap to clone (one `Arc`); build it once, before `HttpServer::new`, and clone it into
/// the app factory. See the [crate docs](crate) for the five-line integration.
pub struct KakaoAuth<S> {
    inner: Arc<Inner<S>>,
}

struct Inner<S> {
    config: Arc<KakaoAuthConfig>,
    client: KakaoClient,
    verifier: Option<IdTokenVerifier>,
    refresh_gate: crate::account::RefreshGate,
    store: S,
}

impl<S> Clone for KakaoAuth<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> std::fmt::Debug for KakaoAuth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KakaoAuth")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl<S: KakaoUserStore> KakaoAuth<S> {
    /// Builds the login from a configuration and the app's user store.
    pub fn new(config: KakaoAuthConfig, store: S) -> Result<Self, KakaoApiError> {
        let config = Arc::new(config);
        let client = KakaoClient::new(Arc::clone(&config))?;
        let verifier = config
            .oidc_enabled()
            .then(|| IdTokenVerifier::new(client.clone()));
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                client,
                verifier,
                refresh_gate: crate::account::RefreshGate::default(),
                store,
            }),
        })
    }

    /// The session + identity middleware, for `App::wrap`. `session_store` is any
    /// `actix-session` store: a server-side one (database, Redis) is recommended, because
    /// logout then ends the session on the server. With `CookieSessionStore` the whole
    /// session lives in the (encrypted) cookie and a copied cookie stays valid until it
    /// expires: logout cannot revoke it.
    pub fn middleware<St: SessionStore + 'static>(
        &self,
        session_store: St,
    ) -> KakaoAuthMiddleware<St> {
        KakaoAuthMiddleware::new(session_store, Arc::clone(&self.inner.config))
    }

    /// The routes, for `App::configure`: the login page redirect (`/login/`), the begin
    /// route, the callback (the redirect URI's path) and `POST /logout/`.
    pub fn routes(&self) -> impl FnOnce(&mut web::ServiceConfig) + 'static {
        let auth = self.clone();
        move |cfg| crate::scope::register(cfg, auth)
    }

    /// The configuration.
    pub fn config(&self) -> &KakaoAuthConfig {
        &self.inner.config
    }

    /// The Kakao client (for kapi calls of your own).
    pub fn client(&self) -> &KakaoClient {
        &self.inner.client
    }

    /// The id_token verifier, present when `openid` is among the scopes.
    pub fn id_token_verifier(&self) -> Option<&IdTokenVerifier> {
        self.inner.verifier.as_ref()
    }

    /// One refresh at a time per user.
    pub(crate) fn refresh_gate(&self) -> &crate::account::RefreshGate {
        &self.inner.refresh_gate
    }

    /// The app's store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }
}
