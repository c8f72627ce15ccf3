//! Sign-in with a token a Kakao SDK obtained: an Android, iOS or JavaScript app logs in
//! with Kakao's SDK and sends the server its access token or id_token; the server proves
//! the token was issued to **this** app and opens the same session as a web login.
//!
//! * **Access token**: `/v1/user/access_token_info` must name the configured app id
//!   ([`app_id`](crate::KakaoAuthConfigBuilder::app_id)); without one configured every
//!   access token is refused (a token any other Kakao app obtained would otherwise sign
//!   its holder in here: token substitution). Then `/v2/user/me` names the user, and its
//!   id must be the token's.
//! * **id_token**: verified like the web flow's (RS256 through the JWKS, `iss`,
//!   `exp`/`iat` with leeway, `nonce` when one is posted) with `aud` equal to the REST API
//!   key or one of [`sdk_audiences`](crate::KakaoAuthConfigBuilder::sdk_audiences) (the
//!   native app key, the JavaScript key). The user is `sub`; with an access token posted
//!   alongside, `/v2/user/me` describes them (and must agree), else the id_token's claims.
//! * **Replay**: an id_token carrying a `jti` or a `nonce` is accepted once per process
//!   until it expires. A bearer access token cannot be bound to one use: anyone who
//!   holds one can sign in with it until Kakao revokes it, which is why it must come
//!   from the app's own SDK login and travel only over TLS.
//! * **Attempts**: each client address may make
//!   [`sdk_attempts_per_minute`](crate::KakaoAuthConfigBuilder::sdk_attempts_per_minute)
//!   attempts a minute (default 20); more answer 429. The limit is per process and reads
//!   the TCP peer address; behind a reverse proxy, limit there too.
//! * Tokens never reach a log line, the store never sees a refused token, and a failed
//!   sign-in creates no row and no session.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::error::KakaoApiError;
use crate::oidc::{IdTokenClaims, IdTokenError, IdTokenVerifier};
use crate::profile::{KakaoAccount, KakaoProfile, KakaoUserInfo};
use crate::secret::AccessToken;

/// What an app posts to sign in (form or JSON): `access_token`, or `id_token` with an
/// optional `nonce` and an optional `access_token` alongside.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SdkTokens {
    /// An access token the SDK obtained.
    #[serde(default)]
    pub access_token: Option<AccessToken>,
    /// An OpenID Connect id_token the SDK obtained.
    #[serde(default)]
    pub id_token: Option<crate::secret::IdToken>,
    /// The nonce the app sent at its SDK login, if any.
    #[serde(default)]
    pub nonce: Option<String>,
}

/// Why an SDK token did not sign anyone in.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdkSignInError {
    /// Neither `access_token` nor `id_token` was posted.
    #[error("no token posted")]
    NoToken,
    /// An access token was posted but no app id is configured to check it against.
    #[error("access tokens are refused: no app id is configured (KAKAO_APP_ID)")]
    AppIdNotConfigured,
    /// Kakao does not know the access token (unknown, expired, revoked).
    #[error("Kakao refused the access token")]
    InvalidToken,
    /// The access token was issued to another Kakao app.
    #[error("the access token was issued to another app")]
    WrongApp,
    /// The id_token failed verification.
    #[error("id_token rejected: {0}")]
    IdToken(#[source] IdTokenError),
    /// The id_token (its `jti` or `nonce`) was used before.
    #[error("the id_token was used before")]
    Replayed,
    /// The tokens name different users.
    #[error("the tokens name different users")]
    Mismatch,
    /// Kakao could not be asked, or answered something unusable.
    #[error("Kakao failed: {0}")]
    Kakao(#[source] KakaoApiError),
    /// The app's store failed.
    #[error("user store failed: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The session could not be written.
    #[error("session error: {0}")]
    Session(String),
}

impl SdkSignInError {
    /// The `error` code of the JSON answer.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoToken => "no_token",
            Self::AppIdNotConfigured => "access_token_not_accepted",
            Self::InvalidToken => "invalid_token",
            Self::WrongApp => "wrong_app",
            Self::IdToken(e) if e.is_unavailable() => "kakao_unavailable",
            Self::IdToken(_) => "invalid_id_token",
            Self::Replayed => "replayed",
            Self::Mismatch => "token_mismatch",
            Self::Kakao(e) if e.is_unavailable() => "kakao_unavailable",
            Self::Kakao(_) => "invalid_response",
            Self::Store(_) | Self::Session(_) => "internal",
        }
    }

    /// The HTTP status of the answer: 400 without a token, 401 for a refused token, 503
    /// when Kakao is unavailable, 500 for our own failures.
    pub fn status(&self) -> u16 {
        match self.reason() {
            "no_token" => 400,
            "kakao_unavailable" => 503,
            "internal" => 500,
            _ => 401,
        }
    }
}

