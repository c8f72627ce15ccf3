//! [`LoginSettings`]: defaults for each login: `prompt`, `login_hint`, KakaoTalk
//! auto-login and Kakao Sync service terms.

use crate::kakao::login_options::Prompt;

/// What every login asks Kakao for unless its begin request says otherwise.
#[derive(Debug, Clone)]
pub(crate) struct LoginSettings {
    pub(crate) default_prompt: Option<Prompt>,
    pub(crate) default_login_hint: Option<String>,
    pub(crate) kakaotalk_auto_login: bool,
    pub(crate) service_terms: Vec<String>,
    /// The consent items a begin request may add with `?scope=` (additional consent).
    pub(crate) consent_allowlist: Vec<String>,
    /// Extra `aud` values accepted for an id_token from a Kakao SDK.
    pub(crate) sdk_audiences: Vec<String>,
    /// Sign-in attempts with SDK tokens one client address may make per minute.
    pub(crate) sdk_attempts_per_minute: u32,
}
