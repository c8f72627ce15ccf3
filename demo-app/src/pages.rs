//! Server-rendered pages (askama templates, auto-escaped).

use actix_kakao_auth::{CurrentUser, LoginFailure};
use askama::Template;

use crate::downloads::Download;
use crate::store::DieselUserStore;

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

impl From<&CurrentUser<DieselUserStore>> for UserView {
    fn from(current: &CurrentUser<DieselUserStore>) -> Self {
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
    /// True when Naver Login is on (its button is shown).
    pub naver: bool,
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

/// One provider on the account page.
#[derive(Debug, Clone)]
pub struct LinkView {
    /// `kakao` or `naver` (used in the form's URL).
    pub provider: String,
    /// The name shown.
    pub label: &'static str,
    /// When the link was made (empty for a provider not linked).
    pub since: String,
}

/// A provider's name as the pages show it.
pub fn provider_label(provider: &str) -> &'static str {
    match provider {
        "naver" => "네이버 · Naver",
        _ => "카카오 · Kakao",
    }
}

/// `GET /account/`.
#[derive(Debug, Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    /// The logged-in user.
    pub user: UserView,
    /// The user's links.
    pub linked: Vec<LinkView>,
    /// Configured providers not linked yet.
    pub connectable: Vec<LinkView>,
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
        let (korean, english) = reason.unwrap_or(LoginFailure::Internal).messages();
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