/// A completed SDK sign-in: the app's user and the Kakao id.
#[derive(Debug, Clone)]
pub struct SdkSignIn<U> {
    /// The local user the store found or created.
    pub user: U,
    /// The Kakao id.
    pub kakao_id: i64,
}

/// A verified SDK sign-in: the user as Kakao describes them.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedSdkUser {
    pub(crate) user: KakaoUserInfo,
}

/// Checks the posted tokens (no store call, no session): see the module docs.
pub(crate) async fn verify(
    client: &crate::client::KakaoClient,
    verifier: &IdTokenVerifier,
    app_id: Option<i64>,
    audiences: &[String],
    replays: &ReplayGuard,
    tokens: &SdkTokens,
) -> Result<VerifiedSdkUser, SdkSignInError> {
    match (&tokens.id_token, &tokens.access_token) {
        (Some(id_token), access_token) => {
            let claims = verifier
                .verify_sdk_token(id_token.secret(), tokens.nonce.as_deref(), audiences)
                .await
                .map_err(SdkSignInError::IdToken)?;
            replays.check(&claims)?;
            let sub: i64 = claims
                .sub
                .parse()
                .map_err(|_| SdkSignInError::IdToken(IdTokenError::SubjectMismatch))?;
            let user = match access_token {
                Some(token) => {
                    let user = verified_access_token(client, app_id, token).await?;
                    if user.id != sub {
                        return Err(SdkSignInError::Mismatch);
                    }
                    user
                }
                None => user_from_claims(sub, &claims),
            };
            Ok(VerifiedSdkUser { user })
        }
        (None, Some(token)) => Ok(VerifiedSdkUser {
            user: verified_access_token(client, app_id, token).await?,
        }),
        (None, None) => Err(SdkSignInError::NoToken),
    }
}

/// The user of an access token issued to this app.
async fn verified_access_token(
    client: &crate::client::KakaoClient,
    app_id: Option<i64>,
    token: &AccessToken,
) -> Result<KakaoUserInfo, SdkSignInError> {
    let expected = app_id.ok_or(SdkSignInError::AppIdNotConfigured)?;
    let info = client
        .access_token_info(token)
        .await
        .map_err(refused_or_failed)?;
    if info.app_id != expected {
        tracing::warn!(
            app_id = info.app_id,
            "SDK sign-in with another app's access token refused"
        );
        return Err(SdkSignInError::WrongApp);
    }
    let user = client.user_info(token).await.map_err(refused_or_failed)?;
    if user.id != info.id {
        return Err(SdkSignInError::Mismatch);
    }
    Ok(user)
}

/// A kapi refusal of the token (`-401` and the like) is a refused token; an outage or an
/// unusable answer is Kakao's.
fn refused_or_failed(error: KakaoApiError) -> SdkSignInError {
    match error {
        e if e.is_unavailable() => SdkSignInError::Kakao(e),
        KakaoApiError::Api { .. } => SdkSignInError::InvalidToken,
        e => SdkSignInError::Kakao(e),
    }
}

/// The user an id_token describes, when no access token came with it: the id and the
/// profile claims (`nickname`, `picture`, a valid and verified `email`).
fn user_from_claims(id: i64, claims: &IdTokenClaims) -> KakaoUserInfo {
    KakaoUserInfo {
        id,
        connected_at: None,
        kakao_account: Some(KakaoAccount {
            profile: Some(KakaoProfile {
                nickname: claims.nickname.clone(),
                thumbnail_image_url: None,
                profile_image_url: claims.picture.clone(),
                is_default_image: None,
            }),
            email_needs_agreement: claims.email.as_ref().map(|_| false),
            is_email_valid: claims.email.as_ref().map(|_| true),
            is_email_verified: claims.email.as_ref().map(|_| true),
            email: claims.email.clone(),
        }),
        properties: None,
    }
}

