//! Tokens at rest: AES-256-GCM with a key id, so a database dump shows no usable token
//! and keys can be rotated.
//!
//! A [`TokenCipher`] derives its key with HKDF-SHA256 from a configured secret
//! (`TOKEN_KEY`, or `SESSION_SECRET` when no separate key is set). Each sealed token
//! carries the id of the key that sealed it (the first 8 bytes of the key's SHA-256, in
//! hex). To rotate, configure the new secret and keep the old one as a previous key:
//! new tokens use the new key, old ones still open, and are re-sealed on their next
//! write.
//!
//! Every token is sealed for a context, such as the row that stores it (`kakao:<uid>`):
//! the associated data authenticated with it is the key id followed by the context, so a
//! sealed token copied into another row does not open there. Tokens sealed before
//! contexts existed were sealed with the key id alone; they open with an empty context.
//!
//! ```
//! use actix_kakao_auth::store::{TokenCipher, TokenCryptoError};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cipher = TokenCipher::from_secret("a secret of at least thirty-two characters!!")?;
//! let sealed = cipher.seal("access-token-value", b"kakao:1001")?;
//! assert!(!serde_json::to_string(&sealed)?.contains("access-token-value"));
//! assert_eq!(cipher.open(&sealed, b"kakao:1001")?, "access-token-value");
//! // Moved to another user's row, it no longer opens.
//! assert_eq!(cipher.open(&sealed, b"kakao:1002"), Err(TokenCryptoError::Corrupt));
//! # Ok(())
//! # }
//! ```

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::ConfigError;

/// Shortest accepted secret.
pub const MIN_TOKEN_SECRET_LEN: usize = 32;
const HKDF_INFO: &[u8] = b"actix-kakao-auth token encryption v1";

/// A token sealed by a [`TokenCipher`], as stored (JSON: `kid`, `nonce`, `ct`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedToken {
    /// Id of the key that sealed it.
    pub kid: String,
    /// The 96-bit nonce, base64url.
    pub nonce: String,
    /// Ciphertext and tag, base64url.
    pub ct: String,
}

/// Why a token could not be sealed, or a sealed token did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenCryptoError {
    /// No configured key has this id.
    #[error("no key with id {}", crate::log_safe::log_safe(.0))]
    UnknownKey(String),
    /// Wrong key, wrong context, or the ciphertext was altered.
    #[error("token does not open with its key and context")]
    Corrupt,
    /// Encryption failed (the plaintext is beyond what AES-GCM can seal).
    #[error("token could not be sealed")]
    Seal,
}

struct KeyEntry {
    kid: String,
    cipher: Aes256Gcm,
}

impl KeyEntry {
    /// The associated data: this key's id followed by the caller's context. Key ids all
    /// have the same length, so the split between the two is unambiguous.
    fn aad(&self, context: &[u8]) -> Vec<u8> {
        [self.kid.as_bytes(), context].concat()
    }

    fn from_secret(secret: &[u8]) -> Self {
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
        let _ = Hkdf::<Sha256>::new(None, secret).expand(HKDF_INFO, &mut key);
        let kid = crate::hex::encode(&Sha256::digest(key)[..8]);
        Self {
            kid,
            cipher: Aes256Gcm::new(&key.into()),
        }
    }
}

/// Seals and opens tokens. Cheap to share (`Arc` it); its `Debug` shows key ids only.
pub struct TokenCipher {
    current: KeyEntry,
    previous: Vec<KeyEntry>,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCipher")
            .field("kid", &self.current.kid)
            .field(
                "previous",
                &self.previous.iter().map(|k| &k.kid).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn checked(name: &'static str, secret: &str) -> Result<(), ConfigError> {
    if secret.chars().count() < MIN_TOKEN_SECRET_LEN {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("must be at least {MIN_TOKEN_SECRET_LEN} characters"),
        });
    }
    Ok(())
}

impl TokenCipher {
    /// A cipher whose key is derived from `secret` (at least 32 characters).
    pub fn from_secret(secret: &str) -> Result<Self, ConfigError> {
        checked("TOKEN_KEY", secret)?;
        Ok(Self {
            current: KeyEntry::from_secret(secret.as_bytes()),
            previous: Vec::new(),
        })
    }

