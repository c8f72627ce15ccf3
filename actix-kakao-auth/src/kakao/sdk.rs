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
//!   key or one of [`sdk_audiences`](crate::config::SdkOptions::audiences) (the
//!   native app key, the JavaScript key). The user is `sub`; with an access token posted
//!   alongside, `/v2/user/me` describes them (and must agree), else the id_token's claims.
//! * **Kakao Sync**: with [`service_terms`](crate::config::LoginDefaults::service_terms)
//!   configured, the same gate as the web callback: an access token is required (an
//!   id_token alone cannot show the terms), a required term not agreed is
//!   `terms_required`, and the agreed terms reach the store's ledger.
//! * **Tokens kept**: a posted access token reaches the store sealed like the web
//!   flow's ([`SocialLogin::tokens`](crate::store::SocialLogin::tokens), without a refresh
//!   token), so logout revokes it and disconnect can use it.
//! * **Replay**: an id_token carrying a `jti` or a `nonce` signs in once until it
//!   expires, across every instance that shares the
//!   [`guard_store`](crate::KakaoAuthConfigBuilder::guard_store). A bearer access token
//!   cannot be bound to one use: anyone who holds one can sign in with it until Kakao
//!   revokes it, which is why it must come from the app's own SDK login and travel only
//!   over TLS.
//! * **Attempts**: each client address ([`crate::client_addr`]: the TCP peer, or what a
//!   trusted proxy reports) may make
//!   [`sdk_attempts_per_minute`](crate::config::SdkOptions::attempts_per_minute)
//!   *refused* attempts a minute (default 20; IPv6 addresses count per /64); once over,
//!   its attempts answer 429 before any call to Kakao until the minute has passed. A
//!   successful sign-in never counts. The counts live in the guard store, so instances
//!   sharing one count together. The limit is checked before an attempt and counted
//!   after its refusal, so refusals in flight at the same moment can pass it by their
//!   number (bounded by the client's own concurrency) before the count catches up.
//! * Tokens never reach a log line, the store never sees a refused token, and a failed
//!   sign-in creates no row and no session.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::KakaoApiError;
use crate::guard_store::{GuardStore, GuardStoreError};
use crate::kakao::oidc::{IdTokenClaims, IdTokenError, IdTokenVerifier};
use crate::kakao::profile::{KakaoAccount, KakaoProfile, KakaoUserInfo};
use crate::kakao::secret::AccessToken;

/// What an app posts to sign in (form or JSON): `access_token`, or `id_token` with an
/// optional `nonce` and an optional `access_token` alongside.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SdkTokens {
    /// An access token the SDK obtained.
    #[serde(default)]
    pub access_token: Option<AccessToken>,
    /// An OpenID Connect id_token the SDK obtained.
    #[serde(default)]
    pub id_token: Option<crate::kakao::secret::IdToken>,
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
    /// Kakao Sync: a required service term is not agreed, or only an id_token was posted
    /// while service terms are configured (the terms can only be read with an access
    /// token).
    #[error("required service terms not agreed: {}", crate::log_safe::log_safe(&missing.join(",")))]
    TermsRequired {
        /// The tags of the required terms not agreed (empty when no access token came).
        missing: Vec<String>,
    },
    /// The guard store (attempt counts, replay markers) could not answer.
    #[error("{0}")]
    Guard(#[source] GuardStoreError),
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
            Self::TermsRequired { .. } => "terms_required",
            Self::Kakao(e) if e.is_unavailable() => "kakao_unavailable",
            Self::Kakao(_) => "invalid_response",
            Self::Store(_) | Self::Session(_) | Self::Guard(_) => "internal",
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

/// A verified SDK sign-in: the user as Kakao describes them, and the checked access
/// token with its expiry.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedSdkUser {
    pub(crate) user: KakaoUserInfo,
    pub(crate) access: Option<CheckedAccessToken>,
}

/// An access token Kakao confirmed for this app.
#[derive(Debug, Clone)]
pub(crate) struct CheckedAccessToken {
    pub(crate) token: AccessToken,
    pub(crate) expires_at: chrono::DateTime<chrono::Utc>,
}

/// Checks the posted tokens (no store call, no session): see the module docs.
pub(crate) async fn verify(
    client: &crate::kakao::client::KakaoClient,
    verifier: &IdTokenVerifier,
    app_id: Option<i64>,
    audiences: &[String],
    guards: &dyn GuardStore,
    tokens: &SdkTokens,
) -> Result<VerifiedSdkUser, SdkSignInError> {
    match (&tokens.id_token, &tokens.access_token) {
        (Some(id_token), access_token) => {
            let claims = verifier
                .verify_sdk_token(id_token.secret(), tokens.nonce.as_deref(), audiences)
                .await
                .map_err(SdkSignInError::IdToken)?;
            let sub: i64 = claims
                .sub
                .parse()
                .map_err(|_| SdkSignInError::IdToken(IdTokenError::SubjectMismatch))?;
            let verified = match access_token {
                Some(token) => {
                    let verified = verified_access_token(client, app_id, token).await?;
                    if verified.user.id != sub {
                        return Err(SdkSignInError::Mismatch);
                    }
                    verified
                }
                None => VerifiedSdkUser {
                    user: user_from_claims(sub, &claims),
                    access: None,
                },
            };
            // Last, so that a token refused for another reason is not spent.
            check_replay(guards, &claims).await?;
            Ok(verified)
        }
        (None, Some(token)) => verified_access_token(client, app_id, token).await,
        (None, None) => Err(SdkSignInError::NoToken),
    }
}

