//! The user as Kakao describes them: a defensive parser for `GET /v2/user/me`.
//!
//! Every field but `id` is optional, `kakao_account` may be missing entirely, and an
//! email counts only when Kakao says it is both valid and verified. The id is a 64-bit
//! integer; values above 2^53 exist, so it is never read through a float.

use serde::{Deserialize, Serialize};

/// What `/v2/user/me` told us about the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KakaoUserInfo {
    /// Kakao's app-scoped member number.
    pub id: i64,
    /// When the user linked the app (RFC 3339), if Kakao said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_at: Option<String>,
    /// The account object; absent when the app has no consent items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kakao_account: Option<KakaoAccount>,
    /// Legacy and app-defined properties (`nickname`, `profile_image`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `kakao_account`: every field optional, values present only with consent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KakaoAccount {
    /// The profile (nickname and images), with the profile consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<KakaoProfile>,
    /// True when Kakao has an email but the user has not agreed to share it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_needs_agreement: Option<bool>,
    /// False when the address was taken over by another Kakao account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_email_valid: Option<bool>,
    /// False when the address was never verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_email_verified: Option<bool>,
    /// The representative email, as sent. Use [`KakaoUserInfo::verified_email`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `kakao_account.profile`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KakaoProfile {
    /// The service nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// 110×110 thumbnail URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_image_url: Option<String>,
    /// 640×640 profile image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_image_url: Option<String>,
    /// True when the image is Kakao's default picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default_image: Option<bool>,
}

impl KakaoUserInfo {
    /// Parses a `/v2/user/me` body.
    pub fn from_json(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The Kakao id as decimal text, the form stored in `uid` columns.
    pub fn uid(&self) -> String {
        self.id.to_string()
    }

    /// The nickname from the profile, falling back to the legacy `properties.nickname`.
    pub fn nickname(&self) -> Option<&str> {
        self.profile()
            .and_then(|p| p.nickname.as_deref())
            .or_else(|| self.property("nickname"))
            .filter(|n| !n.trim().is_empty())
    }

    /// The profile image URL, unless it is Kakao's default picture.
    pub fn profile_image_url(&self) -> Option<&str> {
        let profile = self.profile();
        if profile.and_then(|p| p.is_default_image) == Some(true) {
            return None;
        }
        profile
            .and_then(|p| p.profile_image_url.as_deref())
            .or_else(|| self.property("profile_image"))
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    }

    /// The email, only when Kakao says it is both valid and verified.
    pub fn verified_email(&self) -> Option<&str> {
        let account = self.kakao_account.as_ref()?;
        match (account.is_email_valid, account.is_email_verified) {
            (Some(true), Some(true)) => account.email.as_deref().filter(|e| e.contains('@')),
            _ => None,
        }
    }

    fn profile(&self) -> Option<&KakaoProfile> {
        self.kakao_account.as_ref()?.profile.as_ref()
    }

    fn property(&self, key: &str) -> Option<&str> {
        self.properties.as_ref()?.get(key)?.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_above_two_to_the_53_survive_parsing() {
        let info = KakaoUserInfo::from_json(br#"{"id":9007199254740993}"#).expect("parses");
        assert_eq!(info.uid(), "9007199254740993");
        assert!(info.kakao_account.is_none());
        assert_eq!(info.nickname(), None);
    }

    #[test]
    fn email_counts_only_when_valid_and_verified() {
        let body = |valid: bool, verified: bool| {
            format!(
                r#"{{"id":1,"kakao_account":{{"email":"a@example.com","is_email_valid":{valid},"is_email_verified":{verified}}}}}"#
            )
        };
        let get = |v, w| {
            KakaoUserInfo::from_json(body(v, w).as_bytes())
                .expect("parses")
                .verified_email()
                .map(str::to_owned)
        };
        assert_eq!(get(true, true).as_deref(), Some("a@example.com"));
        assert_eq!(get(false, true), None);
        assert_eq!(get(true, false), None);
        let no_consent =
            KakaoUserInfo::from_json(br#"{"id":1,"kakao_account":{"email_needs_agreement":true}}"#)
                .expect("parses");
        assert_eq!(no_consent.verified_email(), None);
    }

    #[test]
    fn nickname_falls_back_to_legacy_properties_and_unknown_fields_are_ignored() {
        let info = KakaoUserInfo::from_json(
            r#"{"id":7,"has_email":true,"properties":{"nickname":"라이언"},"kakao_account":{"has_age_range":false}}"#.as_bytes(),
        )
        .expect("parses");
        assert_eq!(info.nickname(), Some("라이언"));
    }

    #[test]
    fn a_float_or_string_id_is_rejected() {
        assert!(KakaoUserInfo::from_json(br#"{"id":1.5}"#).is_err());
        assert!(KakaoUserInfo::from_json(br#"{"id":"12"}"#).is_err());
        assert!(KakaoUserInfo::from_json(br#"{}"#).is_err());
    }
}
