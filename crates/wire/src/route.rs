//! Where connections go, as curl's and oha's flags say: `--connect-to` (a request for HOST:PORT
//! goes to HOST2:PORT2, keeping Host and SNI), `--unix-socket`, `--proxy`, `-4`/`-6`, and the
//! addresses looked up once before the run starts, spread over connections round robin.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::target::Target;

/// Which IP family connections may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Family {
    #[default]
    Any,
    /// `-4`
    V4,
    /// `-6`
    V6,
}

impl Family {
    pub fn allows(self, addr: &SocketAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => addr.is_ipv4(),
            Family::V6 => addr.is_ipv6(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Family::Any => "IP",
            Family::V4 => "IPv4 (-4)",
            Family::V6 => "IPv6 (-6)",
        }
    }
}

/// One `--connect-to HOST:PORT:HOST2:PORT2`; `None` parts are empty: any host or port on the
/// left, the request's own on the right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub to_host: Option<String>,
    pub to_port: Option<u16>,
}

impl ConnectTo {
    /// Parses curl's syntax; IPv6 addresses go in brackets (`::1` as `[::1]`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad =
            |why: &str| format!("--connect-to {text:?}: {why} (expected HOST:PORT:HOST2:PORT2)");
        let parts = split_colons(text).ok_or_else(|| bad("unbalanced brackets"))?;
        let [host, port, to_host, to_port] = parts.as_slice() else {
            return Err(bad(&format!("{} parts instead of 4", parts.len())));
        };
        let port_of = |p: &str| -> Result<Option<u16>, String> {
            if p.is_empty() {
                return Ok(None);
            }
            match p.parse::<u16>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(bad(&format!("bad port {p:?}"))),
            }
        };
        let host_of = |h: &str| {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            (!h.is_empty()).then(|| h.to_ascii_lowercase())
        };
        Ok(Self {
            host: host_of(host),
            port: port_of(port)?,
            to_host: host_of(to_host),
            to_port: port_of(to_port)?,
        })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        self.host
            .as_deref()
            .is_none_or(|h| h.eq_ignore_ascii_case(host))
            && self.port.is_none_or(|p| p == port)
    }
}

/// Splits at colons outside `[...]`; `None` when brackets do not balance.
fn split_colons(text: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut start, mut depth) = (0, 0u32);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.checked_sub(1)?,
            ':' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    (depth == 0).then(|| {
        parts.push(&text[start..]);
        parts
    })
}

/// An HTTP proxy (`-x`): its address and, from the URL's userinfo, the `Proxy-Authorization`
/// value.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
    pub authorization: Option<String>,
}

impl Proxy {
    /// Parses `http://[user:pass@]host[:port]`; without a scheme http is assumed and without a
    /// port 1080, as curl does.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("--proxy {text:?}: {why}");
        let with_scheme = if text.contains("://") {
            text.to_string()
        } else {
            format!("http://{text}")
        };
        let url = url::Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
        if url.scheme() != "http" {
            return Err(bad(&format!(
                "{}:// proxies are not supported (use an http:// proxy)",
                url.scheme()
            )));
        }
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => return Err(bad("no host")),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() {
            return Err(bad("a proxy URL has no path"));
        }
        let authorization = (!url.username().is_empty()).then(|| {
            use base64::Engine as _;
            let user = decode(url.username());
            let pass = url.password().map(decode).unwrap_or_default();
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            format!("Basic {token}")
        });
        Ok(Self {
            host,
            port: url.port().unwrap_or(1080),
            authorization,
        })
    }
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// A host's addresses in the asked family, in the order the resolver gave them.
pub type Addrs = Arc<[SocketAddr]>;

/// Addresses looked up before the run, per `(host, port)`, and the counter that spreads new
/// connections over them.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    addrs: Arc<HashMap<(String, u16), Addrs>>,
    next: Arc<AtomicUsize>,
}

impl Resolved {
    pub fn get(&self, host: &str, port: u16) -> Option<&Addrs> {
        self.addrs.get(&(host.to_string(), port))
    }

    /// The next address in round-robin order, shared by every connection of the run.
    pub fn pick(&self, addrs: &[SocketAddr]) -> Option<SocketAddr> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        addrs.get(i % addrs.len().max(1)).copied()
    }
}

/// How connections are routed: everything but TLS.
#[derive(Debug, Clone, Default)]
pub struct Route {
    pub family: Family,
    pub connect_to: Vec<ConnectTo>,
    pub unix_socket: Option<PathBuf>,
    pub proxy: Option<Proxy>,
    pub resolved: Resolved,
}

