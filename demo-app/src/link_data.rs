//! `social_auth_usersocialauth.extra_data`: what a link row keeps about the Kakao side,
//! as JSON text. Tokens are sealed with the app's [`TokenCipher`] (AES-256-GCM, with key
//! id); expiry times and scopes stay in clear, so a database dump shows when a token
//! expires but not the token.
//!
//! Each token is sealed for its link, `kakao:<uid>` or `naver:<uid>` (see [`token_context`]): a sealed token
//! copied into another user's link does not open there. The `*_for` methods take the uid
//! of the row the document is read from or written to, so a whole `extra_data` copied
//! into another row does not open there either.

use actix_kakao_auth::kakao::secret::{AccessToken, IdToken, RefreshToken};
use actix_kakao_auth::store::{AgreedTerm, SocialLogin, Tokens};
use actix_kakao_auth::store::{SealedToken, TokenCipher, TokenCryptoError};
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
    /// Kakao Sync: the service terms the user agreed to and when, as Kakao reported them
    /// at the last login (the consent ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_terms: Option<Vec<AgreedTerm>>,
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

/// The context a link's tokens are sealed for: provider and uid, `kakao:<uid>` or
/// `naver:<uid>`.
pub fn token_context(provider: &str, uid: &str) -> Vec<u8> {
    format!("{provider}:{uid}").into_bytes()
}

impl LinkData {
    /// The document for a fresh login, its tokens sealed for the login's uid.
    pub fn try_from_login(
        login: &SocialLogin,
        cipher: &TokenCipher,
    ) -> Result<Self, TokenCryptoError> {
        let uid = login.uid();
        let mut data = Self::without_tokens(login, uid.clone());
        if let Some(tokens) = &login.tokens {
            data.set_tokens_for(login.provider().as_str(), &uid, tokens, cipher)?;
        }
        Ok(data)
    }

    fn without_tokens(login: &SocialLogin, uid: String) -> Self {
        Self {
            id: uid,
            nickname: login.user.nickname().map(str::to_owned),
            connected_at: login.user.connected_at().map(str::to_owned),
            service_terms: login.service_terms.clone(),
            token_type: "bearer".to_owned(),
            ..Self::default()
        }
    }

