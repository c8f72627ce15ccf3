//! The emulator's HTML: the consent page and Kakao-style error pages. Self-contained (inline
//! CSS and SVG, no scripts, no external resources), `lang="ko"`, bilingual, every dynamic value
//! escaped, and marked on every page as a local emulator so nobody mistakes it for Kakao.

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
body{margin:0;font-family:system-ui,-apple-system,'Apple SD Gothic Neo','Noto Sans KR','Noto Sans CJK KR',\
'NanumGothic','Malgun Gothic',sans-serif;background:#f2f2f2;color:#191919;line-height:1.5;word-break:keep-all;\
overflow-wrap:anywhere}\
body::before{content:'';display:block;height:10px;\
background:repeating-linear-gradient(-45deg,#c62828 0 12px,#ffd54f 12px 24px)}\
main{max-width:34rem;margin:0 auto;padding:1rem}\
.banner{display:flex;gap:.75rem;align-items:flex-start;border:2px dashed #c62828;background:#fff3f3;\
color:#7f0000;padding:.75rem 1rem;border-radius:.75rem;margin-bottom:1rem}\
.badge{flex:none;background:#c62828;color:#fff;font-size:.75rem;font-weight:700;letter-spacing:.06em;\
padding:.2rem .5rem;border-radius:.35rem;margin-top:.1rem}\
.banner strong,.banner span[lang]{display:block}\
.banner small{display:block;margin-top:.35rem;color:#8e2b2b;font-size:.82rem}\
.card{background:#fff;border-radius:1rem;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.1),\
0 8px 24px rgba(0,0,0,.06)}\
.head{display:flex;align-items:center;gap:.75rem;margin-bottom:.75rem}\
.talk{flex:none;width:2.75rem;height:2.75rem;border-radius:.8rem;background:#fee500;position:relative}\
.talk::before{content:'';position:absolute;left:.6rem;top:.75rem;width:1.55rem;height:1.2rem;\
border-radius:50%;background:#191919}\
.talk::after{content:'';position:absolute;left:.95rem;top:1.75rem;border-style:solid;\
border-width:.4rem .12rem 0 .3rem;border-color:#191919 transparent transparent transparent}\
h1{font-size:1.2rem;line-height:1.35;margin:0}\
h1 span{display:block;font-size:.9rem;font-weight:400;color:#555}\
p{margin:.5rem 0}\
code{background:#f0f0f0;padding:0 .3rem;border-radius:.25rem;font-size:.9em;word-break:break-all}\
ul.scopes{list-style:none;margin:.5rem 0;padding:.5rem .75rem;background:#fafafa;border-radius:.5rem}\
ul.scopes li{padding:.3rem 0 .3rem 1.6rem;position:relative}\
ul.scopes li::before{content:'\\2713';position:absolute;left:.2rem;color:#2e7d32;font-weight:700}\
.meta{display:block;color:#555;font-size:.85rem}\
fieldset{border:1px solid #ddd;border-radius:.75rem;margin:1rem 0;padding:.25rem .75rem .75rem}\
legend{font-weight:700;padding:0 .35rem}\
.choice{display:flex;align-items:center;gap:.6rem;padding:.55rem .5rem;margin:.2rem 0;border-radius:.6rem;\
border:2px solid transparent}\
.choice:has(input:checked){border-color:#191919;background:#fffbe0}\
.choice input[type=radio]{width:1.25rem;height:1.25rem;margin:0;flex:none;accent-color:#191919}\
.choice label{flex:1;display:flex;align-items:center;gap:.65rem;cursor:pointer;min-height:2.5rem}\
.face{flex:none;width:2.5rem;height:2.5rem;border-radius:50%;overflow:hidden;display:inline-block}\
.face svg{display:block;width:100%;height:100%}\
.face.typed{background:#e8e8e8;color:#555;display:inline-flex;align-items:center;justify-content:center;\
font-weight:700}\
.name{font-weight:600}\
.nickname-field{padding:.25rem .5rem 0 2.35rem}\
.nickname-field label{font-size:.9rem;font-weight:600}\
input[type=text]{width:100%;font-size:1rem;padding:.6rem .7rem;border:1px solid #888;border-radius:.5rem;\
margin-top:.25rem}\
.buttons{display:flex;flex-direction:column;gap:.5rem;margin-top:1rem}\
button{font:inherit;font-size:1rem;min-height:3rem;border-radius:.75rem;border:0;cursor:pointer;\
font-weight:700}\
button.approve{background:#fee500;color:rgba(0,0,0,.85)}\
button.cancel{background:#ececec;color:#191919}\
button:hover{filter:brightness(.96)}\
:focus-visible{outline:3px solid #1a56db;outline-offset:2px}\
.error-code{font-size:1rem;font-weight:700;color:#c62828}\
.foot{text-align:center;color:#777;font-size:.8rem;margin-top:1rem}";

fn page(title: &str, extra_head: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"ko\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n{extra_head}<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <div class=\"banner\" role=\"note\"><span class=\"badge\" lang=\"en\">EMULATOR</span><div>\
         <strong>로컬 카카오 에뮬레이터 — 실제 카카오가 아닙니다</strong>\
         <span lang=\"en\">Local Kakao emulator — not the real Kakao</span>\
         <small>개발과 테스트용 화면입니다. 실제 카카오 계정 정보를 입력하지 마세요. \
         <span lang=\"en\">For development and tests only: never enter real Kakao credentials here.</span>\
         </small></div></div>\n\
         {body}<p class=\"foot\">actix-kakao-auth · Kakao emulator</p>\n</main>\n</body>\n</html>\n",
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
    /// Kakao Sync service terms to agree to: (tag, required).
    pub terms: &'a [(String, bool)],
    /// `login_hint`: the fixture user whose email it is starts selected.
    pub login_hint: Option<&'a str>,
}

/// The consent page: requested items, a choice of fixture user or a typed nickname, and the
/// approve / cancel buttons. Pictures are inline SVG: the page loads nothing from anywhere.
pub(crate) fn consent_page(p: &ConsentPage<'_>) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<div class=\"card\">\n<div class=\"head\"><span class=\"talk\" aria-hidden=\"true\"></span>\
         <h1>카카오 로그인 동의 <span lang=\"en\">Kakao Login consent</span></h1></div>\n\
         <p>앱 <code>{client}</code> 이(가) 다음 정보를 요청합니다.<br>\
         <span lang=\"en\" class=\"meta\">The app <code>{client}</code> asks for:</span></p>\n\
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
         <input type=\"hidden\" name=\"request_id\" value=\"{}\">\n",
        escape(p.redirect_uri),
        escape(p.request_id),
    );
    if !p.terms.is_empty() {
        body.push_str("<fieldset class=\"terms\">\n<legend>서비스 약관 / Service terms</legend>\n");
        for (tag, required) in p.terms {
            let _ = writeln!(
                body,
                "<div class=\"choice\"><input type=\"checkbox\" id=\"term-{tag}\" name=\"term\" value=\"{tag}\" checked>\
                 <label for=\"term-{tag}\"><span class=\"name\">{tag}</span>\
                 <span class=\"meta\">{kind}</span></label></div>",
                tag = escape(tag),
                kind = if *required { "(필수 · required)" } else { "(선택 · optional)" },
            );
        }
        body.push_str("</fieldset>\n");
    }
    body.push_str("<fieldset>\n<legend>로그인할 사용자 / Sign in as</legend>\n");
    let hinted = p
        .login_hint
        .and_then(|hint| {
            p.users
                .iter()
                .position(|u| u.email.as_deref() == Some(hint))
        })
        .unwrap_or(0);
    for (i, user) in p.users.iter().enumerate() {
        let email = match (&user.email, user.email_consent) {
            (Some(email), true) => escape(email),
            (Some(_), false) => "이메일 비동의 / email not shared".to_owned(),
            (None, _) => "이메일 없음 / no email".to_owned(),
        };
        let face = avatar_svg(user.profile_image.then_some(user));
        let _ = writeln!(
            body,
            "<div class=\"choice\"><input type=\"radio\" id=\"user-{id}\" name=\"user\" value=\"{id}\"{checked}>\
             <label for=\"user-{id}\"><span class=\"face\" aria-hidden=\"true\">{face}</span>\
             <span><span class=\"name\">{nickname}</span><span class=\"meta\">id {id} · {email}</span></span>\
             </label></div>",
            id = user.id,
            checked = if i == hinted { " checked" } else { "" },
            nickname = escape(&user.nickname),
        );
    }
    let _ = write!(
        body,
        "<div class=\"choice\"><input type=\"radio\" id=\"user-custom\" name=\"user\" value=\"custom\"{checked}>\
         <label for=\"user-custom\"><span class=\"face typed\" aria-hidden=\"true\">Aa</span>\
         <span><span class=\"name\">다른 사용자: 닉네임 직접 입력 / Another user: type a nickname</span>\
         <span class=\"meta\">같은 닉네임은 항상 같은 사용자입니다 / The same nickname is always the same user</span></span>\
         </label></div>\n\
         <div class=\"nickname-field\"><label for=\"nickname\">닉네임 / Nickname</label>\
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
