//! [`KakaoAuth`]: the configured login, shared by the middleware and the routes.

use std::sync::Arc;

use actix_session::config::SessionMiddlewareBuilder;
use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_session::storage::SessionStore;
use actix_session::SessionMiddleware;
use actix_web::cookie::SameSite;

use crate::config::KakaoAuthConfig;
use crate::error::KakaoApiError;
use crate::identity::KakaoIdentity;
use crate::kakao::client::KakaoClient;
use crate::kakao::login_options::LoginOptions;
use crate::kakao::oidc::IdTokenVerifier;
use crate::store::{IdOf, LinkStore, NoLinkStore, UserStore};

/// Kakao login for one application: configuration, the Kakao client, the app's user
/// store and (optionally) its link store.
///
/// Cheap to clone (one `Arc`); build it once, before `HttpServer::new`, and clone it into
/// the app factory. See the [crate docs](crate) for the five-line integration.
pub struct KakaoAuth<S, L = NoLinkStore> {
    inner: Arc<Inner<S, L>>,
}

struct Inner<S, L> {
    config: Arc<KakaoAuthConfig>,
    client: KakaoClient,
    /// Verifies id_tokens: the web flow's (with `openid`) and those posted by Kakao SDKs,
    /// over one JWKS cache.
    verifier: IdTokenVerifier,
    refresh_gate: crate::refresh_gate::RefreshGate,
    /// Naver Login, when configured: its client and id_token verifier.
    naver: Option<NaverParts>,
    store: Arc<S>,
    links: L,
}

/// Naver's client and the verifier of its id_tokens.
pub(crate) struct NaverParts {
    pub(crate) client: crate::naver::NaverClient,
    pub(crate) verifier: IdTokenVerifier,
}

/// Why the service-terms check did not pass.
#[derive(Debug)]
pub(crate) enum TermsCheck {
    /// `/v2/user/service_terms` could not be read.
    Kakao(KakaoApiError),
    /// These required terms are not agreed.
    Missing(Vec<String>),
}

impl<S, L> Clone for KakaoAuth<S, L> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S, L> std::fmt::Debug for KakaoAuth<S, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KakaoAuth")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl<S: UserStore> KakaoAuth<S> {
    /// Builds the login from a configuration and the app's user store, without a link
    /// store: no token refresh, revocation, disconnect or unlink webhook (see
    /// [`with_links`](Self::with_links)).
    pub fn new(config: KakaoAuthConfig, store: S) -> Result<Self, KakaoApiError> {
        Self::with_links(config, store, NoLinkStore)
    }
}

