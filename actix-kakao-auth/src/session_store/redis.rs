//! [`RedisSessionStore`]: sessions in Redis, with a per-user index.

use std::sync::{Arc, LazyLock};
use std::time::Duration as StdDuration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands as _, Script};
use serde::Serialize;

use super::{
    lifetime, new_key, session_key, session_user, update_while_live, user_index,
    RevocableSessionStore, SessionState, ANONYMOUS_TTL, SESSION_USER_KEY,
};

/// The key prefix of [`RedisSessionStore::connect`].
pub const DEFAULT_REDIS_PREFIX: &str = "actix-kakao-auth:";

/// How long connecting, and each command, may take.
const TIMEOUT: StdDuration = StdDuration::from_secs(3);

/// Writes a session and indexes it under its user, in one step: `SET key state EX ttl
/// NX|XX`, then (only when that wrote and the session has a user) `SADD` to the user's
/// set, whose expiry becomes the longest of its sessions'. Returns 1 when written.
///
/// KEYS: the session key, the user's set (or nothing). ARGV: state, seconds, `NX`/`XX`,
/// the bare session key.
static WRITE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if not redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], ARGV[3]) then
            return 0
        end
        if KEYS[2] then
            redis.call('SADD', KEYS[2], ARGV[4])
            redis.call('EXPIRE', KEYS[2], ARGV[2], 'GT')
            redis.call('EXPIRE', KEYS[2], ARGV[2], 'NX')
        end
        return 1
        ",
    )
});

/// Extends a live session: by ARGV[1] seconds with a logged-in user (its state names
/// ARGV[3]), by ARGV[2] without one. KEYS: the session key.
static EXTEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local state = redis.call('GET', KEYS[1])
        if not state then return 0 end
        if cjson.decode(state)[ARGV[3]] then
            return redis.call('EXPIRE', KEYS[1], ARGV[1])
        end
        return redis.call('EXPIRE', KEYS[1], ARGV[2])
        ",
    )
});

/// Why a Redis session store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum RedisSessionError {
    /// The URL is malformed.
    #[error("invalid Redis URL: {0}")]
    Url(#[source] redis::RedisError),
    /// Redis did not answer or refused the command.
    #[error("Redis error: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("Redis did not answer within {TIMEOUT:?}")]
    Timeout,
    /// The server is older than Redis 7.
    #[error("{0}")]
    Unsupported(String),
    /// A stored session was not valid JSON.
    #[error("stored session is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Server-side sessions in Redis 7 or newer, which keep an ended session ended (see the
/// [module documentation](super)).
///
/// Keys: `{prefix}s:{session key}` holds the session map as JSON and expires with the
/// session; `{prefix}u:{user id}` is the set of that user's session keys, for
/// [`end_user_sessions`](Self::end_user_sessions). Cheap to clone: one multiplexed
/// connection (a `redis::aio::ConnectionManager`). When Redis goes away, requests fail
/// cleanly (the session middleware answers 500) and the connection comes back by
/// itself when Redis does.
#[derive(Clone)]
pub struct RedisSessionStore {
    conn: ConnectionManager,
    prefix: Arc<str>,
    anonymous_ttl: StdDuration,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("prefix", &self.prefix)
            .field("anonymous_ttl", &self.anonymous_ttl)
            .finish_non_exhaustive()
    }
}

impl RedisSessionStore {
    /// Connects to `url` (`redis://…`, `rediss://…`) with keys under
    /// [`DEFAULT_REDIS_PREFIX`]. Fails when Redis is unreachable now or older than 7.
    pub async fn connect(url: &str) -> Result<Self, RedisSessionError> {
        Self::connect_with_prefix(url, DEFAULT_REDIS_PREFIX).await
    }

