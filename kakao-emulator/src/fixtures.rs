//! The emulator's Kakao accounts: configurable fixtures plus users made up from a typed nickname.

/// A Kakao account the emulator can log in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureUser {
    /// The app-scoped Kakao member number (`id` in `/v2/user/me`).
    pub id: i64,
    /// The profile nickname.
    pub nickname: String,
    /// The account email Kakao holds, if any.
    pub email: Option<String>,
    /// Whether the user agreed to share the email (otherwise `email_needs_agreement: true`).
    pub email_consent: bool,
    /// `is_email_valid` (false: the address now belongs to another Kakao account).
    pub email_valid: bool,
    /// `is_email_verified`.
    pub email_verified: bool,
    /// Whether the user has their own picture (otherwise Kakao's default one, `is_default_image: true`).
    pub profile_image: bool,
}

impl FixtureUser {
    /// The default fixtures:
    ///
    /// * `1001` `"라이언"`: email `ryan@kakao.example`, consented, valid and verified; has a picture.
    /// * `1002` `"어피치"`: has an email but did not consent to share it (`email_needs_agreement: true`).
    /// * `9007199254740993` `"춘식이"`: an id above 2^53; email consented but `is_email_verified: false`.
    /// * `1004` `"Muzi & <Friends>"`: no picture (default image); verified email `muzi@kakao.example`.
    pub fn defaults() -> Vec<FixtureUser> {
        vec![
            FixtureUser {
                id: 1001,
                nickname: "라이언".to_owned(),
                email: Some("ryan@kakao.example".to_owned()),
                email_consent: true,
                email_valid: true,
                email_verified: true,
                profile_image: true,
            },
            FixtureUser {
                id: 1002,
                nickname: "어피치".to_owned(),
                email: Some("apeach@kakao.example".to_owned()),
                email_consent: false,
                email_valid: true,
                email_verified: true,
                profile_image: true,
            },
            FixtureUser {
                id: 9_007_199_254_740_993,
                nickname: "춘식이".to_owned(),
                email: Some("choonsik@kakao.example".to_owned()),
                email_consent: true,
                email_valid: true,
                email_verified: false,
                profile_image: true,
            },
            FixtureUser {
                id: 1004,
                nickname: "Muzi & <Friends>".to_owned(),
                email: Some("muzi@kakao.example".to_owned()),
                email_consent: true,
                email_valid: true,
                email_verified: true,
                profile_image: false,
            },
        ]
    }

    /// The user behind a nickname typed on the consent page: a stable id derived from the
    /// nickname, a generated picture and no email.
    pub(crate) fn from_nickname(nickname: &str) -> FixtureUser {
        FixtureUser {
            id: nickname_user_id(nickname),
            nickname: nickname.to_owned(),
            email: None,
            email_consent: false,
            email_valid: false,
            email_verified: false,
            profile_image: true,
        }
    }
}

/// `3_000_000_000 + FNV-1a-64(nickname) mod 10^9`: the same nickname is always the same Kakao user.
pub(crate) fn nickname_user_id(nickname: &str) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let hash = nickname
        .as_bytes()
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME));
    // `hash % 10^9` is below 10^9, so it always fits an i64.
    3_000_000_000 + i64::try_from(hash % 1_000_000_000).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nickname_ids_are_stable_and_in_range() {
        let a = nickname_user_id("홍길동");
        assert_eq!(a, nickname_user_id("홍길동"));
        assert_ne!(a, nickname_user_id("홍길순"));
        assert!((3_000_000_000..4_000_000_000).contains(&a));
    }
}
