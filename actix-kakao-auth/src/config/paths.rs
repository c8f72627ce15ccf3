//! [`RoutePaths`]: where the library mounts its routes and where it sends the browser.

/// The routes' paths and the landing pages, each a local path starting with `/`. Set
/// them all at once with
/// [`KakaoAuthConfigBuilder::paths`](super::KakaoAuthConfigBuilder::paths):
///
/// ```
/// use actix_kakao_auth::config::RoutePaths;
/// let paths = RoutePaths {
///     login_url: "/accounts/login/".into(),
///     logout_path: "/accounts/logout/".into(),
///     login_redirect_url: "/dashboard/".into(),
///     ..RoutePaths::default()
/// };
/// assert_eq!(paths.begin_path, "/accounts/oauth/login/kakao/");
/// ```
///
/// The callback route is not here: it is the path of the redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePaths {
    /// The login page anonymous users are sent to, with `?next=`; mounted as a redirect
    /// to the begin route. Default: `/login/`.
    pub login_url: String,
    /// The route that starts a Kakao login. Default: `/accounts/oauth/login/kakao/`.
    pub begin_path: String,
    /// The logout route (POST). Default: `/logout/`.
    pub logout_path: String,
    /// "Log out with the Kakao account" (POST). Default: `/logout/kakao/`.
    pub kakao_logout_path: String,
    /// Disconnect (회원 탈퇴, POST); mounted only with a link store. Default:
    /// `/accounts/oauth/disconnect/kakao/`.
    pub disconnect_path: String,
    /// Kakao's unlink webhook (GET and POST); mounted only with a link store and an
    /// admin key. Default: `/accounts/oauth/unlink/kakao/`.
    pub unlink_callback_path: String,
    /// Sign-in with Kakao SDK tokens (POST); mounted only when SDK sign-in is configured
    /// (an app id or SDK audiences). Default: `/accounts/oauth/token/kakao/`.
    pub sdk_sign_in_path: String,
    /// The route that starts a Naver login (mounted when Naver is configured). Default:
    /// `/accounts/oauth/login/naver/`.
    pub naver_begin_path: String,
    /// Naver's unlink notification (POST; mounted when Naver is configured, with a link
    /// store). Default: `/accounts/oauth/unlink/naver/`.
    pub naver_unlink_path: String,
    /// Disconnecting the Naver account (POST; mounted when Naver is configured, with a
    /// link store). Default: `/accounts/oauth/disconnect/naver/`.
    pub naver_disconnect_path: String,
    /// The prefix of the connect routes (POST `{prefix}kakao/`, `{prefix}naver/`; mounted
    /// when the store links accounts). Default: `/accounts/oauth/connect/`.
    pub connect_prefix: String,
    /// Where a connect, and a disconnect that leaves the user another way in, lands.
    /// Default: `/account/`.
    pub account_url: String,
    /// Where a login lands without `next`. Default: `/`.
    pub login_redirect_url: String,
    /// Where a failed login lands, with `?reason=<code>`. Default: `/login/error/`.
    pub login_error_url: String,
    /// Where logout lands. Default: `/`.
    pub logout_redirect_url: String,
}

impl Default for RoutePaths {
    fn default() -> Self {
        Self {
            login_url: "/login/".to_owned(),
            begin_path: "/accounts/oauth/login/kakao/".to_owned(),
            logout_path: "/logout/".to_owned(),
            kakao_logout_path: "/logout/kakao/".to_owned(),
            disconnect_path: "/accounts/oauth/disconnect/kakao/".to_owned(),
            unlink_callback_path: "/accounts/oauth/unlink/kakao/".to_owned(),
            sdk_sign_in_path: "/accounts/oauth/token/kakao/".to_owned(),
            naver_begin_path: "/accounts/oauth/login/naver/".to_owned(),
            naver_unlink_path: "/accounts/oauth/unlink/naver/".to_owned(),
            naver_disconnect_path: "/accounts/oauth/disconnect/naver/".to_owned(),
            connect_prefix: "/accounts/oauth/connect/".to_owned(),
            account_url: "/account/".to_owned(),
            login_redirect_url: "/".to_owned(),
            login_error_url: "/login/error/".to_owned(),
            logout_redirect_url: "/".to_owned(),
        }
    }
}

impl RoutePaths {
    /// Every path with the name a configuration error uses for it.
    pub(crate) fn named(&self) -> [(&'static str, &String); 15] {
        [
            ("paths.login_url", &self.login_url),
            ("paths.begin_path", &self.begin_path),
            ("paths.logout_path", &self.logout_path),
            ("paths.kakao_logout_path", &self.kakao_logout_path),
            ("paths.disconnect_path", &self.disconnect_path),
            ("paths.unlink_callback_path", &self.unlink_callback_path),
            ("paths.sdk_sign_in_path", &self.sdk_sign_in_path),
            ("paths.naver_begin_path", &self.naver_begin_path),
            ("paths.naver_unlink_path", &self.naver_unlink_path),
            ("paths.naver_disconnect_path", &self.naver_disconnect_path),
            ("paths.connect_prefix", &self.connect_prefix),
            ("paths.account_url", &self.account_url),
            ("paths.login_redirect_url", &self.login_redirect_url),
            ("paths.login_error_url", &self.login_error_url),
            ("paths.logout_redirect_url", &self.logout_redirect_url),
        ]
    }

    /// The connect route for `provider`.
    pub(crate) fn connect_path(&self, provider: crate::store::Provider) -> String {
        let prefix = self.connect_prefix.trim_end_matches('/');
        format!("{prefix}/{}/", provider.as_str())
    }

    /// The login-error URL without its query, for mounting the error page.
    pub(crate) fn login_error_path(&self) -> &str {
        self.login_error_url
            .split_once('?')
            .map_or(self.login_error_url.as_str(), |(path, _)| path)
    }
}
