//! Server-rendered pages (askama templates, auto-escaped).

use actix_kakao_auth::{CurrentUser, LoginFailure};
use askama::Template;

use crate::downloads::Download;
use crate::models::User;

/// What a page shows of a user.
#[derive(Debug, Clone)]
pub struct UserView {
    /// Nickname (escaped by the template).
    pub nickname: String,
    /// Kakao profile image, when the user has one.
    pub profile_image_url: Option<String>,
    /// First letter of the nickname, for the fallback avatar.
    pub initial: String,
    /// The session's CSRF token, for the forms that log out or disconnect.
    pub csrf_token: String,
}

impl From<&CurrentUser<User>> for UserView {
    fn from(current: &CurrentUser<User>) -> Self {
        let user = current.user();
        let initial = user
            .nickname
            .chars()
            .next()
            .map(String::from)
            .unwrap_or_else(|| "?".into());
        Self {
            nickname: user.nickname.clone(),
            profile_image_url: user.profile_image_url.clone(),
            initial,
            csrf_token: current.csrf_token().to_owned(),
        }
    }
}

/// `GET /`.
#[derive(Debug, Template)]
#[template(path = "home.html")]
pub struct HomePage {
    /// The logged-in user, if any.
    pub user: Option<UserView>,
    /// True when running against the emulator.
    pub emulator: bool,
    /// Kakao Sync: the service terms the logged-in user agreed to, and when.
    pub terms: Vec<TermView>,
}

/// One agreed service term, as the home page shows it.
#[derive(Debug, Clone)]
pub struct TermView {
    /// The term's tag.
    pub tag: String,
    /// When the user agreed (as Kakao reported it), or `-`.
    pub agreed_at: String,
}

/// `GET /download-list/`.
#[derive(Debug, Template)]
#[template(path = "downloads.html")]
pub struct DownloadsPage {
    /// The logged-in user.
    pub user: UserView,
    /// The files.
    pub files: &'static [Download],
}

/// `GET /login/error/`.
#[derive(Debug, Template)]
#[template(path = "login_error.html")]
pub struct LoginErrorPage {
    /// The reason code.
    pub reason: &'static str,
    /// Korean explanation.
    pub korean: &'static str,
    /// English explanation.
    pub english: &'static str,
}

impl LoginErrorPage {
    /// The page for a reason code; unknown codes read as a generic failure.
    pub fn for_reason(reason: Option<LoginFailure>) -> Self {
        let (korean, english) = match reason {
            Some(LoginFailure::StateMismatch) => (
                "로그인 요청이 만료되었거나 올바르지 않습니다. 다시 시도해 주세요.",
                "The login request expired or did not match. Please try again.",
            ),
            Some(LoginFailure::AccessDenied) => (
                "카카오 동의 화면에서 로그인을 취소했습니다.",
                "You cancelled the login on Kakao's consent screen.",
            ),
            Some(LoginFailure::InvalidCode) => (
                "카카오 인가 코드가 유효하지 않거나 이미 사용되었습니다.",
                "Kakao's authorization code was invalid or already used.",
            ),
            Some(LoginFailure::KakaoUnavailable) => (
                "카카오 서버가 응답하지 않습니다. 잠시 후 다시 시도해 주세요.",
                "Kakao is not answering right now. Please try again in a moment.",
            ),
            Some(LoginFailure::InvalidResponse) => (
                "카카오에서 예상하지 못한 응답을 받았습니다.",
                "Kakao sent an answer we could not use.",
            ),
            Some(LoginFailure::InvalidIdToken) => (
                "카카오 ID 토큰을 검증하지 못했습니다.",
                "Kakao's ID token could not be verified.",
            ),
            Some(LoginFailure::TermsRequired) => (
                "필수 서비스 약관에 동의해야 가입할 수 있습니다. 다시 시도해 약관에 동의해 주세요.",
                "You need to agree to the required service terms to sign up. Please try again and agree to them.",
            ),
            Some(LoginFailure::InvalidRequest) => (
                "로그인 요청이 너무 길거나 올바르지 않습니다. 처음 화면에서 다시 로그인해 주세요.",
                "The login request was too long or malformed. Please start again from the home page.",
            ),
            Some(LoginFailure::Internal) | Some(_) | None => (
                "로그인 처리 중 문제가 발생했습니다.",
                "Something went wrong on our side while logging you in.",
            ),
        };
        Self {
            reason: reason.map_or("internal", LoginFailure::code),
            korean,
            english,
        }
    }
}

/// `GET /logout/`.
#[derive(Debug, Template)]
#[template(path = "logout.html")]
pub struct LogoutPage {
    /// The session's CSRF token, when logged in.
    pub csrf_token: Option<String>,
}
