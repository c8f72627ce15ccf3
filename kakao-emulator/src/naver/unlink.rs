//! Naver's unlink notification, built exactly as Naver sends it: `key = MD5(client
//! secret)`; `encryptUniqueId = base64url(iv ‖ AES-128-CBC/PKCS#7(key, id))`;
//! `signature = base64url(HMAC-SHA256(key, "clientId=…&encryptUniqueId=…&timestamp=…"))`.

use aes::Aes128;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha2::Sha256;

/// The form fields of one unlink notification, in Naver's order: `clientId`,
/// `encryptUniqueId`, `timestamp`, `signature`. `padded` chooses base64url with `=`
/// padding (Naver's Java sends it without; receivers should take both).
pub fn unlink_notification_form(
    client_id: &str,
    client_secret: &str,
    user_id: &str,
    timestamp: i64,
    iv: [u8; 16],
    padded: bool,
) -> Vec<(&'static str, String)> {
    let key: [u8; 16] = Md5::digest(client_secret.as_bytes()).into();
    let sealed = cbc::Encryptor::<Aes128>::new(&key.into(), &iv.into())
        .encrypt_padded_vec_mut::<Pkcs7>(user_id.as_bytes());
    let mut blob = iv.to_vec();
    blob.extend_from_slice(&sealed);
    let encode = |bytes: &[u8]| {
        if padded {
            URL_SAFE.encode(bytes)
        } else {
            URL_SAFE_NO_PAD.encode(bytes)
        }
    };
    let encrypted = encode(&blob);
    let message = format!("clientId={client_id}&encryptUniqueId={encrypted}&timestamp={timestamp}");
    let signature = match <Hmac<Sha256> as Mac>::new_from_slice(&key) {
        Ok(mut mac) => {
            mac.update(message.as_bytes());
            encode(&mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length: this cannot happen.
        Err(_) => String::new(),
    };
    vec![
        ("clientId", client_id.to_owned()),
        ("encryptUniqueId", encrypted),
        ("timestamp", timestamp.to_string()),
        ("signature", signature),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_changes_only_the_encoding() {
        let padded = unlink_notification_form("c", "s", "32742776", 1_700_000_000, [7; 16], true);
        let bare = unlink_notification_form("c", "s", "32742776", 1_700_000_000, [7; 16], false);
        assert_eq!(padded[0], bare[0]);
        assert_eq!(
            padded[1].1.trim_end_matches('='),
            bare[1].1.as_str(),
            "same bytes"
        );
        assert!(
            padded[3].1.ends_with('='),
            "a 32-byte MAC pads to 44 characters"
        );
        assert!(!bare[3].1.contains('='));
        // iv (16 bytes) and one AES block for an 8-byte id.
        assert_eq!(URL_SAFE_NO_PAD.decode(&bare[1].1).map(|b| b.len()), Ok(32));
    }
}
