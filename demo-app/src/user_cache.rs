//! A short-lived cache of user rows by id, so a protected page view does not read the
//! `users` table every time (the benchmark's largest remaining per-page cost).
//!
//! Entries live [`USER_CACHE_TTL`]; a login replaces its user's entry and a deletion
//! removes it on this instance. Another instance may show a deleted user's row for at
//! most the TTL, but deleting a user also ends all of their sessions, so no request is
//! served as that user meanwhile.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::models::User;

/// How long a cached row is used.
pub const USER_CACHE_TTL: Duration = Duration::from_secs(2);
/// Most rows kept; beyond it the cache starts over.
const MAX_ENTRIES: usize = 10_000;

/// Users by id, each with the time it was read.
#[derive(Debug, Default)]
pub struct UserCache {
    entries: Mutex<HashMap<i64, (Instant, User)>>,
}

impl UserCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (Instant, User)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached row of `id`, if read less than the TTL ago.
    pub fn get(&self, id: i64) -> Option<User> {
        let entries = self.lock();
        let (read_at, user) = entries.get(&id)?;
        (read_at.elapsed() < USER_CACHE_TTL).then(|| user.clone())
    }

    /// Remembers `user` as just read.
    pub fn put(&self, user: &User) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(user.id, (Instant::now(), user.clone()));
    }

    /// Forgets `id`.
    pub fn remove(&self, id: i64) {
        self.lock().remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn user(id: i64) -> User {
        User {
            id,
            username: format!("kakao_{id}"),
            email: None,
            nickname: "n".into(),
            profile_image_url: None,
            created_at: NaiveDateTime::default(),
            last_login_at: NaiveDateTime::default(),
        }
    }

    #[test]
    fn rows_are_served_until_removed_or_expired() {
        let cache = UserCache::default();
        assert_eq!(cache.get(1), None);
        cache.put(&user(1));
        assert_eq!(cache.get(1), Some(user(1)));
        cache.remove(1);
        assert_eq!(cache.get(1), None);
        cache.put(&user(2));
        let old = Instant::now()
            .checked_sub(USER_CACHE_TTL)
            .expect("clock far enough from boot");
        cache.lock().insert(2, (old, user(2)));
        assert_eq!(
            cache.get(2),
            None,
            "an entry older than the TTL is not used"
        );
    }
}
