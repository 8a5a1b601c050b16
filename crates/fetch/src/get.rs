//! One GET with ureq: the scheme and trust settings, the deadline, the
//! size cap, progress reports, and errors explained for people.

use std::io::Read;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{Error, Progress, Result, url_seconds};

/// How often progress is reported while the answer is awaited and read.
const TICK: Duration = Duration::from_millis(100);

/// Largest response body read (4 GiB). Bodies are compressed or text; a
/// profile's own limit applies when it is decoded.
const MAX_BODY: u64 = 4 << 30;

/// The longest deadline set: a timeout from the user (`-timeout`,
/// `-seconds` at 1.5x) may be any number, and a deadline past what the
/// clock can add would be an overflow. A year is as good as never here.
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Time allowed beyond the timeout for the whole exchange: Go's client
/// allows the profile's timeout plus 5 seconds in all.
const GRACE: Duration = Duration::from_secs(5);

/// The bounds of one exchange.
#[derive(Clone, Copy)]
struct Limits {
    /// The timeout asked for (named in the error).
    timeout: Duration,
    /// Added to `timeout` for the deadline.
    grace: Duration,
    /// Largest body.
    body: u64,
}

/// What [`get_with_progress`] needs to know about a URL.
struct Target<'u> {
    /// The URL ureq is given: `https+insecure://` becomes `https://`.
    url: String,
    /// None for http, else whether verification is skipped.
    tls: Option<bool>,
    /// `host:port` as written, for messages.
    hostport: &'u str,
    /// The host alone: `[v6]` or name/v4 with the port removed.
    host: &'u str,
    /// The path and query, `/` when the URL has none.
    path: &'u str,
    /// `host:port` with the scheme's default port filled in.
    addr: String,
}

fn target(url: &str) -> std::result::Result<Target<'_>, String> {
    let (tls, scheme, rest) = if let Some(r) = url.strip_prefix("http://") {
        (None, "http", r)
    } else if let Some(r) = url.strip_prefix("https://") {
        (Some(false), "https", r)
    } else if let Some(r) = url.strip_prefix("https+insecure://") {
        (Some(true), "https", r)
    } else {
        return Err("unsupported scheme; use http://, https:// or https+insecure://".into());
    };
    let hostport = rest.split(['/', '?']).next().unwrap_or(rest);
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
    let addr = if has_port {
        hostport.to_string()
    } else if tls.is_some() {
        format!("{hostport}:443")
    } else {
        format!("{hostport}:80")
    };
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    Ok(Target {
        url: format!("{scheme}://{rest}"),
        tls,
        hostport,
        host,
        path,
        addr,
    })
}

/// The agent for one exchange: no redirects, proxies or compression
/// (as before ureq), the trusted roots Go would use, one deadline.
fn agent(t: &Target<'_>, limits: Limits) -> std::result::Result<ureq::Agent, String> {
    use ureq::tls::{RootCerts, TlsConfig};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = TlsConfig::builder().unversioned_rustls_crypto_provider(provider);
    match t.tls {
        Some(true) => tls = tls.disable_verification(true),
        Some(false) => {
            let roots = crate::system_roots();
            if roots.is_empty() {
                return Err(
                    "no trusted root certificates found (looked at SSL_CERT_FILE, SSL_CERT_DIR, \
                     /etc/ssl/certs and the usual bundles); install ca-certificates, point \
                     SSL_CERT_FILE at a PEM bundle, or use https+insecure:// to skip verification"
                        .into(),
                );
            }
            tls = tls.root_certs(RootCerts::new_with_certs(&roots));
        }
        None => {}
    }
    let config = ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .proxy(None)
        .user_agent("gosleuth")
        .timeout_global(Some(
            limits.timeout.min(MAX_TIMEOUT).saturating_add(limits.grace),
        ))
        .timeout_connect(Some(limits.timeout.min(Duration::from_secs(30))))
        .build();
    Ok(config.into())
}

/// GETs `url` (`http://`, `https://` or `https+insecure://`) and returns
/// the body; non-200 answers are errors that include pprof's text
/// explanation when the server sends one. `timeout` bounds the whole
/// exchange.
pub fn get(url: &str, timeout: Duration) -> Result<Vec<u8>> {
    get_with_progress(url, timeout, &mut |_| {})
}

