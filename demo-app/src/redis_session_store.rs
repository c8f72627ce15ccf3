//! [`RedisSessionStore`]: actix-session state in Redis, with a per-user index so every
//! session of one user can be ended (logout everywhere, Kakao's unlink webhook).
//!
//! Keys: `{prefix}s:{session key}` holds the session map as JSON with the session's TTL;
//! `{prefix}u:{user id}` is a set of that user's session keys (it frees a deleted
//! user's sessions at once; ending them does not depend on it, see
//! [`actix_kakao_auth::identity`]). An update of a session whose key is gone (logout,
//! expiry) never re-creates it: the request gets a key that names nothing. Sessions
//! without a logged-in user expire after
//! [`ANONYMOUS_TTL`](crate::session_store::ANONYMOUS_TTL). The connection is a
//! `redis::aio::ConnectionManager`: when Redis goes away requests fail cleanly (the
//! session middleware answers 500) and it reconnects by itself when Redis returns.

use std::collections::HashMap;
use std::sync::Arc;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use rand::distributions::{Alphanumeric, DistString as _};
use redis::aio::ConnectionManager;
use redis::AsyncCommands;

use crate::session_store::{dead_key, row_ttl, session_user};

/// Length of a session key (alphanumeric, about 380 bits).
const KEY_LEN: usize = 64;

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "demo-app:";

type SessionState = HashMap<String, String>;

/// Why a Redis session operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RedisStoreError {
    /// The URL is malformed.
    #[error("invalid Redis URL: {0}")]
    Url(#[source] redis::RedisError),
    /// Redis did not answer or refused the command.
    #[error("Redis error: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("Redis did not answer within 3 s")]
    Timeout,
    /// The server is older than Redis 7.
    #[error("{0}")]
    Unsupported(String),
    /// A stored session was not valid JSON.
    #[error("stored session is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Server-side sessions in Redis. Cheap to clone (one multiplexed connection).
#[derive(Clone)]
pub struct RedisSessionStore {
    conn: ConnectionManager,
    prefix: Arc<str>,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisSessionStore {
    /// Connects to `url` (`redis://…`); fails when Redis is unreachable now.
    pub async fn connect(url: &str) -> Result<Self, RedisStoreError> {
        Self::connect_with_prefix(url, DEFAULT_PREFIX).await
    }

    /// Like [`connect`](Self::connect), with another key prefix (tests use one per run).
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<Self, RedisStoreError> {
        let client = redis::Client::open(url).map_err(RedisStoreError::Url)?;
        // Probe once, quickly: the connection manager itself retries with backoff, which
        // is right while running but would make an unreachable Redis slow to report.
        let probe = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| RedisStoreError::Timeout)?;
        drop(probe?);
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(std::time::Duration::from_secs(3))
            .set_response_timeout(std::time::Duration::from_secs(3))
            .set_number_of_retries(2)
            .set_max_delay(500);
        let mut conn = ConnectionManager::new_with_config(client, config).await?;
        crate::redis_version::require_supported(&mut conn)
            .await
            .map_err(RedisStoreError::Unsupported)?;
        Ok(Self {
            conn,
            prefix: Arc::from(prefix),
        })
    }

    /// The connection, for other users of the same Redis (the guard store).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// `PING`, for `/healthz`.
    pub async fn ping(&self) -> Result<(), RedisStoreError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    fn session_key(&self, key: &str) -> String {
        format!("{}s:{key}", self.prefix)
    }

    fn user_key(&self, user_id: i64) -> String {
        format!("{}u:{user_id}", self.prefix)
    }

    /// Ends every session of `user_id`; returns how many were deleted.
    pub async fn delete_user_sessions(&self, user_id: i64) -> Result<u64, RedisStoreError> {
        let mut conn = self.conn.clone();
        let user_key = self.user_key(user_id);
        let keys: Vec<String> = conn.smembers(&user_key).await?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        for key in &keys {
            pipe.del(self.session_key(key)).ignore();
        }
        pipe.del(&user_key).ignore();
        let () = pipe.query_async(&mut conn).await?;
        Ok(keys.len() as u64)
    }

    async fn write(
        &self,
        key: &str,
        state: &SessionState,
        ttl: &Duration,
        only_if_exists: bool,
    ) -> Result<bool, RedisStoreError> {
        let body = serde_json::to_string(state)?;
        let user = session_user(state);
        let seconds = row_ttl(user, ttl).whole_seconds().max(1) as u64;
        let mut conn = self.conn.clone();
        let mut set = redis::cmd("SET");
        set.arg(self.session_key(key))
            .arg(body)
            .arg("EX")
            .arg(seconds)
            .arg(if only_if_exists { "XX" } else { "NX" });
        let written: Option<String> = set.query_async(&mut conn).await?;
        if written.is_none() {
            return Ok(false);
        }
        if let Some(user_id) = user {
            let user_key = self.user_key(user_id);
            let mut pipe = redis::pipe();
            pipe.sadd(&user_key, key).ignore();
            // The index lives as long as the longest session it lists.
            pipe.cmd("EXPIRE")
                .arg(&user_key)
                .arg(seconds)
                .arg("GT")
                .ignore();
            pipe.cmd("EXPIRE")
                .arg(&user_key)
                .arg(seconds)
                .arg("NX")
                .ignore();
            let () = pipe.query_async(&mut conn).await?;
        }
        Ok(true)
    }

    async fn save_new(
        &self,
        state: &SessionState,
        ttl: &Duration,
    ) -> Result<String, RedisStoreError> {
        loop {
            let key = Alphanumeric.sample_string(&mut rand::thread_rng(), KEY_LEN);
            if self.write(&key, state, ttl, false).await? {
                return Ok(key);
            }
        }
    }
}

fn session_key(key: String) -> Result<SessionKey, anyhow::Error> {
    SessionKey::try_from(key).map_err(|e| anyhow::anyhow!("invalid session key: {e}"))
}

impl SessionStore for RedisSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = conn
            .get(self.session_key(session_key.as_ref()))
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        match raw {
            None => Ok(None),
            Some(raw) => serde_json::from_str(&raw)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(e.into())),
        }
    }

    async fn save(
        &self,
        session_state: SessionState,
        ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        let key = self
            .save_new(&session_state, ttl)
            .await
            .map_err(|e| SaveError::Other(e.into()))?;
        session_key(key).map_err(SaveError::Other)
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
        let updated = self
            .write(session_key.as_ref(), &session_state, ttl, true)
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        if updated {
            return Ok(session_key);
        }
        // The session expired or was ended (logout, disconnect) since it was loaded: it
        // stays ended. The cookie gets a key that names nothing.
        tracing::debug!("update of an ended session refused");
        dead_key().map_err(UpdateError::Other)
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        ttl: &Duration,
    ) -> Result<(), anyhow::Error> {
        let mut conn = self.conn.clone();
        let seconds = ttl.whole_seconds().max(1);
        let _: bool = conn
            .expire(self.session_key(session_key.as_ref()), seconds)
            .await?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let mut conn = self.conn.clone();
        let key = self.session_key(session_key.as_ref());
        let raw: Option<String> = conn.get(&key).await?;
        let _: i64 = conn.del(&key).await?;
        let user = raw
            .and_then(|raw| serde_json::from_str::<SessionState>(&raw).ok())
            .and_then(|state| session_user(&state));
        if let Some(user_id) = user {
            let _: i64 = conn
                .srem(self.user_key(user_id), session_key.as_ref())
                .await?;
        }
        Ok(())
    }
}
