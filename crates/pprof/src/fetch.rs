//! Fetching profiles from `net/http/pprof` endpoints with a small HTTP/1.1
//! client over std's `TcpStream`: `http://`, `https://` (rustls, with the
//! system's trusted roots read the way Go reads them, `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` included) and pprof's `https+insecure://` (no
//! certificate verification).
//!
//! Nothing is printed: long downloads report their progress through a
//! callback ([`Progress`]) so the caller can draw a bar.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// The `seconds=N` of a URL's query: how long the server will profile or
/// trace before it answers.
pub fn url_seconds(url: &str) -> Option<Duration> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("seconds="))
        .find_map(|v| v.parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map(Duration::from_secs)
}

/// How a download is going, reported a few times a second.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Since the request was sent.
    pub elapsed: Duration,
    /// How long the server said it would take (`seconds=N`), if known.
    pub expected: Option<Duration>,
    /// Body and header bytes received so far.
    pub bytes: u64,
    /// True on the last report (the answer is complete or failed).
    pub done: bool,
}

/// How often the socket wakes up while it waits, to honour the overall
/// deadline and report progress.
const TICK: Duration = Duration::from_millis(100);

/// Largest response body read (4 GiB).
const MAX_BODY: u64 = 4 << 30;

/// A stream with one deadline for the whole exchange, that reports
/// progress while it waits.
struct Deadline<'p, S> {
    inner: S,
    start: Instant,
    deadline: Instant,
    timeout: Duration,
    expected: Option<Duration>,
    bytes: u64,
    last_report: Option<Instant>,
    progress: &'p mut dyn FnMut(&Progress),
}

fn would_block(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

impl<S> Deadline<'_, S> {
    fn report(&mut self, done: bool) {
        let now = Instant::now();
        if !done && self.last_report.is_some_and(|t| now - t < TICK) {
            return;
        }
        self.last_report = Some(now);
        (self.progress)(&Progress {
            elapsed: now - self.start,
            expected: self.expected,
            bytes: self.bytes,
            done,
        });
    }

    /// Runs `op` until it does not time out on the socket's short tick,
    /// failing when the overall deadline passes.
    fn retry<T>(&mut self, mut op: impl FnMut(&mut S) -> std::io::Result<T>) -> std::io::Result<T> {
        loop {
            match op(&mut self.inner) {
                Err(e) if would_block(&e) => {
                    if Instant::now() >= self.deadline {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!(
                                "no complete answer within {:?} (the timeout); raise it with -timeout",
                                self.timeout
                            ),
                        ));
                    }
                    self.report(false);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }
}

impl<S: Read> Read for Deadline<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.retry(|s| s.read(buf))?;
        self.bytes += n as u64;
        self.report(false);
        Ok(n)
    }
}

impl<S: Write> Write for Deadline<'_, S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.retry(|s| s.write(buf))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.retry(|s| s.flush())
    }
}

/// Certificate bundles Go's crypto/x509 tries on Linux, first found wins.
const CERT_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Directories of certificates Go's crypto/x509 reads on Linux, all of them.
const CERT_DIRS: &[&str] = &["/etc/ssl/certs", "/etc/pki/tls/certs"];

fn add_pem(roots: &mut rustls::RootCertStore, data: &[u8]) {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    for cert in CertificateDer::pem_slice_iter(data).flatten() {
        // Like Go's AppendCertsFromPEM: certificates that do not parse
        // are skipped.
        let _ = roots.add(cert);
    }
}

/// The trusted roots, read like Go's `loadSystemRoots`: `SSL_CERT_FILE`
/// (else the first bundle found) plus every file in `SSL_CERT_DIR`
/// (`:`-separated; else the usual directories).
pub fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let env_file = std::env::var("SSL_CERT_FILE")
        .ok()
        .filter(|f| !f.is_empty());
    let files: Vec<String> = match env_file {
        Some(f) => vec![f],
        None => CERT_FILES.iter().map(|s| s.to_string()).collect(),
    };
    for f in files {
        if let Ok(data) = std::fs::read(&f) {
            add_pem(&mut roots, &data);
            break;
        }
    }
    let dirs: Vec<String> = match std::env::var("SSL_CERT_DIR") {
        Ok(d) if !d.is_empty() => d.split(':').map(str::to_string).collect(),
        _ => CERT_DIRS.iter().map(|s| s.to_string()).collect(),
    };
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if let Ok(data) = std::fs::read(e.path()) {
                add_pem(&mut roots, &data);
            }
        }
    }
    roots
}

