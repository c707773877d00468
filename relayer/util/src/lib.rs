//! Small utilities every relayer crate shares: what is not the chain seam.

/// An invalid configuration value, naming the field (e.g. `chains[0].confirmations`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Dotted path of the field.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// `value`, or an error naming `field` when it is below `min` (never silently raised to it).
pub fn at_least(value: u64, min: u64, field: impl Into<String>) -> Result<u64, FieldError> {
    if value < min {
        return Err(FieldError::new(field, format!("must be at least {min}, got {value}")));
    }
    Ok(value)
}

/// A secret (a webhook signing secret, a key's text): it never prints itself. `Debug` and `Display` show
/// `[redacted]`, so a secret inside a struct that is logged or printed with `{:?}` stays out of the
/// logs; [`Secret::expose`] is the one way to the value, where it is used (signing) or shown once
/// (the response that creates it). Serialized as the plain string: stores keep it (signing needs it).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `error` with every cause under it, outermost first: `"outer: middle: root"`. Logs print this, so a
/// line says why (`connection refused`), not only what (`error sending request`). A cause whose text
/// its parent already contains is not repeated.
pub fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    redact_urls(&out)
}

/// `text` with every URL cut to its scheme, host and port: an RPC provider's URL carries its API key
/// in the path or query (`https://base.example/v2/<key>`) or as user info, and an HTTP client's error
/// names the URL it failed on. Error texts end up in logs and in the reasons stored on work records.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = ["http://", "https://", "ws://", "wss://"].iter().filter_map(|s| rest.find(s)).min()
    {
        let scheme_end = at + rest[at..].find("://").map_or(0, |i| i + 3);
        out.push_str(&rest[..scheme_end]);
        let url = &rest[scheme_end..];
        let end = url.find(|c: char| c.is_whitespace() || "()<>\"'`,;".contains(c)).unwrap_or(url.len());
        let (url, after) = url.split_at(end);
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let authority = &url[..authority_end];
        // User info (`user:password@host`) is a credential too.
        out.push_str(authority.rsplit_once('@').map_or(authority, |(_, host)| host));
        if authority_end < url.len() {
            out.push_str("/…");
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Lets a repeated warning through once per `window` per key, counting what it held back: during an
/// outage a failing loop logs one line every `window` (with how many it suppressed) instead of one per
/// retry.
#[derive(Debug)]
pub struct Throttle {
    window: std::time::Duration,
    seen: std::sync::Mutex<std::collections::HashMap<&'static str, (std::time::Instant, u64)>>,
}

impl Throttle {
    /// A throttle letting each key through once per `window`.
    pub fn new(window: std::time::Duration) -> Self {
        Self { window, seen: std::sync::Mutex::default() }
    }

    /// Whether to log `key` at `now`; `Some(n)` with the number of occurrences held back since the last
    /// one let through.
    pub fn allow(&self, key: &'static str, now: std::time::Instant) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match seen.get_mut(key) {
            Some((last, held)) if now.saturating_duration_since(*last) < self.window => {
                *held += 1;
                None
            }
            Some((last, held)) => {
                let suppressed = *held;
                (*last, *held) = (now, 0);
                Some(suppressed)
            }
            None => {
                seen.insert(key, (now, 0));
                Some(0)
            }
        }
    }

    /// Forgets `key` (the condition cleared): its next occurrence is logged at once.
    pub fn clear(&self, key: &'static str) {
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_in_error_texts_keep_only_their_scheme_host_and_port() {
        use super::redact_urls;
        let table = [
            (
                "error sending request for url (https://base-mainnet.example/v2/SECRETKEY): timed out",
                "error sending request for url (https://base-mainnet.example/…): timed out",
            ),
            ("http://user:pass@127.0.0.1:8545/?key=abc refused", "http://127.0.0.1:8545/… refused"),
            ("wss://node.example:443 closed", "wss://node.example:443 closed"),
            (
                "two: https://a.example/k1, https://b.example?k=2",
                "two: https://a.example/…, https://b.example/…",
            ),
            ("no url here", "no url here"),
        ];
        for (given, want) in table {
            assert_eq!(redact_urls(given), want, "{given}");
        }
    }

    use std::time::{Duration, Instant};

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("tcp connect error")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn causes_names_every_level_down_to_the_root() {
        let error =
            Outer(Middle(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused")));
        assert_eq!(causes(&error), "error sending request: tcp connect error: connection refused");
    }

    #[test]
    fn a_repeated_warning_is_let_through_once_per_window_with_the_count_it_held_back() {
        let throttle = Throttle::new(Duration::from_secs(30));
        let t0 = Instant::now();
        assert_eq!(throttle.allow("rpc", t0), Some(0), "the first is logged");
        for i in 1..=149 {
            assert_eq!(
                throttle.allow("rpc", t0 + Duration::from_millis(200 * i)),
                None,
                "a retry every 200 ms"
            );
        }
        assert_eq!(throttle.allow("other", t0), Some(0), "keys are independent");
        assert_eq!(
            throttle.allow("rpc", t0 + Duration::from_secs(30)),
            Some(149),
            "one line per window, with the count"
        );
        throttle.clear("rpc");
        assert_eq!(throttle.allow("rpc", t0 + Duration::from_secs(31)), Some(0), "after recovery, at once");
    }

    #[test]
    fn a_secret_never_prints_itself_but_stores_as_itself() {
        let secret = Secret::new("whsec_abc");
        assert_eq!(
            format!("{secret} {secret:?} {:?}", Some(&secret)),
            "[redacted] [redacted] Some([redacted])"
        );
        assert_eq!(secret.expose(), "whsec_abc");
        let json = serde_json::to_string(&secret).expect("json");
        assert_eq!(json, "\"whsec_abc\"");
        assert_eq!(serde_json::from_str::<Secret>(&json).ok(), Some(secret));
    }
}
