//! The seam between the library and the application: a small, typed user store, and an
//! optional link store for the providers' tokens.
//!
//! The library does everything else (state, PKCE, token exchange, sessions, CSRF). The
//! app answers two questions through [`UserStore`]: "who is this provider account
//! here" ([`find_or_create`](UserStore::find_or_create), creating user and link
//! atomically on first login) and "does this user still exist"
//! ([`get_user`](UserStore::get_user), asked on every request that carries a
//! session, so a deleted user's session reaches nothing). Token refresh, revocation at
//! logout, disconnect and the unlink webhook need [`LinkStore`] as well.
//!
//! A login reaches the store as a [`SocialLogin`]: which [`Provider`], the account's
//! id there as opaque text ([`SocialLogin::uid`]), what the provider said about the user
//! ([`ProviderUser`]) and the tokens. Accounts are linked only through their own
//! `(provider, uid)` link rows, never by email, nickname or username.

use std::fmt::{Debug, Display};
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use crate::token_crypto::{SealedToken, TokenCipher, TokenCryptoError, MIN_TOKEN_SECRET_LEN};

use crate::kakao::profile::KakaoUserInfo;
use crate::kakao::secret::{AccessToken, IdToken, RefreshToken};
use crate::naver::NaverUserInfo;

/// A login provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Provider {
    /// Kakao Login (카카오 로그인).
    Kakao,
    /// Naver Login (네이버 로그인).
    Naver,
}

impl Provider {
    /// Every provider.
    pub const ALL: [Provider; 2] = [Self::Kakao, Self::Naver];

    /// The provider's name in link rows and URLs: `kakao`, `naver`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kakao => "kakao",
            Self::Naver => "naver",
        }
    }

    /// The provider named `name` (`kakao`, `naver`), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a provider said about the user at login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "provider", content = "user", rename_all = "lowercase")]
#[non_exhaustive]
pub enum ProviderUser {
    /// Kakao's `/v2/user/me`.
    Kakao(KakaoUserInfo),
    /// Naver's `/v1/nid/me`.
    Naver(NaverUserInfo),
}

impl ProviderUser {
    /// The provider.
    pub fn provider(&self) -> Provider {
        match self {
            Self::Kakao(_) => Provider::Kakao,
            Self::Naver(_) => Provider::Naver,
        }
    }

    /// The account's id at the provider, as text (`uid` of the link row): Kakao's member
    /// number in decimal, Naver's pairwise id as sent.
    pub fn uid(&self) -> String {
        match self {
            Self::Kakao(user) => user.uid(),
            Self::Naver(user) => user.id.clone(),
        }
    }

    /// The nickname, when the user shared one.
    pub fn nickname(&self) -> Option<&str> {
        match self {
            Self::Kakao(user) => user.nickname(),
            Self::Naver(user) => user.nickname(),
        }
    }

    /// The profile picture's URL, when the user shared one.
    pub fn profile_image_url(&self) -> Option<&str> {
        match self {
            Self::Kakao(user) => user.profile_image_url(),
            Self::Naver(user) => user.profile_image.as_deref(),
        }
    }

    /// An email address the provider reports as valid **and** verified; `None` otherwise
    /// (always for Naver, which has no verification flag). Never a key for linking
    /// accounts.
    pub fn verified_email(&self) -> Option<&str> {
        match self {
            Self::Kakao(user) => user.verified_email(),
            Self::Naver(_) => None,
        }
    }

    /// When the user linked the app, as the provider reported it (RFC 3339).
    pub fn connected_at(&self) -> Option<&str> {
        match self {
            Self::Kakao(user) => user.connected_at.as_deref(),
            Self::Naver(_) => None,
        }
    }

    /// Kakao's description of the user, for a Kakao login.
    pub fn as_kakao(&self) -> Option<&KakaoUserInfo> {
        match self {
            Self::Kakao(user) => Some(user),
            Self::Naver(_) => None,
        }
    }

    /// Naver's description of the user, for a Naver login.
    pub fn as_naver(&self) -> Option<&NaverUserInfo> {
        match self {
            Self::Naver(user) => Some(user),
            Self::Kakao(_) => None,
        }
    }
}

/// Tokens a provider issued at login, with their absolute expiry times.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tokens {
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

/// Everything known about a completed login, handed to the store.
#[derive(Debug, Clone)]
pub struct SocialLogin {
    /// The user as the provider described them.
    pub user: ProviderUser,
    /// The tokens from the token endpoint; `None` for a sign-in with a token a Kakao SDK
    /// obtained (those tokens belong to the app that holds them, and are not kept here).
    pub tokens: Option<Tokens>,
    /// Kakao Sync: the service terms the user has agreed to, with when (the consent
    /// ledger, as Kakao reports it at this login); `None` when no service terms are
    /// configured.
    pub service_terms: Option<Vec<AgreedTerm>>,
}

