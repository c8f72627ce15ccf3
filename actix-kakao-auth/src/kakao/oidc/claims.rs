//! The id_token payload, as Kakao documents it (kakao-api.md §5.3).

use serde::{Deserialize, Deserializer, Serialize};

use super::error::IdTokenError;

/// The claims of a verified id_token.
///
/// Only [`IdTokenVerifier`](super::IdTokenVerifier) hands these out, after the signature
/// and every claim check passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// The issuer (`https://kauth.kakao.com`).
    pub iss: String,
    /// The audience: the app key used as `client_id`. A single string at Kakao; a list
    /// is accepted on parsing and must then hold exactly this client.
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// The Kakao user id, as a string.
    pub sub: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds); matches the access token's lifetime.
    pub exp: i64,
    /// When the user authenticated (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The login's nonce, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The authorized party, if Kakao ever sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// The token's unique id, if Kakao sends one (used against replays of SDK tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The service nickname, with the nickname or profile consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// The profile thumbnail URL, with the profile-image consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// The email, with the email consent, and only when Kakao says it is valid and verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl IdTokenClaims {
    /// Parses a payload (the decoded middle part of the JWS).
    pub(crate) fn from_json(payload: &[u8]) -> Result<Self, IdTokenError> {
        super::jws::parse_json("payload", payload)
    }

    /// Checks that `sub` is exactly the id `/v2/user/me` returned (the same rule as OpenID
    /// Connect Core §5.3.2 for the UserInfo `sub`): the token describes the user who is
    /// being logged in. Compared as text, so `"01001"` or `"+1001"` never equals `1001`.
    pub fn check_subject(&self, user_id: i64) -> Result<(), IdTokenError> {
        self.check_subject_text(&user_id.to_string())
    }

    /// [`check_subject`](Self::check_subject) for a provider whose ids are text (Naver):
    /// `sub` must equal `uid` exactly, byte for byte.
    pub fn check_subject_text(&self, uid: &str) -> Result<(), IdTokenError> {
        if self.sub == uid {
            Ok(())
        } else {
            Err(IdTokenError::SubjectMismatch)
        }
    }
}

/// `"aud": "x"` or `"aud": ["x", …]` (RFC 7519 §4.1.3 allows both).
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kakaos_documented_payload_parses() {
        let claims = IdTokenClaims::from_json(
            br#"{"aud":"a911","sub":"4362956124","auth_time":1753865493,"iss":"https://kauth.kakao.com","nickname":"x","exp":1753887093,"iat":1753865493}"#,
        )
        .expect("parses");
        assert_eq!(claims.aud, ["a911"]);
        assert!(claims.check_subject(4_362_956_124).is_ok());
        assert!(matches!(
            claims.check_subject(4_362_956_125),
            Err(IdTokenError::SubjectMismatch)
        ));
    }

    #[test]
    fn a_numeric_sub_or_float_time_is_malformed() {
        assert!(
            IdTokenClaims::from_json(br#"{"aud":"a","sub":1,"iss":"i","exp":2,"iat":1}"#).is_err()
        );
        assert!(
            IdTokenClaims::from_json(br#"{"aud":"a","sub":"1","iss":"i","exp":2.5,"iat":1}"#)
                .is_err()
        );
        assert!(IdTokenClaims::from_json(br#"{"aud":"a","sub":"1","iss":"i","iat":1}"#).is_err());
    }
}