    /// Parses a stored document; a malformed one reads as empty.
    pub fn parse(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// The JSON text to store.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Replaces the tokens, sealed for the link to `provider` account `uid` (the row's
    /// provider and uid), and adds the tokens' scopes to the granted ones. On a sealing
    /// failure nothing changes.
    pub fn set_tokens_for(
        &mut self,
        provider: &str,
        uid: &str,
        tokens: &Tokens,
        cipher: &TokenCipher,
    ) -> Result<(), TokenCryptoError> {
        let context = token_context(provider, uid);
        let access = cipher.seal(tokens.access_token.secret(), &context)?;
        let refresh = match &tokens.refresh_token {
            Some(token) => Some(cipher.seal(token.secret(), &context)?),
            None => None,
        };
        self.access_token = Some(access);
        self.expires_at = Some(tokens.expires_at);
        self.refresh_token = refresh;
        self.refresh_token_expires_at = tokens.refresh_token_expires_at;
        self.add_scopes(&tokens.scopes);
        Ok(())
    }

    /// This login's document, keeping the scopes granted before (additional consent
    /// only ever adds scopes).
    pub fn merged_over(mut self, old: &LinkData) -> Self {
        let new_scopes = std::mem::replace(&mut self.scopes, old.scopes.clone());
        self.add_scopes(&new_scopes);
        // A sign-in without tokens keeps the stored ones.
        if self.access_token.is_none() {
            self.access_token = old.access_token.clone();
            self.expires_at = old.expires_at;
        }
        // A sign-in with an access token alone (a Kakao SDK's) keeps the refresh token a
        // web login stored: it stays valid, and refreshing needs it.
        if self.refresh_token.is_none() {
            self.refresh_token = old.refresh_token.clone();
            self.refresh_token_expires_at = old.refresh_token_expires_at;
        }
        // A login without a terms step keeps the ledger; one with it replaces the ledger.
        if self.service_terms.is_none() {
            self.service_terms = old.service_terms.clone();
        }
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

    /// The stored tokens of the link to `provider` account `uid` (the row's provider and
    /// uid), opened; `None` when none are stored or they do not open (sealed with a key
    /// that is no longer configured, or for another link).
    pub fn tokens_for(&self, provider: &str, uid: &str, cipher: &TokenCipher) -> Option<Tokens> {
        let context = token_context(provider, uid);
        let access = cipher.open(self.access_token.as_ref()?, &context).ok()?;
        let refresh = match &self.refresh_token {
            Some(sealed) => Some(RefreshToken::new(cipher.open(sealed, &context).ok()?)),
            None => None,
        };
        Some(Tokens {
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
        let text = LinkData::try_from_login(&login, &cipher)
            .expect("sealed")
            .to_text();
        assert!(
            !text.contains(
                login
                    .tokens
                    .as_ref()
                    .expect("sample tokens")
                    .access_token
                    .secret()
            ),
            "{text}"
        );
        let tokens = LinkData::parse(&text)
            .tokens_for("kakao", "42", &cipher)
            .expect("opens");
        assert_eq!(
            tokens.access_token.secret(),
            login
                .tokens
                .as_ref()
                .expect("sample tokens")
                .access_token
                .secret()
        );
        assert!(
            LinkData::parse(&text)
                .tokens_for("kakao", "42", &TokenCipher::random())
                .is_none(),
            "another key cannot open it"
        );
    }

    const SECRET: &str = "a token secret of at least thirty-two characters";
    const NEXT_SECRET: &str = "the next token secret, also long enough for it";

    #[test]
    fn a_token_sealed_for_one_user_does_not_open_in_another_users_link() {
        let cipher = TokenCipher::from_secret(SECRET).expect("valid");
        let a = LinkData::try_from_login(&sample_login(42, "a", None), &cipher).expect("sealed");
        let mut b =
            LinkData::try_from_login(&sample_login(43, "b", None), &cipher).expect("sealed");
        assert!(a.tokens_for("kakao", "42", &cipher).is_some());
        assert!(
            a.tokens_for("kakao", "43", &cipher).is_none(),
            "whole document moved"
        );
        b.access_token = a.access_token.clone();
        assert!(
            b.tokens_for("kakao", "43", &cipher).is_none(),
            "access token moved"
        );
        let mut c =
            LinkData::try_from_login(&sample_login(43, "b", None), &cipher).expect("sealed");
        c.refresh_token = a.refresh_token.clone();
        assert!(
            c.tokens_for("kakao", "43", &cipher).is_none(),
            "refresh token moved"
        );
    }

    #[test]
    fn set_tokens_seals_for_the_given_link() {
        let cipher = TokenCipher::from_secret(SECRET).expect("valid");
        let login = sample_login(42, "n", None);
        let mut data = LinkData::parse("{}");
        data.set_tokens_for(
            "kakao",
            "42",
            login.tokens.as_ref().expect("sample tokens"),
            &cipher,
        )
        .expect("sealed");
        assert!(data.tokens_for("kakao", "42", &cipher).is_some());
        assert!(data.tokens_for("kakao", "7", &cipher).is_none());
    }

    #[test]
    fn tokens_still_open_after_the_key_is_rotated() {
        let old = TokenCipher::from_secret(SECRET).expect("valid");
        let login = sample_login(42, "n", None);
        let text = LinkData::try_from_login(&login, &old)
            .expect("sealed")
            .to_text();
        let rotated = TokenCipher::from_secret(NEXT_SECRET)
            .expect("valid")
            .with_previous(SECRET)
            .expect("valid");
        let mut data = LinkData::parse(&text);
        let tokens = data
            .tokens_for("kakao", "42", &rotated)
            .expect("opens after rotation");
        assert_eq!(
            tokens.refresh_token.as_ref().map(RefreshToken::secret),
            login
                .tokens
                .as_ref()
                .and_then(|t| t.refresh_token.as_ref())
                .map(RefreshToken::secret)
        );
        assert!(data.tokens_for("kakao", "43", &rotated).is_none());
        data.set_tokens_for("kakao", "42", &tokens, &rotated)
            .expect("sealed");
        assert_eq!(
            data.access_token.as_ref().map(|t| t.kid.as_str()),
            Some(rotated.kid()),
            "re-sealed with the new key"
        );
        assert!(data.tokens_for("kakao", "42", &rotated).is_some());
    }

    #[test]
    fn a_tampered_token_does_not_open() {
        let cipher = TokenCipher::from_secret(SECRET).expect("valid");
        let mut data =
            LinkData::try_from_login(&sample_login(42, "n", None), &cipher).expect("sealed");
        if let Some(sealed) = data.access_token.as_mut() {
            let flipped = if sealed.ct.starts_with('A') { "B" } else { "A" };
            sealed.ct.replace_range(0..1, flipped);
        }
        assert!(data.tokens_for("kakao", "42", &cipher).is_none());
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
