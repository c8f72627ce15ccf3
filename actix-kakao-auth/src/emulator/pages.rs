//! The emulator's HTML: the consent page and Kakao-style error pages. Self-contained (inline
//! CSS, no scripts, no external resources), `lang="ko"`, bilingual, every dynamic value escaped.

use std::fmt::Write as _;

use actix_web::http::header;
use actix_web::HttpResponse;

use super::fixtures::FixtureUser;

/// Path the consent form posts to.
pub(crate) const DECISION_PATH: &str = "/oauth/authorize/decision";

/// Name of the `<meta>` tag carrying the KOE code on error pages (read by `KakaoEmulator::consent`).
pub(crate) const ERROR_META: &str = "kakao-emulator-error-code";

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Korean / English label of a consent item.
fn scope_label(scope: &str) -> String {
    match scope {
        "profile_nickname" => "닉네임 / Nickname".to_owned(),
        "profile_image" => "프로필 사진 / Profile picture".to_owned(),
        "account_email" => "카카오계정(이메일) / Kakao Account email".to_owned(),
        "openid" => "OpenID Connect (ID 토큰 / ID token)".to_owned(),
        other => escape(other),
    }
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font-family:system-ui,-apple-system,'Apple SD Gothic Neo','Malgun Gothic',sans-serif;\
background:#f6f6f6;color:#191919;line-height:1.5}\
main{max-width:30rem;margin:0 auto;padding:1rem}\
.banner{border:3px dashed #c62828;background:#fff3f3;color:#8e0000;padding:.75rem 1rem;border-radius:.5rem;\
margin-bottom:1rem}\
.banner strong{display:block}\
.card{background:#fff;border-radius:.75rem;padding:1rem 1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}\
h1{font-size:1.25rem;margin:.25rem 0 .75rem}\
code{background:#eee;padding:0 .25rem;border-radius:.25rem;word-break:break-all}\
ul.scopes{padding-left:1.25rem}\
fieldset{border:1px solid #ddd;border-radius:.5rem;margin:1rem 0;padding:.5rem .75rem}\
legend{font-weight:600;padding:0 .25rem}\
.choice{display:flex;align-items:flex-start;gap:.5rem;padding:.5rem 0;border-bottom:1px solid #f0f0f0}\
.choice:last-child{border-bottom:0}\
.choice input[type=radio]{width:1.25rem;height:1.25rem;margin-top:.15rem;flex:none}\
.choice label{flex:1;cursor:pointer}\
.meta{display:block;color:#555;font-size:.85rem}\
input[type=text]{width:100%;font-size:1rem;padding:.6rem;border:1px solid #999;border-radius:.375rem;margin-top:.25rem}\
.buttons{display:flex;flex-direction:column;gap:.5rem;margin-top:1rem}\
button{font-size:1rem;min-height:3rem;border-radius:.5rem;border:0;cursor:pointer;font-weight:600}\
button.approve{background:#fee500;color:#191919}\
button.cancel{background:#e5e5e5;color:#191919}\
:focus-visible{outline:3px solid #1a73e8;outline-offset:2px}\
.error-code{font-size:1.1rem;font-weight:700}";

fn page(title: &str, extra_head: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"ko\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n{extra_head}<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <div class=\"banner\" role=\"note\"><strong>로컬 카카오 에뮬레이터 — 실제 카카오가 아닙니다</strong>\
         <span lang=\"en\">Local Kakao emulator — not the real Kakao</span></div>\n\
         {body}</main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

/// What the consent page shows.
pub(crate) struct ConsentPage<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub request_id: &'a str,
    pub scopes: &'a [String],
    pub users: &'a [FixtureUser],
}

/// The consent page: requested items, a choice of fixture user or a typed nickname, and the
/// approve / cancel buttons.
pub(crate) fn consent_page(p: &ConsentPage<'_>) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<div class=\"card\">\n<h1>카카오 로그인 동의 <span lang=\"en\">/ Kakao Login consent</span></h1>\n\
         <p>앱 <code>{client}</code> 이(가) 다음 정보를 요청합니다.<br>\
         <span lang=\"en\">The app <code>{client}</code> asks for:</span></p>\n\
         <ul class=\"scopes\" aria-label=\"요청한 동의 항목 / Requested consent items\">\n",
        client = escape(p.client_id),
    );
    if p.scopes.is_empty() {
        body.push_str("<li>(없음 / none)</li>\n");
    }
    for scope in p.scopes {
        let _ = writeln!(
            body,
            "<li>{} <code>{}</code></li>",
            scope_label(scope),
            escape(scope)
        );
    }
    let _ = write!(
        body,
        "</ul>\n<p class=\"meta\">돌아갈 주소 / Redirects to: <code>{}</code></p>\n\
         <form method=\"post\" action=\"{DECISION_PATH}\">\n\
         <input type=\"hidden\" name=\"request_id\" value=\"{}\">\n\
         <fieldset>\n<legend>로그인할 사용자 / Sign in as</legend>\n",
        escape(p.redirect_uri),
        escape(p.request_id),
    );
    for (i, user) in p.users.iter().enumerate() {
        let email = match (&user.email, user.email_consent) {
            (Some(email), true) => escape(email),
            (Some(_), false) => "이메일 비동의 / email not shared".to_owned(),
            (None, _) => "이메일 없음 / no email".to_owned(),
        };
        let _ = writeln!(
            body,
            "<div class=\"choice\"><input type=\"radio\" id=\"user-{id}\" name=\"user\" value=\"{id}\"{checked}>\
             <label for=\"user-{id}\">{nickname}<span class=\"meta\">id {id} · {email}</span></label></div>",
            id = user.id,
            checked = if i == 0 { " checked" } else { "" },
            nickname = escape(&user.nickname),
        );
    }
    let _ = write!(
        body,
        "<div class=\"choice\"><input type=\"radio\" id=\"user-custom\" name=\"user\" value=\"custom\"{checked}>\
         <label for=\"user-custom\">다른 사용자: 닉네임 직접 입력 / Another user: type a nickname\
         <span class=\"meta\">같은 닉네임은 항상 같은 사용자입니다 / The same nickname is always the same user</span></label></div>\n\
         <div><label for=\"nickname\">닉네임 / Nickname</label>\
         <input type=\"text\" id=\"nickname\" name=\"nickname\" maxlength=\"40\" autocomplete=\"off\"></div>\n\
         </fieldset>\n<div class=\"buttons\">\n\
         <button type=\"submit\" class=\"approve\" name=\"action\" value=\"approve\">동의하고 계속하기 / Agree and continue</button>\n\
         <button type=\"submit\" class=\"cancel\" name=\"action\" value=\"cancel\">취소 / Cancel</button>\n\
         </div>\n</form>\n</div>\n",
        checked = if p.users.is_empty() { " checked" } else { "" },
    );
    page(
        "카카오 로그인 동의 (로컬 에뮬레이터) / Kakao Login consent (local emulator)",
        "",
        &body,
    )
}

/// The KOE003 page text.
pub(crate) fn koe003_message() -> String {
    "일시적인 서버 오류입니다. 잠시 후 다시 시도해 주세요. / Temporary server error; please retry. (emulated)"
        .to_owned()
}

/// A Kakao-style error page ("앱 관리자 설정 오류 (KOE006)" and the like). `message` is plain text.
pub(crate) fn error_page(status: u16, koe: &str, message: &str) -> HttpResponse {
    let title = match koe {
        "KOE006" | "KOE007" | "KOE101" => "앱 관리자 설정 오류 / App configuration error",
        "KOE003" => "서버 오류 / Server error",
        _ => "잘못된 요청 / Bad request",
    };
    let body = format!(
        "<div class=\"card\" role=\"alert\">\n<h1>{title}</h1>\n\
         <p class=\"error-code\">{title_ko} ({koe})</p>\n<p>{message}</p>\n</div>\n",
        title = escape(title),
        title_ko = escape(title.split(" / ").next().unwrap_or(title)),
        koe = escape(koe),
        message = escape(message),
    );
    let head = format!("<meta name=\"{ERROR_META}\" content=\"{}\">\n", escape(koe));
    let html = page(&format!("{title} ({koe})"), &head, &body);
    super::respond::raw(status, 400, "text/html; charset=utf-8", html)
}

/// A generated avatar: a colored disc with the nickname's first letter (a gray silhouette for
/// Kakao's default picture).
pub(crate) fn avatar_svg(user: Option<&FixtureUser>) -> String {
    let Some(user) = user else {
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"640\" viewBox=\"0 0 64 64\">\
                <rect width=\"64\" height=\"64\" fill=\"#d9d9d9\"/>\
                <circle cx=\"32\" cy=\"25\" r=\"12\" fill=\"#f5f5f5\"/>\
                <path d=\"M10 60c2-13 11-20 22-20s20 7 22 20z\" fill=\"#f5f5f5\"/></svg>"
            .to_owned();
    };
    let hue = user.id.rem_euclid(360);
    let initial: String = user
        .nickname
        .chars()
        .next()
        .map(String::from)
        .unwrap_or_default();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"640\" viewBox=\"0 0 64 64\" \
         role=\"img\" aria-label=\"{label}\"><rect width=\"64\" height=\"64\" fill=\"hsl({hue},70%,55%)\"/>\
         <text x=\"32\" y=\"42\" font-size=\"28\" text-anchor=\"middle\" fill=\"#fff\" \
         font-family=\"sans-serif\">{initial}</text></svg>",
        label = escape(&user.nickname),
        initial = escape(&initial),
    )
}

/// `GET /emulator/avatar/{id}.svg` answer.
pub(crate) fn avatar_response(svg: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/svg+xml"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;y&#x27;"
        );
    }
}
