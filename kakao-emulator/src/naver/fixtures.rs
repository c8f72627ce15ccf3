//! The emulator's Naver accounts.

/// A Naver account offered on the emulator's consent page. Every field but `id` is a
/// consent item the user may decline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaverUser {
    /// The per-app (pairwise) id: digits for apps made before May 2021, a base64-like
    /// string up to 64 characters after. Always text.
    pub id: String,
    /// `nickname`.
    pub nickname: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `email`: the contact address, with no verification flag.
    pub email: Option<String>,
    /// `profile_image`.
    pub profile_image: Option<String>,
}

impl NaverUser {
    /// The default accounts:
    ///
    /// * `"32742776"` `"네이버사용자"`: a legacy numeric id, email `openapi@naver.com`.
    /// * `"Ab3dE+f/GhI9jKlMnOpQrStUvWxYz0123456789+/AbC="` `"초록이"`: a base64-like id with
    ///   `+`, `/` and `=`; email `green@example.com`.
    /// * `"nAvEr-no-email_0123456789"` `"이메일없음"`: no email and no picture.
    pub fn defaults() -> Vec<NaverUser> {
        vec![
            NaverUser {
                id: "32742776".to_owned(),
                nickname: Some("네이버사용자".to_owned()),
                name: Some("오픈 API".to_owned()),
                email: Some("openapi@naver.com".to_owned()),
                profile_image: Some(
                    "https://ssl.pstatic.net/static/pwe/address/nodata_33x33.gif".to_owned(),
                ),
            },
            NaverUser {
                id: "Ab3dE+f/GhI9jKlMnOpQrStUvWxYz0123456789+/AbC=".to_owned(),
                nickname: Some("초록이".to_owned()),
                name: Some("김초록".to_owned()),
                email: Some("green@example.com".to_owned()),
                profile_image: None,
            },
            NaverUser {
                id: "nAvEr-no-email_0123456789".to_owned(),
                nickname: Some("이메일없음".to_owned()),
                name: None,
                email: None,
                profile_image: None,
            },
        ]
    }
}
