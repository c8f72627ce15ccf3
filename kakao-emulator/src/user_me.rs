//! The `/v2/user/me` body in Kakao's shape, limited to what the granted scopes allow, and the
//! loose `property_keys` filter.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::fixtures::FixtureUser;
use super::state::rfc3339;

/// Inputs for one `/v2/user/me` answer.
pub(crate) struct UserMe<'a> {
    pub base_url: &'a url::Url,
    pub user: &'a FixtureUser,
    /// Scopes granted to the token (or consented, for the admin-key form).
    pub granted: &'a [String],
    /// Consent items configured for the app: items configured but not granted show
    /// `*_needs_agreement: true`; items not configured are absent.
    pub configured: &'a [String],
    pub connected_at: Option<DateTime<Utc>>,
}

fn has(list: &[String], scope: &str) -> bool {
    list.iter().any(|s| s == scope)
}

/// The user's picture URLs: (640×640 image, 110×110 thumbnail).
pub(crate) fn avatar_urls(base: &url::Url, user: &FixtureUser) -> (String, String) {
    let name = if user.profile_image {
        user.id.to_string()
    } else {
        "default".to_owned()
    };
    let join = |suffix: &str| {
        base.join(&format!("emulator/avatar/{name}.svg{suffix}"))
            .map(String::from)
            .unwrap_or_default()
    };
    (join(""), join("?size=110"))
}

/// Builds the body.
pub(crate) fn body(me: &UserMe<'_>) -> Value {
    let user = me.user;
    let nickname_granted = has(me.granted, "profile_nickname");
    let image_granted = has(me.granted, "profile_image");
    let mut account = Map::new();
    let mut profile = Map::new();
    let mut properties = Map::new();

    if nickname_granted {
        account.insert("profile_nickname_needs_agreement".into(), json!(false));
        profile.insert("nickname".into(), json!(user.nickname));
        profile.insert("is_default_nickname".into(), json!(false));
        properties.insert("nickname".into(), json!(user.nickname));
    } else if has(me.configured, "profile_nickname") {
        account.insert("profile_nickname_needs_agreement".into(), json!(true));
    }
    if image_granted {
        let (image, thumbnail) = avatar_urls(me.base_url, user);
        account.insert("profile_image_needs_agreement".into(), json!(false));
        profile.insert("thumbnail_image_url".into(), json!(thumbnail));
        profile.insert("profile_image_url".into(), json!(image));
        profile.insert("is_default_image".into(), json!(!user.profile_image));
        properties.insert("profile_image".into(), json!(image));
        properties.insert("thumbnail_image".into(), json!(thumbnail));
    } else if has(me.configured, "profile_image") {
        account.insert("profile_image_needs_agreement".into(), json!(true));
    }
    if !profile.is_empty() {
        account.insert("profile".into(), Value::Object(profile));
    }
    if let Some(email) = &user.email {
        if has(me.granted, "account_email") && user.email_consent {
            account.insert("email_needs_agreement".into(), json!(false));
            account.insert("is_email_valid".into(), json!(user.email_valid));
            account.insert("is_email_verified".into(), json!(user.email_verified));
            account.insert("email".into(), json!(email));
        } else if has(me.configured, "account_email") {
            account.insert("email_needs_agreement".into(), json!(true));
        }
    }

    let mut body = Map::new();
    body.insert("id".into(), json!(user.id));
    if let Some(at) = me.connected_at {
        body.insert("connected_at".into(), json!(rfc3339(at)));
    }
    if !properties.is_empty() {
        body.insert("properties".into(), Value::Object(properties));
    }
    if !account.is_empty() {
        body.insert("kakao_account".into(), Value::Object(account));
    }
    Value::Object(body)
}

/// Parses `property_keys` (a JSON array of strings such as `["kakao_account.email"]`).
pub(crate) fn parse_property_keys(raw: &str) -> Option<Vec<String>> {
    serde_json::from_str::<Vec<String>>(raw).ok()
}

/// Keeps only what `keys` asks for (loosely, like Kakao): `id` and `connected_at` always;
/// `kakao_account.` / `properties.` keep everything below them; `kakao_account.profile` keeps
/// the profile and its agreement flags; `kakao_account.email` keeps the email trio and
/// `email_needs_agreement`; `properties.nickname` keeps that property.
pub(crate) fn filter(body: &mut Value, keys: &[String]) {
    let Some(body) = body.as_object_mut() else {
        return;
    };
    let wants = |prefix: &str| -> Vec<&str> {
        keys.iter().filter_map(|k| k.strip_prefix(prefix)).collect()
    };
    let account_keys = wants("kakao_account.");
    if !account_keys.contains(&"") {
        let keep_account = |field: &str| {
            account_keys.iter().any(|k| match *k {
                "profile" => field == "profile" || field.starts_with("profile_"),
                "email" => matches!(
                    field,
                    "email" | "email_needs_agreement" | "is_email_valid" | "is_email_verified"
                ),
                other => field == other || field.strip_suffix("_needs_agreement") == Some(other),
            })
        };
        if let Some(Value::Object(account)) = body.get_mut("kakao_account") {
            account.retain(|field, _| keep_account(field));
        }
        if body
            .get("kakao_account")
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            body.remove("kakao_account");
        }
    }
    let property_keys = wants("properties.");
    if !property_keys.contains(&"") {
        if let Some(Value::Object(properties)) = body.get_mut("properties") {
            properties.retain(|field, _| property_keys.contains(&field.as_str()));
        }
        if body
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            body.remove("properties");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> FixtureUser {
        FixtureUser::defaults().remove(0)
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn email_scope_filter() {
        let base = url::Url::parse("http://127.0.0.1:1/").expect("url");
        let all = scopes(&["profile_nickname", "profile_image", "account_email"]);
        let user = user();
        let mut body = body(&UserMe {
            base_url: &base,
            user: &user,
            granted: &all,
            configured: &all,
            connected_at: None,
        });
        filter(&mut body, &scopes(&["kakao_account.email"]));
        assert_eq!(
            body,
            json!({"id": 1001, "kakao_account": {"email_needs_agreement": false,
                "is_email_valid": true, "is_email_verified": true, "email": "ryan@kakao.example"}})
        );
    }
}
