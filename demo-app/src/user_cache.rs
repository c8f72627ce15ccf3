//! A short-lived cache of user rows by id, so a protected page view does not read the
//! `users` table every time (the benchmark's largest remaining per-page cost).
//!
//! Entries live [`USER_CACHE_TTL`]; a login replaces its user's entry and a deletion
//! removes it on this instance. A read that was already under way when a row was
//! removed cannot put the old row back: every removal moves a generation counter, and
//! a read's row is cached only if no removal happened since the read began
//! ([`UserCache::ticket`], [`UserCache::put_read`]). Another instance may show a deleted
//! user's row for at most the TTL; with server-side sessions the user's session rows
//! are deleted with the user, so no request is served as that user meanwhile.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Moves at every removal.
    removals: AtomicU64,
}

/// Taken before a database read, handed to [`UserCache::put_read`] after it.
#[derive(Debug, Clone, Copy)]
pub struct ReadTicket(u64);

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

    /// Call before reading a row from the database.
    pub fn ticket(&self) -> ReadTicket {
        ReadTicket(self.removals.load(Ordering::SeqCst))
    }

    /// Remembers `user`, read from the database after `ticket` was taken, unless a row
    /// was removed meanwhile (the read may have seen a row that is gone now).
    pub fn put_read(&self, user: &User, ticket: ReadTicket) {
        let mut entries = self.lock();
        if self.removals.load(Ordering::SeqCst) != ticket.0 {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(user.id, (Instant::now(), user.clone()));
    }

    /// Forgets `id`, and refuses rows from reads that began before.
    pub fn remove(&self, id: i64) {
        let mut entries = self.lock();
        self.removals.fetch_add(1, Ordering::SeqCst);
        entries.remove(&id);
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
        cache.put_read(&user(1), cache.ticket());
        assert_eq!(cache.get(1), Some(user(1)));
        cache.remove(1);
        assert_eq!(cache.get(1), None);
        cache.put_read(&user(2), cache.ticket());
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

    #[test]
    fn a_read_that_began_before_a_removal_is_not_cached() {
        let cache = UserCache::default();
        let before = cache.ticket();
        cache.remove(3);
        cache.put_read(&user(3), before);
        assert_eq!(cache.get(3), None, "the stale read was not cached");
        let after = cache.ticket();
        cache.put_read(&user(3), after);
        assert_eq!(cache.get(3), Some(user(3)));
    }
}
