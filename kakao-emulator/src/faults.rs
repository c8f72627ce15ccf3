//! Run-time fault injection: which endpoint misbehaves, and how.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::HttpResponse;

use super::respond;

/// An emulated endpoint that can be given a [`Fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /oauth/token` (kauth).
    Token,
    /// `GET|POST /v2/user/me` (kapi).
    UserMe,
    /// `GET /v1/user/access_token_info` (kapi).
    AccessTokenInfo,
    /// `POST /v1/user/logout` (kapi). `GET /oauth/logout` is not affected.
    Logout,
    /// `POST /v1/user/unlink` (kapi).
    Unlink,
    /// `GET /oauth/authorize` (kauth, browser-facing). The consent form's POST is not affected.
    Authorize,
    /// `GET /.well-known/jwks.json` (kauth): a fault here is a JWKS fetch failure.
    Jwks,
    /// `POST /oauth/tokeninfo` (kauth).
    TokenInfo,
    /// `GET /v1/oidc/userinfo` (kapi).
    OidcUserInfo,
    /// `GET /v2/user/service_terms` (kapi, Kakao Sync).
    ServiceTerms,
}

impl Endpoint {
    /// Whether the endpoint lives on `kapi` (numeric `{code,msg}` errors) rather than `kauth`.
    fn is_kapi(self) -> bool {
        matches!(
            self,
            Endpoint::UserMe
                | Endpoint::AccessTokenInfo
                | Endpoint::Logout
                | Endpoint::Unlink
                | Endpoint::OidcUserInfo
                | Endpoint::ServiceTerms
        )
    }
}

/// How an endpoint misbehaves while a fault is set on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Sleep (asynchronously; other requests are served meanwhile), then answer normally.
    /// Any length is allowed, including one beyond the client's timeout.
    Delay(Duration),
    /// Answer exactly this status, `Content-Type` and body.
    Status {
        /// The HTTP status (an invalid one becomes 500).
        status: u16,
        /// The `Content-Type` header value.
        content_type: String,
        /// The body, verbatim.
        body: String,
    },
    /// This 5xx status (an invalid one becomes 502) with an HTML body, the way a proxy in front of Kakao fails.
    Html5xx(u16),
    /// `200` with a JSON content type and a body that is not valid JSON.
    GarbageJson,
    /// `401`, `WWW-Authenticate: Bearer error=invalid_token` and
    /// `{"msg":"this access token does not exist","code":-401}` (kapi's answer to a dead token).
    InvalidToken,
    /// Maintenance: kapi `503 {"msg":…,"code":-9798}`; kauth `503` `server_error` / `KOE003`
    /// (an HTML error page on `/oauth/authorize`).
    Maintenance,
}

impl Fault {
    /// kapi's `403` `-402` "insufficient scopes" with `required_scopes` (and an
    /// `allowed_scopes` of `profile`): set it on any kapi endpoint to make the app send
    /// the user to additional consent.
    pub fn insufficient_scope<I, S>(required_scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let required: Vec<String> = required_scopes.into_iter().map(Into::into).collect();
        Fault::Status {
            status: 403,
            content_type: "application/json;charset=UTF-8".to_owned(),
            body: serde_json::json!({
                "msg": "insufficient scopes.",
                "code": -402,
                "api_type": "USER_ME",
                "required_scopes": required,
                "allowed_scopes": ["profile"],
            })
            .to_string(),
        }
    }
}

/// A defect the token endpoint builds into every `id_token` it mints while set (see
/// [`Faults::set_id_token`]). Each one must make a correct client reject the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdTokenFault {
    /// A correct token whose signature has one bit flipped.
    BadSignature,
    /// `aud` is another app's key.
    WrongAudience,
    /// `iss` is the emulator's URL **with** a trailing slash (only an exact match is valid).
    WrongIssuer,
    /// `exp` (and `iat`) an hour in the past.
    Expired,
    /// `iat` an hour in the future.
    IssuedInFuture,
    /// No `nonce` claim although the login sent one.
    MissingNonce,
    /// A `nonce` other than the one the login sent.
    WrongNonce,
    /// `"alg":"none"` and an empty signature.
    AlgNone,
    /// `"alg":"HS256"`, HMAC-keyed with the signing key's public JWK (algorithm confusion).
    Hs256WithPublicKey,
    /// Signed by a fourth key that the JWKS never publishes, under its own `kid`.
    UnknownKid,
    /// `sub` is another user's id (the user's id plus one).
    WrongSubject,
}

