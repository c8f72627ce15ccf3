//! [`ClientSettings`]: what the Kakao client needs: keys, redirect URI, scopes, hosts,
//! timeouts and the body limit.

use std::time::Duration;

use url::Url;

use crate::kakao::secret::ClientSecret;

/// The OAuth client's settings, owned by [`KakaoClient`](crate::kakao::client::KakaoClient).
/// Built by [`KakaoAuthConfigBuilder::build`](super::KakaoAuthConfigBuilder::build).
#[derive(Clone)]
pub struct ClientSettings {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<ClientSecret>,
    pub(crate) redirect_uri: Url,
    pub(crate) scopes: Vec<String>,
    pub(crate) auth_base_url: Url,
    pub(crate) api_base_url: Url,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) max_response_bytes: usize,
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("scopes", &self.scopes)
            .field("auth_base_url", &self.auth_base_url.as_str())
            .field("api_base_url", &self.api_base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl ClientSettings {
    /// The REST API key.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The registered redirect URI.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// The requested scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The kauth base URL.
    pub fn auth_base_url(&self) -> &Url {
        &self.auth_base_url
    }

    /// The kapi base URL.
    pub fn api_base_url(&self) -> &Url {
        &self.api_base_url
    }

    /// Largest response body accepted from Kakao.
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    pub(crate) fn auth_endpoint(&self, path: &str) -> Url {
        join(&self.auth_base_url, path)
    }

    pub(crate) fn api_endpoint(&self, path: &str) -> Url {
        join(&self.api_base_url, path)
    }
}

/// Joins an absolute path onto a base URL that may itself carry a path prefix.
pub(crate) fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}{path}"));
    url
}