impl<S: UserStore, L: LinkStore<IdOf<S>>> KakaoAuth<S, L> {
    /// Builds the login with a [`LinkStore`] that keeps each user's Kakao tokens.
    pub fn with_links(config: KakaoAuthConfig, store: S, links: L) -> Result<Self, KakaoApiError> {
        let config = Arc::new(config);
        let client = KakaoClient::new(Arc::clone(config.client()))?;
        let verifier = IdTokenVerifier::from_config(&config, client.clone());
        let naver = match config.naver() {
            Some(settings) => {
                let client = crate::naver::NaverClient::new(settings.clone()).map_err(|e| {
                    KakaoApiError::Transport {
                        message: e.to_string(),
                        timeout: false,
                    }
                })?;
                let verifier = client
                    .id_token_verifier()
                    .leeway(config.id_token_leeway())
                    .set_time_fn({
                        let clock = Arc::clone(&config.clock);
                        move || clock()
                    });
                Some(NaverParts { client, verifier })
            }
            None => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                client,
                verifier,
                refresh_gate: crate::refresh_gate::RefreshGate::default(),
                naver,
                store: Arc::new(store),
                links,
            }),
        })
    }

    /// The identity middleware, for `App::wrap`, *inside* the app's own
    /// `SessionMiddleware` (actix runs the last `.wrap()` first, so it comes after):
    ///
    /// ```text
    /// App::new()
    ///     .wrap(auth.identity())
    ///     .wrap(auth.session_middleware(store).build())
    /// ```
    ///
    /// On every request it reads the login from the session, asks the store for the user
    /// and checks the session auth hash (see [`crate::session`]). The session middleware
    /// should have the settings [`session_middleware`](Self::session_middleware) gives:
    /// an `HttpOnly` cookie, `SameSite=Lax` (or `Strict`), `Secure` on https, and a store
    /// that never re-creates a session that was deleted (see
    /// [which stores do](crate::session#session-stores)).
    pub fn identity(&self) -> KakaoIdentity<S> {
        KakaoIdentity::new(
            Arc::clone(&self.inner.store),
            Arc::clone(&self.inner.config),
        )
    }

    /// A `SessionMiddleware` builder over `session_store` with the recommended settings,
    /// for the app to change more (a cookie domain, say) before `.build()`:
    ///
    /// * cookie name from the configuration (`sessionid`), path `/`;
    /// * `HttpOnly`, `SameSite=Lax`, `Secure` when the redirect URI is https;
    /// * persistent for the session TTL (14 days), extended when the session changes;
    /// * the key derived from [`session_secret`](crate::KakaoAuthConfigBuilder::session_secret)
    ///   (an app may use its own key instead: the pending-login cookies keep theirs).
    pub fn session_middleware<St: SessionStore + 'static>(
        &self,
        session_store: St,
    ) -> SessionMiddlewareBuilder<St> {
        let settings = &self.inner.config.session;
        let ttl = actix_web::cookie::time::Duration::seconds(
            i64::try_from(settings.ttl.as_secs()).unwrap_or(i64::MAX),
        );
        SessionMiddleware::builder(session_store, settings.key.clone())
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
    }

    /// Checks the Kakao setup without a user and without creating anything at Kakao (see
    /// [`crate::kakao::preflight`]): authorize, token, and with `openid` discovery and JWKS. Each
    /// check is bounded by `per_check`.
    pub async fn preflight(
        &self,
        per_check: std::time::Duration,
    ) -> Vec<crate::kakao::preflight::CheckResult> {
        crate::kakao::preflight::run(self.config(), self.client(), per_check).await
    }

    /// Where to send a logged-in user after a kapi call answered `-402`
    /// ([`KakaoApiError::InsufficientScope`]): the begin route asking for the missing
    /// consent items that the app allows
    /// ([`additional_consent_scopes`](crate::config::LoginDefaults::additional_consent_scopes)),
    /// then back to `next`. `None` for any other error, or when none of the missing items
    /// is allowed.
    ///
    /// ```no_run
    /// # async fn page(auth: actix_kakao_auth::KakaoAuth<impl actix_kakao_auth::store::UserStore>, token: actix_kakao_auth::kakao::secret::AccessToken) -> actix_web::HttpResponse {
    /// match auth.client().user_info(&token).await {
    ///     Ok(_user) => actix_web::HttpResponse::Ok().finish(),
    ///     Err(error) => match auth.additional_consent_url(&error, Some("/friends/")) {
    ///         Some(url) => actix_web::HttpResponse::Found().insert_header(("Location", url)).finish(),
    ///         None => actix_web::HttpResponse::BadGateway().finish(),
    ///     },
    /// }
    /// # }
    /// ```
    pub fn additional_consent_url(
        &self,
        error: &KakaoApiError,
        next: Option<&str>,
    ) -> Option<String> {
        let KakaoApiError::InsufficientScope {
            required_scopes, ..
        } = error
        else {
            return None;
        };
        let allowed: Vec<&String> = required_scopes
            .iter()
            .filter(|s| self.config().additional_consent_scopes().contains(s))
            .collect();
        if allowed.is_empty() {
            return None;
        }
        let mut options = LoginOptions::default().scopes(allowed);
        if let Some(next) = next {
            options = options.next(next);
        }
        Some(options.begin_url(self.config()))
    }

    /// Signs in with tokens a Kakao SDK obtained (see [`crate::kakao::sdk`]): checks them (and,
    /// with service terms configured, the terms), then maps the Kakao user to a local one
    /// exactly as the web flow does, handing the store the checked access token to keep.
    /// Opens no session: the mounted SDK route does that; an app with its own routing
    /// calls this and then logs the user into its session itself.
    pub async fn sign_in_with_sdk_tokens(
        &self,
        tokens: &crate::kakao::sdk::SdkTokens,
    ) -> Result<crate::kakao::sdk::SdkSignIn<S::User>, crate::kakao::sdk::SdkSignInError> {
        use crate::kakao::sdk::SdkSignInError;
        let config = self.config();
        let verified = crate::kakao::sdk::verify(
            self.client(),
            &self.inner.verifier,
            config.app_id(),
            &config.login.sdk_audiences,
            config.guard_store(),
            tokens,
        )
        .await?;
        let service_terms = if config.service_terms().is_empty() {
            None
        } else {
            let access = verified
                .access
                .as_ref()
                .ok_or(SdkSignInError::TermsRequired {
                    missing: Vec::new(),
                })?;
            match self.agreed_service_terms(&access.token).await {
                Ok(terms) => terms,
                Err(TermsCheck::Missing(missing)) => {
                    return Err(SdkSignInError::TermsRequired { missing })
                }
                Err(TermsCheck::Kakao(error)) => return Err(SdkSignInError::Kakao(error)),
            }
        };
        let kakao_id = verified.user.id;
        let login = crate::store::SocialLogin {
            user: crate::store::ProviderUser::Kakao(verified.user),
            tokens: verified.access.map(|access| crate::store::Tokens {
                access_token: access.token,
                expires_at: access.expires_at,
                refresh_token: None,
                refresh_token_expires_at: None,
                scopes: Vec::new(),
                id_token: tokens.id_token.clone(),
            }),
            service_terms,
        };
        let user = self
            .store()
            .find_or_create(&login)
            .await
            .map_err(|e| SdkSignInError::Store(Box::new(e)))?;
        Ok(crate::kakao::sdk::SdkSignIn { user, kakao_id })
    }

    /// Kakao Sync: with service terms configured, the terms the holder of `token` agreed
    /// to (`None` without configured terms); a required term not agreed is
    /// [`TermsCheck::Missing`].
    pub(crate) async fn agreed_service_terms(
        &self,
        token: &crate::kakao::secret::AccessToken,
    ) -> Result<Option<Vec<crate::store::AgreedTerm>>, TermsCheck> {
        if self.config().service_terms().is_empty() {
            return Ok(None);
        }
        let terms = self
            .client()
            .service_terms(token)
            .await
            .map_err(TermsCheck::Kakao)?;
        let missing: Vec<String> = terms
            .iter()
            .filter(|t| t.required && !t.agreed)
            .map(|t| t.tag.clone())
            .collect();
        if !missing.is_empty() {
            return Err(TermsCheck::Missing(missing));
        }
        Ok(Some(
            terms
                .into_iter()
                .filter(|t| t.agreed)
                .map(|t| crate::store::AgreedTerm {
                    tag: t.tag,
                    agreed_at: t.agreed_at,
                })
                .collect(),
        ))
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
        self.config().oidc_enabled().then_some(&self.inner.verifier)
    }

    /// Naver's client and verifier, when Naver Login is configured.
    pub(crate) fn naver(&self) -> Option<&NaverParts> {
        self.inner.naver.as_ref()
    }

    /// The Naver client, when Naver Login is configured (for calls of your own).
    pub fn naver_client(&self) -> Option<&crate::naver::NaverClient> {
        self.naver().map(|n| &n.client)
    }

    /// One refresh at a time per user.
    pub(crate) fn refresh_gate(&self) -> &crate::refresh_gate::RefreshGate {
        &self.inner.refresh_gate
    }

    /// The app's user store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The app's link store.
    pub fn links(&self) -> &L {
        &self.inner.links
    }
}
