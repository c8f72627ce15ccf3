//! One token refresh at a time per user: concurrent callers of
//! [`KakaoAuth::access_token_for`](crate::KakaoAuth::access_token_for) wait for the first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

/// Per-user locks so that concurrent callers trigger one refresh.
#[derive(Default)]
pub(crate) struct RefreshGate {
    locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl RefreshGate {
    pub(crate) fn lock_for(&self, user_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(lock) = locks.get(user_id).and_then(Weak::upgrade) {
            return lock;
        }
        locks.retain(|_, weak| weak.strong_count() > 0);
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(user_id.to_owned(), Arc::downgrade(&lock));
        lock
    }
}
