//! The routes [`KakaoAuth::routes`] mounts: login ([`login`]) and the account lifecycle
//! ([`account`]).

use actix_web::web;

use crate::auth::KakaoAuth;
use crate::store::{IdOf, LinkStore, Provider, UserStore};

mod account;
pub(crate) mod login;
mod pages;
mod sdk;

impl<S: UserStore, L: LinkStore<IdOf<S>>> KakaoAuth<S, L> {
    /// The routes, for `App::configure`. Mounted always: the login page redirect
    /// (`/login/`), the begin route, the callback (the redirect URI's path), `POST`
    /// logout and Kakao logout, and (unless
    /// [`serve_error_page(false)`](crate::KakaoAuthConfigBuilder::serve_error_page)) the
    /// login error page. Mounted only when configured: SDK sign-in (an
    /// [`app_id`](crate::KakaoAuthConfigBuilder::app_id),
    /// [SDK audiences](crate::config::SdkOptions::audiences) or
    /// [`SdkOptions::mount`](crate::config::SdkOptions::mount)), disconnect (a
    /// link store) and the unlink webhook (a link store and an
    /// [`admin_key`](crate::KakaoAuthConfigBuilder::admin_key)). Paths:
    /// [`RoutePaths`](crate::config::RoutePaths).
    pub fn routes(&self) -> impl FnOnce(&mut web::ServiceConfig) + 'static {
        let auth = self.clone();
        move |cfg| register(cfg, auth)
    }
}

/// The login-error URL with `reason=<failure code>`.
fn failure_location(error_url: &str, failure: crate::error::LoginFailure) -> String {
    let separator = if error_url.contains('?') { '&' } else { '?' };
    format!("{error_url}{separator}reason={}", failure.code())
}

fn register<S, L>(cfg: &mut web::ServiceConfig, auth: KakaoAuth<S, L>)
where
    S: UserStore,
    L: LinkStore<IdOf<S>>,
{
    // A configured Naver always has its client: `KakaoAuth::with_links` builds both or fails.
    let config = auth.config().clone();
    let paths = config.paths();
    cfg.app_data(web::Data::new(auth))
        .route(&paths.login_url, web::get().to(login::login_page))
        .route(&paths.begin_path, web::get().to(login::begin::<S, L>))
        .route(
            config.callback_path(),
            web::get().to(|req, session, auth| {
                login::callback::<S, L>(Provider::Kakao, req, session, auth)
            }),
        );
    if config.serves_error_page() {
        let login_url: std::sync::Arc<str> = paths.login_url.as_str().into();
        cfg.route(
            paths.login_error_path(),
            web::get().to(move |query| pages::login_error(query, login_url.clone())),
        );
    }
    if let Some(naver) = config.naver() {
        cfg.route(
            &paths.naver_begin_path,
            web::get().to(login::begin_naver::<S, L>),
        )
        .route(
            naver.redirect_uri().path(),
            web::get().to(|req, session, auth| {
                login::callback::<S, L>(Provider::Naver, req, session, auth)
            }),
        );
    }
    if S::SUPPORTS_LINKING {
        cfg.service(
            web::resource(paths.connect_path(Provider::Kakao))
                .route(web::post().to(|req, body, auth| {
                    login::connect::<S, L>(req, body, auth, Provider::Kakao)
                })),
        );
        if config.naver().is_some() {
            cfg.service(
                web::resource(paths.connect_path(Provider::Naver)).route(web::post().to(
                    |req, body, auth| login::connect::<S, L>(req, body, auth, Provider::Naver),
                )),
            );
        }
    }
    if config.sdk_sign_in_configured() {
        if config.app_id().is_none() && tracing::enabled!(tracing::Level::WARN) {
            tracing::warn!(
                "SDK sign-in is mounted for id_tokens only: without app_id every access token posted to {} is refused",
                paths.sdk_sign_in_path
            );
        }
        cfg.route(
            &paths.sdk_sign_in_path,
            web::post().to(sdk::sign_in::<S, L>),
        );
    }
    account::register::<S, L>(cfg, &config);
}
