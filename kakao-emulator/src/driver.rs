//! Client-side helpers that act on the emulator the way outside parties would: a browser
//! answering the consent page, and Kakao calling the app's unlink webhook.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, LOCATION};
use url::Url;

use super::error::EmulatorError;
use super::pages::ERROR_META;
use super::state::Shared;

/// What the emulated user does on the consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentDecision {
    /// Press "동의하고 계속하기 / Agree and continue" as this user, agreeing to every
    /// service term the page shows.
    Approve(UserChoice),
    /// Agree and continue as this user, with exactly these service terms ticked.
    ApproveTerms(UserChoice, Vec<String>),
    /// Press "취소 / Cancel".
    Cancel,
}

/// Which user logs in on the consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChoice {
    /// One of the configured fixture users, by id.
    Fixture(i64),
    /// A typed nickname. The same nickname always maps to the same (stable, derived) Kakao id.
    Nickname(String),
}

/// Kakao's deadline for a webhook answer.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(3);

/// The text after `marker` up to the next `"`, HTML-unescaped (the few entities the emulator emits).
pub(crate) fn attribute_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let rest = html.get(start..)?;
    let value = &rest[..rest.find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The KOE code of an emulator error page.
fn error_code(html: &str) -> Option<String> {
    attribute_after(html, &format!("<meta name=\"{ERROR_META}\" content=\""))
}

/// The `Location` of a redirect, resolved against the request URL.
pub(crate) fn location(
    request_url: &Url,
    response: &reqwest::Response,
) -> Result<Url, EmulatorError> {
    let raw = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| EmulatorError::Unexpected("redirect without a Location header".into()))?;
    request_url
        .join(raw)
        .map_err(|e| EmulatorError::Unexpected(format!("bad Location {raw:?}: {e}")))
}

/// Turns a non-redirect answer into the matching error.
pub(crate) async fn not_a_redirect(response: reqwest::Response, step: &str) -> EmulatorError {
    let status = response.status();
    match response.text().await {
        Ok(html) => match error_code(&html) {
            Some(code) => EmulatorError::KakaoErrorPage { code },
            None => {
                EmulatorError::Unexpected(format!("{step} answered {status} without a redirect"))
            }
        },
        Err(e) => EmulatorError::Http(e),
    }
}

/// The service-term checkboxes of a consent page.
fn terms_on_page(html: &str) -> Vec<String> {
    html.split("name=\"term\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// GET the authorize URL, read the consent form, POST the decision; return where it redirects.
pub(crate) async fn consent(
    http: &reqwest::Client,
    authorize_url: &Url,
    decision: &ConsentDecision,
) -> Result<Url, EmulatorError> {
    let response = http.get(authorize_url.clone()).send().await?;
    if response.status().is_redirection() {
        // prompt=none (or a PKCE error): no page, straight back to the app.
        return location(authorize_url, &response);
    }
    if !response.status().is_success() {
        return Err(not_a_redirect(response, "authorize").await);
    }
    let html = response.text().await?;
    if let Some(code) = error_code(&html) {
        return Err(EmulatorError::KakaoErrorPage { code });
    }
    let action = attribute_after(&html, "<form method=\"post\" action=\"")
        .ok_or_else(|| EmulatorError::Unexpected("no consent form on the authorize page".into()))?;
    let request_id = attribute_after(&html, "name=\"request_id\" value=\"")
        .ok_or_else(|| EmulatorError::Unexpected("no request_id on the consent form".into()))?;
    let action_url = authorize_url
        .join(&action)
        .map_err(|e| EmulatorError::Unexpected(format!("bad form action {action:?}: {e}")))?;

    let mut form = vec![("request_id", request_id)];
    let (choice, terms) = match decision {
        ConsentDecision::Approve(choice) => (Some(choice), terms_on_page(&html)),
        ConsentDecision::ApproveTerms(choice, terms) => (Some(choice), terms.clone()),
        ConsentDecision::Cancel => (None, Vec::new()),
    };
    for term in terms {
        form.push(("term", term));
    }
    match choice {
        Some(choice) => {
            form.push(("action", "approve".to_owned()));
            match choice {
                UserChoice::Fixture(id) => form.push(("user", id.to_string())),
                UserChoice::Nickname(nickname) => {
                    form.push(("user", "custom".to_owned()));
                    form.push(("nickname", nickname.clone()));
                }
            }
        }
        None => form.push(("action", "cancel".to_owned())),
    }
    let response = http.post(action_url.clone()).form(&form).send().await?;
    if response.status().is_redirection() {
        return location(&action_url, &response);
    }
    Err(not_a_redirect(response, "the consent form").await)
}

/// Unlinks the user on the emulator's side (tokens revoked, consent forgotten, as when a user
/// disconnects the app from their Kakao account), then calls the app's webhook the way Kakao
/// does and returns the HTTP status it answered.
pub(crate) async fn send_unlink_webhook(
    http: &reqwest::Client,
    shared: &Shared,
    url: &Url,
    user_id: i64,
    referrer_type: &str,
    use_post: bool,
) -> Result<u16, EmulatorError> {
    let admin_key = shared.config.admin_key.as_deref().ok_or_else(|| {
        EmulatorError::Unexpected("the emulator has no admin key configured".into())
    })?;
    shared.unlink_user(user_id);
    let params = [
        ("app_id", shared.config.app_id.to_string()),
        ("user_id", user_id.to_string()),
        ("referrer_type", referrer_type.to_owned()),
    ];
    let request = if use_post {
        http.post(url.clone()).form(&params)
    } else {
        http.get(url.clone()).query(&params)
    };
    let response = request
        .header(AUTHORIZATION, format!("KakaoAK {admin_key}"))
        .timeout(WEBHOOK_TIMEOUT)
        .send()
        .await?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_attributes_and_error_codes() {
        let html = "<meta name=\"kakao-emulator-error-code\" content=\"KOE006\">\
                    <form method=\"post\" action=\"/a?x=1&amp;y=2\">";
        assert_eq!(error_code(html).as_deref(), Some("KOE006"));
        assert_eq!(
            attribute_after(html, "<form method=\"post\" action=\"").as_deref(),
            Some("/a?x=1&y=2")
        );
        assert_eq!(error_code("<p>no code</p>"), None);
    }
}
