//! The routes [`KakaoAuth::routes`] mounts: login ([`login`]) and the account lifecycle
//! ([`account`]).

use actix_web::web;

use crate::auth::KakaoAuth;
use crate::store::{IdOf, KakaoLinkStore, KakaoUserStore};

mod account;
pub(crate) mod login;
mod sdk;

impl<S: KakaoUserStore, L: KakaoLinkStore<IdOf<S>>> KakaoAuth<S, L> {
    /// The routes, for `App::configure`: the login page redirect (`/login/`), the begin
    /// route, the callback (the redirect URI's path), the logouts, disconnect and the
    /// unlink webhook.
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
    S: KakaoUserStore,
    L: KakaoLinkStore<IdOf<S>>,
{
    let config = auth.config().clone();
    cfg.app_data(web::Data::new(auth))
        .route(config.login_url(), web::get().to(login::login_page))
        .route(config.begin_path(), web::get().to(login::begin::<S, L>))
        .route(
            config.callback_path(),
            web::get().to(login::callback::<S, L>),
        )
        .route(
            config.sdk_sign_in_path(),
            web::post().to(sdk::sign_in::<S, L>),
        );
    account::register::<S, L>(cfg, &config);
}
