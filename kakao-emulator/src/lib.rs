//! A local, in-process fake of Kakao's `kauth` and `kapi` hosts, for offline development and tests.
//!
//! [`KakaoEmulator`] runs a real HTTP server (Actix Web, on `127.0.0.1` and a free port by
//! default) that serves **both** hosts' paths from one [`base_url`](KakaoEmulator::base_url):
//!
//! | Path | Host | What |
//! | --- | --- | --- |
//! | `GET /oauth/authorize` | kauth | validation (KOE101/006/201/202/205 error pages) and a consent page |
//! | `POST /oauth/authorize/decision` | (emulator) | the consent page's form |
//! | `POST /oauth/token` | kauth | `authorization_code` (PKCE S256) and `refresh_token` grants |
//! | `GET /oauth/logout` | kauth | logout with Kakao Account (KOE007) |
//! | `GET\|POST /v2/user/me` | kapi | the user, in Kakao's shape, limited by the granted scopes |
//! | `GET /v1/user/access_token_info` | kapi | `{id, expires_in, app_id}` |
//! | `POST /v1/user/logout`, `POST /v1/user/unlink` | kapi | Bearer or `KakaoAK` admin key |
//! | `GET /.well-known/openid-configuration` | kauth | OIDC discovery, pointing at the emulator |
//! | `GET /.well-known/jwks.json` | kauth | two RSA keys; [`KakaoEmulator::rotate_signing_key`] rotates |
//! | `POST /oauth/tokeninfo` | kauth | decodes an id_token (KOE400–403; debugging only, as at Kakao) |
//! | `GET /v1/oidc/userinfo` | kapi | OIDC claims for a Bearer token with `openid` |
//! | `GET /emulator/avatar/{id}.svg` | (emulator) | generated profile pictures, so the demo works offline |
//!
//! The consent page is plainly marked as a local emulator (Korean and English). A person can
//! click through it in a browser; tests drive the same page over HTTP with
//! [`KakaoEmulator::consent`]. Behaviour follows the project's Kakao reference
//! (`kakao-api.md` §1–§4, §7): kauth errors are `{error, error_description, error_code}`, kapi
//! errors `{msg, code}`, every JSON answer is `application/json;charset=UTF-8`, and user ids are
//! 64-bit (a default fixture has an id above 2^53). [`Faults`] injects delays, HTML 5xx pages,
//! broken JSON, dead tokens and maintenance answers at run time.
//!
//! # Fidelity limits
//!
//! * One app (client id) per emulator; no JavaScript/native keys, so KOE114 cannot happen.
//! * No Kakao Account login step: the consent page is always shown (except with `prompt=none`),
//!   and every requested consent item is granted on approval. The emulated browser session is
//!   simply "the last user who approved"; `prompt=none` reuses it while that user is linked, and
//!   `GET /oauth/logout` ends it. `prompt=login`, `select_account` and `create` show the same
//!   page (it is always a chooser); `login_hint` preselects the fixture user with that email;
//!   `service_terms` shows the app's matching terms as checkboxes (see
//!   [`EmulatorBuilder::service_term`]).
//! * Without `scope`, every configured consent item **except `openid`** is requested.
//! * A `code_challenge` with a method other than `S256` (a missing method means `plain`)
//!   redirects with `error=invalid_request`. A failed PKCE check at the token endpoint is
//!   `400 invalid_grant` with `error_code` `KOE320` (Kakao's real answer is unconfirmed).
//! * Unknown `grant_type` is `400 unsupported_grant_type` with `error_code` `KOE001`. KOE237
//!   (off by default) is `400 invalid_request`.
//! * Typed nicknames make users with a stable id (`3_000_000_000 + FNV-1a(nickname) mod 10^9`),
//!   a generated picture and no email.
//! * `property_keys` is honoured loosely, `secure_resource` is ignored, `WWW-Authenticate` is
//!   sent only on kapi `-401` token errors.
//! * OpenID Connect: id_tokens are RS256 JWTs signed with committed, **public, emulator-only
//!   test keys** (never trust them anywhere else). `iss` is the emulator's base URL without the
//!   trailing slash. [`Faults::set_id_token`] mints each kind of bad token ([`IdTokenFault`]).
//! * [`KakaoEmulator::send_unlink_webhook`] first unlinks the user on the emulator's side, as
//!   Kakao has already done by the time it calls the webhook.
//! * Everything lives in memory and dies with the emulator.
//!
//! The [`naver`] module is a Naver Login emulator of the same kind ([`naver::NaverEmulator`]).
//!
//! # Example
//!
//! ```no_run
//! use kakao_emulator::{ConsentDecision, KakaoEmulator, UserChoice};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let kakao = KakaoEmulator::builder()
//!     .redirect_uri("http://localhost:8080/auth/kakao/callback")
//!     .client_secret(Some("secret".to_owned()))
//!     .start()
//!     .await?;
//! // Point the client's kauth and kapi base URLs at `kakao.base_url()`, then:
//! let mut authorize = kakao.base_url().join("oauth/authorize")?;
//! authorize
//!     .query_pairs_mut()
//!     .append_pair("client_id", kakao.client_id())
//!     .append_pair("redirect_uri", "http://localhost:8080/auth/kakao/callback")
//!     .append_pair("response_type", "code")
//!     .append_pair("state", "xyz");
//! let callback = kakao
//!     .consent(&authorize, ConsentDecision::Approve(UserChoice::Fixture(1001)))
//!     .await?;
//! assert!(callback.query_pairs().any(|(k, _)| k == "code"));
//! kakao.stop().await;
//! # Ok(())
//! # }
//! ```

