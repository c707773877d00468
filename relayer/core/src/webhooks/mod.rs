//! Webhooks: the events a session's transitions produce (written to the outbox in the same commit as
//! the transition, see [`session_events`]), their signatures (Daimo's `Daimo-Signature` and the
//! Standard Webhooks headers, see [`sign`]), endpoint validation, and the delivery worker
//! ([`worker::Webhooks`]).

pub mod egress;
pub mod worker;

use std::fmt::Write as _;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use relayer_store::NewEvent;
use relayer_types::{Applied, Session, SessionEvent, SessionStatus};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;

pub use self::egress::Egress;
use crate::view::SessionView;

/// The type of a webhook event: its body's `type`, and what an endpoint subscribes to. On the wire it is
/// its [`name`](Self::as_str), e.g. `session.succeeded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// `session.payment_method_set`: a payment method was set (the session waits for the payment).
    PaymentMethodSet,
    /// `session.processing`: a deposit was detected; funds are on their way (Daimo's).
    Processing,
    /// `session.succeeded`: funds were delivered (Daimo's).
    Succeeded,
    /// `session.bounced`: the final call reverted; funds went to the refund address (Daimo's).
    Bounced,
    /// `session.expired`: the session expired unpaid.
    Expired,
    /// `session.updated`: a deposit, delivery, refund, bridging or fronting was recorded without a
    /// status change (a late or extra deposit and what became of it; a reorg undoing one).
    Updated,
}

impl EventType {
    /// Every event type, in the order the API documents them.
    pub const ALL: [Self; 6] = [
        Self::PaymentMethodSet,
        Self::Processing,
        Self::Succeeded,
        Self::Bounced,
        Self::Expired,
        Self::Updated,
    ];

    /// Its name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PaymentMethodSet => "session.payment_method_set",
            Self::Processing => "session.processing",
            Self::Succeeded => "session.succeeded",
            Self::Bounced => "session.bounced",
            Self::Expired => "session.expired",
            Self::Updated => "session.updated",
        }
    }

    /// The event type called `name` on the wire, if any.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The event type a change of a session produces, if any. Work bookkeeping (attempt counts, retries)
/// and clock ticks that change nothing produce none.
pub fn event_type(event: &SessionEvent, applied: Applied) -> Option<EventType> {
    if !applied.changed {
        return None;
    }
    if applied.from != applied.to {
        return Some(match (applied.to, event) {
            (SessionStatus::WaitingPayment, SessionEvent::PaymentMethodSet { .. }) => {
                EventType::PaymentMethodSet
            }
            (SessionStatus::Processing, _) => EventType::Processing,
            (SessionStatus::Succeeded, _) => EventType::Succeeded,
            (SessionStatus::Bounced, _) => EventType::Bounced,
            (SessionStatus::Expired, _) => EventType::Expired,
            // A reorg took the deposit back: the session waits again.
            (SessionStatus::WaitingPayment | SessionStatus::RequiresPaymentMethod, _) => EventType::Updated,
        });
    }
    match event {
        SessionEvent::PaymentMethodSet { .. } => Some(EventType::PaymentMethodSet),
        SessionEvent::Work(_) | SessionEvent::Tick { .. } => None,
        _ => Some(EventType::Updated),
    }
}

/// The session as an event shows it: the API key's view without `clientSecret`.
pub fn session_snapshot(session: &Session) -> Value {
    let mut view = serde_json::to_value(SessionView::of(session, true)).unwrap_or(Value::Null);
    if let Some(object) = view.as_object_mut() {
        object.remove("clientSecret");
    }
    view
}

/// A new event id: a random (version 4) UUID, as Daimo's are.
pub fn event_id() -> String {
    uuid(crate::random_bytes())
}

/// `bytes` as a version-4 UUID string.
pub fn uuid(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex::encode(bytes);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// The body of an event: `{id, type, createdAt, data: {session}}`, plus `isTestEvent: true` for a test
/// event (omitted otherwise, as Daimo does).
pub fn body(id: &str, kind: EventType, created_at: u64, session: Value, test: bool) -> String {
    let mut body = json!({ "id": id, "type": kind, "createdAt": created_at, "data": { "session": session } });
    if test {
        body["isTestEvent"] = Value::Bool(true);
    }
    body.to_string()
}

/// The outbox events of a change of `session` (already applied) by `event`, at `now_ms`.
pub fn session_events(
    event: &SessionEvent,
    applied: Applied,
    session: &Session,
    now_ms: u64,
) -> Vec<NewEvent> {
    let Some(kind) = event_type(event, applied) else { return vec![] };
    let id = event_id();
    let body = body(&id, kind, now_ms / 1000, session_snapshot(session), false);
    vec![NewEvent { kind: kind.as_str().into(), created_at: now_ms, data: json!({ "id": id, "body": body }) }]
}

/// A new signing secret: `whsec_` and the base64 of 32 random bytes (the Standard Webhooks form).
pub fn new_secret() -> String {
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(crate::random_bytes::<32>()))
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return [0; 32] };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The signature headers of one delivery attempt at unix second `timestamp`:
/// - `Daimo-Signature: t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, keyed with the secret string
///   exactly as shown to the integrator (Daimo's verification snippet uses it as is);
/// - `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256(key,
///   "<id>.<t>.<body>")>` (Standard Webhooks), keyed with the base64-decoded part after `whsec_`, as
///   the standard-webhooks libraries decode it.
pub fn sign(secret: &str, event_id: &str, timestamp: u64, body: &str) -> Vec<(&'static str, String)> {
    let t = timestamp.to_string();
    let daimo = hmac_sha256(secret.as_bytes(), &[t.as_bytes(), b".", body.as_bytes()]);
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).unwrap_or_default();
    let standard = hmac_sha256(&key, &[event_id.as_bytes(), b".", t.as_bytes(), b".", body.as_bytes()]);
    let mut daimo_header = format!("t={t},v1=");
    for b in daimo {
        let _ = write!(daimo_header, "{b:02x}");
    }
    vec![
        ("daimo-signature", daimo_header),
        ("webhook-id", event_id.to_owned()),
        ("webhook-timestamp", t),
        ("webhook-signature", format!("v1,{}", b64.encode(standard))),
    ]
}

