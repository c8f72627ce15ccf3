//! Logins in progress live in the browser, not on the server.
//!
//! The begin step puts a login's `state`, PKCE verifier, optional `nonce` and `next` in a
//! cookie of its own, sealed with authenticated encryption (AES-256-GCM through the
//! `cookie` crate's private jar, under a key derived from the session key; the cookie's
//! name is bound into the seal). The cookie is `HttpOnly`, `SameSite=Lax`, `Path=/` and
//! its `Max-Age` the flow TTL. On https it is `Secure` and its name starts with
//! `__Host-`, so a sibling subdomain or a plain-http man in the middle cannot plant one
//! (login CSRF by cookie tossing). Its name carries a digest of the state, so several
//! tabs each keep their own login. A visitor who only begins a login costs the server no
//! write, and any instance with the same `SESSION_SECRET` can finish it.
//!
//! **Bounded.** Beginning a login while others are pending drops the oldest, so that at
//! most [`MAX_PENDING`] are pending and their cookies together stay under
//! [`PENDING_BUDGET`] bytes of the `Cookie` header (which must fit the 8 KB a default
//! reverse proxy accepts, beside the session cookie). No pending cookie's `Set-Cookie`
//! line is over [`MAX_COOKIE_LINE`] bytes: a `next` or `login_hint` that cannot fit is
//! refused (`reason=invalid_request`).
//!
//! At the callback the cookie named after the query's `state` is opened, its state
//! compared in constant time, its age checked (with [`CLOCK_LEEWAY`] for an instance
//! whose clock is behind the one that began the login), and the cookie cleared whatever
//! happens next. A copy replayed later still fails: Kakao redeems a code once, and the
//! code is bound to the PKCE verifier of the login that asked for it.

use std::time::Duration;

use actix_web::cookie::{self, Cookie, CookieJar, SameSite};
use actix_web::HttpRequest;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::KakaoAuthConfig;

/// One login between the begin step and the callback.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    /// Which provider the login was begun for: only that provider's callback takes it.
    #[serde(default = "kakao", skip_serializing_if = "is_kakao")]
    pub(crate) provider: crate::store::Provider,
    pub(crate) state: String,
    pub(crate) pkce_verifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<String>,
    /// Unix seconds.
    pub(crate) created_at: i64,
    /// Sent with `prompt=none` (KakaoTalk auto-login): a `consent_required` answer starts
    /// the same login once more without it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) auto_login: bool,
    /// The `login_hint` sent, kept for that second attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) login_hint: Option<String>,
    /// Additional-consent scopes asked for, kept for that second attempt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) extra_scopes: Vec<String>,
    /// A connect flow: the id (as JSON) of the logged-in user who began it; the callback
    /// links the account to that user, and only while the same user is logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) link_to: Option<String>,
}

fn kakao() -> crate::store::Provider {
    crate::store::Provider::Kakao
}

fn is_kakao(provider: &crate::store::Provider) -> bool {
    *provider == crate::store::Provider::Kakao
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("next", &self.next)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Most logins pending in one browser at once.
pub const MAX_PENDING: usize = 5;
/// Most bytes the pending cookies may take in the `Cookie` header together.
pub const PENDING_BUDGET: usize = 6 * 1024 - 1;
/// Largest `Set-Cookie` line of one pending cookie.
pub const MAX_COOKIE_LINE: usize = 4096;
/// How far in the future a pending login's start may lie (another instance's clock).
pub const CLOCK_LEEWAY: i64 = 60;

impl PendingLogin {
    fn is_fresh(&self, ttl: Duration, now: i64) -> bool {
        let age = now.saturating_sub(self.created_at);
        age >= -CLOCK_LEEWAY && age < i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)
    }
}

/// Why a login could not be put in a cookie.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SealError {
    /// The sealed cookie would be over [`MAX_COOKIE_LINE`] bytes (a huge `next` or hint).
    #[error("the pending-login cookie would be {0} bytes, over {MAX_COOKIE_LINE}")]
    TooLarge(usize),
    /// Serializing or sealing failed.
    #[error("{0}")]
    Internal(String),
}

/// The name prefix of every pending-login cookie: `__Host-` and the configured prefix
/// on https, the configured prefix alone on http.
fn name_prefix(config: &KakaoAuthConfig) -> String {
    let prefix = &config.session.pending_cookie_prefix;
    if config.session.secure {
        format!("__Host-{prefix}")
    } else {
        prefix.clone()
    }
}