mod authorize;
mod driver;
mod error;
mod faults;
mod fixtures;
mod kapi;
pub mod naver;
pub(crate) mod oidc;
mod pages;
mod params;
mod respond;
mod state;
mod token;
mod user_me;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{ServerHandle, Service as _};
use actix_web::{web, App, HttpServer};

pub use driver::{ConsentDecision, UserChoice};
pub use error::EmulatorError;
pub use faults::{Endpoint, Fault, Faults, IdTokenFault};
pub use fixtures::FixtureUser;
pub use state::RecordedRequest;

/// The REST API key of the other app [`SdkClient::OtherApp`] stands for.
pub const OTHER_APP_KEY: &str = "another-apps-rest-api-key";
/// The app id of that other app.
pub const OTHER_APP_ID: i64 = 999_999;

/// Which client a Kakao SDK login went through (see [`KakaoEmulator::mint_sdk_tokens`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdkClient {
    /// This app's Android/iOS SDK (the native app key).
    NativeApp,
    /// This app's JavaScript SDK (the JavaScript key).
    JavaScript,
    /// A different Kakao app: its tokens must never sign anyone in here.
    OtherApp,
}

/// Tokens a Kakao SDK got at login.
#[derive(Debug, Clone)]
pub struct SdkTokens {
    /// The access token.
    pub access_token: String,
    /// The OpenID Connect id_token.
    pub id_token: String,
}

/// The JWKS document (`{"keys":[…]}`) the emulator publishes before any key rotation:
/// its committed, public, emulator-only test keys. For tests and fuzzing that verify
/// emulator-signed id_tokens without starting a server.
pub fn published_jwks() -> Result<String, String> {
    oidc::jwks_document()
}

use state::{Config, Shared};

/// Configures and starts a [`KakaoEmulator`]. Get one from [`KakaoEmulator::builder`].
#[derive(Clone)]
pub struct EmulatorBuilder {
    config: Config,
    bind: String,
    workers: usize,
}