/// The user of an access token issued to this app.
async fn verified_access_token(
    client: &crate::kakao::client::KakaoClient,
    app_id: Option<i64>,
    token: &AccessToken,
) -> Result<VerifiedSdkUser, SdkSignInError> {
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
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(info.expires_in.max(0));
    Ok(VerifiedSdkUser {
        user,
        access: Some(CheckedAccessToken {
            token: token.clone(),
            expires_at,
        }),
    })
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

/// The guard-store key of an id_token's one use: its `jti` (per issuer), else its
/// `nonce` (per subject), hashed; `None` when it carries neither.
fn replay_key(claims: &IdTokenClaims) -> Option<String> {
    let raw = match (&claims.jti, &claims.nonce) {
        (Some(jti), _) => format!("jti\n{}\n{jti}", claims.iss),
        (None, Some(nonce)) => format!("nonce\n{}\n{nonce}", claims.sub),
        (None, None) => return None,
    };
    let digest = Sha256::digest(raw.as_bytes());
    Some(format!("sdk-replay:{}", crate::hex::encode(&digest[..16])))
}

/// Marks the id_token used until it expires; `Replayed` when it was used before.
async fn check_replay(
    guards: &dyn GuardStore,
    claims: &IdTokenClaims,
) -> Result<(), SdkSignInError> {
    let Some(key) = replay_key(claims) else {
        return Ok(());
    };
    let left = claims.exp.saturating_sub(chrono::Utc::now().timestamp());
    // Kept a minute past `exp`: the verifier accepts that much clock skew.
    let ttl = Duration::from_secs(left.max(0).unsigned_abs() + 60);
    match guards.insert_once(&key, "1", ttl).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(SdkSignInError::Replayed),
        Err(error) => Err(SdkSignInError::Guard(error)),
    }
}

/// The window of the attempt limit.
const ATTEMPT_WINDOW: Duration = Duration::from_secs(60);

/// The guard-store key counting `addr`'s refused attempts: the IPv4 address, or the /64
/// of an IPv6 one (one subscriber's usual allocation).
fn attempts_key(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => format!("sdk-attempts:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!(
                "sdk-attempts:{:x}:{:x}:{:x}:{:x}::/64",
                s[0], s[1], s[2], s[3]
            )
        }
    }
}

/// True when `addr` has used up its refused attempts for this minute (never with the
/// limit off).
pub(crate) async fn over_attempt_limit(
    guards: &dyn GuardStore,
    addr: IpAddr,
    per_minute: u32,
) -> Result<bool, GuardStoreError> {
    if per_minute == 0 {
        return Ok(false);
    }
    Ok(guards.count(&attempts_key(addr)).await? >= u64::from(per_minute))
}

/// Counts one refused attempt from `addr`.
pub(crate) async fn count_refused_attempt(
    guards: &dyn GuardStore,
    addr: IpAddr,
    per_minute: u32,
) -> Result<(), GuardStoreError> {
    if per_minute == 0 {
        return Ok(());
    }
    guards
        .increment(&attempts_key(addr), ATTEMPT_WINDOW)
        .await
        .map(|_| ())
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

    #[tokio::test]
    async fn an_id_token_with_a_jti_or_nonce_signs_in_once() {
        let guards = crate::guard_store::MemoryGuardStore::default();
        assert!(check_replay(&guards, &claims(Some("j-1"), None))
            .await
            .is_ok());
        assert!(matches!(
            check_replay(&guards, &claims(Some("j-1"), None)).await,
            Err(SdkSignInError::Replayed)
        ));
        assert!(check_replay(&guards, &claims(Some("j-2"), None))
            .await
            .is_ok());
        assert!(check_replay(&guards, &claims(None, Some("n-1")))
            .await
            .is_ok());
        assert!(check_replay(&guards, &claims(None, Some("n-1")))
            .await
            .is_err());
        // Without either there is nothing to bind it to.
        assert!(check_replay(&guards, &claims(None, None)).await.is_ok());
        assert!(check_replay(&guards, &claims(None, None)).await.is_ok());
    }

    #[tokio::test]
    async fn only_refused_attempts_count_per_address_and_zero_is_off() {
        let guards = crate::guard_store::MemoryGuardStore::default();
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        for _ in 0..3 {
            assert!(!over_attempt_limit(&guards, a, 3).await.expect("count"));
            count_refused_attempt(&guards, a, 3).await.expect("count");
        }
        assert!(over_attempt_limit(&guards, a, 3).await.expect("count"));
        assert!(!over_attempt_limit(&guards, b, 3).await.expect("count"));
        assert!(!over_attempt_limit(&guards, a, 0).await.expect("off"));
        // One IPv6 subscriber's /64 shares its count.
        let v6a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let v6b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        count_refused_attempt(&guards, v6a, 1).await.expect("count");
        assert!(over_attempt_limit(&guards, v6b, 1).await.expect("count"));
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