/// The pending-login cookie name for `state`: the prefix and 16 hex digits of the
/// state's SHA-256.
fn cookie_name(config: &KakaoAuthConfig, state: &str) -> String {
    let digest = Sha256::digest(state.as_bytes());
    format!(
        "{}{}",
        name_prefix(config),
        crate::hex::encode(&digest[..8])
    )
}

/// The bytes `cookie` takes in a `Cookie` request header (`name=value; `).
fn header_size(cookie: &Cookie<'_>) -> usize {
    cookie.name().len() + 1 + cookie.value().len() + 2
}

fn max_age(ttl: Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX))
}

fn base_cookie(config: &KakaoAuthConfig, name: String, value: String) -> Cookie<'static> {
    let mut cookie = Cookie::new(name, value);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_secure(config.session.secure);
    // `__Host-` requires `Path=/` and no `Domain`; the begin route must see the
    // browser's pending cookies to bound them, and every provider's callback to open them.
    cookie.set_path("/");
    cookie
}

/// The sealed cookie that carries `login` to the callback.
/// Refused with [`SealError::TooLarge`] when its `Set-Cookie` line would be over
/// [`MAX_COOKIE_LINE`] bytes.
pub(crate) fn seal(
    config: &KakaoAuthConfig,
    login: &PendingLogin,
) -> Result<Cookie<'static>, SealError> {
    let name = cookie_name(config, &login.state);
    let value = serde_json::to_string(login).map_err(|e| SealError::Internal(e.to_string()))?;
    let mut jar = CookieJar::new();
    jar.private_mut(&config.session.pending_key)
        .add(Cookie::new(name.clone(), value));
    let sealed = jar
        .get(&name)
        .map(|c| c.value().to_owned())
        .ok_or_else(|| SealError::Internal("the sealed cookie was not added".into()))?;
    let mut cookie = base_cookie(config, name, sealed);
    cookie.set_max_age(max_age(config.flow_ttl));
    let line = "Set-Cookie: ".len() + cookie.encoded().to_string().len();
    if line > MAX_COOKIE_LINE {
        return Err(SealError::TooLarge(line));
    }
    Ok(cookie)
}

/// A cookie that clears the pending login of `state` in the browser.
pub(crate) fn removal(config: &KakaoAuthConfig, state: &str) -> Cookie<'static> {
    removal_named(config, cookie_name(config, state))
}

fn removal_named(config: &KakaoAuthConfig, name: String) -> Cookie<'static> {
    let mut cookie = base_cookie(config, name, String::new());
    cookie.make_removal();
    cookie
}

/// The removals that make room for `new`: the request's pending cookies that do not
/// open are dropped, then the oldest ones until at most [`MAX_PENDING`] remain with
/// `new`, within [`PENDING_BUDGET`] bytes together.
pub(crate) fn make_room(
    req: &HttpRequest,
    config: &KakaoAuthConfig,
    new: &Cookie<'_>,
) -> Vec<Cookie<'static>> {
    let prefix = name_prefix(config);
    let Ok(cookies) = req.cookies() else {
        return Vec::new();
    };
    let mut pending: Vec<(i64, Cookie<'static>)> = Vec::new();
    let mut removals = Vec::new();
    for cookie in cookies.iter().filter(|c| c.name().starts_with(&prefix)) {
        if cookie.name() == new.name() {
            continue;
        }
        match open_any(cookie.clone(), config) {
            Some(login) => pending.push((login.created_at, cookie.clone())),
            None => removals.push(removal_named(config, cookie.name().to_owned())),
        }
    }
    // Newest first: the oldest are dropped.
    pending.sort_by_key(|p| std::cmp::Reverse(p.0));
    let mut used = header_size(new);
    let mut kept = 1;
    for (_, cookie) in pending {
        let size = header_size(&cookie);
        if kept < MAX_PENDING && used + size <= PENDING_BUDGET {
            kept += 1;
            used += size;
        } else {
            removals.push(removal_named(config, cookie.name().to_owned()));
        }
    }
    removals
}

/// Opens the pending login for `state` from the request's cookies: `None` when there is
/// none, it does not open (tampered, another key, renamed), its state differs, or it has
/// expired.
pub(crate) fn open(
    req: &HttpRequest,
    config: &KakaoAuthConfig,
    state: &str,
) -> Option<PendingLogin> {
    open_with(req, config, state, config.now().timestamp())
}

fn open_with(
    req: &HttpRequest,
    config: &KakaoAuthConfig,
    state: &str,
    now: i64,
) -> Option<PendingLogin> {
    open_cookie(req.cookie(&cookie_name(config, state))?, config, state, now)
}

