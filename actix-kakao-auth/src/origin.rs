//! Cross-site request checks for state-changing POSTs (logout, disconnect).
//!
//! `SameSite=Lax` cookies already keep most cross-site POSTs anonymous; this adds the
//! Fetch Metadata and `Origin` checks so protection does not rest on the cookie alone.

use actix_web::HttpRequest;

/// True when the request plainly comes from this site (or from no page at all, like a
/// command-line client). Uses `Sec-Fetch-Site` when the browser sends it, else `Origin`.
pub fn is_same_origin(req: &HttpRequest, app_origin: &str) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    match headers
        .get(actix_web::http::header::ORIGIN)
        .map(|v| v.to_str())
    {
        None => true,
        Some(Ok(origin)) => origin.eq_ignore_ascii_case(app_origin),
        Some(Err(_)) => false,
    }
}

/// For a state-changing POST: `Some(403 response)` when the request is cross-site (the
/// refusal is logged with `action`), `None` when it may proceed.
pub(crate) fn refuse_cross_site(
    req: &HttpRequest,
    app_origin: &str,
    action: &str,
) -> Option<actix_web::HttpResponse> {
    if is_same_origin(req, app_origin) {
        return None;
    }
    tracing::warn!(action, "cross-site request refused");
    Some(actix_web::HttpResponse::Forbidden().body("cross-site request refused"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn cross_site_posts_are_recognised() {
        let app = "http://127.0.0.1:8000";
        let req = |h: &[(&str, &str)]| {
            let mut r = TestRequest::post();
            for (k, v) in h {
                r = r.insert_header((*k, *v));
            }
            r.to_http_request()
        };
        assert!(is_same_origin(&req(&[]), app));
        assert!(is_same_origin(
            &req(&[("sec-fetch-site", "same-origin")]),
            app
        ));
        assert!(!is_same_origin(
            &req(&[("sec-fetch-site", "cross-site")]),
            app
        ));
        assert!(!is_same_origin(
            &req(&[("sec-fetch-site", "same-site")]),
            app
        ));
        assert!(is_same_origin(&req(&[("origin", app)]), app));
        assert!(!is_same_origin(
            &req(&[("origin", "https://evil.example")]),
            app
        ));
        assert!(!is_same_origin(&req(&[("origin", "null")]), app));
    }
}
