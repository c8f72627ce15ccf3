//! The HTTP seam: every call to Kakao goes through one [`HttpTransport`].
//!
//! The default, [`ReqwestTransport`], is a `reqwest` client that follows no redirects (an
//! OAuth client that follows redirects can be steered at internal hosts), uses rustls, has
//! a connect and a total timeout, and stops reading a body past the size limit. Tests, or
//! an app with its own HTTP stack, plug in another transport with
//! [`KakaoClient::with_transport`](crate::kakao::client::KakaoClient::with_transport); whatever
//! the transport, the client refuses bodies over the limit and maps every answer to the
//! same typed errors.
//!
//! ```
//! use actix_kakao_auth::kakao::http::{HttpTransport, KakaoRequest, KakaoResponse};
//! use actix_kakao_auth::error::KakaoApiError;
//! use futures_util::future::BoxFuture;
//!
//! /// Answers every request with Kakao's "service under maintenance".
//! struct Maintenance;
//!
//! impl HttpTransport for Maintenance {
//!     fn send(&self, _: KakaoRequest) -> BoxFuture<'_, Result<KakaoResponse, KakaoApiError>> {
//!         Box::pin(async {
//!             Ok(KakaoResponse::new(503, br#"{"code":-9798,"msg":"maintenance"}"#.to_vec()))
//!         })
//!     }
//! }
//! ```

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::error::KakaoApiError;

/// One request to Kakao (`http::Request` with the whole body).
pub type KakaoRequest = http::Request<Vec<u8>>;

/// Kakao's answer: the status and the body, read up to the size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KakaoResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl KakaoResponse {
    /// An answer with `status` and `body`.
    pub fn new(status: u16, body: Vec<u8>) -> Self {
        Self { status, body }
    }
}

/// Sends one request to Kakao and reads the answer. Implementations must not follow
/// redirects, should time out, and may stop reading a body once it exceeds
/// `max_response_bytes` (the client refuses such a body either way).
pub trait HttpTransport: Send + Sync + 'static {
    /// Sends `request`; a connection failure or timeout is
    /// [`KakaoApiError::Transport`], any HTTP answer (whatever its status) is `Ok`.
    fn send(&self, request: KakaoRequest) -> BoxFuture<'_, Result<KakaoResponse, KakaoApiError>>;
}

/// The default transport: `reqwest` with rustls, no redirects, timeouts and a body limit.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    max_response_bytes: usize,
}

impl ReqwestTransport {
    /// A client with the given timeouts that reads at most `max_response_bytes` of a body.
    pub fn new(
        connect_timeout: Duration,
        request_timeout: Duration,
        max_response_bytes: usize,
    ) -> Result<Self, KakaoApiError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .user_agent(concat!("actix-kakao-auth/", env!("CARGO_PKG_VERSION")))
            .use_rustls_tls()
            .build()
            .map_err(|e| KakaoApiError::transport(&e))?;
        Ok(Self {
            client,
            max_response_bytes,
        })
    }

    async fn read(&self, request: KakaoRequest) -> Result<KakaoResponse, KakaoApiError> {
        let (parts, body) = request.into_parts();
        let url = url::Url::parse(&parts.uri.to_string()).map_err(|e| {
            KakaoApiError::invalid_response(0, format!("bad request URL: {e}"), b"")
        })?;
        let mut response = self
            .client
            .request(parts.method, url)
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|e| KakaoApiError::transport(&e))?;
        let status = response.status().as_u16();
        let limit = self.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(too_large(status, limit, b""));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| KakaoApiError::transport(&e))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large(status, limit, &body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(KakaoResponse { status, body })
    }
}

impl HttpTransport for ReqwestTransport {
    fn send(&self, request: KakaoRequest) -> BoxFuture<'_, Result<KakaoResponse, KakaoApiError>> {
        Box::pin(self.read(request))
    }
}

/// The error for a body over `limit` bytes.
pub(crate) fn too_large(status: u16, limit: usize, body: &[u8]) -> KakaoApiError {
    KakaoApiError::invalid_response(status, format!("body larger than {limit} bytes"), body)
}