/// One agreed Kakao Sync service term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreedTerm {
    /// The term's tag.
    pub tag: String,
    /// When the user agreed, as Kakao reported it (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreed_at: Option<String>,
}

impl SocialLogin {
    /// A login through `provider` of `user` (tokens and terms empty; set the fields).
    pub fn new(user: ProviderUser) -> Self {
        Self {
            user,
            tokens: None,
            service_terms: None,
        }
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        self.user.provider()
    }

    /// The account's id at the provider, as text (`uid` in
    /// `social_auth_usersocialauth`).
    pub fn uid(&self) -> String {
        self.user.uid()
    }
}

/// What a local user id must be: kept in the session (as JSON), compared, logged.
///
/// Implemented for every type with these traits: `i64`, `String`, `uuid::Uuid`, …
pub trait UserId:
    Clone + Eq + Debug + Display + Serialize + DeserializeOwned + Send + Sync + 'static
{
}

impl<T> UserId for T where
    T: Clone + Eq + Debug + Display + Serialize + DeserializeOwned + Send + Sync + 'static
{
}

/// A local user as far as the library needs to know.
pub trait AuthUser: Clone + Send + Sync + 'static {
    /// The primary key's type.
    type Id: UserId;

    /// The user's id, kept in the session at login.
    fn id(&self) -> Self::Id;

    /// A value that changes whenever every session of this user must end (as
    /// axum-login's `session_auth_hash` and Django's `get_session_auth_hash`).
    ///
    /// Its SHA-256 is kept in the session at login and compared, in constant time, on
    /// every request; when it differs the session is ended. Bump a per-user counter (or
    /// change whatever this is derived from) to log a user out everywhere, also with
    /// cookie-only sessions. The default is empty: sessions end only by logout, expiry,
    /// or the user being gone.
    fn session_auth_hash(&self) -> Vec<u8> {
        Vec::new()
    }
}

/// The id type of a store's users.
pub type IdOf<S> = <<S as UserStore>::User as AuthUser>::Id;

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
/// * [`get_user`](Self::get_user) finds every user [`find_or_create`](Self::find_or_create)
///   returned, until the app deletes it.
///
/// `get_user` runs on every request with a logged-in session: make it cheap (a primary
/// key lookup, or a short-lived cache). A cache's lifetime bounds how long another
/// instance may still serve a deleted user (see the [crate docs](crate#sessions)).
pub trait UserStore: Send + Sync + 'static {
    /// The application's user.
    type User: AuthUser;
    /// The store's failure (database down, constraint trouble, …).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the local user linked to `login.uid()`, creating user and link
    /// atomically when there is none.
    fn find_or_create(
        &self,
        login: &SocialLogin,
    ) -> impl Future<Output = Result<Self::User, Self::Error>> + Send;

    /// The user with this id, or `None` when there is none (any more).
    fn get_user(
        &self,
        id: &IdOf<Self>,
    ) -> impl Future<Output = Result<Option<Self::User>, Self::Error>> + Send;

    /// Whether the store can link a second provider account to an existing user
    /// ([`link_login`](Self::link_login)): the connect routes are mounted only when it
    /// can. Default: false.
    const SUPPORTS_LINKING: bool = false;

    /// Links the account of `login` to user `user` (a logged-in user connecting another
    /// provider), atomically: a `(provider, uid)` linked to nobody becomes `user`'s
    /// ([`LinkOutcome::Linked`]); one already `user`'s changes nothing
    /// ([`LinkOutcome::AlreadyYours`]); one linked to another user changes nothing and
    /// names that user ([`LinkOutcome::OwnedBy`]); a second account of a provider the
    /// user has linked already changes nothing ([`LinkOutcome::ProviderAlreadyLinked`]). Concurrent attempts on one account end
    /// with exactly one owner. Never by email, nickname or username. The default, for a
    /// store with [`SUPPORTS_LINKING`](Self::SUPPORTS_LINKING) false, links nothing.
    fn link_login(
        &self,
        user: &IdOf<Self>,
        login: &SocialLogin,
    ) -> impl Future<Output = Result<LinkOutcome<IdOf<Self>>, Self::Error>> + Send {
        let _ = (user, login);
        std::future::ready(Ok(LinkOutcome::Unsupported))
    }

    /// Ends every session of user `id`, on every instance, for
    /// [`AuthSession::log_out_everywhere`](crate::AuthSession::log_out_everywhere):
    /// change what [`session_auth_hash`](AuthUser::session_auth_hash) is derived from
    /// (bump a per-user counter). Returns false when the store cannot; that is the
    /// default.
    fn end_all_sessions(
        &self,
        id: &IdOf<Self>,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        let _ = id;
        std::future::ready(Ok(false))
    }
}

