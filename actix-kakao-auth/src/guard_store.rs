//! [`GuardStore`]: what must hold across instances (attempt counts, one-use markers,
//! short locks) kept where every instance sees it.
//!
//! The library uses it for three things:
//! * the SDK sign-in **attempt limit**: refused attempts per client address, counted in
//!   one-minute windows ([`increment`](GuardStore::increment), [`count`](GuardStore::count));
//! * the SDK **replay guard**: an id_token's `jti` or `nonce` is inserted once, until the
//!   token expires ([`insert_once`](GuardStore::insert_once));
//! * single-flight **token refresh**: a short lock per user, so a rotated refresh token is
//!   spent once ([`insert_once`](GuardStore::insert_once) with a random owner value, then
//!   [`remove_if`](GuardStore::remove_if)).
//!
//! The default, [`MemoryGuardStore`], is right for one instance only: behind a load
//! balancer each instance would count and remember on its own. With several instances,
//! give every one the same shared store (the demo app uses Redis when `REDIS_URL` is set,
//! else its database) through
//! [`KakaoAuthConfigBuilder::guard_store`](crate::KakaoAuthConfigBuilder::guard_store).
//! Every implementation must pass `testing::guard_store_acceptance_suite` (feature
//! `testing`).
//!
//! Keys are short ASCII strings the library builds (`sdk-attempts:…`, `sdk-replay:…`,
//! `refresh:…`), never raw request input: anything taken from a token is hashed first.
//!
//! When the store fails, the library refuses rather than guesses: an SDK sign-in answers
//! 503 and a refresh reports the store error.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The boxed future a [`GuardStore`] method returns.
pub type GuardFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, GuardStoreError>> + Send + 'a>>;

/// A guard store could not answer (its backend is down or refused the command).
#[derive(Debug, thiserror::Error)]
#[error("guard store failed: {0}")]
pub struct GuardStoreError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl GuardStoreError {
    /// Wraps a backend's error.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(error.into())
    }
}

/// Counters, one-use markers and short locks shared by every instance of an app. See
/// the [module docs](self).
///
/// Each key has a value (a counter or a marker) and an expiry; an expired key reads as
/// absent. Implementations must be atomic per call: two instances calling
/// [`insert_once`](Self::insert_once) with one key at once see exactly one `true`.
pub trait GuardStore: Send + Sync + 'static {
    /// The counter at `key` in its current window; 0 when absent or expired.
    fn count<'a>(&'a self, key: &'a str) -> GuardFuture<'a, u64>;

    /// Adds one to the counter at `key` and returns the new value. An absent or expired
    /// counter starts at 1 and expires `window` from now; a live one keeps its expiry
    /// (fixed windows).
    fn increment<'a>(&'a self, key: &'a str, window: Duration) -> GuardFuture<'a, u64>;

    /// Stores `value` at `key` for `ttl` unless a live value is there. True when stored.
    fn insert_once<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> GuardFuture<'a, bool>;

    /// Removes `key` when its live value is `value` (releasing a lock only its owner
    /// holds). True when removed.
    fn remove_if<'a>(&'a self, key: &'a str, value: &'a str) -> GuardFuture<'a, bool>;
}

/// The in-process [`GuardStore`]: correct for **one** instance (and the default). Entries
/// expire on their own; at most [`MemoryGuardStore::MAX_ENTRIES`] live ones are kept, and a
/// full store refuses new markers rather than forgetting live ones.
#[derive(Debug, Default)]
pub struct MemoryGuardStore {
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug)]
struct Entry {
    value: String,
    count: u64,
    expires: Instant,
}

impl MemoryGuardStore {
    /// Most entries kept at once.
    pub const MAX_ENTRIES: usize = 100_000;

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>, Instant) -> T) -> T {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, e| e.expires > now);
        }
        f(&mut entries, now)
    }
}

fn full() -> GuardStoreError {
    GuardStoreError::new("the in-memory guard store is full")
}

impl GuardStore for MemoryGuardStore {
    fn count<'a>(&'a self, key: &'a str) -> GuardFuture<'a, u64> {
        let count = self.with(|entries, now| {
            entries
                .get(key)
                .filter(|e| e.expires > now)
                .map_or(0, |e| e.count)
        });
        Box::pin(std::future::ready(Ok(count)))
    }

    fn increment<'a>(&'a self, key: &'a str, window: Duration) -> GuardFuture<'a, u64> {
        let result = self.with(|entries, now| {
            if let Some(entry) = entries.get_mut(key).filter(|e| e.expires > now) {
                entry.count = entry.count.saturating_add(1);
                return Ok(entry.count);
            }
            if entries.len() >= Self::MAX_ENTRIES {
                return Err(full());
            }
            entries.insert(
                key.to_owned(),
                Entry {
                    value: String::new(),
                    count: 1,
                    expires: now + window,
                },
            );
            Ok(1)
        });
        Box::pin(std::future::ready(result))
    }

    fn insert_once<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        ttl: Duration,
    ) -> GuardFuture<'a, bool> {
        let result = self.with(|entries, now| match entries.get(key) {
            Some(entry) if entry.expires > now => Ok(false),
            _ if entries.len() >= Self::MAX_ENTRIES => Err(full()),
            _ => {
                entries.insert(
                    key.to_owned(),
                    Entry {
                        value: value.to_owned(),
                        count: 0,
                        expires: now + ttl,
                    },
                );
                Ok(true)
            }
        });
        Box::pin(std::future::ready(result))
    }

    fn remove_if<'a>(&'a self, key: &'a str, value: &'a str) -> GuardFuture<'a, bool> {
        let removed = self.with(|entries, now| {
            let owned = entries
                .get(key)
                .is_some_and(|e| e.expires > now && e.value == value);
            if owned {
                entries.remove(key);
            }
            owned
        });
        Box::pin(std::future::ready(Ok(removed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counters_markers_and_locks_expire() {
        let store = MemoryGuardStore::default();
        assert_eq!(store.count("c").await.expect("count"), 0);
        assert_eq!(
            store
                .increment("c", Duration::from_millis(50))
                .await
                .expect("+"),
            1
        );
        assert_eq!(
            store
                .increment("c", Duration::from_millis(50))
                .await
                .expect("+"),
            2
        );
        assert_eq!(store.count("c").await.expect("count"), 2);
        assert!(store
            .insert_once("m", "a", Duration::from_millis(50))
            .await
            .expect("i"));
        assert!(!store
            .insert_once("m", "b", Duration::from_millis(50))
            .await
            .expect("i"));
        assert!(!store.remove_if("m", "b").await.expect("r"));
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(store.count("c").await.expect("count"), 0);
        assert_eq!(
            store
                .increment("c", Duration::from_secs(5))
                .await
                .expect("+"),
            1
        );
        assert!(store
            .insert_once("m", "b", Duration::from_secs(5))
            .await
            .expect("i"));
        assert!(store.remove_if("m", "b").await.expect("r"));
        assert!(store
            .insert_once("m", "c", Duration::from_secs(5))
            .await
            .expect("i"));
    }
}
