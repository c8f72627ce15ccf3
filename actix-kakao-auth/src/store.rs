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

    /// The Kakao account linked to local user `user_id` and its stored tokens.
    ///
    /// Implement this (with [`update_tokens`](Self::update_tokens)) to enable token
    /// refresh, token revocation at logout and disconnect. The default stores nothing.
    fn kakao_account(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Option<KakaoAccount>, Self::Error>> + Send {
        let _ = user_id;
        std::future::ready(Ok(None))
    }

    /// Stores tokens after a refresh. `tokens.refresh_token` is the one to keep (the
    /// library carries the old one over when Kakao did not rotate it). The default
    /// stores nothing.
    fn update_tokens(
        &self,
        user_id: &str,
        tokens: &KakaoTokens,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = (user_id, tokens);
        std::future::ready(Ok(()))
    }

    /// The local user linked to Kakao id `kakao_id` (for Kakao's unlink webhook).
    /// The default knows no one.
    fn user_for_kakao_id(
        &self,
        kakao_id: i64,
    ) -> impl Future<Output = Result<Option<String>, Self::Error>> + Send {
        let _ = kakao_id;
        std::future::ready(Ok(None))
    }

    /// Removes the Kakao link of `user_id` (and whatever the application does with a
    /// user who left: the demo deletes the user). Returns false when there was nothing
    /// to remove. Called after a disconnect and by the unlink webhook.
    fn remove_kakao_link(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        let _ = user_id;
        std::future::ready(Ok(false))
    }

    /// Ends every session of `user_id` in the app's session store (database, Redis).
    /// Returns how many were ended. The default ends none (cookie-only sessions cannot
    /// be ended on the server).
    fn end_sessions(&self, user_id: &str) -> impl Future<Output = Result<u64, Self::Error>> + Send {
        let _ = user_id;
        std::future::ready(Ok(0))
    }
}

/// A local user's Kakao link as the store keeps it.
#[derive(Debug, Clone)]
pub struct KakaoAccount {
    /// The Kakao id.
    pub kakao_id: i64,
    /// The stored tokens, when the store keeps them.
    pub tokens: Option<KakaoTokens>,
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