impl fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("config", &self.config)
            .field("bind", &self.bind)
            .field("workers", &self.workers)
            .finish()
    }
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            config: Config {
                client_id: "emulator-client-id".to_owned(),
                client_secret: None,
                redirect_uris: Vec::new(),
                logout_redirect_uris: Vec::new(),
                admin_key: None,
                app_id: 100_001,
                users: FixtureUser::defaults(),
                code_ttl: Duration::from_secs(10 * 60),
                access_token_ttl: Duration::from_secs(21_599),
                refresh_token_ttl: Duration::from_secs(5_183_999),
                refresh_rotation_window: Duration::from_secs(30 * 24 * 60 * 60),
                token_rate_limit: false,
                allowed_scopes: [
                    "profile_nickname",
                    "profile_image",
                    "account_email",
                    "openid",
                ]
                .map(str::to_owned)
                .to_vec(),
                service_terms: Vec::new(),
                native_app_key: "emulator-native-app-key".to_owned(),
                javascript_key: "emulator-javascript-key".to_owned(),
            },
            bind: "127.0.0.1:0".to_owned(),
            workers: 2,
        }
    }
}

impl EmulatorBuilder {
    /// The app's REST API key. Default `"emulator-client-id"`.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.config.client_id = id.into();
        self
    }

    /// The client secret. When `Some`, `/oauth/token` requires it in the **form body**
    /// (HTTP Basic counts as no secret) and answers `401 invalid_client` KOE010 otherwise.
    /// Default `None`.
    pub fn client_secret(mut self, secret: Option<String>) -> Self {
        self.config.client_secret = secret;
        self
    }

    /// Registers a redirect URI (call once per URI). Authorize requires an exact match.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.config.redirect_uris.push(uri.into());
        self
    }

    /// Registers a logout redirect URI for `GET /oauth/logout` (call once per URI).
    pub fn logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.config.logout_redirect_uris.push(uri.into());
        self
    }

    /// The service-app admin key accepted as `Authorization: KakaoAK <key>` and sent by
    /// [`KakaoEmulator::send_unlink_webhook`]. Default `None` (admin calls are refused).
    pub fn admin_key(mut self, key: Option<String>) -> Self {
        self.config.admin_key = key;
        self
    }

    /// The app id reported by `access_token_info` and the unlink webhook. Default `100001`.
    pub fn app_id(mut self, id: i64) -> Self {
        self.config.app_id = id;
        self
    }

    /// A Kakao Sync service term of the app (call once per term). A login that asks for it
    /// with `service_terms=` shows it on the consent page as a checkbox (marked when
    /// `required`); `/v2/user/service_terms` reports it. The page does not force required
    /// terms, so a test can stand for a required term added after sign-up, which Kakao
    /// does not show again. Default: none.
    pub fn service_term(mut self, tag: impl Into<String>, required: bool) -> Self {
        self.config.service_terms.push((tag.into(), required));
        self
    }

    /// The app's native app key (Android/iOS SDK logins: their id_tokens' `aud`).
    /// Default `"emulator-native-app-key"`.
    pub fn native_app_key(mut self, key: impl Into<String>) -> Self {
        self.config.native_app_key = key.into();
        self
    }

    /// The app's JavaScript key (JavaScript SDK logins). Default `"emulator-javascript-key"`.
    pub fn javascript_key(mut self, key: impl Into<String>) -> Self {
        self.config.javascript_key = key.into();
        self
    }

    /// The fixture users offered on the consent page. Default [`FixtureUser::defaults`].
    pub fn users(mut self, users: Vec<FixtureUser>) -> Self {
        self.config.users = users;
        self
    }

    /// How long an authorization code lives. Default 10 minutes.
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.config.code_ttl = ttl;
        self
    }

    /// How long an access token lives (`expires_in`). Default 21599 s.
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.config.access_token_ttl = ttl;
        self
    }

    /// How long a refresh token lives (`refresh_token_expires_in`). Default 5183999 s.
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.config.refresh_token_ttl = ttl;
        self
    }

    /// A refresh rotates the refresh token (invalidating the old one) only when less than
    /// this is left on it. Default 30 days.
    pub fn refresh_rotation_window(mut self, window: Duration) -> Self {
        self.config.refresh_rotation_window = window;
        self
    }

    /// Enforces KOE237: more than 20 access tokens per 10 minutes, or more than 30 refreshes
    /// per 60 minutes, for one user. Default off.
    pub fn token_rate_limit(mut self, on: bool) -> Self {
        self.config.token_rate_limit = on;
        self
    }

    /// The consent items configured for the app; requesting anything else gives KOE205.
    /// Default `profile_nickname`, `profile_image`, `account_email`, `openid` (a grant with
    /// `openid` gets an `id_token`).
    pub fn allowed_scopes(mut self, scopes: Vec<String>) -> Self {
        self.config.allowed_scopes = scopes;
        self
    }

    /// The address to listen on. Default `"127.0.0.1:0"` (a free port).
    pub fn bind(mut self, addr: impl Into<String>) -> Self {
        self.bind = addr.into();
        self
    }

    /// Worker threads. Default 2 (at least 1).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// Binds and starts the server on the current Actix system (inside `#[actix_web::main]`
    /// or `#[actix_web::test]`), and returns once it accepts connections.
    pub async fn start(self) -> std::io::Result<KakaoEmulator> {
        let listener = TcpListener::bind(self.bind.as_str())?;
        let local = listener.local_addr()?;
        let base_url = base_url_for(local)?;
        let shared = web::Data::new(Shared::new(self.config, base_url.clone()));
        let data = shared.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(params::BODY_LIMIT))
                .wrap_fn(|req, srv| {
                    tracing::debug!(method = %req.method(), path = %req.path(), "kakao emulator request");
                    srv.call(req)
                })
                .configure(routes)
        })
        .workers(self.workers)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let (handle, http) = in_background(server, "kakao", &base_url)?;
        Ok(KakaoEmulator {
            shared: shared.into_inner(),
            base_url,
            handle,
            http,
        })
    }
}

