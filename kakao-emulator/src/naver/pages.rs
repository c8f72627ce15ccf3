//! The Naver emulator's HTML: the consent page (plainly a local emulator) and the error
//! page Naver shows instead of redirecting.

use actix_web::http::header;
use actix_web::HttpResponse;

use super::fixtures::NaverUser;
use crate::pages::escape;

/// Where the consent form posts.
pub(crate) const DECISION_PATH: &str = "/oauth2/authorize/decision";

/// Optional consent items shown as checkboxes.
pub(crate) const OPTIONAL_ITEMS: [&str; 2] = ["email", "profile_image"];

pub(crate) fn consent_page(request_id: &str, users: &[NaverUser], reauthenticate: bool) -> String {
    let mut options = String::new();
    for (i, user) in users.iter().enumerate() {
        let checked = if i == 0 { " checked" } else { "" };
        options.push_str(&format!(
            "<label><input type=\"radio\" name=\"user\" value=\"{id}\"{checked}> {nick} <small>({id})</small></label><br>\n",
            id = escape(&user.id),
            nick = escape(user.nickname.as_deref().unwrap_or("-")),
        ));
    }
    let mut items = String::new();
    for item in OPTIONAL_ITEMS {
        items.push_str(&format!(
            "<label><input type=\"checkbox\" name=\"item\" value=\"{item}\" checked> {item} (선택 · optional)</label><br>\n"
        ));
    }
    let reauth = if reauthenticate {
        "<p>다시 인증 요청 (auth_type=reauthenticate) · re-authentication asked</p>\n"
    } else {
        ""
    };
    format!(
        "<!doctype html>\n<html lang=\"ko\"><head><meta charset=\"utf-8\">\
         <title>네이버 로그인 에뮬레이터 · Naver Login emulator</title></head>\n<body>\
         <p><strong>로컬 에뮬레이터입니다. 진짜 네이버가 아닙니다.</strong> \
         This is a local emulator, not Naver.</p>\n{reauth}\
         <form method=\"post\" action=\"{DECISION_PATH}\">\n\
         <input type=\"hidden\" name=\"request_id\" value=\"{request_id}\">\n{options}{items}\
         <button name=\"action\" value=\"approve\">동의하기 · Agree</button>\n\
         <button name=\"action\" value=\"cancel\">취소 · Cancel</button>\n</form></body></html>\n",
        request_id = escape(request_id),
    )
}

/// The page Naver shows for an unknown client or Callback URL: no redirect.
pub(crate) fn error_page(message: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(format!(
            "<!doctype html>\n<html lang=\"ko\"><head><meta charset=\"utf-8\">\
             <meta name=\"naver-emulator-error\" content=\"{m}\">\
             <title>네이버 로그인 오류</title></head><body><p>{m}</p></body></html>\n",
            m = escape(message)
        ))
}
