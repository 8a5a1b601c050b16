//! Fetching profiles from `net/http/pprof` endpoints with a tiny HTTP/1.1
//! client over std's `TcpStream` (plain http only).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::{Error, Result};

/// pprof's `adjustURL`: adds `http://` when missing, sets `seconds`, and
/// derives the timeout (1.5x the profile duration, else 60s). Returns
/// `None` when `src` does not look like a URL.
pub fn adjust_url(src: &str, seconds: i64, timeout: i64) -> Option<(String, Duration)> {
    let (scheme, rest) = match src.split_once("://") {
        Some((s, r)) => (s.to_string(), r.to_string()),
        None => ("http".to_string(), src.to_string()),
    };
    let (hostpath, query) = match rest.split_once('?') {
        Some((h, q)) => (h.to_string(), q.to_string()),
        None => (rest.clone(), String::new()),
    };
    let host = hostpath.split('/').next().unwrap_or("");
    // Like go tool pprof, `host:port/path` needs no scheme; without a scheme
    // a source with no port is taken for a missing file rather than a host
    // (`heap.pb.gz` is not a web server).
    if host.is_empty() || (!src.contains("://") && !host.contains(':') && host != "localhost") {
        return None;
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.to_string(), String::new()),
        })
        .collect();
    let mut duration = 0i64;
    if seconds > 0 {
        pairs.retain(|(k, _)| k != "seconds");
        pairs.push(("seconds".into(), seconds.to_string()));
        duration = seconds;
    } else if let Some((_, v)) = pairs.iter().find(|(k, _)| k == "seconds") {
        duration = v.parse().unwrap_or(0);
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let timeout = if timeout > 0 {
        Duration::from_secs(timeout as u64)
    } else if duration > 0 {
        Duration::from_millis(duration as u64 * 1500)
    } else {
        Duration::from_secs(60)
    };
    let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut url = format!("{scheme}://{hostpath}");
    if !q.is_empty() {
        url.push('?');
        url.push_str(&q.join("&"));
    }
    Some((url, timeout))
}

/// GETs `url` (http only) and returns the body; non-200 answers are errors
/// that include pprof's text explanation when the server sends one.
pub fn get(url: &str, timeout: Duration) -> Result<Vec<u8>> {
    let ferr = |what: String| Error::Fetch {
        url: url.to_string(),
        what,
    };
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        ferr("only plain http:// is supported; use curl for https and pass the file".into())
    })?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr_str = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addr = addr_str
        .to_socket_addrs()
        .map_err(|e| ferr(format!("resolving {addr_str}: {e}")))?
        .next()
        .ok_or_else(|| ferr(format!("{addr_str} resolves to no address")))?;
    let mut s =
        TcpStream::connect_timeout(&addr, timeout.min(Duration::from_secs(30))).map_err(|e| {
            ferr(format!(
                "connecting to {addr}: {e}; is the service running with net/http/pprof?"
            ))
        })?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| ferr(e.to_string()))?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| ferr(e.to_string()))?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nUser-Agent: gosleuth\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes())
        .map_err(|e| ferr(e.to_string()))?;
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status)
        .map_err(|e| ferr(format!("reading the response (timeout {timeout:?}): {e}")))?;
    let code: u16 = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut chunked = false;
    let mut length: Option<u64> = None;
    let mut text_plain = false;
    let mut go_pprof = false;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).map_err(|e| ferr(e.to_string()))?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "content-length" => length = v.parse().ok(),
                "content-type" => text_plain = v.contains("text/plain"),
                "x-go-pprof" => go_pprof = true,
                _ => {}
            }
        }
    }
    let limit = crate::proto::MAX_DECOMPRESSED;
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut line = String::new();
            r.read_line(&mut line).map_err(|e| ferr(e.to_string()))?;
            let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| ferr("malformed chunked encoding".into()))?;
            if size == 0 {
                break;
            }
            if body.len() as u64 + size > limit {
                return Err(ferr("response too large".into()));
            }
            (&mut r)
                .take(size)
                .read_to_end(&mut body)
                .map_err(|e| ferr(e.to_string()))?;
            let mut crlf = String::new();
            r.read_line(&mut crlf).map_err(|e| ferr(e.to_string()))?;
        }
    } else if let Some(n) = length {
        (&mut r)
            .take(n.min(limit))
            .read_to_end(&mut body)
            .map_err(|e| ferr(e.to_string()))?;
    } else {
        (&mut r)
            .take(limit)
            .read_to_end(&mut body)
            .map_err(|e| ferr(e.to_string()))?;
    }
    if code != 200 {
        let st = status
            .trim_start_matches("HTTP/1.1 ")
            .trim_start_matches("HTTP/1.0 ")
            .trim();
        if go_pprof && text_plain {
            return Err(ferr(format!(
                "server response: {st} - {}",
                String::from_utf8_lossy(&body)
            )));
        }
        return Err(ferr(format!("server response: {st}")));
    }
    Ok(body)
}

/// Fetches a profile from `src` (a URL, `http://` optional) the way
/// `go tool pprof` does: `seconds` (if > 0) is put in the query and the
/// timeout defaults to 1.5x the profile duration. Returns the final URL and
/// the raw body (usually gzipped profile.proto).
pub fn fetch_profile(src: &str, seconds: i64, timeout: i64) -> Result<(String, Vec<u8>)> {
    let (url, t) = adjust_url(src, seconds, timeout).ok_or_else(|| Error::Fetch {
        url: src.to_string(),
        what: "not a URL; expected host:port/path or http://host:port/path".into(),
    })?;
    let body = get(&url, t)?;
    Ok((url, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let (u, t) = adjust_url("localhost:6060/debug/pprof/profile", 30, -1).expect("url");
        assert_eq!(u, "http://localhost:6060/debug/pprof/profile?seconds=30");
        assert_eq!(t, Duration::from_secs(45));
        let (u, t) =
            adjust_url("http://h:1/x/debug/pprof/profile?seconds=10&a=b", -1, -1).expect("url");
        assert_eq!(u, "http://h:1/x/debug/pprof/profile?a=b&seconds=10");
        assert_eq!(t, Duration::from_secs(15));
        let (_, t) = adjust_url("http://h:1/debug/pprof/heap", -1, -1).expect("url");
        assert_eq!(t, Duration::from_secs(60));
        assert!(adjust_url("missing-profile", -1, -1).is_none());
        assert!(adjust_url("heap.pb.gz", -1, -1).is_none());
        assert!(adjust_url("localhost/debug/pprof/heap", -1, -1).is_some());
    }
}
