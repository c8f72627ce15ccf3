//! Access tokens that stay valid: [`KakaoAuth::access_token_for`] refreshes through
//! `grant_type=refresh_token` when the stored token is about to expire, keeps a rotated
//! refresh token, and reports when the user must log in again.

use chrono::Utc;

use crate::auth::KakaoAuth;
use crate::error::KakaoApiError;
use crate::secret::AccessToken;
use crate::store::{IdOf, KakaoLinkStore, KakaoTokens, KakaoUserStore};

/// Why no valid access token could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The store keeps no Kakao tokens for this user.
    #[error("no Kakao tokens stored for this user")]
    NoTokens,
    /// The refresh token is missing, expired or revoked (KOE322): the user must log in
    /// with Kakao again.
    #[error("the user must log in with Kakao again")]
    ReloginRequired,
    /// Kakao could not be asked (down, slow, garbled answer).
    #[error("refreshing failed: {0}")]
    Kakao(#[source] KakaoApiError),
    /// The app's link store failed.
    #[error("link store failed: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn is_fresh(tokens: &KakaoTokens, margin: std::time::Duration) -> bool {
    let margin = chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::MAX);
    tokens.expires_at > Utc::now() + margin
}

impl<S: KakaoUserStore, L: KakaoLinkStore<IdOf<S>>> KakaoAuth<S, L> {
    /// A valid access token for local user `user`.
    ///
    /// When the stored token expires within the configured refresh margin (default
    /// 5 minutes) it is refreshed first and the new tokens are stored (with the rotated
    /// refresh token when Kakao sent one, else the old one). Concurrent callers for one
    /// user wait for a single refresh. Needs a [`KakaoLinkStore`] (see
    /// [`KakaoAuth::with_links`]).
    pub async fn access_token_for(&self, user: &IdOf<S>) -> Result<AccessToken, TokenError> {
        let user_id = user.to_string();
        let user_id = user_id.as_str();
        let margin = self.config().token_refresh_margin;
        if let Some(tokens) = self.stored_tokens(user).await? {
            if is_fresh(&tokens, margin) {
                return Ok(tokens.access_token);
            }
        }
        let lock = self.refresh_gate().lock_for(user_id);
        let _guard = lock.lock().await;
        // Another caller may have refreshed while this one waited.
        let tokens = self
            .stored_tokens(user)
            .await?
            .ok_or(TokenError::NoTokens)?;
        if is_fresh(&tokens, margin) {
            return Ok(tokens.access_token);
        }
        if tokens
            .refresh_token_expires_at
            .is_some_and(|expires| expires <= Utc::now())
        {
            return Err(TokenError::ReloginRequired);
        }
        let refresh_token = tokens
            .refresh_token
            .clone()
            .ok_or(TokenError::ReloginRequired)?;
        let mut fresh = match self.client().refresh_tokens(&refresh_token).await {
            Ok(fresh) => fresh,
            Err(KakaoApiError::Auth {
                ref error,
                ref error_code,
                ..
            }) if error == "invalid_grant" || error_code.as_deref() == Some("KOE322") => {
                tracing::info!(
                    user = user_id,
                    "Kakao refresh token expired or revoked: re-login needed"
                );
                crate::metrics::token_refresh("relogin_required");
                return Err(TokenError::ReloginRequired);
            }
            Err(error) => {
                crate::metrics::token_refresh("failure");
                return Err(TokenError::Kakao(error));
            }
        };
        if fresh.refresh_token.is_none() {
            fresh.refresh_token = tokens.refresh_token.clone();
            fresh.refresh_token_expires_at = tokens.refresh_token_expires_at;
        }
        if fresh.scopes.is_empty() {
            fresh.scopes = tokens.scopes.clone();
        }
        self.links()
            .update_tokens(user, &fresh)
            .await
            .map_err(|e| TokenError::Store(Box::new(e)))?;
        crate::metrics::token_refresh("success");
        tracing::debug!(user = user_id, "Kakao access token refreshed");
        Ok(fresh.access_token)
    }

    async fn stored_tokens(&self, user: &IdOf<S>) -> Result<Option<KakaoTokens>, TokenError> {
        let link = self
            .links()
            .kakao_link(user)
            .await
            .map_err(|e| TokenError::Store(Box::new(e)))?;
        Ok(link.and_then(|l| l.tokens))
    }
}
