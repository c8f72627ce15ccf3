//! A local fake of Naver Login (네이버 로그인): the `nid` host (authorize, token, revoke,
//! discovery, JWKS) and `openapi`'s `/v1/nid/me`, served from one
//! [`base_url`](NaverEmulator::base_url).
//!
//! | Path | What |
//! | --- | --- |
//! | `GET /oauth2/authorize`, `GET /oauth2.0/authorize` | the OIDC and classic families: an unknown client or Callback URL gets an error page (no redirect); `response_type` other than `code`, a missing `state`, a missing `openid` (OIDC) or a PKCE method other than `S256` redirect with `error`; else a consent page plainly marked as local |
//! | `POST /oauth2/authorize/decision` | the consent form: a user, optional items (`email`, `profile_image`) to keep, agree or cancel (`access_denied`) |
//! | `GET\|POST /oauth2/token`, `/oauth2.0/token` | `authorization_code` (single use; a reused or unknown code is `200 {"error":"invalid_request","error_description":"no valid data in session"}`; PKCE S256 on the OIDC family, which also returns an RS256 `id_token`) and `refresh_token` (no new refresh token); a bad client is `invalid_client`, 401 on the OIDC family and 200 on the classic one; `expires_in` is a string |
//! | `POST /oauth2.0/revoke` | `client_id`, `client_secret`, `token`: revokes it and its pair; 200 with an empty body, also for a dead token; a bad client is `401 unauthorized_client` |
//! | `GET /.well-known/openid-configuration`, `GET /oauth2/jwks` | discovery pointing at the emulator, two RSA keys ([`NaverEmulator::rotate_signing_key`]) |
//! | `GET\|POST /v1/nid/me` | Bearer: `{"resultcode":"00","message":"success","response":{…}}` without the declined items; a dead token is `401 resultcode 024`, no header `401 028` |
//!
//! [`NaverFaults`] injects delays, 5xx pages, `temporarily_unavailable`, failures
//! answered with 200, other result codes, a numeric `expires_in` and a mismatched `sub`.
//! [`NaverEmulator::send_unlink_notification`] posts Naver's signed and encrypted unlink
//! notification to an app. The id_token keys are the crate's committed, public,
//! emulator-only test keys.

mod endpoints;
mod faults;
mod fixtures;
mod pages;
mod state;
mod unlink;

use std::fmt;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use url::Url;

pub use faults::{NaverEndpoint, NaverFault, NaverFaults};
pub use fixtures::NaverUser;
pub use unlink::unlink_notification_form;

use crate::driver::{attribute_after, location, not_a_redirect};
use crate::state::RecordedRequest;
use crate::EmulatorError;
use state::{Config, Shared};

/// Configures and starts a [`NaverEmulator`]. Get one from [`NaverEmulator::builder`].
#[derive(Debug, Clone)]
pub struct NaverEmulatorBuilder {
    config: Config,
    bind: String,
}

impl Default for NaverEmulatorBuilder {
    fn default() -> Self {
        Self {
            config: Config {
                client_id: "naverEmulatorClientId".to_owned(),
                client_secret: "naver-emulator-secret".to_owned(),
                redirect_uris: Vec::new(),
                users: NaverUser::defaults(),
                code_ttl: Duration::from_secs(600),
                access_token_ttl: Duration::from_secs(3600),
            },
            bind: "127.0.0.1:0".to_owned(),
        }
    }
}

impl NaverEmulatorBuilder {
    /// The Client ID. Default `"naverEmulatorClientId"`.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.config.client_id = id.into();
        self
    }

    /// The Client Secret (required by the token and revoke endpoints, and the key of the
    /// unlink notification). Default `"naver-emulator-secret"`.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.config.client_secret = secret.into();
        self
    }

    /// Registers a Callback URL (call once per URL); authorize requires an exact match.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.config.redirect_uris.push(uri.into());
        self
    }

    /// The accounts on the consent page. Default [`NaverUser::defaults`].
    pub fn users(mut self, users: Vec<NaverUser>) -> Self {
        self.config.users = users;
        self
    }

    /// How long an access token lives (`expires_in`). Default 3600 s.
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.config.access_token_ttl = ttl;
        self
    }

    /// How long a code lives. Default 10 minutes (Naver's is undocumented).
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.config.code_ttl = ttl;
        self
    }

    /// The address to listen on. Default `"127.0.0.1:0"` (a free port).
    pub fn bind(mut self, addr: impl Into<String>) -> Self {
        self.bind = addr.into();
        self
    }

    /// Binds and starts the server on the current Actix system, and returns once it
    /// accepts connections.
    pub async fn start(self) -> std::io::Result<NaverEmulator> {
        let listener = TcpListener::bind(self.bind.as_str())?;
        let base_url = crate::base_url_for(listener.local_addr()?)?;
        let shared = web::Data::new(Shared::new(self.config, base_url.clone()));
        let data = shared.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(crate::params::BODY_LIMIT))
                .configure(routes)
        })
        .workers(2)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let (handle, http) = crate::in_background(server, "naver", &base_url)?;
        Ok(NaverEmulator {
            shared: shared.into_inner(),
            base_url,
            handle,
            http,
        })
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    use endpoints as e;
    cfg.route("/oauth2/authorize", web::get().to(e::authorize))
        .route("/oauth2.0/authorize", web::get().to(e::authorize))
        .route(pages::DECISION_PATH, web::post().to(e::decision))
        .service(
            web::resource(["/oauth2/token", "/oauth2.0/token"])
                .route(web::get().to(e::token))
                .route(web::post().to(e::token)),
        )
        .route("/oauth2.0/revoke", web::post().to(e::revoke))
        .route(
            "/.well-known/openid-configuration",
            web::get().to(e::discovery),
        )
        .route("/oauth2/jwks", web::get().to(e::jwks))
        .service(
            web::resource("/v1/nid/me")
                .route(web::get().to(e::me))
                .route(web::post().to(e::me)),
        );
}