/// Opens any pending-login cookie of ours (whatever its state).
fn open_any(cookie: Cookie<'static>, config: &KakaoAuthConfig) -> Option<PendingLogin> {
    let mut jar = CookieJar::new();
    let name = cookie.name().to_owned();
    jar.add_original(cookie);
    let opened = jar.private(&config.session.pending_key).get(&name)?;
    serde_json::from_str(opened.value()).ok()
}

fn open_cookie(
    cookie: Cookie<'static>,
    config: &KakaoAuthConfig,
    state: &str,
    now: i64,
) -> Option<PendingLogin> {
    let login = open_any(cookie, config)?;
    let same: bool = login.state.as_bytes().ct_eq(state.as_bytes()).into();
    (same && login.is_fresh(config.flow_ttl, now)).then_some(login)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn config(secret: char) -> KakaoAuthConfig {
        KakaoAuthConfig::builder("client", "https://app.example/cb/")
            .session_secret(secret.to_string().repeat(64))
            .session(crate::config::SessionOptions {
                login_flow_ttl: Duration::from_secs(600),
                ..crate::config::SessionOptions::default()
            })
            .build()
            .expect("valid")
    }

    fn login(state: &str, created_at: i64) -> PendingLogin {
        PendingLogin {
            provider: crate::store::Provider::Kakao,
            link_to: None,
            state: state.into(),
            pkce_verifier: "verifier".into(),
            nonce: Some("nonce".into()),
            next: Some("/download-list/".into()),
            created_at,
            auto_login: false,
            login_hint: None,
            extra_scopes: Vec::new(),
        }
    }

    #[test]
    fn the_cookie_is_sealed_and_scoped_to_the_callback() {
        let config = config('a');
        let now = Utc::now().timestamp();
        let cookie = seal(&config, &login("s1", now)).expect("sealed");
        assert!(!cookie.value().contains("verifier"));
        assert!(!cookie.value().contains("download-list"));
        assert_eq!(cookie.path(), Some("/"));
        assert!(cookie.name().starts_with("__Host-kakao_auth_flow_"));
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.max_age(), Some(cookie::time::Duration::seconds(600)));
        let opened = open_cookie(cookie, &config, "s1", now).expect("opens");
        assert_eq!(opened.pkce_verifier, "verifier");
        assert_eq!(opened.next.as_deref(), Some("/download-list/"));
    }

    #[test]
    fn a_tampered_renamed_foreign_or_expired_cookie_does_not_open() {
        let config = config('a');
        let now = Utc::now().timestamp();
        let cookie = seal(&config, &login("s1", now)).expect("sealed");

        let mut tampered = cookie.clone();
        let mut value = tampered.value().to_owned();
        let last = value.pop().expect("non-empty");
        value.push(if last == 'A' { 'B' } else { 'A' });
        tampered.set_value(value);
        assert!(open_cookie(tampered, &config, "s1", now).is_none());

        // The name is bound into the seal: the value moved to another state's cookie fails.
        let mut renamed = cookie.clone();
        renamed.set_name(cookie_name(&config, "s2"));
        assert!(open_cookie(renamed, &config, "s2", now).is_none());

        assert!(open_cookie(cookie.clone(), &super::tests::config('b'), "s1", now).is_none());
        assert!(open_cookie(cookie.clone(), &config, "s1", now + 600).is_none());
        assert!(open_cookie(cookie.clone(), &config, "s1", now + 599).is_some());
        // Finished on an instance whose clock is behind: within the leeway it opens.
        assert!(open_cookie(cookie.clone(), &config, "s1", now - 1).is_some());
        assert!(open_cookie(cookie.clone(), &config, "s1", now - CLOCK_LEEWAY).is_some());
        assert!(open_cookie(cookie, &config, "s1", now - CLOCK_LEEWAY - 1).is_none());
    }

    #[test]
    fn each_state_has_its_own_cookie_so_tabs_do_not_collide() {
        let config = config('a');
        assert_ne!(cookie_name(&config, "tab-1"), cookie_name(&config, "tab-2"));
        assert_eq!(cookie_name(&config, "tab-1"), cookie_name(&config, "tab-1"));
        let removal = removal(&config, "tab-1");
        assert_eq!(removal.name(), cookie_name(&config, "tab-1"));
        assert_eq!(removal.path(), Some("/"));
        assert_eq!(removal.max_age(), Some(cookie::time::Duration::ZERO));
    }
}