/// [`get`], reporting progress to `progress` a few times a second while
/// it waits and reads, and once more when it is over.
pub fn get_with_progress(
    url: &str,
    timeout: Duration,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<u8>> {
    let limits = Limits {
        timeout,
        grace: GRACE,
        body: MAX_BODY,
    };
    get_within(url, limits, progress)
}

/// [`get_with_progress`] within `limits`.
fn get_within(url: &str, limits: Limits, progress: &mut dyn FnMut(&Progress)) -> Result<Vec<u8>> {
    let ferr = |what: String| Error {
        url: url.to_string(),
        what,
    };
    let t = target(url).map_err(ferr)?;
    let agent = agent(&t, limits).map_err(ferr)?;
    // Resolved here too, so that a failed connection names the address
    // tried and a failed lookup says why.
    let addr = t
        .addr
        .to_socket_addrs()
        .map_err(|e| ferr(format!("resolving {}: {e}", t.addr)))?
        .next()
        .ok_or_else(|| ferr(format!("{} resolves to no address", t.addr)))?;
    let start = Instant::now();
    let expected = url_seconds(url);
    let bytes = AtomicU64::new(0);
    let report = |done: bool, progress: &mut dyn FnMut(&Progress)| {
        progress(&Progress {
            elapsed: start.elapsed(),
            expected,
            bytes: bytes.load(Ordering::Relaxed),
            done,
        })
    };
    // ureq blocks while the server records (seconds=N) and while the body
    // arrives: the exchange runs on its own thread and this one reports.
    let result = std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        let t = &t;
        let bytes = &bytes;
        let agent = &agent;
        s.spawn(move || {
            let _ = tx.send(exchange(agent, t, limits.body, bytes));
        });
        loop {
            match rx.recv_timeout(TICK) {
                Ok(r) => break r,
                Err(mpsc::RecvTimeoutError::Timeout) => report(false, progress),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break Err(Failure::Other("the download stopped unexpectedly".into()));
                }
            }
        }
    });
    report(true, progress);
    result.map_err(|f| ferr(f.explain(&t, addr, limits.timeout)))
}

/// Why an exchange failed, before it is put into words.
enum Failure {
    Ureq(ureq::Error),
    Other(String),
}

impl From<ureq::Error> for Failure {
    fn from(e: ureq::Error) -> Self {
        Failure::Ureq(e)
    }
}

/// Sends the request and reads the answer, counting the body's bytes.
fn exchange(
    agent: &ureq::Agent,
    t: &Target<'_>,
    limit: u64,
    received: &AtomicU64,
) -> std::result::Result<Vec<u8>, Failure> {
    let resp = agent
        .get(&t.url)
        .header("Accept-Encoding", "identity")
        .call()?;
    let status = resp.status();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let text_plain = header("content-type").is_some_and(|v| v.contains("text/plain"));
    let go_pprof = header("x-go-pprof").is_some();
    let mut reader = resp.into_body().into_with_config().limit(limit).reader();
    let mut body = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                body.extend_from_slice(&buf[..n]);
                received.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Failure::Ureq(ureq::Error::from(e))),
        }
    }
    if status != 200 {
        let st = format!(
            "{} {}",
            status.as_str(),
            status.canonical_reason().unwrap_or("")
        );
        let st = st.trim_end();
        if go_pprof && text_plain {
            return Err(Failure::Other(format!(
                "server response: {st} - {}",
                String::from_utf8_lossy(&body)
            )));
        }
        if body.starts_with(b"Client sent an HTTP request to an HTTPS server") {
            let (hostport, path) = (t.hostport, t.path);
            return Err(Failure::Other(format!(
                "server response: {st}: the server speaks HTTPS; use https://{hostport}{path} \
                 (or https+insecure:// for a self-signed certificate)"
            )));
        }
        return Err(Failure::Other(format!("server response: {st}")));
    }
    Ok(body)
}