/// Accepts any certificate (pprof's `https+insecure://`); handshake
/// signatures are still checked, so the connection is encrypted but the
/// server is not authenticated.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_config(insecure: bool) -> std::result::Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("setting up TLS: {e}"))?;
    let cfg = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth()
    } else {
        let roots = system_roots();
        if roots.is_empty() {
            return Err(
                "no trusted root certificates found (looked at SSL_CERT_FILE, SSL_CERT_DIR, \
                 /etc/ssl/certs and the usual bundles); install ca-certificates, point \
                 SSL_CERT_FILE at a PEM bundle, or use https+insecure:// to skip verification"
                    .into(),
            );
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(cfg)
}

/// Explains a failed exchange; TLS certificate problems get advice.
fn explain(e: &std::io::Error, host: &str, hostport: &str) -> String {
    use rustls::CertificateError as C;
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let skip = format!("or use https+insecure://{hostport}/... to skip verification");
    match tls {
        Some(rustls::Error::InvalidCertificate(c)) => match c {
            C::NotValidForName | C::NotValidForNameContext { .. } => format!(
                "TLS: the certificate of {hostport} is not valid for the name {host:?} ({c:?}); \
                 use the host name or address it was issued for, {skip}"
            ),
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => {
                format!(
                    "TLS: the certificate of {hostport} is outside its validity period ({c:?}); \
                     check the clocks and renew the certificate, {skip}"
                )
            }
            C::UnknownIssuer | C::BadSignature | C::UnhandledCriticalExtension => format!(
                "TLS: the certificate of {hostport} is not trusted ({c:?}); if it is \
                 self-signed or from a private CA, point SSL_CERT_FILE at that certificate \
                 or its CA (PEM), {skip}"
            ),
            c => format!("TLS: the certificate of {hostport} was refused ({c:?}); {skip}"),
        },
        Some(t) => format!("TLS with {hostport}: {t}"),
        None => e.to_string(),
    }
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// GETs `url` (`http://`, `https://` or `https+insecure://`) and returns
/// the body; non-200 answers are errors that include pprof's text
/// explanation when the server sends one. `timeout` bounds the whole
/// exchange.
pub fn get(url: &str, timeout: Duration) -> Result<Vec<u8>> {
    get_with_progress(url, timeout, &mut |_| {})
}

/// [`get`], reporting progress to `progress` a few times a second while
/// it waits and reads.
pub fn get_with_progress(
    url: &str,
    timeout: Duration,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<u8>> {
    let ferr = |what: String| Error::Fetch {
        url: url.to_string(),
        what,
    };
    let (tls, rest) = if let Some(r) = url.strip_prefix("http://") {
        (None, r)
    } else if let Some(r) = url.strip_prefix("https://") {
        (Some(false), r)
    } else if let Some(r) = url.strip_prefix("https+insecure://") {
        (Some(true), r)
    } else {
        return Err(ferr(
            "unsupported scheme; use http://, https:// or https+insecure://".into(),
        ));
    };
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    // host, for SNI and certificate checks: [v6] or name/v4, port removed.
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else {
        hostport.rsplit_once(':').map_or(hostport, |(h, _)| h)
    };
    let has_port = match hostport.strip_prefix('[') {
        Some(v6) => v6.contains("]:"),
        None => hostport
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
    };
    let addr_str = if has_port {
        hostport.to_string()
    } else if tls.is_some() {
        format!("{hostport}:443")
    } else {
        format!("{hostport}:80")
    };
    let start = Instant::now();
    // Go's client allows the profile's timeout plus 5 seconds in all.
    let deadline = start + timeout + Duration::from_secs(5);
    let addr = addr_str
        .to_socket_addrs()
        .map_err(|e| ferr(format!("resolving {addr_str}: {e}")))?
        .next()
        .ok_or_else(|| ferr(format!("{addr_str} resolves to no address")))?;
    let tcp =
        TcpStream::connect_timeout(&addr, timeout.min(Duration::from_secs(30))).map_err(|e| {
            ferr(format!(
                "connecting to {addr}: {e}; is the service running with net/http/pprof?"
            ))
        })?;
    tcp.set_read_timeout(Some(TICK))
        .and_then(|_| tcp.set_write_timeout(Some(TICK)))
        .map_err(|e| ferr(e.to_string()))?;
    let stream: Box<dyn Stream> = match tls {
        None => Box::new(tcp),
        Some(insecure) => {
            let cfg = tls_config(insecure).map_err(&ferr)?;
            let name = rustls::pki_types::ServerName::try_from(host.to_string())
                .map_err(|e| ferr(format!("{host:?} is not a valid TLS server name: {e}")))?;
            let conn = rustls::ClientConnection::new(Arc::new(cfg), name)
                .map_err(|e| ferr(format!("starting TLS: {e}")))?;
            Box::new(rustls::StreamOwned::new(conn, tcp))
        }
    };
    let mut s = Deadline {
        inner: stream,
        start,
        deadline,
        timeout,
        expected: url_seconds(url),
        bytes: 0,
        last_report: None,
        progress,
    };
    let result = exchange(&mut s, hostport, path, host);
    s.report(true);
    result.map_err(ferr)
}

/// Sends the request and reads the answer.
fn exchange(
    s: &mut Deadline<'_, Box<dyn Stream>>,
    hostport: &str,
    path: &str,
    host: &str,
) -> std::result::Result<Vec<u8>, String> {
    let io = |e: std::io::Error| explain(&e, host, hostport);
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nUser-Agent: gosleuth\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes())
        .and_then(|_| s.flush())
        .map_err(io)?;
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status)
        .map_err(|e| format!("reading the response: {}", explain(&e, host, hostport)))?;
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
        r.read_line(&mut h).map_err(io)?;
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
    // Bodies are compressed or text; the profile's own limit applies when
    // it is decoded.
    let limit = MAX_BODY;
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut line = String::new();
            r.read_line(&mut line).map_err(io)?;
            let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| "malformed chunked encoding".to_string())?;
            if size == 0 {
                break;
            }
            if body.len() as u64 + size > limit {
                return Err("response too large".into());
            }
            (&mut r).take(size).read_to_end(&mut body).map_err(io)?;
            let mut crlf = String::new();
            r.read_line(&mut crlf).map_err(io)?;
        }
    } else if let Some(n) = length {
        (&mut r)
            .take(n.min(limit))
            .read_to_end(&mut body)
            .map_err(io)?;
    } else {
        match (&mut r).take(limit).read_to_end(&mut body) {
            Ok(_) => {}
            // A TLS server that closes without close_notify after a body
            // delimited by the close itself: the body is complete.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(io(e)),
        }
    }
    if code != 200 {
        let st = status
            .trim_start_matches("HTTP/1.1 ")
            .trim_start_matches("HTTP/1.0 ")
            .trim();
        if go_pprof && text_plain {
            return Err(format!(
                "server response: {st} - {}",
                String::from_utf8_lossy(&body)
            ));
        }
        if body.starts_with(b"Client sent an HTTP request to an HTTPS server") {
            return Err(format!(
                "server response: {st}: the server speaks HTTPS; use https://{hostport}{path} \
                 (or https+insecure:// for a self-signed certificate)"
            ));
        }
        return Err(format!("server response: {st}"));
    }
    Ok(body)
}

