//! Logins in progress: what the begin step keeps in the session for the callback.
//!
//! Each started login stores its `state`, PKCE verifier, optional `nonce` and `next` in the
//! session (server-side with a database or Redis store), never in process memory, so any
//! instance sharing the session store can finish it. Several may be pending at once (two
//! tabs); each is single use and expires.

use std::time::Duration;

use actix_session::Session;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Session key under which pending logins are kept.
pub(crate) const PENDING_KEY: &str = "kakao_auth.pending";

/// One login between the begin step and the callback.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    pub(crate) state: String,
    pub(crate) pkce_verifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<String>,
    /// Unix seconds.
    pub(crate) created_at: i64,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("next", &self.next)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl PendingLogin {
    fn is_fresh(&self, ttl: Duration, now: i64) -> bool {
        let age = now.saturating_sub(self.created_at);
        age >= 0 && (age as u64) < ttl.as_secs()
    }
}

fn load(session: &Session) -> Vec<PendingLogin> {
    // A malformed entry (an old format, tampering) counts as no pending login.
    session
        .get::<Vec<PendingLogin>>(PENDING_KEY)
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn store(session: &Session, pending: &[PendingLogin]) -> Result<(), String> {
    if pending.is_empty() {
        session.remove(PENDING_KEY);
        return Ok(());
    }
    session
        .insert(PENDING_KEY, pending)
        .map_err(|e| e.to_string())
}

/// Adds a pending login, dropping expired ones and the oldest beyond `max`.
pub(crate) fn push(
    session: &Session,
    login: PendingLogin,
    ttl: Duration,
    max: usize,
) -> Result<(), String> {
    let now = Utc::now().timestamp();
    let mut pending: Vec<PendingLogin> = load(session)
        .into_iter()
        .filter(|p| p.is_fresh(ttl, now))
        .collect();
    pending.push(login);
    let excess = pending.len().saturating_sub(max);
    pending.drain(..excess);
    store(session, &pending)
}

/// Removes and returns the pending login whose state equals `state` (compared in constant
/// time), if it has not expired. Expired entries are dropped on the way.
pub(crate) fn take(
    session: &Session,
    state: &str,
    ttl: Duration,
) -> Result<Option<PendingLogin>, String> {
    let now = Utc::now().timestamp();
    let all = load(session);
    let before = all.len();
    let mut found = None;
    let mut rest = Vec::with_capacity(all.len());
    for login in all {
        let matches: bool = login.state.as_bytes().ct_eq(state.as_bytes()).into();
        if matches && found.is_none() {
            found = Some(login);
        } else if login.is_fresh(ttl, now) {
            rest.push(login);
        }
    }
    if rest.len() != before {
        store(session, &rest)?;
    }
    Ok(found.filter(|login| login.is_fresh(ttl, now)))
}

pub(crate) fn now() -> i64 {
    Utc::now().timestamp()
}
