//! What both stores share: keys, the per-user index text, lifetimes.

use std::collections::HashMap;

use std::future::Future;

use actix_session::storage::{SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use rand::distributions::{Alphanumeric, DistString as _};
use serde::Serialize;

pub(crate) use crate::session::SESSION_USER_KEY;

/// The length of a session key in alphanumeric characters (about 380 bits, like
/// actix-session's own stores).
const KEY_LEN: usize = 64;

/// The session map as actix-session hands it over.
pub(crate) type SessionState = HashMap<String, String>;

/// A fresh random session key.
pub(crate) fn new_key() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), KEY_LEN)
}

/// A session key that names nothing: the answer to an update of a session that ended.
pub(crate) fn dead_key() -> Result<SessionKey, anyhow::Error> {
    session_key(new_key())
}

pub(crate) fn session_key(key: String) -> Result<SessionKey, anyhow::Error> {
    SessionKey::try_from(key).map_err(|e| anyhow::anyhow!("invalid session key: {e}"))
}

/// The `update` both stores share: a session left empty ends; otherwise `overwrite`
/// writes it only while it still exists, and a session that ended since it was loaded
/// (logout, disconnect, expiry) stays ended: the answer is a key that names nothing.
pub(crate) async fn update_while_live<St, Fut, E>(
    store: &St,
    session_key: SessionKey,
    state: SessionState,
    overwrite: impl FnOnce(String, SessionState) -> Fut,
) -> Result<SessionKey, UpdateError>
where
    St: SessionStore,
    Fut: Future<Output = Result<bool, E>>,
    E: Into<anyhow::Error>,
{
    if state.is_empty() {
        store
            .delete(&session_key)
            .await
            .map_err(UpdateError::Other)?;
        return dead_key().map_err(UpdateError::Other);
    }
    let written = overwrite(session_key.as_ref().to_owned(), state)
        .await
        .map_err(|e| UpdateError::Other(e.into()))?;
    if written {
        return Ok(session_key);
    }
    tracing::debug!("update of an ended session refused");
    dead_key().map_err(UpdateError::Other)
}

/// The index text of a user id: a JSON string's text, any other JSON value's
/// encoding (`42` for the number 42). The same for the id an app passes to
/// `end_user_sessions` and the id in a session entry.
pub(crate) fn user_index<Id: Serialize + ?Sized>(user_id: &Id) -> Option<String> {
    index_of(serde_json::to_value(user_id).ok()?)
}

fn index_of(value: serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The logged-in user's index text in a session state map, if any.
pub(crate) fn session_user(state: &SessionState) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Entry {
        id: serde_json::Value,
    }
    let raw = state.get(SESSION_USER_KEY)?;
    index_of(serde_json::from_str::<Entry>(raw).ok()?.id)
}

/// The lifetime of a session: `ttl` with a logged-in user, at most `anonymous`
/// without one.
pub(crate) fn lifetime(
    logged_in: bool,
    ttl: &Duration,
    anonymous: std::time::Duration,
) -> Duration {
    if logged_in {
        return *ttl;
    }
    let anonymous = Duration::try_from(anonymous).unwrap_or(Duration::MAX);
    (*ttl).min(anonymous)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_store::ANONYMOUS_TTL;

    fn logged_in(entry: &str) -> SessionState {
        SessionState::from([(SESSION_USER_KEY.to_owned(), entry.to_owned())])
    }

    #[test]
    fn user_ids_index_alike_from_the_app_and_from_the_entry() {
        let number = logged_in(r#"{"id":42,"hash":"h","csrf":"c"}"#);
        assert_eq!(session_user(&number), Some("42".into()));
        assert_eq!(user_index(&42_i64), Some("42".into()));
        let text = logged_in(r#"{"id":"a-b","hash":"h","csrf":"c"}"#);
        assert_eq!(session_user(&text), Some("a-b".into()));
        assert_eq!(user_index("a-b"), Some("a-b".into()));
        assert_eq!(session_user(&logged_in("not json")), None);
        assert_eq!(session_user(&SessionState::new()), None);
    }

    #[test]
    fn anonymous_sessions_live_as_long_as_a_login_flow() {
        let fortnight = Duration::days(14);
        assert_eq!(lifetime(true, &fortnight, ANONYMOUS_TTL), fortnight);
        assert_eq!(
            lifetime(false, &fortnight, ANONYMOUS_TTL),
            Duration::seconds(600)
        );
        let minute = Duration::seconds(60);
        assert_eq!(lifetime(false, &minute, ANONYMOUS_TTL), minute);
    }
}
