//! The client's address, in one place: the TCP peer, or, only when the peer is a
//! trusted reverse proxy, the address that proxy reports.
//!
//! A forwarding header is trusted only when the request's TCP peer is one of the
//! configured [`TrustedProxies`]. Then the header's addresses are read from the right
//! (the one the nearest proxy appended) to the left, skipping every trusted proxy; the
//! first address that is not a trusted proxy is the client. Everything to its left was
//! written by the client itself and is never believed. Without trusted proxies (the
//! default) the headers are ignored and the TCP peer is the client.
//!
//! ```
//! use actix_kakao_auth::client_addr::TrustedProxies;
//!
//! let proxies = TrustedProxies::parse("10.0.0.0/8, 192.0.2.7").expect("valid list");
//! let peer = "10.1.2.3".parse().expect("ip");
//! // The client wrote "1.1.1.1"; the proxy appended the address it saw.
//! let client = proxies.resolve(peer, Some("1.1.1.1, 203.0.113.9"));
//! assert_eq!(client, "203.0.113.9".parse::<std::net::IpAddr>().expect("ip"));
//! // From an untrusted peer the header means nothing.
//! let direct = "198.51.100.4".parse().expect("ip");
//! assert_eq!(proxies.resolve(direct, Some("1.1.1.1")), direct);
//! ```

use std::net::IpAddr;
use std::str::FromStr;

use actix_web::http::header::{HeaderMap, FORWARDED};
use actix_web::HttpRequest;
use ipnet::IpNet;

/// Which header a trusted proxy writes the client's address into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, AWS ALB, most CDNs).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for="[2001:db8::1]:4711"`.
    Forwarded,
}

/// The reverse proxies whose forwarding headers are believed: addresses and CIDR ranges.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ForwardedHeader,
}

/// A `TRUSTED_PROXIES` entry that is neither an address nor a CIDR range.
#[derive(Debug, thiserror::Error)]
#[error("{entry:?} is not an IP address or CIDR range")]
pub struct InvalidProxy {
    entry: String,
}

impl TrustedProxies {
    /// No trusted proxy: the TCP peer is always the client (the default).
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses a comma- or space-separated list of addresses (`192.0.2.7`, `::1`) and CIDR
    /// ranges (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse(list: &str) -> Result<Self, InvalidProxy> {
        let nets = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                IpNet::from_str(entry)
                    .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| InvalidProxy {
                        entry: entry.chars().take(64).collect(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            nets,
            header: ForwardedHeader::default(),
        })
    }

    /// Reads the client address from `header` instead of `X-Forwarded-For`. Pick the one
    /// your proxy *writes*: a header the proxy only passes through is the client's own.
    #[must_use]
    pub fn header(mut self, header: ForwardedHeader) -> Self {
        self.header = header;
        self
    }

    /// True when no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// True when `addr` is a trusted proxy.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.nets.iter().any(|net| net.contains(&addr))
    }

    /// The client address of a request from `peer` whose forwarding header (all its
    /// lines joined with `,`) is `forwarded`.
    pub fn resolve(&self, peer: IpAddr, forwarded: Option<&str>) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let Some(forwarded) = forwarded else {
            return peer;
        };
        let mut hops = forwarded.rsplit(',').map(|hop| match self.header {
            ForwardedHeader::XForwardedFor => parse_xff_hop(hop),
            ForwardedHeader::Forwarded => parse_forwarded_hop(hop),
        });
        let mut leftmost_trusted = peer;
        for hop in hops.by_ref() {
            // A hop that is not an address (`unknown`, an obfuscated identifier, garbage)
            // ends the chain: nothing to its left can be trusted.
            let Some(addr) = hop else {
                return leftmost_trusted;
            };
            if !self.contains(addr) {
                return addr;
            }
            leftmost_trusted = addr;
        }
        // Every hop is a trusted proxy: the request started inside the trusted network.
        leftmost_trusted
    }

    /// The client address of `req` (see [`resolve`](Self::resolve)). A request without a
    /// peer address (a test request, a Unix socket) reads as `0.0.0.0`.
    pub fn client_of(&self, req: &HttpRequest) -> IpAddr {
        let peer = req
            .peer_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        if self.is_empty() {
            return canonical(peer);
        }
        let name = match self.header {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => FORWARDED.as_str(),
        };
        let joined = joined_header(req.headers(), name);
        self.resolve(peer, joined.as_deref())
    }
}

