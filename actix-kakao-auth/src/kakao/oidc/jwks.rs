//! Kakao's signing keys: parsing a JWKS, and a cache that re-fetches on an unknown `kid`.
//!
//! Stale-if-error: when the cached set is older than its TTL
//! ([`jwks_cache_ttl`](crate::KakaoAuthConfig::jwks_cache_ttl)) and fetching a new one
//! fails, the last good keys keep verifying tokens for a bounded grace period past the TTL
//! ([`jwks_stale_if_error`](crate::KakaoAuthConfigBuilder::jwks_stale_if_error), default
//! 1 hour), with a warning for each failed fetch; the fetch is retried at most once per
//! minimum interval meanwhile. A successful fetch replaces the keys and starts over. Once
//! the grace period has passed, the fetch error is returned.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use url::Url;

use super::clock::TimeFn;
use super::error::{echo, IdTokenError};
use crate::kakao::client::KakaoClient;

/// Smallest and largest accepted RSA modulus, in bits.
const MODULUS_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;
/// More keys than this in one JWKS is not a JWKS Kakao would serve.
const MAX_KEYS: usize = 64;

/// The usable keys of a JWKS: RSA keys for signatures with RS256 (or no `alg`), 2048 to
/// 4096 bits, each with a `kid`. Other keys are skipped.
#[derive(Clone)]
pub struct JwkSet {
    keys: Vec<(String, DecodingKey)>,
}

impl std::fmt::Debug for JwkSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwkSet")
            .field("kids", &self.kids().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawKey {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

impl JwkSet {
    /// Parses a JWKS document (`{"keys":[…]}`). A set without a single usable key is an
    /// error, so a broken answer never replaces good cached keys.
    pub fn from_json(body: &[u8]) -> Result<Self, IdTokenError> {
        let raw: RawSet = serde_json::from_slice(body)
            .map_err(|e| IdTokenError::InvalidJwks(format!("not a JWKS: {e}")))?;
        if raw.keys.len() > MAX_KEYS {
            return Err(IdTokenError::InvalidJwks(format!(
                "more than {MAX_KEYS} keys"
            )));
        }
        let keys: Vec<(String, DecodingKey)> = raw
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<RawKey>(value).ok())
            .filter_map(usable_key)
            .collect();
        if keys.is_empty() {
            return Err(IdTokenError::InvalidJwks("no usable RS256 key".into()));
        }
        Ok(Self { keys })
    }

    /// The key ids, in document order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(kid, _)| kid.as_str())
    }

    /// The number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the set holds no key (never the case for a parsed set).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key with this `kid` (the first one, should a JWKS repeat a `kid`).
    pub(crate) fn find(&self, kid: &str) -> Option<&DecodingKey> {
        self.keys.iter().find(|(k, _)| k == kid).map(|(_, key)| key)
    }
}

/// Keeps an RSA signature key for RS256 with a sane modulus; drops anything else.
fn usable_key(raw: RawKey) -> Option<(String, DecodingKey)> {
    let kid = raw.kid.filter(|kid| !kid.is_empty())?;
    let rsa = raw.kty == "RSA";
    let for_rs256 = raw.alg.as_deref().is_none_or(|alg| alg == "RS256");
    let for_signing = raw.use_.as_deref().is_none_or(|u| u == "sig");
    if !(rsa && for_rs256 && for_signing) {
        return None;
    }
    let n = URL_SAFE_NO_PAD.decode(raw.n?).ok()?;
    let e = URL_SAFE_NO_PAD.decode(raw.e?).ok()?;
    if !MODULUS_BITS.contains(&bit_length(&n)) || e.is_empty() || e.len() > 8 {
        tracing::warn!(kid = %echo(&kid), "JWKS key skipped: unusable RSA parameters");
        return None;
    }
    Some((kid, DecodingKey::from_rsa_raw_components(&n, &e)))
}

/// The bit length of a big-endian unsigned integer.
fn bit_length(bytes: &[u8]) -> usize {
    let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(first) => &bytes[first..],
        None => return 0,
    };
    trimmed.len() * 8 - trimmed[0].leading_zeros() as usize
}

/// What the cache knows, behind a short lock.
#[derive(Default)]
struct CacheState {
    keys: Option<Arc<JwkSet>>,
    /// When `keys` was fetched.
    fetched_at: Option<DateTime<Utc>>,
    /// When an unknown `kid` last caused a re-fetch.
    refetched_at: Option<DateTime<Utc>>,
    /// When the last fetch failed (cleared by a success).
    failed_at: Option<DateTime<Utc>>,
}