/// Fetches a profile from `src` (a URL, `http://` optional) the way
/// `go tool pprof` does: `seconds` (if > 0) is put in the query and the
/// timeout defaults to 1.5x the profile duration. Returns the final URL and
/// the raw body (usually gzipped profile.proto).
pub fn fetch_profile(src: &str, seconds: i64, timeout: i64) -> Result<(String, Vec<u8>)> {
    fetch_profile_with_progress(src, seconds, timeout, &mut |_| {})
}

/// [`fetch_profile`] with progress reports.
pub fn fetch_profile_with_progress(
    src: &str,
    seconds: i64,
    timeout: i64,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(String, Vec<u8>)> {
    let (url, t) = adjust_url(src, seconds, timeout).ok_or_else(|| Error::Fetch {
        url: src.to_string(),
        what: "not a URL; expected host:port/path or http(s)://host:port/path".into(),
    })?;
    let body = get_with_progress(&url, t, progress)?;
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
        assert_eq!(url_seconds(&u), Some(Duration::from_secs(30)));
        let (u, t) =
            adjust_url("http://h:1/x/debug/pprof/profile?seconds=10&a=b", -1, -1).expect("url");
        assert_eq!(u, "http://h:1/x/debug/pprof/profile?a=b&seconds=10");
        assert_eq!(t, Duration::from_secs(15));
        let (u, t) = adjust_url("http://h:1/debug/pprof/heap", -1, -1).expect("url");
        assert_eq!(t, Duration::from_secs(60));
        assert_eq!(url_seconds(&u), None);
        assert!(adjust_url("missing-profile", -1, -1).is_none());
        assert!(adjust_url("heap.pb.gz", -1, -1).is_none());
        assert!(adjust_url("localhost/debug/pprof/heap", -1, -1).is_some());
        let (u, _) = adjust_url("https+insecure://h:1/debug/pprof/heap", -1, -1).expect("url");
        assert_eq!(u, "https+insecure://h:1/debug/pprof/heap");
    }

    #[test]
    fn unsupported_scheme_is_an_error() {
        let e = get("ftp://h/x", Duration::from_secs(1)).expect_err("ftp");
        assert!(e.to_string().contains("unsupported scheme"), "{e}");
    }
}