    /// Like [`connect`](Self::connect), with keys under `prefix`.
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<Self, RedisSessionError> {
        let client = redis::Client::open(url).map_err(RedisSessionError::Url)?;
        // Probe once, quickly: the connection manager itself retries with backoff, which
        // is right while running but would make an unreachable Redis slow to report.
        let probe = tokio::time::timeout(TIMEOUT, client.get_multiplexed_async_connection())
            .await
            .map_err(|_| RedisSessionError::Timeout)?;
        drop(probe?);
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT)
            .set_number_of_retries(2)
            .set_max_delay(500);
        let mut conn = ConnectionManager::new_with_config(client, config).await?;
        super::require_redis_7(&mut conn)
            .await
            .map_err(RedisSessionError::Unsupported)?;
        Ok(Self {
            conn,
            prefix: Arc::from(prefix),
            anonymous_ttl: ANONYMOUS_TTL,
        })
    }

    /// Lets a session without a logged-in user live `ttl` instead of
    /// [`ANONYMOUS_TTL`](super::ANONYMOUS_TTL) (whole seconds, at least one).
    pub fn with_anonymous_ttl(mut self, ttl: StdDuration) -> Self {
        self.anonymous_ttl = ttl;
        self
    }

    /// The connection, for the app's other uses of the same Redis.
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// `PING`, for a health check.
    pub async fn ping(&self) -> Result<(), RedisSessionError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    fn session_key(&self, key: &str) -> String {
        format!("{}s:{key}", self.prefix)
    }

    fn user_key(&self, user: &str) -> String {
        format!("{}u:{user}", self.prefix)
    }

    /// Ends every session of the user whose id is `user_id`; returns how many.
    pub async fn end_user_sessions<Id: Serialize + ?Sized>(
        &self,
        user_id: &Id,
    ) -> Result<u64, RedisSessionError> {
        let Some(user) = user_index(user_id) else {
            return Ok(0);
        };
        let mut conn = self.conn.clone();
        let user_key = self.user_key(&user);
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

    /// Writes `state` under `key`: only when it is new (`NX`) or only when it exists
    /// (`XX`). Returns whether it wrote.
    async fn write(
        &self,
        key: &str,
        state: &SessionState,
        ttl: &Duration,
        only_if_exists: bool,
    ) -> Result<bool, RedisSessionError> {
        let body = serde_json::to_string(state)?;
        let user = session_user(state);
        let seconds = self.seconds(&lifetime(user.is_some(), ttl, self.anonymous_ttl));
        let mut invocation = WRITE.prepare_invoke();
        invocation.key(self.session_key(key));
        if let Some(user) = &user {
            invocation.key(self.user_key(user));
        }
        invocation
            .arg(body)
            .arg(seconds)
            .arg(if only_if_exists { "XX" } else { "NX" })
            .arg(key);
        let mut conn = self.conn.clone();
        let written: i64 = invocation.invoke_async(&mut conn).await?;
        Ok(written == 1)
    }

    fn seconds(&self, ttl: &Duration) -> i64 {
        ttl.whole_seconds().max(1)
    }
}

impl SessionStore for RedisSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = conn
            .get(self.session_key(session_key.as_ref()))
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        raw.map(|raw| serde_json::from_str(&raw))
            .transpose()
            .map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(
        &self,
        session_state: SessionState,
        ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        loop {
            let key = new_key();
            let written = self
                .write(&key, &session_state, ttl, false)
                .await
                .map_err(|e| SaveError::Other(e.into()))?;
            if written {
                return session_key(key).map_err(SaveError::Other);
            }
        }
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: SessionState,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        update_while_live(self, session_key, session_state, |key, state| async move {
            self.write(&key, &state, ttl, true).await
        })
        .await
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        ttl: &Duration,
    ) -> Result<(), anyhow::Error> {
        let mut conn = self.conn.clone();
        let _: i64 = EXTEND
            .key(self.session_key(session_key.as_ref()))
            .arg(self.seconds(ttl))
            .arg(self.seconds(&lifetime(false, ttl, self.anonymous_ttl)))
            .arg(SESSION_USER_KEY)
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let mut conn = self.conn.clone();
        let key = self.session_key(session_key.as_ref());
        let raw: Option<String> = conn.get_del(&key).await?;
        let user = raw
            .and_then(|raw| serde_json::from_str::<SessionState>(&raw).ok())
            .and_then(|state| session_user(&state));
        if let Some(user) = user {
            let _: i64 = conn
                .srem(self.user_key(&user), session_key.as_ref())
                .await?;
        }
        Ok(())
    }
}

impl RevocableSessionStore for RedisSessionStore {
    async fn end_user_sessions<Id: Serialize + Sync + ?Sized>(
        &self,
        user_id: &Id,
    ) -> Result<u64, anyhow::Error> {
        Ok(RedisSessionStore::end_user_sessions(self, user_id).await?)
    }

    fn anonymous_ttl(&self) -> StdDuration {
        self.anonymous_ttl
    }
}
