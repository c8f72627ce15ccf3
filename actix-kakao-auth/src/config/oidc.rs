//! [`OidcSettings`]: how id_tokens are verified.

use std::time::Duration;

use url::Url;

/// OpenID Connect settings, resolved at build time.
#[derive(Debug, Clone)]
pub(crate) struct OidcSettings {
    pub(crate) issuer: String,
    pub(crate) jwks_url: Url,
    pub(crate) leeway: Duration,
    pub(crate) jwks_cache_ttl: Duration,
    pub(crate) jwks_min_refetch_interval: Duration,
    /// How long past its TTL a JWKS may still be used while fetching a new one fails.
    pub(crate) jwks_stale_grace: Duration,
}