/// What [`UserStore::link_login`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkOutcome<Id> {
    /// The account was free and is now the user's.
    Linked,
    /// The account was the user's already; nothing changed.
    AlreadyYours,
    /// The account belongs to this other user; nothing changed.
    OwnedBy(Id),
    /// The user already has another account of this provider linked; nothing changed
    /// (one account per provider and user: disconnect the other first).
    ProviderAlreadyLinked,
    /// The store does not link accounts.
    Unsupported,
}

/// Where the app keeps each user's Kakao link and tokens. Optional: it enables
/// [`KakaoAuth::access_token_for`](crate::KakaoAuth::access_token_for) (refresh), token
/// revocation at logout, disconnect and Kakao's unlink webhook. Give it with
/// [`KakaoAuth::with_links`](crate::KakaoAuth::with_links).
pub trait LinkStore<Id: UserId>: Send + Sync + 'static {
    /// The store's failure.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Whether this store keeps links at all: disconnect and the unlink webhook are
    /// mounted only when it does. Only [`NoLinkStore`] says no. Default: true.
    const KEEPS_LINKS: bool = true;

    /// The link of local user `user` to `provider`, with its stored tokens.
    fn link(
        &self,
        user: &Id,
        provider: Provider,
    ) -> impl Future<Output = Result<Option<Link>, Self::Error>> + Send;

    /// Stores tokens of the user's `provider` link after a refresh.
    /// `tokens.refresh_token` is the one to keep (the library carries the old one over
    /// when the provider did not rotate it).
    fn update_tokens(
        &self,
        user: &Id,
        provider: Provider,
        tokens: &Tokens,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The local user linked to the `provider` account `uid` (for unlink webhooks).
    fn user_for(
        &self,
        provider: Provider,
        uid: &str,
    ) -> impl Future<Output = Result<Option<Id>, Self::Error>> + Send;

    /// Removes the `provider` link of `user` (after a disconnect, and for an unlink
    /// webhook). Returns false when there was nothing to remove.
    ///
    /// When it was the user's last way in, every other session of the user must end with
    /// it: either the user is deleted (the demo does this), or the user's
    /// [`session_auth_hash`](AuthUser::session_auth_hash) changes.
    fn remove_link(
        &self,
        user: &Id,
        provider: Provider,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}

/// The link store of an app that keeps no tokens: nothing is found, nothing stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLinkStore;

impl<Id: UserId> LinkStore<Id> for NoLinkStore {
    type Error = std::convert::Infallible;

    const KEEPS_LINKS: bool = false;

    async fn link(&self, _: &Id, _: Provider) -> Result<Option<Link>, Self::Error> {
        Ok(None)
    }

    async fn update_tokens(&self, _: &Id, _: Provider, _: &Tokens) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn user_for(&self, _: Provider, _: &str) -> Result<Option<Id>, Self::Error> {
        Ok(None)
    }

    async fn remove_link(&self, _: &Id, _: Provider) -> Result<bool, Self::Error> {
        Ok(false)
    }
}

/// A local user's link to one provider account, as the link store keeps it.
#[derive(Debug, Clone)]
pub struct Link {
    /// The provider.
    pub provider: Provider,
    /// The account's id there, as text.
    pub uid: String,
    /// The stored tokens, when the store keeps them.
    pub tokens: Option<Tokens>,
}

impl Link {
    /// The Kakao member number of a Kakao link.
    pub fn kakao_id(&self) -> Option<i64> {
        (self.provider == Provider::Kakao)
            .then(|| self.uid.parse().ok())
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_round_trip_and_unknown_names_are_none() {
        for provider in Provider::ALL {
            assert_eq!(Provider::from_name(provider.as_str()), Some(provider));
            assert_eq!(provider.to_string(), provider.as_str());
        }
        assert_eq!(Provider::from_name("Kakao"), None);
        assert_eq!(Provider::from_name("google"), None);
    }

    #[test]
    fn a_link_has_a_kakao_id_only_when_it_is_a_numeric_kakao_link() {
        let link = |uid: &str| Link {
            provider: Provider::Kakao,
            uid: uid.to_owned(),
            tokens: None,
        };
        assert_eq!(
            link("9007199254740993").kakao_id(),
            Some(9_007_199_254_740_993)
        );
        assert_eq!(link("not-a-number").kakao_id(), None);
    }

    #[test]
    fn tokens_debug_output_hides_the_token_values() {
        let tokens = Tokens {
            access_token: AccessToken::new("at-secret".into()),
            expires_at: Utc::now(),
            refresh_token: Some(RefreshToken::new("rt-secret".into())),
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
