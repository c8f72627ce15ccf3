//! [`DbSessionStore`]: actix-session state in the app's database (`sessions` table).
//!
//! Each session is one row: a fresh random key (64 alphanumeric characters, about
//! 380 bits, generated like actix-session's own stores), the session map as JSON, the
//! expiry time, and the logged-in user's id (read with
//! [`actix_kakao_auth::session::user_id_in_entry`]), so
//! [`DbSessionStore::delete_user_sessions`] can end every session of one user.
//!
//! **An ended session stays ended.** `update` changes a row only while it exists: a
//! request that loaded a session before a logout (or a disconnect) deleted it cannot
//! write it back. Such an update, and an update that leaves the session empty, gets a
//! fresh key that names no row, so the request completes and its cookie is useless (as
//! Django's `UpdateError`, without the 500).
//!
//! **Anonymous sessions are short-lived.** A session without a logged-in user expires
//! after [`ANONYMOUS_TTL`] (the login flow's lifetime), not the 14 days of a login.
//!
//! **Expired rows** are never loaded, and are deleted two ways:
//! * the app calls [`DbSessionStore::spawn_purge_task`] once at start: a tokio task
//!   that runs [`DbSessionStore::purge_expired`] at a fixed interval;
//! * and, so that a forgotten task cannot let the table grow without bound, every
//!   [`DEFAULT_PURGE_EVERY`]th save (counted across a store and its clones) also purges.
//!   Change that with [`DbSessionStore::with_purge_every`] (`0` turns it off).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::RunQueryDsl;
use rand::distributions::{Alphanumeric, DistString as _};

use crate::db::{Db, DbError};
use crate::db_run;
use crate::models::{now_utc, SessionRow};
use crate::schema::sessions;

/// How long a session without a logged-in user lives on the server.
pub const ANONYMOUS_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// By default, every this many saves also purge expired rows.
pub const DEFAULT_PURGE_EVERY: u64 = 100;

/// The length of a session key in alphanumeric characters.
const KEY_LEN: usize = 64;

/// The session map as actix-session hands it over.
type SessionState = HashMap<String, String>;

/// Why a session store query failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionStoreError {
    /// No database connection could be had.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A query failed.
    #[error("session query failed: {0}")]
    Query(#[from] DieselError),
}

/// Server-side sessions in the `sessions` table. Cheap to clone; clones share the
/// pool and the purge counter.
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
    purge_every: u64,
    saves: Arc<AtomicU64>,
}

impl DbSessionStore {
    /// A store on `db`, purging expired rows every [`DEFAULT_PURGE_EVERY`] saves.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            purge_every: DEFAULT_PURGE_EVERY,
            saves: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Purges expired rows every `n` saves instead (`0` turns automatic purging off).
    pub fn with_purge_every(mut self, n: u64) -> Self {
        self.purge_every = n;
        self
    }