impl Failure {
    /// Puts a failure into words; TLS certificate problems get advice.
    fn explain(self, t: &Target<'_>, addr: std::net::SocketAddr, timeout: Duration) -> String {
        use ureq::Error as U;
        let e = match self {
            Failure::Other(s) => return s,
            Failure::Ureq(e) => e,
        };
        match e {
            U::Timeout(ureq::Timeout::Connect) => format!(
                "connecting to {addr}: timed out; is the service running with net/http/pprof?"
            ),
            U::Timeout(_) => format!(
                "no complete answer within {timeout:?} (the timeout); raise it with -timeout"
            ),
            U::BodyExceedsLimit(_) => "response too large".into(),
            U::Rustls(r) => explain_tls(&r, t),
            U::Io(io) => {
                use std::io::ErrorKind as K;
                if let Some(r) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    return explain_tls(r, t);
                }
                match io.kind() {
                    K::ConnectionRefused
                    | K::AddrNotAvailable
                    | K::NetworkUnreachable
                    | K::HostUnreachable => format!(
                        "connecting to {addr}: {io}; is the service running with net/http/pprof?"
                    ),
                    _ => io.to_string(),
                }
            }
            other => other.to_string(),
        }
    }
}

/// A TLS failure in words, with what to do about a refused certificate.
fn explain_tls(e: &rustls::Error, t: &Target<'_>) -> String {
    use rustls::CertificateError as C;
    let (host, hostport) = (t.host, t.hostport);
    let skip = format!("or use https+insecure://{hostport}/... to skip verification");
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
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
        t => format!("TLS with {hostport}: {t}"),
    }
}

