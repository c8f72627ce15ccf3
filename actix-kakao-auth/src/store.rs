//! The one trait an application implements: map a Kakao identity to a local user.
//!
//! The library does everything else (state, PKCE, token exchange, sessions). The store
//! only answers "who is this Kakao user here", creating the user and the link
//! atomically on first login.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::profile::KakaoUserInfo;
use crate::secret::{AccessToken, IdToken, RefreshToken};

/// Tokens Kakao issued at login, with their absolute expiry times.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KakaoTokens {
    /// The bearer token for kapi calls.
    pub access_token: AccessToken,
    /// When `access_token` (and any id_token) expires.
    pub expires_at: DateTime<Utc>,
    /// The refresh token, when Kakao sent one.
    pub refresh_token: Option<RefreshToken>,
    /// When `refresh_token` expires.
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// Granted scopes (space-separated in Kakao's answer), in Kakao's order.
    pub scopes: Vec<String>,
    /// The OpenID Connect id_token, when `openid` was granted.
    pub id_token: Option<IdToken>,
}

/// Everything known about a completed Kakao login, handed to the store.
#[derive(Debug, Clone)]
pub struct KakaoLogin {
    /// The user as `/v2/user/me` described them.
    pub user: KakaoUserInfo,
    /// The tokens from the token endpoint.
    pub tokens: KakaoTokens,
}

impl KakaoLogin {
    /// The Kakao id as decimal text (`uid` in `social_auth_usersocialauth`).
    pub fn uid(&self) -> String {
        self.user.uid()
    }
}

/// A local user as far as the library needs to know: an id for the session.
pub trait AuthUser {
    /// The id stored in the session (the primary key of the user row, as text).
    fn auth_id(&self) -> String;
}

/// Maps Kakao identities to the application's users.
///
/// # Contract
/// Every implementation must pass [`testing::store_acceptance_suite`](crate::testing):
///
/// * **Atomic**: the user row and the link row (`provider = "kakao"`, `uid` = the
///   Kakao id) are created together or not at all.
/// * **Race-safe**: concurrent first logins of one Kakao id end with exactly one user
///   and one link; every caller gets that same user. A unique constraint on
///   `(provider, uid)` plus "insert, and on conflict read the winner" does this.
/// * **No fallback matching**: a Kakao id without a link never takes over an existing
///   user with the same username, nickname or email (that fallback was an
///   account-takeover hole in social-auth-app-django, CVE-2025-61783). A username
///   collision is resolved by picking another username for the *new* user.
/// * A returning user's profile and token data may be updated (`last_login_at`,
///   `extra_data`), but the mapping never changes.
pub trait KakaoUserStore: Send + Sync + 'static {
    /// The application's user.
    type User: AuthUser + Send + 'static;
    /// The store's failure (database down, constraint trouble, …).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the local user linked to `login.uid()`, creating user and link
    /// atomically when there is none.
    fn find_or_create_user(
        &self,
        login: &KakaoLogin,
    ) -> impl Future<Output = Result<Self::User, Self::Error>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_debug_output_hides_the_token_values() {
        let tokens = KakaoTokens {
            access_token: AccessToken::new("at-secret"),
            expires_at: Utc::now(),
            refresh_token: Some(RefreshToken::new("rt-secret")),
            refresh_token_expires_at: None,
            scopes: vec!["profile_nickname".into()],
            id_token: Some(IdToken::new("id-secret")),
        };
        let printed = format!("{tokens:?}");
        assert!(!printed.contains("secret\""), "{printed}");
        assert!(!printed.contains("at-secret"));
        assert!(!printed.contains("rt-secret"));
        assert!(!printed.contains("id-secret"));
    }
}
