//! pprof's URL rules: which sources are URLs, the `seconds=N` of the
//! query and the timeout that follows from it.

use std::time::Duration;

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
        Duration::from_millis((duration as u64).saturating_mul(1500))
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
}