    /// Ends every session of user `user_id`; returns how many rows were deleted.
    pub async fn delete_user_sessions(&self, user_id: i64) -> Result<u64, SessionStoreError> {
        let deleted = db_run!(
            &self.db,
            write | conn | {
                diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id)))
                    .execute(conn)
                    .await
            }
        )?;
        Ok(deleted as u64)
    }

    /// Deletes every expired row; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, SessionStoreError> {
        let now = now_utc();
        let deleted = db_run!(
            &self.db,
            write | conn | {
                diesel::delete(sessions::table.filter(sessions::expires_at.le(now)))
                    .execute(conn)
                    .await
            }
        )?;
        Ok(deleted as u64)
    }

    /// Spawns a tokio task that purges expired rows every `every` (the first run right
    /// away) until the runtime shuts down or the returned handle is aborted. Failures
    /// are logged and retried at the next tick. Call it from inside a tokio runtime.
    pub fn spawn_purge_task(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        let every = every.max(std::time::Duration::from_secs(1));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match store.purge_expired().await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(purged = n, "expired sessions purged"),
                    Err(e) => tracing::warn!(error = %e, "purging expired sessions failed"),
                }
            }
        })
    }

    /// Inserts a row under a fresh key.
    async fn insert(
        &self,
        state: &str,
        user_id: Option<i64>,
        expires_at: NaiveDateTime,
    ) -> Result<String, SessionStoreError> {
        loop {
            let key = Alphanumeric.sample_string(&mut rand::thread_rng(), KEY_LEN);
            let row = SessionRow {
                key: key.clone(),
                state: state.to_owned(),
                user_id,
                expires_at,
            };
            let inserted = db_run!(
                &self.db,
                write | conn | {
                    diesel::insert_into(sessions::table)
                        .values(&row)
                        .execute(conn)
                        .await
                }
            );
            match inserted {
                Ok(_) => return Ok(key),
                // A 380-bit key collided: draw again.
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Runs [`purge_expired`](Self::purge_expired) on every `purge_every`th save.
    async fn maybe_purge(&self) {
        if self.purge_every == 0 {
            return;
        }
        let saves = self.saves.fetch_add(1, Ordering::Relaxed) + 1;
        if saves.is_multiple_of(self.purge_every) {
            match self.purge_expired().await {
                Ok(n) => tracing::debug!(purged = n, "expired sessions purged"),
                Err(e) => tracing::warn!(error = %e, "purging expired sessions failed"),
            }
        }
    }
}

/// The logged-in user's id in a session state map.
pub fn session_user(state: &SessionState) -> Option<i64> {
    use actix_kakao_auth::session::{user_id_in_entry, SESSION_USER_KEY};
    state
        .get(SESSION_USER_KEY)
        .and_then(|raw| user_id_in_entry::<i64>(raw))
}

/// A session key that names no row: the answer to an update of a session that ended.
pub fn dead_key() -> Result<SessionKey, anyhow::Error> {
    SessionKey::try_from(Alphanumeric.sample_string(&mut rand::thread_rng(), KEY_LEN))
        .map_err(|e| anyhow::anyhow!("invalid session key: {e}"))
}

/// The lifetime of a session row: `ttl` for a login, at most [`ANONYMOUS_TTL`] without one.
pub fn row_ttl(user: Option<i64>, ttl: &Duration) -> Duration {
    match user {
        Some(_) => *ttl,
        None => {
            let anonymous = Duration::seconds(ANONYMOUS_TTL.as_secs() as i64);
            (*ttl).min(anonymous)
        }
    }
}

/// `now + ttl`, capped at the end of year 9999 (both databases, and SQLite's text
/// ordering of timestamps, handle four-digit years).
fn expiry(ttl: &Duration) -> NaiveDateTime {
    let latest = NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .unwrap_or(NaiveDateTime::MAX);
    let ttl = TimeDelta::try_seconds(ttl.whole_seconds()).unwrap_or(TimeDelta::MAX);
    now_utc()
        .checked_add_signed(ttl)
        .map_or(latest, |t| t.min(latest))
}

fn serialize(state: &SessionState) -> Result<String, anyhow::Error> {
    Ok(serde_json::to_string(state)?)
}

impl SessionStore for DbSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let key = session_key.as_ref().to_owned();
        let now = now_utc();
        let state: Option<String> = async {
            Ok::<_, SessionStoreError>(db_run!(&self.db, |conn| {
                sessions::table
                    .filter(sessions::key.eq(key))
                    .filter(sessions::expires_at.gt(now))
                    .select(sessions::state)
                    .get_result(conn)
                    .await
                    .optional()
            })?)
        }
        .await
        .map_err(|e| LoadError::Other(e.into()))?;
        state
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(
        &self,
        session_state: SessionState,
        ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        let state = serialize(&session_state).map_err(SaveError::Serialization)?;
        let user = session_user(&session_state);
        let key = self
            .insert(&state, user, expiry(&row_ttl(user, ttl)))
            .await
            .map_err(|e| SaveError::Other(e.into()))?;
        self.maybe_purge().await;
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: SessionState,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        if session_state.is_empty() {
            // Nothing left in it: the session ends here.
            self.delete(&session_key)
                .await
                .map_err(UpdateError::Other)?;
            return dead_key().map_err(UpdateError::Other);
        }
        let state = serialize(&session_state).map_err(UpdateError::Serialization)?;
        let user_id = session_user(&session_state);
        let expires_at = expiry(&row_ttl(user_id, ttl));
        let now = now_utc();
        let key = session_key.as_ref().to_owned();
        let updated = async {
            Ok::<_, SessionStoreError>(db_run!(
                &self.db,
                write | conn | {
                    diesel::update(
                        sessions::table
                            .filter(sessions::key.eq(key))
                            .filter(sessions::expires_at.gt(now)),
                    )
                    .set((
                        sessions::state.eq(&state),
                        sessions::user_id.eq(user_id),
                        sessions::expires_at.eq(expires_at),
                    ))
                    .execute(conn)
                    .await
                }
            )?)
        }
        .await
        .map_err(|e| UpdateError::Other(e.into()))?;
        if updated > 0 {
            return Ok(session_key);
        }
        // The row expired or was deleted (logout, disconnect) since it was loaded: it
        // stays ended. The cookie gets a key that names nothing.
        tracing::debug!("update of an ended session refused");
        dead_key().map_err(UpdateError::Other)
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        ttl: &Duration,
    ) -> Result<(), anyhow::Error> {
        let key = session_key.as_ref().to_owned();
        let expires_at = expiry(ttl);
        let now = now_utc();
        async {
            db_run!(
                &self.db,
                write | conn | {
                    diesel::update(
                        sessions::table
                            .filter(sessions::key.eq(key))
                            .filter(sessions::expires_at.gt(now)),
                    )
                    .set(sessions::expires_at.eq(expires_at))
                    .execute(conn)
                    .await
                }
            )?;
            Ok::<_, SessionStoreError>(())
        }
        .await?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let key = session_key.as_ref().to_owned();
        async {
            db_run!(
                &self.db,
                write | conn | {
                    diesel::delete(sessions::table.filter(sessions::key.eq(key)))
                        .execute(conn)
                        .await
                }
            )?;
            Ok::<_, SessionStoreError>(())
        }
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_rows_live_as_long_as_a_login_flow() {
        let fortnight = Duration::days(14);
        assert_eq!(row_ttl(Some(1), &fortnight), fortnight);
        assert_eq!(row_ttl(None, &fortnight), Duration::seconds(600));
        assert_eq!(row_ttl(None, &Duration::seconds(60)), Duration::seconds(60));
    }

    #[test]
    fn huge_ttls_saturate() {
        let latest = expiry(&Duration::MAX);
        assert_eq!(latest.format("%F %T").to_string(), "9999-12-31 23:59:59");
        assert!(expiry(&Duration::seconds(60)) > now_utc());
    }
}