impl FromStr for TrustedProxies {
    type Err = InvalidProxy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Every line of header `name`, joined with `,` (a proxy may add a line of its own).
fn joined_header(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut lines = headers.get_all(name).filter_map(|v| v.to_str().ok());
    let first = lines.next()?;
    Some(lines.fold(first.to_owned(), |mut all, line| {
        all.push(',');
        all.push_str(line);
        all
    }))
}

/// An IPv4 address mapped into IPv6 (`::ffff:192.0.2.1`) is the IPv4 address.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` hop: an address, maybe with a port (`192.0.2.1:5555`,
/// `[2001:db8::1]:80`).
fn parse_xff_hop(hop: &str) -> Option<IpAddr> {
    parse_node(hop.trim())
}

/// One `Forwarded` element: its `for=` parameter.
fn parse_forwarded_hop(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(value.trim().trim_matches('"')))
            .flatten()
    })
}

/// An address with an optional port; IPv6 in brackets when a port follows.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(addr) = IpAddr::from_str(node) {
        return Some(canonical(addr));
    }
    if let Some(rest) = node.strip_prefix('[') {
        let (addr, _) = rest.split_once(']')?;
        return IpAddr::from_str(addr).ok().map(canonical);
    }
    let (addr, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    IpAddr::from_str(addr).ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let none = TrustedProxies::none();
        assert_eq!(
            none.resolve(ip("10.0.0.1"), Some("1.2.3.4")),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8,192.0.2.7").expect("valid");
        // Client spoofs two hops; the edge proxy appends the real address; an inner
        // trusted proxy appends the edge's.
        let chain = "6.6.6.6, 7.7.7.7, 203.0.113.9, 192.0.2.7";
        assert_eq!(
            proxies.resolve(ip("10.9.9.9"), Some(chain)),
            ip("203.0.113.9")
        );
        // All hops trusted: the left-most one.
        assert_eq!(
            proxies.resolve(ip("10.9.9.9"), Some("10.1.1.1, 192.0.2.7")),
            ip("10.1.1.1")
        );
        // No header: the proxy itself.
        assert_eq!(proxies.resolve(ip("10.9.9.9"), None), ip("10.9.9.9"));
        // Garbage ends the chain at the last trusted hop.
        assert_eq!(
            proxies.resolve(ip("10.9.9.9"), Some("1.1.1.1, nonsense, 10.2.2.2")),
            ip("10.2.2.2")
        );
        // Ports and brackets.
        assert_eq!(
            proxies.resolve(ip("10.9.9.9"), Some("[2001:db8::5]:443")),
            ip("2001:db8::5")
        );
        assert_eq!(
            proxies.resolve(ip("10.9.9.9"), Some("203.0.113.1:5555")),
            ip("203.0.113.1")
        );
    }

    #[test]
    fn mapped_ipv4_peers_match_ipv4_ranges() {
        let proxies = TrustedProxies::parse("127.0.0.1").expect("valid");
        assert_eq!(
            proxies.resolve(ip("::ffff:127.0.0.1"), Some("198.51.100.3")),
            ip("198.51.100.3")
        );
    }

    #[test]
    fn the_forwarded_header_is_read_by_its_for_parameters() {
        let proxies = TrustedProxies::parse("10.0.0.0/8")
            .expect("valid")
            .header(ForwardedHeader::Forwarded);
        let header = r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.2"#;
        assert_eq!(
            proxies.resolve(ip("10.0.0.1"), Some(header)),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            proxies.resolve(ip("10.0.0.1"), Some("for=_hidden, for=10.0.0.3")),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn bad_entries_are_refused_by_name() {
        let error = TrustedProxies::parse("10.0.0.0/8, proxy.local").expect_err("bad");
        assert!(error.to_string().contains("proxy.local"), "{error}");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("").expect("empty is none").is_empty());
    }
}