    /// A cipher with a random key: tokens sealed with it are unreadable after a restart.
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Self {
            current: KeyEntry::from_secret(&secret),
            previous: Vec::new(),
        }
    }

    /// Adds a previous secret: tokens it sealed still open (rotation).
    pub fn with_previous(mut self, secret: &str) -> Result<Self, ConfigError> {
        checked("TOKEN_KEY_PREVIOUS", secret)?;
        self.previous.push(KeyEntry::from_secret(secret.as_bytes()));
        Ok(self)
    }

    /// The id of the key new tokens are sealed with.
    pub fn kid(&self) -> &str {
        &self.current.kid
    }

    /// Seals `plaintext` with the current key and a fresh random nonce, for `context`
    /// (e.g. `b"kakao:<uid>"` of the row that stores it): it opens only with the same
    /// context. Fails with [`TokenCryptoError::Seal`] when encryption fails; never returns
    /// an empty ciphertext.
    pub fn seal(&self, plaintext: &str, context: &[u8]) -> Result<SealedToken, TokenCryptoError> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = self.current.aad(context);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: &aad,
        };
        let ct = self
            .current
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| TokenCryptoError::Seal)?;
        Ok(SealedToken {
            kid: self.current.kid.clone(),
            nonce: URL_SAFE_NO_PAD.encode(nonce),
            ct: URL_SAFE_NO_PAD.encode(ct),
        })
    }

    /// Opens a sealed token with whichever configured key sealed it, for the `context` it
    /// was sealed for.
    pub fn open(&self, sealed: &SealedToken, context: &[u8]) -> Result<String, TokenCryptoError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.kid == sealed.kid)
            .ok_or_else(|| TokenCryptoError::UnknownKey(sealed.kid.clone()))?;
        let nonce = URL_SAFE_NO_PAD
            .decode(&sealed.nonce)
            .map_err(|_| TokenCryptoError::Corrupt)?;
        let ct = URL_SAFE_NO_PAD
            .decode(&sealed.ct)
            .map_err(|_| TokenCryptoError::Corrupt)?;
        if nonce.len() != 12 {
            return Err(TokenCryptoError::Corrupt);
        }
        let aad = key.aad(context);
        let payload = Payload {
            msg: &ct,
            aad: &aad,
        };
        let plain = key
            .cipher
            .decrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| TokenCryptoError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| TokenCryptoError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "first secret, long enough for the check";
    const B: &str = "second secret, also long enough for it!";
    const ROW_A: &[u8] = b"kakao:1001";
    const ROW_B: &[u8] = b"kakao:1002";

    fn seal(cipher: &TokenCipher, plaintext: &str, context: &[u8]) -> SealedToken {
        cipher.seal(plaintext, context).expect("sealed")
    }

    #[test]
    fn sealed_tokens_hide_the_value_and_open_again() {
        let cipher = TokenCipher::from_secret(A).expect("valid");
        let one = seal(&cipher, "tok", ROW_A);
        let two = seal(&cipher, "tok", ROW_A);
        assert_ne!(one.nonce, two.nonce, "fresh nonce each time");
        assert_ne!(one.ct, two.ct);
        assert!(!one.ct.is_empty());
        assert_eq!(cipher.open(&one, ROW_A).as_deref(), Ok("tok"));
    }

    #[test]
    fn a_token_sealed_for_one_row_does_not_open_for_another() {
        let cipher = TokenCipher::from_secret(A).expect("valid");
        let sealed = seal(&cipher, "tok", ROW_A);
        assert_eq!(cipher.open(&sealed, ROW_B), Err(TokenCryptoError::Corrupt));
        assert_eq!(cipher.open(&sealed, b""), Err(TokenCryptoError::Corrupt));
        assert_eq!(
            cipher.open(&sealed, b"kakao:10010"),
            Err(TokenCryptoError::Corrupt)
        );
        assert_eq!(cipher.open(&sealed, ROW_A).as_deref(), Ok("tok"));
    }

    #[test]
    fn a_token_sealed_without_a_context_opens_with_an_empty_one() {
        let cipher = TokenCipher::from_secret(A).expect("valid");
        let sealed = seal(&cipher, "legacy", b"");
        assert_eq!(cipher.open(&sealed, b"").as_deref(), Ok("legacy"));
        assert_eq!(cipher.open(&sealed, ROW_A), Err(TokenCryptoError::Corrupt));
    }

    #[test]
    fn rotation_opens_old_tokens_and_seals_with_the_new_key() {
        let old = TokenCipher::from_secret(A).expect("valid");
        let sealed_old = seal(&old, "old-token", ROW_A);
        let rotated = TokenCipher::from_secret(B)
            .expect("valid")
            .with_previous(A)
            .expect("valid");
        assert_eq!(rotated.open(&sealed_old, ROW_A).as_deref(), Ok("old-token"));
        assert_eq!(
            rotated.open(&sealed_old, ROW_B),
            Err(TokenCryptoError::Corrupt),
            "rotation keeps the binding to the row"
        );
        let resealed = seal(&rotated, "old-token", ROW_A);
        assert_ne!(resealed.kid, sealed_old.kid);
        assert_eq!(rotated.open(&resealed, ROW_A).as_deref(), Ok("old-token"));
        let without_old = TokenCipher::from_secret(B).expect("valid");
        assert!(matches!(
            without_old.open(&sealed_old, ROW_A),
            Err(TokenCryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn tampering_and_short_secrets_are_refused() {
        let cipher = TokenCipher::from_secret(A).expect("valid");
        let mut sealed = seal(&cipher, "tok", ROW_A);
        sealed
            .ct
            .replace_range(0..1, if sealed.ct.starts_with('A') { "B" } else { "A" });
        assert_eq!(cipher.open(&sealed, ROW_A), Err(TokenCryptoError::Corrupt));
        let mut renamed = seal(&cipher, "tok", ROW_A);
        renamed.nonce = seal(&cipher, "tok", ROW_A).nonce;
        assert_eq!(cipher.open(&renamed, ROW_A), Err(TokenCryptoError::Corrupt));
        assert!(TokenCipher::from_secret("short").is_err());
        assert!(!format!("{cipher:?}").contains(A));
    }
}
