//! Checks of the URLs a configuration names.

use url::{Host, Url};

use super::error::ConfigError;

pub(super) fn checked_base_url(name: &'static str, value: &str) -> Result<String, ConfigError> {
    parse_absolute(name, value).map(|_| value.to_owned())
}

/// Refuses plain `http` for a Kakao URL unless its host is loopback or `allow_http` is set.
pub(crate) fn check_kakao_scheme(
    name: &'static str,
    url: &Url,
    allow_http: bool,
) -> Result<(), ConfigError> {
    if url.scheme() == "http" && !allow_http && !is_loopback(url) {
        return Err(ConfigError::invalid(
            name,
            format!(
                "{:?} is plain http on a host that is not loopback; use https \
                 (insecure_allow_http_kakao(true) allows it for a test rig)",
                url.as_str()
            ),
        ));
    }
    Ok(())
}

/// `localhost`, `127.0.0.0/8` or `[::1]`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

pub(crate) fn parse_absolute(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url =
        Url::parse(value).map_err(|e| ConfigError::invalid(name, format!("{e} in {value:?}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::invalid(
            name,
            format!("{value:?} is not an http(s) URL"),
        ));
    }
    Ok(url)
}
