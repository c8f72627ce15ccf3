//! Response builders for the two hosts' envelopes: kauth `{error, error_description, error_code}`
//! and kapi `{msg, code}`, always `application/json;charset=UTF-8`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

/// Kakao's JSON content type, spelled the way Kakao spells it.
pub(crate) const JSON: &str = "application/json;charset=UTF-8";

/// Characters kept as-is in redirect query values (RFC 3986 unreserved); space becomes `%20`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn status(code: u16, fallback: u16) -> StatusCode {
    StatusCode::from_u16(code)
        .or_else(|_| StatusCode::from_u16(fallback))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Any status / content type / body; an invalid status becomes `fallback`.
pub(crate) fn raw(code: u16, fallback: u16, content_type: &str, body: String) -> HttpResponse {
    let mut builder = HttpResponse::build(status(code, fallback));
    if let Ok(value) = HeaderValue::from_str(content_type) {
        builder.insert_header((header::CONTENT_TYPE, value));
    }
    builder.body(body)
}

/// A JSON answer with Kakao's content type.
pub(crate) fn json(code: u16, value: &Value) -> HttpResponse {
    HttpResponse::build(status(code, 500))
        .insert_header((header::CONTENT_TYPE, JSON))
        .insert_header((header::CACHE_CONTROL, "no-cache, no-store"))
        .body(value.to_string())
}

/// A kauth error: `{"error":…,"error_description":…,"error_code":"KOE…"}`.
pub(crate) fn kauth_error(code: u16, error: &str, description: &str, koe: &str) -> HttpResponse {
    json(
        code,
        &json!({"error": error, "error_description": description, "error_code": koe}),
    )
}

/// A kapi error: `{"msg":…,"code":<negative>}`.
pub(crate) fn kapi_error(code: u16, kakao_code: i64, msg: &str) -> HttpResponse {
    json(code, &json!({"msg": msg, "code": kakao_code}))
}

/// kapi's answer to an unknown, expired or revoked access token.
pub(crate) fn invalid_token() -> HttpResponse {
    let mut response = kapi_error(401, -401, "this access token does not exist");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=invalid_token"),
    );
    response
}

/// `302 Location: <base>?k=v&…` with values percent-encoded (`%20` for space, as Kakao does).
/// Empty body, so `Content-Length: 0`.
pub(crate) fn redirect_with(base: &str, params: &[(&str, &str)]) -> HttpResponse {
    let mut location = base.to_owned();
    let mut separator = if base.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        location.push(separator);
        location.push_str(&utf8_percent_encode(name, QUERY_VALUE).to_string());
        location.push('=');
        location.push_str(&utf8_percent_encode(value, QUERY_VALUE).to_string());
        separator = '&';
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
