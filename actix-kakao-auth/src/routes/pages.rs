//! The built-in pages: the login error page (the failure's message in Korean and English
//! and a link to try again; nothing from the request is echoed: the `reason` is parsed
//! into a [`LoginFailure`] and only its fixed texts and code are shown) and, with Naver
//! configured, the login page offering both providers.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::error::LoginFailure;

#[derive(Debug, Deserialize)]
pub(super) struct ReasonQuery {
    reason: Option<String>,
}

/// `GET {login_error_url}?reason=<code>`: 400 with the bilingual message; an unknown
/// or missing reason reads as `internal`.
pub(super) async fn login_error(
    query: Option<web::Query<ReasonQuery>>,
    login_url: std::sync::Arc<str>,
) -> HttpResponse {
    let failure = query
        .and_then(|q| q.into_inner().reason)
        .and_then(|code| LoginFailure::from_code(&code))
        .unwrap_or(LoginFailure::Internal);
    let (korean, english) = failure.messages();
    let login = html_attribute(&login_url);
    let body = format!(
        "<!doctype html>\n<html lang=\"ko\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>로그인 실패 · Login failed</title></head>\n<body>\
         <h1>로그인 실패 <small>Login failed</small></h1>\
         <p lang=\"ko\">{korean}</p><p lang=\"en\">{english}</p>\
         <p><a href=\"{login}\">다시 로그인 · Log in again</a></p>\
         <p><small>reason: <code>{code}</code></small></p></body></html>\n",
        code = failure.code(),
    );
    HttpResponse::BadRequest()
        .content_type("text/html; charset=utf-8")
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

/// The login page with both buttons: `kakao` and `naver` are the begin routes (with
/// `next`, already percent-encoded), escaped again for the attribute. No inline style or
/// script, so the strictest content security policy lets it through; the links carry
/// the classes `kakao-login` and `naver-login` for an app's stylesheet.
pub(super) fn chooser(kakao: &str, naver: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"ko\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>로그인 · Log in</title></head>\n<body><h1>로그인 <small>Log in</small></h1>\
         <p><a class=\"kakao-login\" href=\"{kakao}\">카카오 로그인</a></p>\
         <p><a class=\"naver-login\" href=\"{naver}\">네이버 로그인</a></p></body></html>\n",
        kakao = html_attribute(kakao),
        naver = html_attribute(naver),
    )
}

/// Escapes a configured path for an HTML attribute (it is the app's own setting, but
/// escaping costs nothing).
fn html_attribute(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
