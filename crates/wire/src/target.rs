//! Where a request goes: its URL parsed once (scheme, host, port, the connection key, the Host
//! header), and redirect targets resolved against it as RFC 3986 says.

use std::borrow::Cow;

use flak_core::{ErrorKind, RequestError};
use http::Method;
use http::Uri;
use http::header::HeaderValue;

/// Where a request goes, parsed once for fixed URLs.
#[derive(Debug, Clone)]
pub struct Target {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// `scheme://host:port`: connections are reused only for the same key.
    pub key: String,
    host_header: HeaderValue,
    pub uri: Uri,
}

impl Target {
    pub fn parse(url: &str) -> Result<Self, RequestError> {
        let uri: Uri = url.parse().map_err(|e| {
            RequestError::new(ErrorKind::Other, format!("invalid URL {url:?}: {e}"))
        })?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(RequestError::new(
                    ErrorKind::Other,
                    format!("unsupported URL {url:?}: use http or https"),
                ));
            }
        };
        let authority = uri.authority().ok_or_else(|| {
            RequestError::new(ErrorKind::Other, format!("URL {url:?} has no host"))
        })?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host_header = HeaderValue::from_str(authority.as_str()).map_err(|e| {
            RequestError::new(ErrorKind::Other, format!("bad host in {url:?}: {e}"))
        })?;
        Ok(Self {
            https,
            key: format!("{}://{}:{port}", if https { "https" } else { "http" }, host),
            host,
            port,
            host_header,
            uri,
        })
    }

    /// The request target of an HTTP/1.1 request line, and HTTP/2's `:path`.
    pub fn path(&self) -> &str {
        self.uri.path_and_query().map_or("/", |p| p.as_str())
    }

    /// The `Host` header value (HTTP/2's `:authority`): the URL's authority.
    pub fn host_header(&self) -> &str {
        self.host_header.to_str().unwrap_or(&self.host)
    }

    /// The target a redirect's `Location` points to, resolved against this URL (RFC 3986 §5:
    /// `//host/x` keeps the scheme, `?q=1` keeps the path, `../x` climbs).
    pub fn redirect(&self, location: &str) -> Result<Self, RequestError> {
        let invalid = || {
            RequestError::new(
                ErrorKind::Other,
                format!("redirect to an invalid Location {location:?}"),
            )
        };
        let base = url::Url::parse(&self.uri.to_string()).map_err(|_| invalid())?;
        let next = base.join(location.trim()).map_err(|_| invalid())?;
        Self::parse(next.as_str())
    }

    /// A request's target: the template's own, parsed once, when its URL is fixed; else `url`.
    pub(crate) fn of<'a>(
        fixed: Option<&'a Target>,
        url: &str,
    ) -> Result<Cow<'a, Target>, RequestError> {
        match fixed {
            Some(t) => Ok(Cow::Borrowed(t)),
            None => Self::parse(url).map(Cow::Owned),
        }
    }

    /// Follows a redirect answered with `status` to `location`: the next target, with `method`
    /// changed as browsers do (303, and 301 or 302 after a POST, go on as GET).
    pub(crate) fn follow(
        &self,
        status: u16,
        location: &str,
        method: &mut Method,
    ) -> Result<Target, RequestError> {
        let next = self.redirect(location)?;
        if status == 303 || (matches!(status, 301 | 302) && *method == Method::POST) {
            *method = Method::GET;
        }
        Ok(next)
    }
}

/// Whether `status` is a redirect flak follows (with `--redirects`).
pub(crate) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn redirect(base: &str, location: &str) -> String {
        Target::parse(base)
            .unwrap()
            .redirect(location)
            .unwrap()
            .uri
            .to_string()
    }

    #[test]
    fn locations_resolve_as_rfc_3986_says() {
        let base = "http://h:1/a/b?x";
        assert_eq!(redirect(base, "/c"), "http://h:1/c");
        assert_eq!(redirect(base, "c"), "http://h:1/a/c");
        assert_eq!(redirect(base, "../c"), "http://h:1/c");
        assert_eq!(redirect(base, "https://o/"), "https://o/");
        assert_eq!(redirect(base, "//other-host/x"), "http://other-host/x");
        assert_eq!(redirect(base, "?q=1"), "http://h:1/a/b?q=1");
        assert_eq!(redirect("https://h/a", "//o:8443/x"), "https://o:8443/x");
        assert!(Target::parse(base).unwrap().redirect("ftp://o/").is_err());
    }
}
