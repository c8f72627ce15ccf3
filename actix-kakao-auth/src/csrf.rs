//! CSRF defence for the state-changing POST routes (logout, Kakao logout, disconnect).
//!
//! A request passes when it proves it comes from the app's own pages, by either
//! * the browser's word: `Sec-Fetch-Site: same-origin`, or else an `Origin` equal to the
//!   app's origin; or
//! * the session's CSRF token (a synchronizer token made at login, see
//!   [`CurrentUser::csrf_token`](crate::CurrentUser::csrf_token)) in the form field
//!   [`CSRF_FIELD`](crate::identity::CSRF_FIELD), compared in constant time.
//!
//! A request that names another site in either header is refused at once; a request with
//! neither header and no matching token is refused too. Refusals are `403` and change
//! nothing. (`SameSite=Lax` cookies already keep most cross-site POSTs anonymous; this
//! makes the defence independent of the cookie.)

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::identity::{logged_in, CSRF_FIELD};

/// What the request's headers say about where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provenance {
    /// The browser says: this site.
    SameOrigin,
    /// The browser says: another site (or an unreadable header).
    CrossSite,
    /// Neither `Sec-Fetch-Site` nor `Origin` (an old browser, a script, a hand-made request).
    Unknown,
}

pub(crate) fn provenance(req: &HttpRequest, app_origin: &str) -> Provenance {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str() {
            Ok("same-origin") => Provenance::SameOrigin,
            // `none` (typed in the address bar) carries no evidence for a POST.
            Ok("none") => Provenance::Unknown,
            _ => Provenance::CrossSite,
        };
    }
    match headers.get(header::ORIGIN).map(|v| v.to_str()) {
        None => Provenance::Unknown,
        Some(Ok(origin)) if origin.eq_ignore_ascii_case(app_origin) => Provenance::SameOrigin,
        Some(_) => Provenance::CrossSite,
    }
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(rename = "csrf_token")]
    token: Option<String>,
}

fn form_token(body: &[u8]) -> Option<String> {
    debug_assert_eq!(CSRF_FIELD, "csrf_token");
    serde_urlencoded::from_bytes::<TokenForm>(body)
        .ok()
        .and_then(|form| form.token)
}

/// A state-changing request that did not prove its origin.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refused;

impl Refused {
    /// The answer: 403, nothing changed.
    pub(crate) fn response(self) -> HttpResponse {
        HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("cross-site request refused")
    }
}

/// For a state-changing POST: `Err(Refused)` unless the request shows it comes from the
/// app (headers or the session's token in `body`). The refusal is logged with `action`.
pub(crate) fn check(
    req: &HttpRequest,
    body: &[u8],
    app_origin: &str,
    action: &str,
) -> Result<(), Refused> {
    let proven = match provenance(req, app_origin) {
        Provenance::SameOrigin => true,
        Provenance::CrossSite => false,
        Provenance::Unknown => match (logged_in(req), form_token(body)) {
            (Some(login), Some(token)) => {
                !login.csrf.is_empty() && bool::from(login.csrf.as_bytes().ct_eq(token.as_bytes()))
            }
            _ => false,
        },
    };
    if proven {
        return Ok(());
    }
    tracing::warn!(action, "request without proof of origin refused (CSRF)");
    Err(Refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    const APP: &str = "http://127.0.0.1:8000";

    fn req(headers: &[(&str, &str)]) -> HttpRequest {
        let mut r = TestRequest::post();
        for (k, v) in headers {
            r = r.insert_header((*k, *v));
        }
        r.to_http_request()
    }

    #[test]
    fn headers_decide_when_the_browser_sends_them() {
        assert_eq!(provenance(&req(&[]), APP), Provenance::Unknown);
        assert_eq!(
            provenance(&req(&[("sec-fetch-site", "same-origin")]), APP),
            Provenance::SameOrigin
        );
        for site in ["cross-site", "same-site"] {
            assert_eq!(
                provenance(&req(&[("sec-fetch-site", site), ("origin", APP)]), APP),
                Provenance::CrossSite,
                "{site}"
            );
        }
        assert_eq!(
            provenance(&req(&[("sec-fetch-site", "none")]), APP),
            Provenance::Unknown
        );
        assert_eq!(
            provenance(&req(&[("origin", APP)]), APP),
            Provenance::SameOrigin
        );
        assert_eq!(
            provenance(&req(&[("origin", "https://evil.example")]), APP),
            Provenance::CrossSite
        );
        assert_eq!(
            provenance(&req(&[("origin", "null")]), APP),
            Provenance::CrossSite
        );
    }

    #[test]
    fn a_request_with_neither_header_nor_token_is_refused() {
        let refused = check(&req(&[]), b"", APP, "test").expect_err("refused");
        assert_eq!(refused.response().status(), 403);
        // An anonymous request has no session token, so no posted value can match.
        assert!(check(&req(&[]), b"csrf_token=anything", APP, "test").is_err());
        assert!(check(&req(&[("origin", APP)]), b"", APP, "test").is_ok());
    }

    #[test]
    fn the_session_token_stands_in_for_missing_headers() {
        use actix_web::HttpMessage as _;
        let logged_in = |headers: &[(&str, &str)]| {
            let r = req(headers);
            r.extensions_mut().insert(crate::identity::LoggedIn {
                csrf: "session-token".into(),
            });
            r
        };
        assert!(check(&logged_in(&[]), b"csrf_token=session-token", APP, "t").is_ok());
        assert!(check(&logged_in(&[]), b"csrf_token=session-tokem", APP, "t").is_err());
        assert!(check(&logged_in(&[]), b"", APP, "t").is_err());
        // A cross-site header is refused even with the right token.
        assert!(check(
            &logged_in(&[("origin", "https://evil.example")]),
            b"csrf_token=session-token",
            APP,
            "t"
        )
        .is_err());
    }

    #[test]
    fn the_form_token_is_read_leniently() {
        assert_eq!(form_token(b"csrf_token=abc&x=1").as_deref(), Some("abc"));
        assert_eq!(form_token(b"x=1"), None);
        assert_eq!(form_token(b"%ZZ"), None);
        assert_eq!(form_token(b""), None);
    }
}