/// Whether `at` lies within `window` before `now`. A time after `now` (the clock went
/// back) counts as outside, so a clock change never freezes the cache.
fn within(at: Option<DateTime<Utc>>, window: Duration, now: DateTime<Utc>) -> bool {
    let Some(at) = at else { return false };
    let Ok(window) = chrono::Duration::from_std(window) else {
        return true;
    };
    at <= now && now.signed_duration_since(at) < window
}

/// The JWKS cache: keys are kept for a TTL; an unknown `kid` triggers at most one
/// re-fetch per minimum interval; a failed fetch is not retried within that interval;
/// while fetching fails, keys past their TTL are still used for the stale grace period;
/// concurrent callers share one fetch (single flight). `Send + Sync`: one cache serves
/// every worker.
pub(crate) struct JwksCache {
    client: KakaoClient,
    url: Url,
    ttl: Duration,
    min_refetch_interval: Duration,
    /// How long past `ttl` the keys may serve while fetching fails (stale-if-error).
    stale_grace: Duration,
    clock: TimeFn,
    state: Mutex<CacheState>,
    /// Held for the whole of a fetch: whoever waits on it finds the fresh keys after.
    fetch: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url.as_str())
            .field("ttl", &self.ttl)
            .field("min_refetch_interval", &self.min_refetch_interval)
            .field("stale_grace", &self.stale_grace)
            .finish_non_exhaustive()
    }
}

/// Where an [`IdTokenVerifier`](super::IdTokenVerifier) gets its keys: a JWKS URL, fetched
/// through a [`KakaoClient`], and how the fetched set is cached.
#[derive(Debug, Clone)]
pub struct JwksSource {
    client: KakaoClient,
    url: Url,
    cache_ttl: Duration,
    min_refetch_interval: Duration,
    stale_if_error: Duration,
}

impl JwksSource {
    /// Keys from `url`, fetched through `client` (its transport, timeouts and body limit).
    pub fn new(client: KakaoClient, url: Url) -> Self {
        Self {
            client,
            url,
            cache_ttl: Duration::from_secs(600),
            min_refetch_interval: Duration::from_secs(30),
            stale_if_error: Duration::from_secs(3600),
        }
    }

    /// How long a fetched JWKS is used before it is fetched again. Default: 10 min.
    #[must_use]
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// The shortest time between two fetches caused by an unknown `kid`. Default: 30 s.
    #[must_use]
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    /// How long past its TTL a JWKS still serves while fetching a new one fails.
    /// Default: 1 hour.
    #[must_use]
    pub fn stale_if_error(mut self, grace: Duration) -> Self {
        self.stale_if_error = grace;
        self
    }
}

