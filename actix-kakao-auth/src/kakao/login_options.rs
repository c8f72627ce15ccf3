//! Per-login options: Kakao's `prompt` and `login_hint`, `next`, and extra scopes; and
//! the begin URL that carries them, for apps that build their own login links.
//!
//! ```
//! use actix_kakao_auth::kakao::login_options::{LoginOptions, Prompt};
//! # let config = actix_kakao_auth::KakaoAuthConfig::builder("key", "http://127.0.0.1:8000/cb/")
//! #     .session_secret("s".repeat(64)).build().unwrap();
//! // "다른 계정으로 로그인 · Use another Kakao account"
//! let url = LoginOptions::default()
//!     .prompt(Prompt::SelectAccount)
//!     .next("/download-list/")
//!     .begin_url(&config);
//! assert_eq!(url, "/accounts/oauth/login/kakao/?prompt=select_account&next=%2Fdownload-list%2F");
//! ```

use crate::config::KakaoAuthConfig;
use crate::next_url::sanitize_next;

/// Longest `login_hint` passed on to Kakao (an email address or phone number).
pub const MAX_LOGIN_HINT_LEN: usize = 254;

/// The `prompt` values an app may ask Kakao for. (`none`, KakaoTalk auto-login, is the
/// library's own decision, see
/// [`kakaotalk_auto_login`](crate::config::LoginDefaults::kakaotalk_auto_login).)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// Ask for the Kakao Account login again, even when the browser is logged in.
    Login,
    /// Show the account chooser ("다른 계정으로 로그인").
    SelectAccount,
    /// Start with Kakao Account sign-up.
    Create,
}

impl Prompt {
    /// The value Kakao expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::SelectAccount => "select_account",
            Self::Create => "create",
        }
    }

    /// Parses one of the three values; anything else (including `none`) is `None`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "login" => Some(Self::Login),
            "select_account" => Some(Self::SelectAccount),
            "create" => Some(Self::Create),
            _ => None,
        }
    }
}

/// The options of one login, as the begin route takes them from its query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct LoginOptions {
    next: Option<String>,
    prompt: Option<Prompt>,
    login_hint: Option<String>,
    scopes: Vec<String>,
}

impl LoginOptions {
    /// Consent items to ask for on top of the configured ones (additional consent); the
    /// begin route passes on only the allowlisted ones.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Where to land after the login (a local path; anything else is dropped).
    pub fn next(mut self, next: &str) -> Self {
        self.next = sanitize_next(next);
        self
    }

    /// Kakao's `prompt`.
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        self.prompt = Some(prompt);
        self
    }

    /// Kakao's `login_hint` (pre-fills the Kakao Account login page); dropped when longer
    /// than [`MAX_LOGIN_HINT_LEN`] or carrying control characters.
    pub fn login_hint(mut self, hint: &str) -> Self {
        self.login_hint = clean_login_hint(hint);
        self
    }

    /// The begin route's URL with these options, percent-encoded.
    pub fn begin_url(&self, config: &KakaoAuthConfig) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(prompt) = self.prompt {
            query.append_pair("prompt", prompt.as_str());
        }
        if let Some(hint) = &self.login_hint {
            query.append_pair("login_hint", hint);
        }
        if !self.scopes.is_empty() {
            query.append_pair("scope", &self.scopes.join(","));
        }
        if let Some(next) = &self.next {
            query.append_pair("next", next);
        }
        let query = query.finish();
        let path = &config.paths().begin_path;
        if query.is_empty() {
            path.to_owned()
        } else {
            let separator = if path.contains('?') { '&' } else { '?' };
            format!("{path}{separator}{query}")
        }
    }
}

/// A `login_hint` fit to pass on, or `None`.
pub(crate) fn clean_login_hint(hint: &str) -> Option<String> {
    let hint = hint.trim();
    let fit =
        !hint.is_empty() && hint.len() <= MAX_LOGIN_HINT_LEN && !hint.chars().any(char::is_control);
    fit.then(|| hint.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> KakaoAuthConfig {
        KakaoAuthConfig::builder("key", "http://127.0.0.1:8000/cb/")
            .session_secret("s".repeat(64))
            .build()
            .expect("valid")
    }

    #[test]
    fn only_the_three_app_prompts_parse() {
        for prompt in [Prompt::Login, Prompt::SelectAccount, Prompt::Create] {
            assert_eq!(Prompt::parse(prompt.as_str()), Some(prompt));
        }
        for other in ["none", "consent", "LOGIN", "", "login,none"] {
            assert_eq!(Prompt::parse(other), None, "{other}");
        }
    }

    #[test]
    fn the_begin_url_encodes_every_option_and_drops_unsafe_ones() {
        let url = LoginOptions::default()
            .prompt(Prompt::Login)
            .login_hint("ryan@kakao.example")
            .next("/a?b=c")
            .begin_url(&config());
        assert_eq!(
            url,
            "/accounts/oauth/login/kakao/?prompt=login&login_hint=ryan%40kakao.example&next=%2Fa%3Fb%3Dc"
        );
        let url = LoginOptions::default()
            .next("//evil.example/")
            .login_hint("a\nb")
            .begin_url(&config());
        assert_eq!(url, "/accounts/oauth/login/kakao/");
        assert_eq!(clean_login_hint(&"x".repeat(MAX_LOGIN_HINT_LEN + 1)), None);
    }
}
