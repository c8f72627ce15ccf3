//! [`NaverUserInfo`]: what `/v1/nid/me` says about the user.

use serde::{Deserialize, Serialize};

use super::error::NaverApiError;

/// The user as `/v1/nid/me` described them. Every value is text; everything but `id` is a
/// consent item the user may have declined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NaverUserInfo {
    /// The per-app (pairwise) id: digits for older apps, a base64-like string for newer
    /// ones. Opaque text: never parse it as a number.
    pub id: String,
    /// The nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// The name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The contact email. Naver does **not** say whether it is verified: it is never used
    /// as a verified address, and never to link accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The profile picture's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_image: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    resultcode: Option<String>,
    message: Option<String>,
    response: Option<NaverUserInfo>,
}

impl NaverUserInfo {
    /// Parses `/v1/nid/me`'s answer: `resultcode` must be `"00"` and `response.id` a
    /// non-empty string, whatever the HTTP status said.
    pub fn from_response(status: u16, body: &[u8]) -> Result<Self, NaverApiError> {
        let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
            if status >= 500 {
                NaverApiError::Unavailable { status }
            } else {
                NaverApiError::invalid(status, e)
            }
        })?;
        match envelope.resultcode.as_deref() {
            Some("00") => {}
            code => {
                return Err(NaverApiError::Profile {
                    status,
                    resultcode: code.unwrap_or("").to_owned(),
                    message: envelope.message.unwrap_or_default(),
                })
            }
        }
        let user = envelope
            .response
            .ok_or_else(|| NaverApiError::invalid(status, "resultcode 00 without a response"))?;
        if user.id.is_empty() {
            return Err(NaverApiError::invalid(status, "an empty id"));
        }
        Ok(user)
    }

    /// The nickname, when shared.
    pub fn nickname(&self) -> Option<&str> {
        self.nickname.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_resultcode_00_with_an_id_is_a_user() {
        let ok =
            br#"{"resultcode":"00","message":"success","response":{"id":"Ab+/c=","nickname":"n"}}"#;
        let user = NaverUserInfo::from_response(200, ok).expect("a user");
        assert_eq!(user.id, "Ab+/c=");
        assert_eq!(user.email, None);
        let dead = br#"{"resultcode":"024","message":"Authentication failed"}"#;
        assert!(matches!(
            NaverUserInfo::from_response(200, dead),
            Err(NaverApiError::Profile { resultcode, .. }) if resultcode == "024"
        ));
        assert!(NaverUserInfo::from_response(200, br#"{"resultcode":"00"}"#).is_err());
        assert!(
            NaverUserInfo::from_response(200, br#"{"resultcode":"00","response":{"id":""}}"#)
                .is_err()
        );
        assert!(matches!(
            NaverUserInfo::from_response(502, b"<html>"),
            Err(NaverApiError::Unavailable { status: 502 })
        ));
        assert!(
            NaverUserInfo::from_response(200, br#"{"resultcode":"00","response":{"id":32742776}}"#)
                .is_err(),
            "ids are text"
        );
    }
}