/// Against small HTTP servers on loopback (std's `TcpListener`, one
/// canned answer each): what users see when an exchange goes wrong, the
/// bodies read whole, progress while a server records.
#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    /// Serves `answer` to the first connection, after `delay`, then
    /// closes it. Returns `127.0.0.1:PORT`.
    fn serve(answer: &'static [u8], delay: Duration) -> String {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = l.local_addr().expect("addr").to_string();
        std::thread::spawn(move || {
            let Ok((mut c, _)) = l.accept() else { return };
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut b) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => req.extend_from_slice(&b[..n]),
                }
            }
            std::thread::sleep(delay);
            let _ = c.write_all(answer);
        });
        addr
    }

    fn fetch(url: &str, limits: Limits) -> (Result<Vec<u8>>, Vec<Progress>) {
        let mut reports = Vec::new();
        let r = get_within(url, limits, &mut |p| reports.push(*p));
        (r, reports)
    }

    const QUICK: Limits = Limits {
        timeout: Duration::from_secs(10),
        grace: Duration::ZERO,
        body: MAX_BODY,
    };

    #[test]
    fn unsupported_scheme_is_an_error() {
        let e = get("ftp://h/x", Duration::from_secs(1)).expect_err("ftp");
        assert!(e.to_string().contains("unsupported scheme"), "{e}");
    }

    #[test]
    fn bodies_by_length_chunks_and_close() {
        let a = serve(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            Duration::ZERO,
        );
        assert_eq!(
            fetch(&format!("http://{a}/x"), QUICK).0.expect("length"),
            b"hello"
        );
        let a = serve(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            Duration::ZERO,
        );
        assert_eq!(
            fetch(&format!("http://{a}/x"), QUICK).0.expect("chunked"),
            b"abcde"
        );
        let a = serve(b"HTTP/1.0 200 OK\r\n\r\nto the end", Duration::ZERO);
        assert_eq!(
            fetch(&format!("http://{a}/x"), QUICK).0.expect("close"),
            b"to the end"
        );
    }

    #[test]
    fn pprof_errors_and_status_lines() {
        let a = serve(
            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nX-Go-Pprof: 1\r\nContent-Length: 23\r\n\r\nUnknown profile: nope\r\n",
            Duration::ZERO,
        );
        let e = fetch(&format!("http://{a}/debug/pprof/nope"), QUICK)
            .0
            .expect_err("404");
        assert_eq!(
            e.to_string(),
            format!(
                "fetching http://{a}/debug/pprof/nope: server response: 404 Not Found - Unknown profile: nope\r\n"
            )
        );
        let a = serve(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy",
            Duration::ZERO,
        );
        let e = fetch(&format!("http://{a}/x"), QUICK).0.expect_err("503");
        assert!(
            e.to_string()
                .ends_with(": server response: 503 Service Unavailable"),
            "{e}"
        );
        // Go's TLS server answering plain HTTP.
        let a = serve(
            b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
            Duration::ZERO,
        );
        let e = fetch(&format!("http://{a}/debug/pprof/heap"), QUICK)
            .0
            .expect_err("400");
        assert!(
            e.to_string().contains(&format!(
                "server response: 400 Bad Request: the server speaks HTTPS; use https://{a}/debug/pprof/heap"
            )),
            "{e}"
        );
    }

    #[test]
    fn size_cap_timeout_and_refused_connection() {
        let a = serve(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
            Duration::ZERO,
        );
        let small = Limits { body: 4, ..QUICK };
        let e = fetch(&format!("http://{a}/x"), small).0.expect_err("cap");
        assert!(e.to_string().ends_with(": response too large"), "{e}");

        let a = serve(b"", Duration::from_secs(5));
        let short = Limits {
            timeout: Duration::from_millis(300),
            ..QUICK
        };
        let e = fetch(&format!("http://{a}/x"), short)
            .0
            .expect_err("timeout");
        assert!(
            e.to_string().ends_with(
                ": no complete answer within 300ms (the timeout); raise it with -timeout"
            ),
            "{e}"
        );

        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let e = fetch(&format!("http://127.0.0.1:{port}/x"), QUICK)
            .0
            .expect_err("refused");
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("connecting to 127.0.0.1:{port}: ")),
            "{msg}"
        );
        assert!(
            msg.ends_with("; is the service running with net/http/pprof?"),
            "{msg}"
        );
    }

    /// `-timeout` and `-seconds` are user numbers: the largest ones give a
    /// far deadline, not an overflow.
    #[test]
    fn huge_timeouts_are_a_far_deadline() {
        // (-seconds, -timeout) as a user may give them; `None`: the
        // timeout is Duration::MAX itself.
        for case in [Some((i64::MAX, -1)), Some((-1, i64::MAX)), None] {
            let a = serve(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                Duration::ZERO,
            );
            let src = format!("http://{a}/x");
            let (url, timeout) = match case {
                Some((seconds, timeout)) => crate::adjust_url(&src, seconds, timeout).expect("url"),
                None => (src, Duration::MAX),
            };
            assert_eq!(get(&url, timeout).expect("body"), b"ok", "{case:?}");
        }
    }

    /// Whatever text is taken for a URL, reading it gives an answer or an
    /// error, never a panic (the scheme, host, port and query rules).
    #[test]
    fn mutated_urls_never_panic() {
        const PIECES: &[&str] = &[
            "http",
            "https",
            "https+insecure",
            "ftp",
            "://",
            ":",
            "/",
            "?",
            "&",
            "=",
            "[",
            "]",
            "::1",
            "seconds",
            "-1",
            "99999999999999999999",
            "0",
            "localhost",
            "h",
            "é",
            "%",
            " ",
            "debug/pprof/profile",
            "\u{0}",
        ];
        let mut rng = gosleuth_testkit::Rng(0x5eed_0fba_5e00);
        for _ in 0..20_000 {
            let s: String = (0..rng.below(12))
                .map(|_| PIECES[rng.below(PIECES.len())])
                .collect();
            let seconds = [i64::MIN, -1, 0, 1, i64::MAX][rng.below(5)];
            let timeout = [i64::MIN, -1, 0, 1, i64::MAX][rng.below(5)];
            if let Some((url, _)) = crate::adjust_url(&s, seconds, timeout) {
                let _ = crate::url_seconds(&url);
                let _ = target(&url);
            }
            let _ = crate::url_seconds(&s);
            let _ = target(&s);
        }
    }

    /// A server that records for `seconds=1` before it answers: reports
    /// come while it waits, with the duration asked for, and the last one
    /// says it is over and counts the body (seen flaky once when a tick
    /// fell between the body's arrival and the end of the exchange).
    #[test]
    fn progress_while_the_server_records() {
        let a = serve(
            b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nprofile",
            Duration::from_millis(700),
        );
        let (r, reports) = fetch(&format!("http://{a}/debug/pprof/profile?seconds=1"), QUICK);
        assert_eq!(r.expect("body"), b"profile");
        assert!(reports.len() >= 4, "{reports:?}");
        assert!(
            reports
                .iter()
                .all(|p| p.expected == Some(Duration::from_secs(1)))
        );
        let (last, before) = reports.split_last().expect("reports");
        assert!(last.done && last.bytes == 7, "{last:?}");
        assert!(last.elapsed >= Duration::from_millis(700), "{last:?}");
        // A tick may fall after the body was counted and before the
        // exchange handed over its result: the count only grows, up to 7.
        assert!(before.iter().all(|p| !p.done && p.bytes <= 7), "{before:?}");
        assert!(
            before.windows(2).all(|w| w[0].bytes <= w[1].bytes),
            "{before:?}"
        );
    }
}
