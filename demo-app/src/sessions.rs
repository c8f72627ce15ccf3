//! Which session store the demo runs on, and what only a server-side store can do: end
//! every session of one user.

use crate::redis_session_store::RedisSessionStore;
use crate::session_store::DbSessionStore;

/// The session store in use.
#[derive(Debug, Clone)]
pub enum Sessions {
    /// The `sessions` table.
    Database(DbSessionStore),
    /// Redis.
    Redis(RedisSessionStore),
    /// The cookie itself: nothing on the server to revoke.
    Cookie,
}

impl Sessions {
    /// Deletes `user_id`'s Redis sessions, returning how many. Database session rows need no
    /// call: [`DieselUserStore::delete_user`](crate::store::DieselUserStore::delete_user)
    /// deletes them in the user's own transaction. Cookie-only sessions have nothing on the
    /// server: they end through the identity check, which refuses a session whose user is
    /// gone.
    pub async fn end_redis_sessions(&self, user_id: i64) -> Result<u64, String> {
        match self {
            Self::Redis(store) => store
                .delete_user_sessions(user_id)
                .await
                .map_err(|e| e.to_string()),
            Self::Database(_) | Self::Cookie => Ok(0),
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