/// Runs `server` on the current Actix system in the background, and gives its handle
/// and the HTTP client the emulator's helpers drive pages with (no redirects followed).
pub(crate) fn in_background(
    server: actix_web::dev::Server,
    name: &'static str,
    base_url: &url::Url,
) -> std::io::Result<(ServerHandle, reqwest::Client)> {
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        if let Err(error) = server.await {
            tracing::warn!(%error, emulator = name, "emulator server stopped with an error");
        }
    });
    tracing::info!(%base_url, emulator = name, "emulator started");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(std::io::Error::other)?;
    Ok((handle, http))
}

/// `http://<addr>/`, with an unspecified address (`0.0.0.0`, `::`) replaced by loopback.
pub(crate) fn base_url_for(addr: SocketAddr) -> std::io::Result<url::Url> {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    url::Url::parse(&format!("http://{}/", SocketAddr::new(ip, addr.port())))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
}

/// Every route the emulator serves.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/oauth/authorize").route(web::get().to(authorize::authorize)))
        .service(web::resource(pages::DECISION_PATH).route(web::post().to(authorize::decision)))
        .service(web::resource("/oauth/token").route(web::post().to(token::token)))
        .service(web::resource("/oauth/logout").route(web::get().to(authorize::logout)))
        .service(
            web::resource("/v2/user/me")
                .route(web::get().to(kapi::user_me))
                .route(web::post().to(kapi::user_me)),
        )
        .service(
            web::resource("/v1/user/access_token_info")
                .route(web::get().to(kapi::access_token_info)),
        )
        .service(web::resource("/v1/user/logout").route(web::post().to(kapi::logout)))
        .service(web::resource("/v2/user/service_terms").route(web::get().to(kapi::service_terms)))
        .service(web::resource("/v2/user/scopes").route(web::get().to(kapi::scopes)))
        .service(web::resource("/v2/user/revoke/scopes").route(web::post().to(kapi::revoke_scopes)))
        .service(
            web::resource("/v2/user/revoke/service_terms")
                .route(web::post().to(kapi::revoke_service_terms)),
        )
        .service(web::resource("/v1/user/unlink").route(web::post().to(kapi::unlink)))
        .service(web::resource("/emulator/avatar/{file}").route(web::get().to(kapi::avatar)));
    oidc::configure(cfg);
}

/// A running Kakao emulator. Cloning gives another handle to the same server.
#[derive(Clone)]
pub struct KakaoEmulator {
    shared: Arc<Shared>,
    base_url: url::Url,
    handle: ServerHandle,
    http: reqwest::Client,
}

