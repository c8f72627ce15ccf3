//! Naver's unlink notification (연동 해제 알림): sent when a user withdraws consent in My
//! Info or deletes their account. Verified exactly as Naver signs it:
//!
//! * `key` = MD5(Client Secret), 16 bytes;
//! * `signature` = base64url (padded or not) of HMAC-SHA256(key,
//!   `clientId=…&encryptUniqueId=…&timestamp=…`), compared in constant time;
//! * `encryptUniqueId` = base64url(IV ‖ AES-128-CBC/PKCS#7(key, the user's id));
//! * `clientId` must be this app's, `timestamp` within five minutes of now.
//!
//! Anything else is refused, and nothing of the form is trusted before the signature
//! checks.

use aes::Aes128;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a notification's `timestamp` may be from now.
pub const UNLINK_NOTIFICATION_WINDOW_SECS: i64 = 300;

/// The notification's form fields.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct UnlinkNotification {
    /// `clientId`.
    #[serde(rename = "clientId", default)]
    pub client_id: String,
    /// `encryptUniqueId`.
    #[serde(rename = "encryptUniqueId", default)]
    pub encrypt_unique_id: String,
    /// `timestamp`, Unix seconds.
    #[serde(default)]
    pub timestamp: String,
    /// `signature`.
    #[serde(default)]
    pub signature: String,
}

/// Why a notification was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnlinkRefused {
    /// The signature is missing, malformed or wrong.
    #[error("bad signature")]
    BadSignature,
    /// Signed, but for another app.
    #[error("another client id")]
    WrongClient,
    /// Signed, but older or newer than the window allows.
    #[error("stale timestamp")]
    StaleTimestamp,
    /// Signed, but the id does not decrypt.
    #[error("the id does not decrypt")]
    BadId,
}

/// base64url, with or without `=` padding.
fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

impl UnlinkNotification {
    /// Checks the notification for the app `client_id` with `client_secret` at `now`
    /// (Unix seconds) and returns the Naver id of the user who unlinked.
    pub fn verify(
        &self,
        client_id: &str,
        client_secret: &str,
        now: i64,
    ) -> Result<String, UnlinkRefused> {
        let key: [u8; 16] = Md5::digest(client_secret.as_bytes()).into();
        let message = format!(
            "clientId={}&encryptUniqueId={}&timestamp={}",
            self.client_id, self.encrypt_unique_id, self.timestamp
        );
        let signature = decode(&self.signature).ok_or(UnlinkRefused::BadSignature)?;
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(|_| UnlinkRefused::BadSignature)?;
        mac.update(message.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| UnlinkRefused::BadSignature)?;
        if !bool::from(self.client_id.as_bytes().ct_eq(client_id.as_bytes())) {
            return Err(UnlinkRefused::WrongClient);
        }
        let sent: i64 = self
            .timestamp
            .trim()
            .parse()
            .map_err(|_| UnlinkRefused::StaleTimestamp)?;
        if (now - sent).abs() > UNLINK_NOTIFICATION_WINDOW_SECS {
            return Err(UnlinkRefused::StaleTimestamp);
        }
        let blob = decode(&self.encrypt_unique_id).ok_or(UnlinkRefused::BadId)?;
        if blob.len() < 32 {
            return Err(UnlinkRefused::BadId);
        }
        let (iv, sealed) = blob.split_at(16);
        let plain = cbc::Decryptor::<Aes128>::new(&key.into(), iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(sealed)
            .map_err(|_| UnlinkRefused::BadId)?;
        String::from_utf8(plain)
            .ok()
            .filter(|id| !id.is_empty())
            .ok_or(UnlinkRefused::BadId)
    }
}