/// Remembers the id_tokens (by `jti`, else `nonce`) accepted in this process until they
/// expire, so each signs in once.
#[derive(Debug, Default)]
pub(crate) struct ReplayGuard {
    seen: Mutex<HashMap<String, i64>>,
}

/// Most remembered tokens; beyond it expired ones are dropped, and if none has expired
/// the sign-in is refused rather than forgetting a live one.
const MAX_REMEMBERED: usize = 100_000;

impl ReplayGuard {
    fn check(&self, claims: &IdTokenClaims) -> Result<(), SdkSignInError> {
        let Some(key) = claims
            .jti
            .as_deref()
            .map(|jti| format!("jti:{}:{jti}", claims.iss))
            .or_else(|| {
                claims
                    .nonce
                    .as_deref()
                    .map(|n| format!("nonce:{}:{n}", claims.sub))
            })
        else {
            return Ok(());
        };
        let now = chrono::Utc::now().timestamp();
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, exp| *exp > now);
            if seen.len() >= MAX_REMEMBERED {
                return Err(SdkSignInError::Replayed);
            }
        }
        if seen.get(&key).is_some_and(|exp| *exp > now) {
            return Err(SdkSignInError::Replayed);
        }
        seen.insert(key, claims.exp);
        Ok(())
    }
}

/// Counts attempts per client address in one-minute windows.
#[derive(Debug, Default)]
pub(crate) struct AttemptLimiter {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl AttemptLimiter {
    /// True when `addr` may make one more attempt now (and counts it).
    pub(crate) fn allow(&self, addr: IpAddr, per_minute: u32) -> bool {
        const WINDOW: Duration = Duration::from_secs(60);
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(addr).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        *count += 1;
        *count <= per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(jti: Option<&str>, nonce: Option<&str>) -> IdTokenClaims {
        IdTokenClaims {
            iss: "https://kauth.kakao.com".into(),
            aud: vec!["native".into()],
            sub: "1001".into(),
            iat: 0,
            exp: chrono::Utc::now().timestamp() + 600,
            auth_time: None,
            nonce: nonce.map(Into::into),
            azp: None,
            jti: jti.map(Into::into),
            nickname: None,
            picture: None,
            email: None,
        }
    }

    #[test]
    fn an_id_token_with_a_jti_or_nonce_signs_in_once() {
        let guard = ReplayGuard::default();
        assert!(guard.check(&claims(Some("j-1"), None)).is_ok());
        assert!(matches!(
            guard.check(&claims(Some("j-1"), None)),
            Err(SdkSignInError::Replayed)
        ));
        assert!(guard.check(&claims(Some("j-2"), None)).is_ok());
        assert!(guard.check(&claims(None, Some("n-1"))).is_ok());
        assert!(guard.check(&claims(None, Some("n-1"))).is_err());
        // Without either there is nothing to bind it to.
        assert!(guard.check(&claims(None, None)).is_ok());
        assert!(guard.check(&claims(None, None)).is_ok());
    }

    #[test]
    fn attempts_over_the_limit_are_refused_per_address() {
        let limiter = AttemptLimiter::default();
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        for _ in 0..3 {
            assert!(limiter.allow(a, 3));
        }
        assert!(!limiter.allow(a, 3));
        assert!(limiter.allow(b, 3));
    }

    #[test]
    fn reasons_and_statuses_never_blame_kakao_for_bad_input() {
        assert_eq!(SdkSignInError::NoToken.status(), 400);
        assert_eq!(SdkSignInError::WrongApp.status(), 401);
        assert_eq!(SdkSignInError::InvalidToken.status(), 401);
        assert_eq!(SdkSignInError::Replayed.status(), 401);
        assert_eq!(SdkSignInError::AppIdNotConfigured.status(), 401);
        assert_eq!(
            SdkSignInError::IdToken(IdTokenError::WrongAudience).reason(),
            "invalid_id_token"
        );
        assert_eq!(
            SdkSignInError::Kakao(KakaoApiError::Unavailable { status: 503 }).status(),
            503
        );
    }
}