impl fmt::Debug for KakaoEmulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KakaoEmulator")
            .field("base_url", &self.base_url.as_str())
            .field("client_id", &self.shared.config.client_id)
            .finish_non_exhaustive()
    }
}

impl KakaoEmulator {
    /// A builder with the defaults documented on each [`EmulatorBuilder`] method.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Where the emulator listens, e.g. `http://127.0.0.1:PORT/`. Use it as both the kauth and
    /// the kapi base URL.
    pub fn base_url(&self) -> url::Url {
        self.base_url.clone()
    }

    /// The app's REST API key the emulator accepts.
    pub fn client_id(&self) -> &str {
        &self.shared.config.client_id
    }

    /// The fault table; changes apply from the next request on.
    pub fn faults(&self) -> Faults {
        self.shared.faults.clone()
    }

    /// Every `POST /oauth/token` received so far (also those answered by a fault), oldest first,
    /// with all form fields as sent.
    pub fn token_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().token_log.iter().cloned().collect()
    }

    /// Every `/v2/user/me` request received so far, oldest first.
    pub fn user_me_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().user_me_log.iter().cloned().collect()
    }

    /// Rotates the OIDC signing key: the older of the two published keys is retired, a key
    /// the JWKS did not list before is published, and every new id_token is signed with it.
    pub fn rotate_signing_key(&self) {
        self.shared.oidc.rotation.rotate();
    }

    /// The `kid` new id_tokens are signed with (`None` only if the committed keys were broken).
    pub fn signing_kid(&self) -> Option<&'static str> {
        self.shared.oidc.rotation.signing().ok().map(|k| k.kid)
    }

    /// The `kid`s `/.well-known/jwks.json` currently publishes.
    pub fn published_kids(&self) -> Vec<&'static str> {
        self.shared
            .oidc
            .rotation
            .published()
            .map(|keys| keys.iter().map(|k| k.kid).collect())
            .unwrap_or_default()
    }

    /// How many times `/.well-known/jwks.json` was requested (also requests answered by a fault).
    pub fn jwks_requests(&self) -> usize {
        self.shared.oidc.jwks_requests()
    }

    /// Every id_token the token endpoint minted so far, oldest first.
    pub fn issued_id_tokens(&self) -> Vec<String> {
        self.shared.oidc.issued()
    }

    /// Mints an id_token for a user, as a code exchange granting `scopes` (which should
    /// include `openid`) with this `nonce` would, including the current
    /// [`IdTokenFault`]. For verifier tests that need no browser flow.
    pub fn mint_id_token(
        &self,
        user_id: i64,
        scopes: &[&str],
        nonce: Option<&str>,
    ) -> Result<String, EmulatorError> {
        let user = self
            .shared
            .user(user_id)
            .ok_or_else(|| EmulatorError::Unexpected(format!("unknown user {user_id}")))?;
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        oidc::mint_for(
            &self.shared,
            &oidc::Subject {
                user: &user,
                scopes: &scopes,
                nonce,
                audience: None,
            },
        )
        .ok_or_else(|| EmulatorError::Unexpected("could not sign the id_token".into()))
    }

    /// The key of an SDK client: the app's native app key or JavaScript key, or the REST
    /// API key of another app.
    pub fn sdk_key(&self, client: SdkClient) -> &str {
        match client {
            SdkClient::NativeApp => &self.shared.config.native_app_key,
            SdkClient::JavaScript => &self.shared.config.javascript_key,
            SdkClient::OtherApp => OTHER_APP_KEY,
        }
    }

    /// Acts as a Kakao SDK login of fixture `user_id` through `client`: the user is linked
    /// (every consent item granted, `openid` included), and an access token issued to the
    /// client's app (`access_token_info` names its `app_id`: this app's, or
    /// [`OTHER_APP_ID`] for [`SdkClient::OtherApp`]) and an id_token whose `aud` is the
    /// client's key are minted. `nonce` goes into the id_token.
    pub fn mint_sdk_tokens(
        &self,
        client: SdkClient,
        user_id: i64,
        nonce: Option<&str>,
    ) -> Result<SdkTokens, EmulatorError> {
        let user = self
            .shared
            .user(user_id)
            .ok_or_else(|| EmulatorError::Unexpected(format!("unknown user {user_id}")))?;
        let scopes: Vec<String> = self.shared.config.allowed_scopes.clone();
        let app_id = match client {
            SdkClient::OtherApp => OTHER_APP_ID,
            _ => self.shared.config.app_id,
        };
        if client != SdkClient::OtherApp {
            self.shared.record_consent(&user, &scopes);
        }
        let access_token = self.shared.mint_for_app(user_id, &scopes, app_id);
        let id_token = oidc::mint_for(
            &self.shared,
            &oidc::Subject {
                user: &user,
                scopes: &scopes,
                nonce,
                audience: Some(self.sdk_key(client)),
            },
        )
        .ok_or_else(|| EmulatorError::Unexpected("could not sign the id_token".into()))?;
        Ok(SdkTokens {
            access_token,
            id_token,
        })
    }

    /// Revokes every access and refresh token of the user (they now get `-401` / KOE322).
    /// The user stays linked.
    pub fn revoke_tokens_of(&self, user_id: i64) {
        self.shared.revoke_user(user_id);
    }

    /// Records that `user_id` agreed to the service terms `tags` now, as the Kakao Sync
    /// consent screen of a Kakao SDK login would (tags the app does not configure are
    /// kept too, as Kakao keeps them).
    pub fn agree_service_terms(&self, user_id: i64, tags: &[&str]) {
        let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
        self.shared.agree_terms(user_id, &tags);
    }

    /// Revokes every token of every user.
    pub fn revoke_all_tokens(&self) {
        self.shared.revoke_all();
    }

    /// Acts as the user's browser: GETs `authorize_url`, reads the consent form, submits
    /// `decision`, and returns the `Location` the emulator redirects to (the app's callback
    /// with `code` and `state`, or with `error=access_denied`, …). With `prompt=none` there is
    /// no page and the immediate redirect is returned. An error page (KOE006, KOE205, …) gives
    /// [`EmulatorError::KakaoErrorPage`].
    pub async fn consent(
        &self,
        authorize_url: &url::Url,
        decision: ConsentDecision,
    ) -> Result<url::Url, EmulatorError> {
        driver::consent(&self.http, authorize_url, &decision).await
    }

    /// [`consent`](Self::consent) with [`ConsentDecision::Approve`]`(user)`.
    pub async fn approve(
        &self,
        authorize_url: &url::Url,
        user: UserChoice,
    ) -> Result<url::Url, EmulatorError> {
        self.consent(authorize_url, ConsentDecision::Approve(user))
            .await
    }

    /// [`approve`](Self::approve) as `user`, returning the authorization code
    /// from the callback (for tests that redeem the code themselves). A callback without
    /// a code gives [`EmulatorError::Unexpected`].
    pub async fn approve_for_code(
        &self,
        authorize_url: &url::Url,
        user: UserChoice,
    ) -> Result<String, EmulatorError> {
        let callback = self.approve(authorize_url, user).await?;
        callback
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, code)| code.into_owned())
            .ok_or_else(|| EmulatorError::Unexpected(format!("no code in {callback}")))
    }

    /// Acts as Kakao calling the app's unlink webhook: unlinks the user here first (tokens
    /// revoked, consent forgotten), then sends `Authorization: KakaoAK <admin key>` with
    /// `app_id`, `user_id` and `referrer_type` (form body for POST, query for GET), with
    /// Kakao's 3 s deadline. Returns the status the app answered. Needs an admin key.
    pub async fn send_unlink_webhook(
        &self,
        url: &url::Url,
        user_id: i64,
        referrer_type: &str,
        use_post: bool,
    ) -> Result<u16, EmulatorError> {
        driver::send_unlink_webhook(
            &self.http,
            &self.shared,
            url,
            user_id,
            referrer_type,
            use_post,
        )
        .await
    }

    /// Stops the server gracefully (in-flight requests get up to one second).
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

impl AsRef<KakaoEmulator> for KakaoEmulator {
    fn as_ref(&self) -> &KakaoEmulator {
        self
    }
}
