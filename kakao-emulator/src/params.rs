//! Lenient parameter parsing: query strings and form bodies into first-wins maps.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::HttpRequest;

use super::state::RecordedRequest;

/// Request bodies above this size are refused (413) before any handler runs.
pub(crate) const BODY_LIMIT: usize = 16 * 1024;

/// Parses `application/x-www-form-urlencoded` text; the first occurrence of a name wins.
/// Never fails: malformed escapes decode lossily, as most servers do.
pub(crate) fn parse(encoded: &[u8]) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(encoded) {
        map.entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    map
}

/// Query parameters merged under form parameters (the body wins on a clash).
pub(crate) fn query_and_form(req: &HttpRequest, body: &[u8]) -> BTreeMap<String, String> {
    let mut params = parse(body);
    for (name, value) in parse(req.query_string().as_bytes()) {
        params.entry(name).or_insert(value);
    }
    params
}

/// A non-empty, trimmed parameter.
pub(crate) fn get<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// The `Authorization` header as text, if present and readable.
pub(crate) fn authorization(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// What the request log keeps of a request.
pub(crate) fn record(req: &HttpRequest, params: &BTreeMap<String, String>) -> RecordedRequest {
    RecordedRequest {
        method: req.method().to_string(),
        path: req.path().to_owned(),
        form: params.clone(),
        authorization: authorization(req),
    }
}
