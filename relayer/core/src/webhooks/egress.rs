//! Where webhook deliveries may go. Whoever holds the API key chooses endpoint URLs, and the relayer
//! POSTs to them from inside the operator's network; without a filter that is a server-side request
//! forgery: `https://169.254.169.254/...` (a cloud's metadata service), `https://10.0.0.7:8080/admin`,
//! or a public name whose DNS answer points inward (or changes to, between registration and delivery).
//! The attempt records (status, timing, error) would even turn it into a port scanner.
//!
//! So every address is classified ([`classify`]): public ones are always reachable, loopback only when
//! the deployment allows it (local development), private networks only when the deployment allows them,
//! and addresses that are never a receiver (link-local with the metadata services, multicast,
//! unspecified, documentation and reserved ranges) never. The guard sits where the connection is made:
//! [`FilteringResolver`] drops refused addresses from every DNS answer (so reqwest connects only to
//! checked addresses, and a rebinding answer finds nothing to connect to), and [`Egress::check_url`]
//! refuses an IP-literal URL (which reqwest never resolves) before any request.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What kind of destination an address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Routable on the internet.
    Public,
    /// This machine.
    Loopback,
    /// A private or shared network (RFC 1918, carrier-grade NAT, unique-local IPv6).
    Private,
    /// Never a webhook receiver: link-local and the clouds' other metadata addresses, multicast,
    /// broadcast, unspecified, documentation, benchmarking and reserved ranges.
    Never,
}

/// Which destinations the deployment lets webhook deliveries reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Egress {
    /// Loopback (`127.0.0.0/8`, `::1`, `localhost`), over http too: local development.
    pub loopback: bool,
    /// Private networks (`10/8`, `172.16/12`, `192.168/16`, `100.64/10`, `fc00::/7`): receivers inside
    /// the operator's own network.
    pub private: bool,
}

/// Why a destination is refused, as the attempt records and the API show it (no resolved address is
/// named: the answer would tell an API-key holder about the operator's internal DNS).
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl Egress {
    /// Whether a delivery may connect to `ip`.
    pub const fn allows(self, ip: IpAddr) -> bool {
        match classify(ip) {
            Reach::Public => true,
            Reach::Loopback => self.loopback,
            Reach::Private => self.private,
            Reach::Never => false,
        }
    }

    /// Refuses a URL whose host is an address (or a `localhost` name) this deployment does not reach;
    /// other names are checked on every delivery, by [`FilteringResolver`].
    pub fn check_host(self, host: &url::Host<&str>) -> Result<(), Refused> {
        let Some(reach) = classify_host(host) else { return Ok(()) };
        let shown = host.to_string();
        let refused = |what: &str| Err(Refused(format!("url points to {what} ({shown}){}", hint(reach))));
        match reach {
            Reach::Public => Ok(()),
            Reach::Loopback if self.loopback => Ok(()),
            Reach::Private if self.private => Ok(()),
            Reach::Loopback => refused("this machine"),
            Reach::Private => refused("a private network address"),
            Reach::Never => refused("an address that is never a webhook receiver"),
        }
    }
}

fn hint(reach: Reach) -> &'static str {
    match reach {
        Reach::Loopback => "; the deployment admits it only with [webhooks] allow_loopback_http",
        Reach::Private => "; the deployment admits it only with [webhooks] allow_private_networks",
        Reach::Public | Reach::Never => "",
    }
}

/// What a URL's host is, where that is known without DNS: an address literal, or `localhost`.
pub fn classify_host(host: &url::Host<&str>) -> Option<Reach> {
    match host {
        url::Host::Ipv4(ip) => Some(classify(IpAddr::V4(*ip))),
        url::Host::Ipv6(ip) => Some(classify(IpAddr::V6(*ip))),
        url::Host::Domain(d) if is_localhost(d) => Some(Reach::Loopback),
        url::Host::Domain(_) => None,
    }
}

/// `localhost` and its subdomains, which resolvers answer with loopback (RFC 6761).
fn is_localhost(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost" || d.ends_with(".localhost")
}

/// What kind of destination `ip` is. IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are
/// judged by that address, so `::ffff:169.254.169.254` is no way around the filter.
pub const fn classify(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

const fn classify_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        (127, _, _) => Reach::Loopback,
        // Alibaba Cloud's metadata service, inside the shared (carrier-grade NAT) range.
        (100, 100, 100) if ip.octets()[3] == 200 => Reach::Never,
        (10, _, _) | (192, 168, _) => Reach::Private,
        (172, b, _) if b >= 16 && b < 32 => Reach::Private,
        (100, b, _) if b >= 64 && b < 128 => Reach::Private,
        // 0/8 "this network", 169.254/16 link-local (metadata services), 192.0.0/24 protocol
        // assignments, 192.0.2/24, 198.51.100/24 and 203.0.113/24 documentation, 192.88.99/24 6to4
        // relays, 198.18/15 benchmarking, 224/4 multicast, 240/4 reserved and broadcast.
        (0, _, _) | (169, 254, _) | (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => {
            Reach::Never
        }
        (192, 88, 99) | (198, 18 | 19, _) => Reach::Never,
        (a, _, _) if a >= 224 => Reach::Never,
        _ => Reach::Public,
    }
}

