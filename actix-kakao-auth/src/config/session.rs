//! [`SessionSettings`]: the session cookie, its key, and the pending-login cookies'
//! key; and the derivation of those keys from `SESSION_SECRET`.

use std::time::Duration;

use actix_web::cookie::Key;
use sha2::{Digest, Sha512};

use super::error::ConfigError;

/// Shortest accepted `SESSION_SECRET`.
pub const MIN_SESSION_SECRET_LEN: usize = 64;

/// Session cookie settings derived from the configuration.
#[derive(Clone)]
pub(crate) struct SessionSettings {
    pub(crate) key: Key,
    pub(crate) cookie_name: String,
    pub(crate) secure: bool,
    pub(crate) ttl: Duration,
    /// Seals the pending-login cookies; derived from `key`.
    pub(crate) pending_key: Key,
    pub(crate) pending_cookie_prefix: String,
}

/// The key that seals pending-login cookies: HKDF-SHA256 of the session key with its own
/// label, so the two keys are independent.
pub(super) fn pending_cookie_key(session_key: &Key) -> Key {
    let mut derived = [0u8; 64];
    // 64 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
    let _ = hkdf::Hkdf::<sha2::Sha256>::new(None, session_key.master())
        .expand(b"actix-kakao-auth pending login v1", &mut derived);
    Key::from(&derived)
}

/// Derives the 64-byte cookie key from `SESSION_SECRET` (SHA-512, so every character counts).
pub fn session_key_from_secret(secret: &str) -> Result<Key, ConfigError> {
    if secret.chars().count() < MIN_SESSION_SECRET_LEN {
        return Err(ConfigError::invalid(
            "SESSION_SECRET",
            format!("must be at least {MIN_SESSION_SECRET_LEN} characters"),
        ));
    }
    Ok(Key::from(&Sha512::digest(secret.as_bytes())[..]))
}