impl JwksCache {
    pub(crate) fn new(source: JwksSource, clock: TimeFn) -> Self {
        Self {
            url: source.url,
            ttl: source.cache_ttl,
            min_refetch_interval: source.min_refetch_interval,
            stale_grace: source.stale_if_error,
            client: source.client,
            clock,
            state: Mutex::new(CacheState::default()),
            fetch: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn set_clock(&mut self, clock: TimeFn) {
        self.clock = clock;
    }

    fn state(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached keys if they are younger than the TTL.
    fn fresh_keys(&self, now: DateTime<Utc>) -> Option<Arc<JwkSet>> {
        let state = self.state();
        if within(state.fetched_at, self.ttl, now) {
            state.keys.clone()
        } else {
            None
        }
    }

    /// The key named `kid` from cached keys past their TTL but still within the stale
    /// grace period: what a failed fetch falls back on.
    fn stale_key(&self, state: &CacheState, kid: &str, now: DateTime<Utc>) -> Option<DecodingKey> {
        let usable_for = self.ttl.saturating_add(self.stale_grace);
        if within(state.fetched_at, usable_for, now) {
            state.keys.as_ref()?.find(kid).cloned()
        } else {
            None
        }
    }

    /// The key named `kid`, fetching the JWKS when the cache is empty or stale, or once
    /// (rate-limited) when `kid` is unknown. When that fetch fails, keys within the stale
    /// grace period still serve.
    pub(crate) async fn key(&self, kid: &str) -> Result<DecodingKey, IdTokenError> {
        if let Some(key) = self
            .fresh_keys((self.clock)())
            .and_then(|k| k.find(kid).cloned())
        {
            return Ok(key);
        }
        let _single_flight = self.fetch.lock().await;
        // Someone may have fetched while this caller waited.
        let now = (self.clock)();
        let fresh = self.fresh_keys(now);
        if let Some(key) = fresh.as_ref().and_then(|k| k.find(kid).cloned()) {
            return Ok(key);
        }
        {
            let mut state = self.state();
            if within(state.failed_at, self.min_refetch_interval, now) {
                // A fetch failed moments ago (and was logged): stale keys may still serve.
                if let Some(key) = self.stale_key(&state, kid, now) {
                    return Ok(key);
                }
                return Err(IdTokenError::JwksBackoff);
            }
            if fresh.is_some() {
                // Fresh keys, unknown kid: a rotation, or a forged kid. One re-fetch per interval.
                if within(state.refetched_at, self.min_refetch_interval, now) {
                    return Err(IdTokenError::UnknownKey { kid: echo(kid) });
                }
                state.refetched_at = Some(now);
            }
        }
        let keys = match self.fetch_now().await {
            Ok(keys) => keys,
            Err(error) => {
                let mut state = self.state();
                state.failed_at = Some(now);
                if let Some(key) = self.stale_key(&state, kid, now) {
                    tracing::warn!(
                        %error,
                        fetched_at = ?state.fetched_at,
                        "JWKS fetch failed; verifying with the last good keys (stale-if-error)"
                    );
                    return Ok(key);
                }
                return Err(error);
            }
        };
        let found = keys.find(kid).cloned();
        {
            let mut state = self.state();
            state.keys = Some(keys);
            state.fetched_at = Some(now);
            state.failed_at = None;
        }
        found.ok_or_else(|| IdTokenError::UnknownKey { kid: echo(kid) })
    }

    async fn fetch_now(&self) -> Result<Arc<JwkSet>, IdTokenError> {
        tracing::debug!(url = %self.url, "fetching the JWKS");
        let fetched = self
            .client
            .fetch_jwks(&self.url)
            .await
            .map_err(IdTokenError::Jwks)
            .and_then(|body| JwkSet::from_json(&body));
        crate::metrics::jwks_refresh(fetched.is_ok());
        let keys = fetched?;
        tracing::info!(kids = ?keys.kids().collect::<Vec<_>>(), "JWKS fetched");
        Ok(Arc::new(keys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_ignores_leading_zero_bytes() {
        assert_eq!(bit_length(&[0, 0, 1]), 1);
        assert_eq!(bit_length(&[0x80; 256]), 2048);
        assert_eq!(bit_length(&[0, 0x7f]), 7);
        assert_eq!(bit_length(&[]), 0);
    }

    #[test]
    fn sets_without_a_usable_key_are_refused() {
        for body in [
            &b"{}"[..],
            br#"{"keys":[]}"#,
            br#"{"keys":[{"kty":"EC","kid":"a","crv":"P-256","x":"AA","y":"AA"}]}"#,
            br#"{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}"#,
            b"not json",
        ] {
            assert!(
                matches!(JwkSet::from_json(body), Err(IdTokenError::InvalidJwks(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn within_treats_a_future_timestamp_as_outside() {
        let now = Utc::now();
        let window = Duration::from_secs(30);
        assert!(within(Some(now), window, now));
        assert!(!within(
            Some(now + chrono::Duration::seconds(5)),
            window,
            now
        ));
        assert!(!within(
            Some(now - chrono::Duration::seconds(30)),
            window,
            now
        ));
        assert!(!within(None, window, now));
    }

    /// The cache's stale-if-error behaviour, against the emulator's JWKS and a clock the
    /// test moves by hand.
    mod stale_if_error {
        use std::sync::atomic::{AtomicI64, Ordering};
        use std::sync::Arc;
        use std::time::Duration;

        use chrono::{DateTime, Utc};

        use crate::error::KakaoApiError;
        use crate::kakao::client::KakaoClient;
        use crate::kakao::oidc::{IdTokenError, IdTokenVerifier};
        use crate::KakaoAuthConfig;
        use kakao_emulator::{Endpoint, Fault, KakaoEmulator};

        const CALLBACK: &str = "http://app.test/auth/kakao/callback";
        const NONCE: &str = "n0nce";
        const USER: i64 = 1001;
        const TTL: i64 = 600;

        struct Rig {
            kakao: KakaoEmulator,
            verifier: IdTokenVerifier,
            now: Arc<AtomicI64>,
            token: String,
        }

        impl Rig {
            async fn new(grace: Duration) -> Self {
                let kakao = KakaoEmulator::builder()
                    .redirect_uri(CALLBACK)
                    .start()
                    .await
                    .expect("emulator");
                let base = kakao.base_url().as_str().trim_end_matches('/').to_owned();
                let config = KakaoAuthConfig::builder(kakao.client_id(), CALLBACK)
                    .session_secret("s".repeat(64))
                    .auth_base_url(base.clone())
                    .api_base_url(base)
                    .scopes(["openid"])
                    .oidc(crate::config::OidcOptions {
                        jwks_cache_ttl: Duration::from_secs(TTL.unsigned_abs()),
                        jwks_min_refetch_interval: Duration::from_secs(30),
                        jwks_stale_if_error: grace,
                        ..crate::config::OidcOptions::default()
                    })
                    .build()
                    .expect("config");
                let client = KakaoClient::new(Arc::clone(config.client())).expect("client");
                let now = Arc::new(AtomicI64::new(Utc::now().timestamp()));
                let clock = Arc::clone(&now);
                let verifier =
                    IdTokenVerifier::from_config(&config, client).set_time_fn(move || {
                        DateTime::from_timestamp(clock.load(Ordering::SeqCst), 0)
                            .unwrap_or_default()
                    });
                let token = kakao
                    .mint_id_token(USER, &["openid"], Some(NONCE))
                    .expect("token");
                Self {
                    kakao,
                    verifier,
                    now,
                    token,
                }
            }

            fn advance(&self, seconds: i64) {
                self.now.fetch_add(seconds, Ordering::SeqCst);
            }

            async fn verify(&self) -> Result<(), IdTokenError> {
                self.verifier.verify(&self.token, NONCE).await.map(drop)
            }

            fn jwks_down(&self) {
                self.kakao.faults().set(Endpoint::Jwks, Fault::Html5xx(503));
            }
        }

        fn is_outage(result: &Result<(), IdTokenError>) -> bool {
            matches!(
                result,
                Err(IdTokenError::Jwks(KakaoApiError::Unavailable {
                    status: 503
                }))
            )
        }

        #[actix_web::test]
        async fn keys_past_their_ttl_still_verify_during_the_grace_period_while_jwks_fetching_fails(
        ) {
            let rig = Rig::new(Duration::from_secs(1800)).await;
            rig.verify().await.expect("fresh keys");
            rig.jwks_down();
            rig.advance(TTL + 1);
            rig.verify().await.expect("stale keys after a failed fetch");
            assert_eq!(rig.kakao.jwks_requests(), 2, "the refresh was tried");
            rig.advance(10);
            rig.verify().await.expect("stale keys during the back-off");
            assert_eq!(rig.kakao.jwks_requests(), 2, "no retry within the interval");
            rig.advance(TTL + 1800 - (TTL + 11) - 1); // one second before the grace ends
            rig.verify()
                .await
                .expect("stale keys until the grace period ends");
            assert_eq!(rig.kakao.jwks_requests(), 3, "retried after the interval");
        }

        #[actix_web::test]
        async fn after_the_grace_period_verification_fails_with_the_fetch_error() {
            let rig = Rig::new(Duration::from_secs(1800)).await;
            rig.verify().await.expect("fresh keys");
            rig.jwks_down();
            rig.advance(TTL + 1800);
            let result = rig.verify().await;
            assert!(is_outage(&result), "{result:?}");
            assert!(matches!(rig.verify().await, Err(IdTokenError::JwksBackoff)));
        }

        #[actix_web::test]
        async fn a_successful_fetch_restarts_the_grace_period() {
            let rig = Rig::new(Duration::from_secs(1800)).await;
            rig.verify().await.expect("fresh keys");
            rig.jwks_down();
            rig.advance(TTL + 1);
            rig.verify().await.expect("stale keys");
            rig.kakao.faults().clear(Endpoint::Jwks);
            rig.advance(31);
            rig.verify().await.expect("fetched again");
            assert_eq!(rig.kakao.jwks_requests(), 3);
            // The first set's grace period would end in 1800 - 32 s; the new set's does not.
            rig.jwks_down();
            rig.advance(TTL + 1799);
            rig.verify().await.expect("stale keys of the second fetch");
            rig.advance(31); // past its grace period and the back-off
            let result = rig.verify().await;
            assert!(is_outage(&result), "{result:?}");
        }

        #[actix_web::test]
        async fn a_zero_grace_period_returns_the_fetch_error_once_the_ttl_has_passed() {
            let rig = Rig::new(Duration::ZERO).await;
            rig.verify().await.expect("fresh keys");
            rig.jwks_down();
            rig.advance(TTL);
            let result = rig.verify().await;
            assert!(is_outage(&result), "{result:?}");
        }
    }
}