const fn classify_v6(ip: Ipv6Addr) -> Reach {
    match ip.segments() {
        [0, 0, 0, 0, 0, 0, 0, 1] => Reach::Loopback,
        // AWS's IPv6 metadata service, inside the unique-local range.
        [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] => Reach::Never,
        // ::ffff:a.b.c.d (mapped) and 64:ff9b::a.b.c.d (NAT64) reach that IPv4 address.
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => embedded_v4(hi, lo),
        // 2002:AABB:CCDD::/48 (6to4) reaches a.b.c.d's network.
        [0x2002, hi, lo, ..] => embedded_v4(hi, lo),
        // The rest of ::/8 (::, the deprecated ::a.b.c.d, ::ffff:0:a.b.c.d translated), 100::/64
        // discard, 2001::/32 Teredo (tunnels to anywhere), 2001:db8::/32 documentation.
        [0, ..] | [0x100, 0, 0, 0, ..] | [0x2001, 0 | 0xdb8, ..] => Reach::Never,
        // 64:ff9b:1::/48 local-use NAT64, fc00::/7 unique-local, fec0::/10 site-local (deprecated).
        [0x64, 0xff9b, 1, ..] => Reach::Private,
        [first, ..] if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 => Reach::Private,
        // fe80::/10 link-local, ff00::/8 multicast.
        [first, ..] if first & 0xffc0 == 0xfe80 || first & 0xff00 == 0xff00 => Reach::Never,
        _ => Reach::Public,
    }
}

/// The IPv4 address carried in two IPv6 segments, classified.
const fn embedded_v4(hi: u16, lo: u16) -> Reach {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    classify_v4(Ipv4Addr::new(a, b, c, d))
}

/// The system resolver with every refused address removed from its answers. A name left without an
/// address fails the attempt (recorded as refused) without any connection being made.
#[derive(Debug, Clone)]
pub struct FilteringResolver {
    egress: Egress,
}

impl FilteringResolver {
    /// A resolver for deliveries that may reach what `egress` allows.
    pub fn new(egress: Egress) -> Arc<Self> {
        Arc::new(Self { egress })
    }
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let egress = self.egress;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let answer: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = answer.into_iter().filter(|a| egress.allows(a.ip())).collect();
            if allowed.is_empty() {
                let why = format!(
                    "refused: {host} resolves to no address webhooks may reach (loopback, private and \
                     reserved addresses are refused unless the deployment allows them)"
                );
                return Err(Box::new(Refused(why)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The [`Refused`] somewhere in `error`'s chain of causes, if a refusal is why it failed.
pub fn refusal<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused);
        }
        cause = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(s: &str) -> Reach {
        classify(s.parse().expect("address"))
    }

    #[test]
    fn addresses_are_classified_including_ipv4_carried_in_ipv6() {
        let table = [
            ("8.8.8.8", Reach::Public),
            ("1.1.1.1", Reach::Public),
            ("172.32.0.1", Reach::Public),
            ("100.128.0.1", Reach::Public),
            ("2606:4700:4700::1111", Reach::Public),
            ("127.0.0.1", Reach::Loopback),
            ("127.255.0.9", Reach::Loopback),
            ("::1", Reach::Loopback),
            ("::ffff:127.0.0.1", Reach::Loopback),
            ("10.0.0.7", Reach::Private),
            ("172.16.0.1", Reach::Private),
            ("172.31.255.255", Reach::Private),
            ("192.168.1.1", Reach::Private),
            ("100.64.0.1", Reach::Private),
            ("fd00::1", Reach::Private),
            ("fc00::1", Reach::Private),
            ("::ffff:10.1.2.3", Reach::Private),
            ("64:ff9b::c0a8:0101", Reach::Private),
            ("2002:c0a8:0101::1", Reach::Private),
            ("169.254.169.254", Reach::Never),
            ("::ffff:169.254.169.254", Reach::Never),
            ("64:ff9b::a9fe:a9fe", Reach::Never),
            ("fe80::1", Reach::Never),
            ("fd00:ec2::254", Reach::Never),
            ("fd00:ec2::253", Reach::Private),
            ("100.100.100.200", Reach::Never),
            ("192.0.0.192", Reach::Never),
            ("0.0.0.0", Reach::Never),
            ("::", Reach::Never),
            ("::127.0.0.1", Reach::Never),
            ("::ffff:0:7f00:1", Reach::Never),
            ("224.0.0.1", Reach::Never),
            ("255.255.255.255", Reach::Never),
            ("192.0.2.1", Reach::Never),
            ("198.18.0.1", Reach::Never),
            ("ff02::1", Reach::Never),
            ("2001:db8::1", Reach::Never),
            ("2001:0:4136:e378::1", Reach::Never),
        ];
        for (address, want) in table {
            assert_eq!(reach(address), want, "{address}");
        }
    }

    #[test]
    fn each_permission_opens_only_its_own_range() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("address");
        let closed = Egress::default();
        let dev = Egress { loopback: true, private: false };
        let internal = Egress { loopback: false, private: true };
        let open = Egress { loopback: true, private: true };
        assert!(closed.allows(ip("8.8.8.8")));
        assert!(
            !closed.allows(ip("127.0.0.1")) && dev.allows(ip("127.0.0.1")) && !internal.allows(ip("::1"))
        );
        assert!(
            !closed.allows(ip("10.0.0.1")) && !dev.allows(ip("10.0.0.1")) && internal.allows(ip("10.0.0.1"))
        );
        assert!(!open.allows(ip("169.254.169.254")), "no permission opens the metadata service");
    }

    #[tokio::test]
    async fn the_resolver_drops_refused_addresses_and_fails_a_name_left_without_any() {
        let name = |s: &str| s.parse::<Name>().expect("name");
        let refused = FilteringResolver::new(Egress::default()).resolve(name("localhost")).await;
        let error = refused.err().expect("localhost resolves only to loopback");
        assert!(refusal(error.as_ref()).is_some_and(|r| r.0.contains("localhost resolves to no address")));
        let addrs: Vec<SocketAddr> = FilteringResolver::new(Egress { loopback: true, private: false })
            .resolve(name("localhost"))
            .await
            .expect("allowed")
            .collect();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}
