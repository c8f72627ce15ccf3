//! [`IdTokenVerifier`]: runs the checks in order against keys from the JWKS cache.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::checks::{self, Expected};
use super::claims::IdTokenClaims;
use super::clock::TimeFn;
use super::error::IdTokenError;
use super::jwks::{JwkSet, JwksCache, JwksSource};
use super::jws;
use crate::config::KakaoAuthConfig;
use crate::kakao::client::KakaoClient;

/// Verifies Kakao id_tokens for one app. Build one per application (the
/// [`KakaoAuth`](crate::KakaoAuth) login does so when `openid` is configured) and share
/// it: it is `Send + Sync`, and its JWKS cache serves every worker.
pub struct IdTokenVerifier {
    issuer: String,
    client_id: String,
    leeway: Duration,
    clock: TimeFn,
    jwks: JwksCache,
}

impl std::fmt::Debug for IdTokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenVerifier")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("leeway", &self.leeway)
            .field("jwks", &self.jwks)
            .finish_non_exhaustive()
    }
}

impl IdTokenVerifier {
    /// A verifier for id_tokens that `issuer` issued to `client_id` (the `aud`), signed with
    /// keys from `jwks`. The clock skew tolerated on `exp` and `iat` is 60 s
    /// ([`leeway`](Self::leeway)).
    pub fn new(client_id: impl Into<String>, issuer: impl Into<String>, jwks: JwksSource) -> Self {
        let clock: TimeFn = Arc::new(Utc::now);
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            leeway: Duration::from_secs(60),
            jwks: JwksCache::new(jwks, Arc::clone(&clock)),
            clock,
        }
    }

    /// The verifier a [`KakaoAuthConfig`] describes: its client id, issuer, leeway and
    /// JWKS settings; the keys are fetched through `client`.
    pub fn from_config(config: &KakaoAuthConfig, client: KakaoClient) -> Self {
        let jwks = JwksSource::new(client, config.jwks_url().clone())
            .cache_ttl(config.jwks_cache_ttl())
            .min_refetch_interval(config.jwks_min_refetch_interval())
            .stale_if_error(config.jwks_stale_if_error());
        Self::new(config.client_id(), config.oidc_issuer(), jwks)
            .leeway(config.id_token_leeway())
            .with_clock(Arc::clone(&config.clock))
    }

    fn with_clock(mut self, clock: TimeFn) -> Self {
        self.jwks.set_clock(Arc::clone(&clock));
        self.clock = clock;
        self
    }

    /// The clock skew tolerated on `exp` and `iat`. Default: 60 s.
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Replaces the clock (default [`Utc::now`]), for tests: the `exp`/`iat` checks and the
    /// JWKS cache's TTL and intervals all read it.
    #[must_use]
    pub fn set_time_fn<F>(self, time_fn: F) -> Self
    where
        F: Fn() -> DateTime<Utc> + Send + Sync + 'static,
    {
        self.with_clock(Arc::new(time_fn))
    }

    /// The issuer tokens must name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Verifies `id_token` for a login that sent `nonce` at authorize, fetching Kakao's keys
    /// as needed. Returns the claims only if every check passed; call
    /// [`IdTokenClaims::check_subject`] once the user id is known.
    pub async fn verify(&self, id_token: &str, nonce: &str) -> Result<IdTokenClaims, IdTokenError> {
        let jws = jws::parse(id_token)?;
        let kid = checks::check_header(&jws.header)?;
        let key = self.jwks.key(kid).await?;
        checks::check_signature(&jws, &key)?;
        self.checked_claims(&jws.payload, Some(nonce), true, &[])
    }

    /// [`verify`](Self::verify) for a provider that may not echo the `nonce` (Naver): a
    /// token without the claim passes, a token with another nonce does not.
    pub async fn verify_nonce_if_present(
        &self,
        id_token: &str,
        nonce: &str,
    ) -> Result<IdTokenClaims, IdTokenError> {
        let jws = jws::parse(id_token)?;
        let kid = checks::check_header(&jws.header)?;
        let key = self.jwks.key(kid).await?;
        checks::check_signature(&jws, &key)?;
        self.checked_claims(&jws.payload, Some(nonce), false, &[])
    }

    /// [`verify`](Self::verify) against a key set you hold, without any network call.
    pub fn verify_with_keys(
        &self,
        id_token: &str,
        nonce: &str,
        keys: &JwkSet,
    ) -> Result<IdTokenClaims, IdTokenError> {
        let jws = jws::parse(id_token)?;
        let kid = checks::check_header(&jws.header)?;
        let key = keys.find(kid).ok_or_else(|| IdTokenError::UnknownKey {
            kid: super::error::echo(kid),
        })?;
        checks::check_signature(&jws, key)?;
        self.checked_claims(&jws.payload, Some(nonce), true, &[])
    }

    /// Everything [`verify`](Self::verify) checks after the signature, on a raw header and
    /// payload: lets the fuzz target reach the header and claim checks with any shape
    /// without paying for an RSA signature per input.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn checks_after_signature(
        &self,
        header: &[u8],
        payload: &[u8],
        nonce: &str,
    ) -> Result<IdTokenClaims, IdTokenError> {
        let header: jws::JoseHeader = jws::parse_json("header", header)?;
        checks::check_header(&header)?;
        self.checked_claims(payload, Some(nonce), true, &[])
    }

    /// Verifies an id_token a Kakao SDK obtained (a native or JavaScript app's login): like
    /// [`verify`](Self::verify), but `aud` may also be one of `extra_audiences` (the
    /// app's native app key, JavaScript key), and `nonce` is checked only when given.
    pub async fn verify_sdk_token(
        &self,
        id_token: &str,
        nonce: Option<&str>,
        extra_audiences: &[String],
    ) -> Result<IdTokenClaims, IdTokenError> {
        let jws = jws::parse(id_token)?;
        let kid = checks::check_header(&jws.header)?;
        let key = self.jwks.key(kid).await?;
        checks::check_signature(&jws, &key)?;
        let extra: Vec<&str> = extra_audiences.iter().map(String::as_str).collect();
        self.checked_claims(&jws.payload, nonce, true, &extra)
    }

    /// Parses the (signature-checked) payload and runs the claim checks; `aud` may be the
    /// client id or one of `extra_audiences`.
    fn checked_claims(
        &self,
        payload: &[u8],
        nonce: Option<&str>,
        nonce_required: bool,
        extra_audiences: &[&str],
    ) -> Result<IdTokenClaims, IdTokenError> {
        let claims = IdTokenClaims::from_json(payload)?;
        let audiences: Vec<&str> = std::iter::once(self.client_id.as_str())
            .chain(extra_audiences.iter().copied())
            .collect();
        checks::check_claims(
            &claims,
            &Expected {
                issuer: &self.issuer,
                audiences: &audiences,
                nonce,
                nonce_required,
                now: (self.clock)().timestamp(),
                leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
            },
        )?;
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifier_can_be_shared_across_workers() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<IdTokenVerifier>();
        assert_send_sync::<JwkSet>();
    }
}
