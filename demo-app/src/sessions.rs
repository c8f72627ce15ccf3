//! Which session store the demo runs on (the library's, chosen by `SESSION_STORE`), and
//! what only a server-side store can do: end every session of one user.

use actix_kakao_auth::session_store::{RedisSessionStore, SqlSessionStore};

/// The session store in use.
#[derive(Debug, Clone)]
pub enum Sessions {
    /// The `sessions` table of the app's database.
    Database(SqlSessionStore),
    /// Redis.
    Redis(RedisSessionStore),
    /// The cookie itself: nothing on the server to revoke.
    Cookie,
}

impl Sessions {
    /// Ends every server-side session of `user_id`, returning how many. Cookie-only
    /// sessions have nothing on the server: they end through the identity check, which
    /// refuses a session whose user is gone.
    pub async fn end_user_sessions(&self, user_id: i64) -> Result<u64, String> {
        match self {
            Self::Database(store) => store
                .end_user_sessions(&user_id)
                .await
                .map_err(|e| e.to_string()),
            Self::Redis(store) => store
                .end_user_sessions(&user_id)
                .await
                .map_err(|e| e.to_string()),
            Self::Cookie => Ok(0),
        }
    }

    /// Checks the session backend for `/healthz` (`None` when it is the database or the cookie).
    pub async fn ping_redis(&self) -> Option<Result<(), String>> {
        match self {
            Self::Redis(store) => Some(store.ping().await.map_err(|e| e.to_string())),
            _ => None,
        }
    }
}