impl IdTokenFault {
    /// Every fault, for tests that try them all.
    pub const ALL: [IdTokenFault; 11] = [
        Self::BadSignature,
        Self::WrongAudience,
        Self::WrongIssuer,
        Self::Expired,
        Self::IssuedInFuture,
        Self::MissingNonce,
        Self::WrongNonce,
        Self::AlgNone,
        Self::Hs256WithPublicKey,
        Self::UnknownKid,
        Self::WrongSubject,
    ];
}

/// A thread-safe handle to the emulator's fault table. Changes take effect on the next request.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    table: Arc<Mutex<HashMap<Endpoint, Fault>>>,
    id_token: Arc<Mutex<Option<IdTokenFault>>>,
    authorize_error: Arc<Mutex<Option<String>>>,
}

impl Faults {
    /// Makes `endpoint` misbehave as `fault` until cleared (replacing any earlier fault on it).
    pub fn set(&self, endpoint: Endpoint, fault: Fault) {
        self.lock().insert(endpoint, fault);
    }

    /// Makes `endpoint` behave normally again.
    pub fn clear(&self, endpoint: Endpoint) {
        self.lock().remove(&endpoint);
    }

    /// Clears every fault, including an `id_token` fault.
    pub fn clear_all(&self) {
        self.lock().clear();
        self.clear_id_token();
    }

    /// Mints every following `id_token` with `fault` until cleared.
    pub fn set_id_token(&self, fault: IdTokenFault) {
        *self.id_token_slot() = Some(fault);
    }

    /// Mints correct `id_token`s again.
    pub fn clear_id_token(&self) {
        *self.id_token_slot() = None;
    }

    /// Makes every valid authorize request redirect back to the app with `error=<error>`
    /// (and its `state`) instead of asking anyone, for instance `consent_required` on every
    /// attempt, with or without `prompt=none`.
    pub fn set_authorize_error(&self, error: impl Into<String>) {
        *self
            .authorize_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error.into());
    }

    /// Authorize asks the user again.
    pub fn clear_authorize_error(&self) {
        *self
            .authorize_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The error every authorize request answers with, if set.
    pub(crate) fn authorize_error(&self) -> Option<String> {
        self.authorize_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The `id_token` fault currently set.
    pub fn id_token(&self) -> Option<IdTokenFault> {
        *self.id_token_slot()
    }

    fn id_token_slot(&self) -> MutexGuard<'_, Option<IdTokenFault>> {
        self.id_token.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, endpoint: Endpoint) -> Option<Fault> {
        self.lock().get(&endpoint).cloned()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Endpoint, Fault>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies the fault set on `endpoint`, if any. `Some(response)` short-circuits the
    /// handler; `None` means "answer normally" (after any delay).
    pub(crate) async fn apply(&self, endpoint: Endpoint) -> Option<HttpResponse> {
        let fault = self.get(endpoint)?;
        tracing::debug!(?endpoint, ?fault, "kakao emulator: injecting fault");
        match fault {
            Fault::Delay(delay) => {
                actix_web::rt::time::sleep(delay).await;
                None
            }
            Fault::Status {
                status,
                content_type,
                body,
            } => Some(respond::raw(status, 500, &content_type, body)),
            Fault::Html5xx(status) => Some(respond::raw(
                status,
                502,
                "text/html; charset=utf-8",
                format!(
                    "<html>\r\n<head><title>{status} Error</title></head>\r\n<body>\r\n\
                     <center><h1>{status} Error</h1></center>\r\n<hr><center>nginx</center>\r\n\
                     </body>\r\n</html>\r\n"
                ),
            )),
            Fault::GarbageJson => Some(respond::raw(
                200,
                200,
                respond::JSON,
                r#"{"access_token": "x","#.to_owned(),
            )),
            Fault::InvalidToken => Some(respond::invalid_token()),
            Fault::Maintenance if endpoint.is_kapi() => Some(respond::kapi_error(
                503,
                -9798,
                "Service is under maintenance. (emulated)",
            )),
            Fault::Maintenance if endpoint == Endpoint::Authorize => Some(
                super::pages::error_page(503, "KOE003", &super::pages::koe003_message()),
            ),
            Fault::Maintenance => Some(respond::kauth_error(
                503,
                "server_error",
                "Temporary server error. Please retry. (emulated maintenance)",
                "KOE003",
            )),
        }
    }
}
