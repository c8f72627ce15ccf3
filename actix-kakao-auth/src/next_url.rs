//! The `next` parameter: where to go after login, limited to local paths.
//!
//! An open redirect after login is a phishing tool, so `next` is accepted only when it is
//! plainly a path on this site: it starts with one `/`, the next character is neither `/`
//! nor `\`, and it holds no backslash, whitespace or control character anywhere (browsers
//! drop tabs and newlines from URLs, turning `/\t/evil.example` into `//evil.example`).
//! It is checked when the login starts and again when it completes.

/// Longest `next` accepted.
pub const MAX_NEXT_LEN: usize = 2048;

/// Returns `next` when it is a safe local path, else `None`: `/download-list/?page=2`
/// passes; `//evil.example/`, `https://evil.example/` and `/\evil.example` do not.
pub fn sanitize_next(next: &str) -> Option<String> {
    if next.is_empty() || next.len() > MAX_NEXT_LEN || !next.starts_with('/') {
        return None;
    }
    if next
        .chars()
        .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
    {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(next)
        .decode_utf8()
        .ok()?;
    let second = decoded.chars().nth(1);
    if matches!(second, Some('/') | Some('\\')) {
        return None;
    }
    if decoded.chars().any(|c| c == '\\' || c.is_control()) {
        return None;
    }
    Some(next.to_owned())
}

/// `login_url?next=<percent-encoded next>` (every `/` encoded, as Django does).
pub fn login_url_with_next(login_url: &str, next: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    let separator = if login_url.contains('?') { '&' } else { '?' };
    format!("{login_url}{separator}next={encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_pass() {
        assert_eq!(
            sanitize_next("/download-list/?page=2").as_deref(),
            Some("/download-list/?page=2")
        );
        assert_eq!(sanitize_next("//evil.example/"), None);
        assert_eq!(sanitize_next("https://evil.example/"), None);
        assert_eq!(sanitize_next("/\\evil.example"), None);
    }

    #[test]
    fn local_paths_pass() {
        for ok in [
            "/",
            "/download-list/",
            "/a?b=c&d=%2F",
            "/%ED%95%9C%EA%B8%80",
        ] {
            assert_eq!(sanitize_next(ok).as_deref(), Some(ok), "{ok}");
        }
    }

    #[test]
    fn open_redirect_attempts_are_refused() {
        for bad in [
            "",
            "download-list",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "data:text/html,x",
            "/\t/evil.example",
            "/\n/evil.example",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "/a\\b",
            "/a b",
            "/%00",
            " /x",
        ] {
            assert_eq!(sanitize_next(bad), None, "{bad:?} must be refused");
        }
        assert_eq!(
            sanitize_next(&format!("/{}", "a".repeat(MAX_NEXT_LEN))),
            None
        );
    }

    #[test]
    fn next_is_percent_encoded_in_the_login_url() {
        assert_eq!(
            login_url_with_next("/login/", "/download-list/"),
            "/login/?next=%2Fdownload-list%2F"
        );
        assert_eq!(
            login_url_with_next("/login/?x=1", "/a?b=c"),
            "/login/?x=1&next=%2Fa%3Fb%3Dc"
        );
    }
}