impl Route {
    /// The host and port a TCP connection for `target` goes to (before any proxy):
    /// the first matching `--connect-to`, else the URL's own.
    pub fn destination<'a>(&'a self, target: &'a Target) -> (&'a str, u16) {
        match self
            .connect_to
            .iter()
            .find(|c| c.matches(&target.host, target.port))
        {
            Some(c) => (
                c.to_host.as_deref().unwrap_or(&target.host),
                c.to_port.unwrap_or(target.port),
            ),
            None => (&target.host, target.port),
        }
    }

    /// The host and port the socket connects to: the proxy's, or the destination.
    pub fn dial<'a>(&'a self, target: &'a Target) -> (&'a str, u16) {
        match &self.proxy {
            Some(p) => (&p.host, p.port),
            None => self.destination(target),
        }
    }

    /// Whether requests to `target` go to the proxy in absolute form (plain http over
    /// HTTP/1.1); https, and HTTP/2 with prior knowledge, go through a CONNECT tunnel instead.
    pub fn is_absolute_form(&self, target: &Target, http2: bool) -> bool {
        self.proxy.is_some() && self.unix_socket.is_none() && !target.https && !http2
    }

    /// Looks up, once and before the clock starts, the addresses the fixed `targets` connect
    /// to. A name that does not resolve is left to the run (each request then counts a `dns`
    /// error); a name with addresses but none of the asked family is refused here.
    pub fn look_up<'a>(
        &mut self,
        targets: impl IntoIterator<Item = &'a Target>,
    ) -> Result<(), String> {
        if self.unix_socket.is_some() {
            return Ok(());
        }
        let mut addrs = HashMap::new();
        for target in targets {
            let (host, port) = self.dial(target);
            let key = (host.to_string(), port);
            if addrs.contains_key(&key) {
                continue;
            }
            let Ok(found) = (host, port).to_socket_addrs() else {
                continue;
            };
            let found: Vec<SocketAddr> = found.collect();
            let mut kept: Vec<SocketAddr> = Vec::new();
            for addr in found.iter().filter(|a| self.family.allows(a)) {
                if !kept.contains(addr) {
                    kept.push(*addr);
                }
            }
            if kept.is_empty() && !found.is_empty() {
                let had: Vec<String> = found.iter().map(|a| a.ip().to_string()).collect();
                return Err(format!(
                    "{host} has no {} address (it has {})",
                    self.family.describe(),
                    had.join(", ")
                ));
            }
            addrs.insert(key, kept.into());
        }
        self.resolved.addrs = Arc::new(addrs);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn connect_to_takes_curls_syntax() {
        let c = ConnectTo::parse("example.com:443:127.0.0.1:8443").unwrap();
        assert_eq!(c.host.as_deref(), Some("example.com"));
        assert_eq!((c.port, c.to_port), (Some(443), Some(8443)));
        let c = ConnectTo::parse("::[::1]:").unwrap();
        assert_eq!(
            (c.host, c.port, c.to_host.as_deref(), c.to_port),
            (None, None, Some("::1"), None)
        );
        for bad in [
            "a:1:b",
            "a:1:b:2:3",
            "a:x:b:2",
            "a:1:b:70000",
            "a:1:[::1:2",
            "",
        ] {
            assert!(ConnectTo::parse(bad).is_err(), "{bad}");
        }
        let route = Route {
            connect_to: vec![
                ConnectTo::parse("h:80:o:9").unwrap(),
                ConnectTo::parse(":443::8443").unwrap(),
            ],
            ..Route::default()
        };
        let dest = |url: &str| {
            let t = Target::parse(url).unwrap();
            let (h, p) = route.destination(&t);
            (h.to_string(), p)
        };
        assert_eq!(dest("http://h/"), ("o".into(), 9));
        assert_eq!(dest("http://h:81/"), ("h".into(), 81));
        assert_eq!(dest("https://x/"), ("x".into(), 8443));
    }

    #[test]
    fn proxies_are_http_urls_with_optional_credentials() {
        let p = Proxy::parse("http://u%40x:p%3Aw@127.0.0.1:3128").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("127.0.0.1", 3128));
        // base64("u@x:p:w")
        assert_eq!(p.authorization.as_deref(), Some("Basic dUB4OnA6dw=="));
        let p = Proxy::parse("proxy.test").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.authorization),
            ("proxy.test", 1080, None)
        );
        assert_eq!(Proxy::parse("http://[::1]:8/").unwrap().host, "::1");
        for bad in [
            "socks5://h:1",
            "https://h:1",
            "http://",
            "http://:8",
            "http://h:1/x",
        ] {
            assert!(Proxy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn connections_take_a_hosts_addresses_in_turn() {
        let resolved = Resolved::default();
        let addrs: Addrs = ["127.0.0.1:80", "[::1]:80", "127.0.0.2:80"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let picks: Vec<SocketAddr> = (0..6).map(|_| resolved.pick(&addrs).unwrap()).collect();
        assert_eq!(picks[..3], addrs[..]);
        assert_eq!(picks[3..], addrs[..]);
        assert_eq!(resolved.pick(&[]), None);
    }

    #[test]
    fn a_family_keeps_only_its_addresses() {
        let mut route = Route {
            family: Family::V6,
            ..Route::default()
        };
        let t = Target::parse("http://127.0.0.1:1/").unwrap();
        let err = route.look_up([&t]).unwrap_err();
        assert!(err.contains("no IPv6 (-6) address"), "{err}");
        route.family = Family::V4;
        route.look_up([&t]).unwrap();
        assert_eq!(route.resolved.get("127.0.0.1", 1).unwrap().len(), 1);
    }
}
