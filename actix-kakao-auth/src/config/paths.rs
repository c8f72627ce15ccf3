//! [`RoutePaths`]: where the library mounts its routes and where it sends the browser.

/// The routes' paths and the landing pages, each a local path.
#[derive(Debug, Clone)]
pub(crate) struct RoutePaths {
    pub(crate) login_url: String,
    pub(crate) begin_path: String,
    pub(crate) logout_path: String,
    pub(crate) login_redirect_url: String,
    pub(crate) login_error_url: String,
    pub(crate) logout_redirect_url: String,
    pub(crate) kakao_logout_path: String,
    pub(crate) disconnect_path: String,
    pub(crate) unlink_callback_path: String,
    pub(crate) sdk_sign_in_path: String,
}
