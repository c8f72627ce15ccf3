//! `social_auth_usersocialauth.extra_data`: what a link row keeps about the Kakao side,
//! as JSON text. Tokens are sealed with the app's [`TokenCipher`] (AES-256-GCM, with key
//! id); expiry times and scopes stay in clear, so a database dump shows when a token
//! expires but not the token.

use actix_kakao_auth::secret::{AccessToken, IdToken, RefreshToken};
use actix_kakao_auth::store::{KakaoLogin, KakaoTokens};
use actix_kakao_auth::token_crypto::{SealedToken, TokenCipher};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The JSON document in `extra_data`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LinkData {
    /// The Kakao id, as text.
    pub id: String,
    /// The nickname Kakao sent last.
    #[serde(default)]
    pub nickname: Option<String>,
    /// When the user linked the app, per Kakao.
    #[serde(default)]
    pub connected_at: Option<String>,
    /// Every scope granted so far (additional consent adds to it).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Always `bearer`.
    #[serde(default)]
    pub token_type: String,
    /// The sealed access token.
    #[serde(default)]
    pub access_token: Option<SealedToken>,
    /// When the access token expires (clear).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The sealed refresh token.
    #[serde(default)]
    pub refresh_token: Option<SealedToken>,
    /// When the refresh token expires (clear).
    #[serde(default)]
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
}

impl LinkData {
    /// The document for a fresh login.
    pub fn from_login(login: &KakaoLogin, cipher: &TokenCipher) -> Self {
        let mut data = Self {
            id: login.uid(),
            nickname: login.user.nickname().map(str::to_owned),
            connected_at: login.user.connected_at.clone(),
            token_type: "bearer".to_owned(),
            ..Self::default()
        };
        data.set_tokens(&login.tokens, cipher);
        data
    }

    /// Parses a stored document; a malformed one reads as empty.
    pub fn parse(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// The JSON text to store.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Replaces the tokens (sealed) and adds the tokens' scopes to the granted ones.
    pub fn set_tokens(&mut self, tokens: &KakaoTokens, cipher: &TokenCipher) {
        self.access_token = Some(cipher.seal(tokens.access_token.secret()));
        self.expires_at = Some(tokens.expires_at);
        self.refresh_token = tokens
            .refresh_token
            .as_ref()
            .map(|t| cipher.seal(t.secret()));
        self.refresh_token_expires_at = tokens.refresh_token_expires_at;
        self.add_scopes(&tokens.scopes);
    }

    /// This login's document, keeping the scopes granted before (additional consent
    /// only ever adds scopes).
    pub fn merged_over(mut self, old: &LinkData) -> Self {
        let new_scopes = std::mem::replace(&mut self.scopes, old.scopes.clone());
        self.add_scopes(&new_scopes);
        self
    }

    /// Adds scopes not yet listed, keeping the order.
    pub fn add_scopes(&mut self, scopes: &[String]) {
        for scope in scopes {
            if !self.scopes.contains(scope) {
                self.scopes.push(scope.clone());
            }
        }
    }

    /// The stored tokens, opened; `None` when none are stored or they do not open
    /// (e.g. sealed with a key that is no longer configured).
    pub fn tokens(&self, cipher: &TokenCipher) -> Option<KakaoTokens> {
        let access = cipher.open(self.access_token.as_ref()?).ok()?;
        let refresh = match &self.refresh_token {
            Some(sealed) => Some(RefreshToken::new(cipher.open(sealed).ok()?)),
            None => None,
        };
        Some(KakaoTokens {
            access_token: AccessToken::new(access),
            expires_at: self.expires_at?,
            refresh_token: refresh,
            refresh_token_expires_at: self.refresh_token_expires_at,
            scopes: self.scopes.clone(),
            id_token: None::<IdToken>,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_kakao_auth::testing::sample_login;

    #[test]
    fn tokens_are_sealed_in_the_text_and_open_again() {
        let cipher = TokenCipher::random();
        let login = sample_login(42, "n", None);
        let text = LinkData::from_login(&login, &cipher).to_text();
        assert!(!text.contains(login.tokens.access_token.secret()), "{text}");
        let tokens = LinkData::parse(&text).tokens(&cipher).expect("opens");
        assert_eq!(
            tokens.access_token.secret(),
            login.tokens.access_token.secret()
        );
        assert!(
            LinkData::parse(&text)
                .tokens(&TokenCipher::random())
                .is_none(),
            "another key cannot open it"
        );
    }

    #[test]
    fn scopes_accumulate() {
        let mut data = LinkData {
            scopes: vec!["profile_nickname".into()],
            ..LinkData::default()
        };
        data.add_scopes(&["account_email".into(), "profile_nickname".into()]);
        assert_eq!(data.scopes, ["profile_nickname", "account_email"]);
    }
}