/// Why a webhook URL is refused: not https (plain http only to loopback, and only where the deployment
/// allows loopback), credentials or a fragment, too long, or a host the deployment's [`Egress`] does not
/// reach (an address literal or `localhost`; names are checked again on every delivery).
pub fn check_url(raw: &str, egress: Egress) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("url is not a valid URL ({e})"))?;
    let Some(host) = url.host() else { return Err("url must name a host".into()) };
    match url.scheme() {
        "https" => {}
        "http" if egress.loopback && egress::classify_host(&host) == Some(egress::Reach::Loopback) => {}
        "http" => {
            return Err("url must use https (plain http is allowed only to loopback, where the deployment enables [webhooks] allow_loopback_http)".into());
        }
        _ => return Err("url must use https".into()),
    }
    egress.check_host(&host).map_err(|r| r.0)?;
    // Credentials in a URL end up in logs and proxies; a fragment is never sent.
    if !url.username().is_empty() || url.password().is_some() {
        return Err("url must not carry credentials (user:password@)".into());
    }
    if url.fragment().is_some() {
        return Err("url must not have a fragment".into());
    }
    if raw.len() > 2048 {
        return Err("url must be at most 2048 characters".into());
    }
    Ok(url)
}

/// The URL's scheme, host and port, for logs (a path or query may carry a token).
pub fn url_origin(raw: &str) -> String {
    reqwest::Url::parse(raw).map(|u| u.origin().ascii_serialization()).unwrap_or_else(|_| "<invalid>".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_published_vectors() {
        // Standard Webhooks' published example (standard-webhooks spec, "Verifying signatures").
        let headers = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        let get = |name| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        assert_eq!(
            get("webhook-signature").as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        // Daimo's scheme: HMAC-SHA256 keyed with the secret string over "<t>.<body>", hex (checked
        // against `printf '1614265330.{"test": 2432232314}' | openssl dgst -sha256 -hmac <secret>`).
        assert_eq!(
            get("daimo-signature").as_deref(),
            Some("t=1614265330,v1=2e37df5d4a028c51a7f3133d64ae1e300d2c2c900f1b1d49d4369ad2530f8964")
        );
    }

    #[test]
    fn only_https_urls_or_opted_in_loopback_are_accepted() {
        let (closed, dev) = (Egress::default(), Egress { loopback: true, private: false });
        assert!(check_url("https://example.com/hook", closed).is_ok());
        assert!(check_url("https://93.184.215.14/hook", closed).is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook", dev).is_ok());
        assert!(check_url("http://localhost/hook", dev).is_ok());
        for (bad, egress) in [
            ("http://example.com/hook", dev),
            ("http://10.0.0.7/hook", Egress { loopback: true, private: true }),
            ("http://127.0.0.1/hook", closed),
            ("ftp://example.com", dev),
            ("https://user:pw@example.com", dev),
            ("https://example.com/#frag", dev),
            ("not a url", dev),
        ] {
            assert!(check_url(bad, egress).is_err(), "{bad}");
        }
    }

    #[test]
    fn address_and_localhost_urls_are_refused_naming_the_setting_that_admits_them() {
        let closed = Egress::default();
        let refused = |url: &str, egress: Egress, says: &str| {
            let error = check_url(url, egress).expect_err(url);
            assert!(error.contains(says), "{url}: {error}");
        };
        refused(
            "https://169.254.169.254/latest/meta-data",
            Egress { loopback: true, private: true },
            "never",
        );
        refused("https://10.0.0.7:8080/admin", closed, "allow_private_networks");
        refused("https://[::ffff:10.0.0.7]/", closed, "private network");
        // WHATWG parsing reads decimal, octal and hex hosts as IPv4 addresses: no way around the check.
        for disguised in ["https://2130706433/", "https://0177.0.0.1/", "https://0x7f.1/"] {
            refused(disguised, closed, "this machine");
        }
        for local in ["https://localhost/", "https://api.LOCALHOST./", "https://127.0.0.1/", "https://[::1]/"]
        {
            refused(local, closed, "allow_loopback_http");
            assert!(check_url(local, Egress { loopback: true, private: false }).is_ok(), "{local}");
        }
        assert!(check_url("https://10.0.0.7/", Egress { loopback: false, private: true }).is_ok());
    }

    #[test]
    fn event_types_keep_their_wire_names() {
        let names: Vec<Value> =
            EventType::ALL.iter().map(|t| serde_json::to_value(t).unwrap_or_default()).collect();
        assert_eq!(
            names,
            [
                "session.payment_method_set",
                "session.processing",
                "session.succeeded",
                "session.bounced",
                "session.expired",
                "session.updated"
            ]
        );
        for kind in EventType::ALL {
            assert_eq!(EventType::named(kind.as_str()), Some(kind));
        }
        assert_eq!(EventType::named("session.completed"), None);
        let body: Value =
            serde_json::from_str(&body("e", EventType::Bounced, 7, Value::Null, false)).unwrap_or_default();
        assert_eq!(body["type"], "session.bounced");
    }

    #[test]
    fn uuids_are_version_4() {
        let id = uuid([0xff; 16]);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }
}