/// What the user does on the emulator's consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NaverDecision {
    /// Agrees as the account with this id, keeping every optional item.
    Approve(String),
    /// Agrees as the account with this id, declining these optional items (`email`,
    /// `profile_image`).
    ApproveDeclining(String, Vec<String>),
    /// Presses cancel.
    Cancel,
}

/// A running Naver emulator. Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct NaverEmulator {
    shared: Arc<Shared>,
    base_url: Url,
    handle: ServerHandle,
    http: reqwest::Client,
}

impl fmt::Debug for NaverEmulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NaverEmulator")
            .field("base_url", &self.base_url.as_str())
            .field("client_id", &self.shared.config.client_id)
            .finish_non_exhaustive()
    }
}

impl NaverEmulator {
    /// A builder with the defaults documented on each [`NaverEmulatorBuilder`] method.
    pub fn builder() -> NaverEmulatorBuilder {
        NaverEmulatorBuilder::default()
    }

    /// Where the emulator listens: use it as both `NAVER_AUTH_URL` and `NAVER_API_URL`.
    pub fn base_url(&self) -> Url {
        self.base_url.clone()
    }

    /// The issuer of its id_tokens: the base URL without the trailing slash.
    pub fn issuer(&self) -> String {
        self.shared.issuer()
    }

    /// The Client ID it accepts.
    pub fn client_id(&self) -> &str {
        &self.shared.config.client_id
    }

    /// The Client Secret it accepts.
    pub fn client_secret(&self) -> &str {
        &self.shared.config.client_secret
    }

    /// The fault table; changes apply from the next request on.
    pub fn faults(&self) -> NaverFaults {
        self.shared.faults.clone()
    }

    /// Rotates the id_token signing key (the older published key is retired).
    pub fn rotate_signing_key(&self) {
        self.shared.rotation.rotate();
    }

    /// Every token request so far, oldest first.
    pub fn token_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().token_log.clone()
    }

    /// Every `/v1/nid/me` request so far, oldest first.
    pub fn me_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().me_log.clone()
    }

    /// Every revoke request so far, oldest first.
    pub fn revoke_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().revoke_log.clone()
    }

    /// Every authorize request so far, oldest first (the query parameters).
    pub fn authorize_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().authorize_log.clone()
    }

    /// Opens `authorize_url` as a browser would, answers the consent page with `decision`,
    /// and returns where Naver redirects (the app's callback with `code` and `state`, or
    /// with `error`).
    pub async fn consent(
        &self,
        authorize_url: &Url,
        decision: NaverDecision,
    ) -> Result<Url, EmulatorError> {
        let response = self.http.get(authorize_url.clone()).send().await?;
        if response.status().is_redirection() {
            return location(authorize_url, &response);
        }
        if !response.status().is_success() {
            return Err(not_a_redirect(response, "authorize").await);
        }
        let html = response.text().await?;
        let request_id =
            attribute_after(&html, "name=\"request_id\" value=\"").ok_or_else(|| {
                EmulatorError::Unexpected("no consent form on the Naver authorize page".into())
            })?;
        let mut form = vec![("request_id", request_id)];
        match &decision {
            NaverDecision::Cancel => form.push(("action", "cancel".to_owned())),
            NaverDecision::Approve(user) | NaverDecision::ApproveDeclining(user, _) => {
                let declined: &[String] = match &decision {
                    NaverDecision::ApproveDeclining(_, declined) => declined,
                    _ => &[],
                };
                form.push(("action", "approve".to_owned()));
                form.push(("user", user.clone()));
                for item in pages::OPTIONAL_ITEMS {
                    if !declined.iter().any(|d| d == item) {
                        form.push(("item", item.to_owned()));
                    }
                }
            }
        }
        let action = self
            .base_url
            .join(pages::DECISION_PATH)
            .map_err(|e| EmulatorError::Unexpected(format!("bad decision URL: {e}")))?;
        let response = self.http.post(action.clone()).form(&form).send().await?;
        if response.status().is_redirection() {
            return location(&action, &response);
        }
        Err(not_a_redirect(response, "the Naver consent form").await)
    }

    /// [`consent`](Self::consent) agreeing as account `user_id` with every item.
    pub async fn approve(&self, authorize_url: &Url, user_id: &str) -> Result<Url, EmulatorError> {
        self.consent(authorize_url, NaverDecision::Approve(user_id.to_owned()))
            .await
    }

    /// Revokes every token of account `user_id` on the emulator's side (as when the user
    /// withdraws consent at Naver), then posts Naver's unlink notification for them to
    /// `url`, signed and encrypted with this app's secret, and returns the status the app
    /// answered (Naver expects 204 and does not retry).
    pub async fn send_unlink_notification(
        &self,
        url: &Url,
        user_id: &str,
    ) -> Result<u16, EmulatorError> {
        {
            let mut memory = self.shared.lock();
            memory.access.retain(|_, a| a.grant.user != user_id);
            memory.refresh.retain(|_, g| g.user != user_id);
        }
        let form = unlink_notification_form(
            &self.shared.config.client_id,
            &self.shared.config.client_secret,
            user_id,
            chrono::Utc::now().timestamp(),
            rand::random(),
            false,
        );
        let response = self
            .http
            .post(url.clone())
            .form(&form)
            .timeout(Duration::from_secs(3))
            .send()
            .await?;
        Ok(response.status().as_u16())
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}
