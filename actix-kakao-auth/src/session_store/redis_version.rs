//! The Redis version the session store needs: 7 or newer (`EXPIRE … GT|NX`), checked at
//! connect.

use redis::aio::ConnectionLike;

/// The oldest Redis major version the session store runs on.
const MIN_MAJOR: u32 = 7;

/// `redis_version` from an `INFO server` answer, as (major, minor).
fn parse_version(info: &str) -> Option<(u32, u32)> {
    let version = info
        .lines()
        .find_map(|line| line.trim().strip_prefix("redis_version:"))?;
    let mut parts = version.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// Reads the server's version (`INFO server`) and refuses one older than Redis 7 with a
/// line that says what to do; answers the version as `major.minor`.
pub async fn require_redis_7(conn: &mut impl ConnectionLike) -> Result<String, String> {
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(conn)
        .await
        .map_err(|e| format!("INFO server failed: {e}"))?;
    match parse_version(&info) {
        Some((major, minor)) if major >= MIN_MAJOR => Ok(format!("{major}.{minor}")),
        Some((major, minor)) => Err(format!(
            "Redis {major}.{minor} is too old: the session store needs Redis {MIN_MAJOR} or newer (EXPIRE with GT/NX)"
        )),
        None => Err("Redis did not report its version (INFO server)".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_info_server() {
        let info = "# Server\r\nredis_version:7.2.4\r\nredis_git_sha1:0\r\n";
        assert_eq!(parse_version(info), Some((7, 2)));
        assert_eq!(parse_version("redis_version:6.2.14\n"), Some((6, 2)));
        assert_eq!(parse_version("redis_version:8\n"), Some((8, 0)));
        assert_eq!(parse_version("# Server\nuptime:1\n"), None);
    }
}
