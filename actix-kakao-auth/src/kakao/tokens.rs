//! Access tokens that stay valid: [`KakaoAuth::access_token_for`] refreshes through
//! `grant_type=refresh_token` when the stored token is about to expire, keeps a rotated
//! refresh token, and reports when the user must log in again.

use std::time::Duration;

use chrono::Utc;
use sha2::Digest;

use crate::auth::KakaoAuth;
use crate::error::KakaoApiError;
use crate::kakao::secret::AccessToken;
use crate::store::{IdOf, LinkStore, Tokens, UserStore};

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
    /// Another instance held this user's refresh lock past its lifetime.
    #[error("another instance is refreshing this user's token and did not finish in time")]
    Busy,
    /// The app's link store (or the guard store) failed.
    #[error("link store failed: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// How often a caller waiting for another instance's refresh looks at the stored tokens.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// The guard-store key of `user_id`'s refresh lock.
fn refresh_lock_key(user_id: &str) -> String {
    let digest = sha2::Sha256::digest(user_id.as_bytes());
    format!("refresh:{}", crate::hex::encode(&digest[..16]))
}

/// The outcome of taking the refresh lock.
enum Refresh {
    /// Someone else refreshed: here is the fresh access token.
    Done(AccessToken),
    /// This caller holds the lock (as `owner`) and must refresh `tokens`.
    Mine { tokens: Tokens, owner: String },
}

fn is_fresh(tokens: &Tokens, margin: std::time::Duration) -> bool {
    let margin = chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::MAX);
    tokens.expires_at > Utc::now() + margin
}

impl<S: UserStore, L: LinkStore<IdOf<S>>> KakaoAuth<S, L> {
    /// A valid access token for local user `user`.
    ///
    /// When the stored token expires within the configured refresh margin (default
    /// 5 minutes) it is refreshed first and the new tokens are stored (with the rotated
    /// refresh token when Kakao sent one, else the old one). Concurrent callers for one
    /// user wait for a single refresh, also on other instances when they share the
    /// [`guard_store`](crate::KakaoAuthConfigBuilder::guard_store): Kakao may rotate the
    /// refresh token, and a rotated one spent twice would force the user to log in again.
    /// Needs a [`LinkStore`] (see
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
        // One caller per process goes on; the others wait for it here.
        let lock = self.refresh_gate().lock_for(user_id);
        let _guard = lock.lock().await;
        // One caller across instances: the guard store's lock. Whoever waits re-reads the
        // stored tokens, which the lock's holder replaces.
        match self.refresh_lock(user, user_id).await? {
            Refresh::Done(token) => Ok(token),
            Refresh::Mine { tokens, owner } => {
                let refreshed = self.refresh_stored(user, user_id, tokens).await;
                let key = refresh_lock_key(user_id);
                if let Err(error) = self.config().guard_store().remove_if(&key, &owner).await {
                    tracing::warn!(%error, "the refresh lock could not be released; it expires by itself");
                }
                refreshed
            }
        }
    }

    /// Takes the cross-instance refresh lock of `user`, or waits until whoever holds it
    /// has stored fresh tokens.
    async fn refresh_lock(&self, user: &IdOf<S>, user_id: &str) -> Result<Refresh, TokenError> {
        let margin = self.config().token_refresh_margin;
        let key = refresh_lock_key(user_id);
        let owner = oauth2::CsrfToken::new_random().secret().clone();
        // Held at most this long, even by an instance that dies holding it.
        let hold = self.config().client.request_timeout * 2 + Duration::from_secs(5);
        let deadline = tokio::time::Instant::now() + hold;
        loop {
            // Another caller (here or elsewhere) may have refreshed while this one waited.
            let tokens = self
                .stored_tokens(user)
                .await?
                .ok_or(TokenError::NoTokens)?;
            if is_fresh(&tokens, margin) {
                return Ok(Refresh::Done(tokens.access_token));
            }
            let taken = self
                .config()
                .guard_store()
                .insert_once(&key, &owner, hold)
                .await
                .map_err(|e| TokenError::Store(Box::new(e)))?;
            if taken {
                // Re-read under the lock: the previous holder may have just finished.
                let tokens = self
                    .stored_tokens(user)
                    .await?
                    .ok_or(TokenError::NoTokens)?;
                if is_fresh(&tokens, margin) {
                    let _ = self.config().guard_store().remove_if(&key, &owner).await;
                    return Ok(Refresh::Done(tokens.access_token));
                }
                return Ok(Refresh::Mine { tokens, owner });
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    user = user_id,
                    "another instance held the refresh lock too long"
                );
                return Err(TokenError::Busy);
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }

    /// Refreshes `tokens` at Kakao and stores the result (the caller holds the lock).
    async fn refresh_stored(
        &self,
        user: &IdOf<S>,
        user_id: &str,
        tokens: Tokens,
    ) -> Result<AccessToken, TokenError> {
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
            .update_tokens(user, crate::store::Provider::Kakao, &fresh)
            .await
            .map_err(|e| TokenError::Store(Box::new(e)))?;
        crate::metrics::token_refresh("success");
        tracing::debug!(user = user_id, "Kakao access token refreshed");
        Ok(fresh.access_token)
    }

    async fn stored_tokens(&self, user: &IdOf<S>) -> Result<Option<Tokens>, TokenError> {
        let link = self
            .links()
            .link(user, crate::store::Provider::Kakao)
            .await
            .map_err(|e| TokenError::Store(Box::new(e)))?;
        Ok(link.and_then(|l| l.tokens))
    }
}
