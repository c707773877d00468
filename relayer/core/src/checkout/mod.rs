//! The hosted checkout page: `GET /checkout/{sessionId}?cs=<clientSecret>` (`&layout=embed` for iframes
//! and WebViews, `&theme=light|dark`, `&returnUrl=`), with every asset served from here (`/checkout/assets/…`,
//! and QR codes rendered as SVG by `/checkout/qr.svg`): no CDN, no third-party request, so a self-hoster's
//! payers are never tracked. The only foreign request a page may make is for the session's `themeCssUrl`,
//! and the Content-Security-Policy allows exactly that, as a stylesheet only.
//!
//! The page is static HTML plus a small script that uses the public API with the client secret alone; the
//! server only embeds what the API does not say: which of `display.paymentOptions` this deployment can
//! serve, in their order and grouping, and the chains and tokens each can pay with.

use std::fmt::Write as _;

use askama::Template;
use axum::{
    extract::{Path, RawQuery, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use relayer_types::{Family, PaymentOption, Session};
use serde::Serialize;

use crate::api::{AppState, auth::check_client_secret, json::query_params};

const SCRIPT: &str = include_str!("assets/checkout.js");
const STYLE: &str = include_str!("assets/checkout.css");
const DARK_STYLE: &str = include_str!("assets/checkout-dark.css");
/// The `media` of the dark palette's link when the URL does not choose a theme.
const DARK_BY_PREFERENCE: &str = "(prefers-color-scheme: dark)";
const ICON: &str = include_str!("assets/icon.svg");

/// Longest text a QR code is made of.
const MAX_QR_DATA: usize = 512;

/// Checkout settings.
#[derive(Debug, Clone, Default)]
pub struct CheckoutSettings {
    /// Origins allowed to frame the page (CSP `frame-ancestors`); none: it cannot be framed.
    pub frame_ancestors: Vec<String>,
}

/// One payment option as the page shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ShownOption {
    /// The `paymentOptions` name.
    pub name: String,
    /// `evm`, `tron` or `solana`: how it is paid.
    pub kind: &'static str,
    /// What the button says.
    pub label: String,
    /// The line under it.
    pub detail: String,
}

/// A chain and token the session can be paid with.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct PayChain {
    chain_id: u64,
    chain_name: String,
    family: &'static str,
    token_address: String,
    token_symbol: String,
    decimals: u8,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageConfig<'a> {
    session_id: String,
    groups: Vec<Vec<ShownOption>>,
    chains: Vec<PayChain>,
    return_url: Option<&'a str>,
    parent_origin: Option<String>,
}

/// The page (`assets/checkout.html`), rendered in one pass: each value goes in as it is and is escaped
/// for where it lands (HTML text and attributes by askama, the script's JSON by [`ScriptJson`]), so
/// nothing a value contains is ever read as markup or as part of the template.
#[derive(askama::Template)]
#[template(path = "checkout.html")]
struct Page<'a> {
    /// The session's `display.title`.
    title: &'a str,
    /// The dark palette link's `media`.
    dark_media: &'a str,
    /// The session's theme stylesheet, an http(s) URL.
    theme_url: Option<&'a str>,
    /// `page` or `embed`.
    layout: &'a str,
    /// What the page's script reads.
    config: ScriptJson,
}

/// A value as JSON that can sit inside a `<script>` element: `<`, `>`, `&`, `'`, U+2028 and U+2029 are
/// written as `\uXXXX` escapes. They can only occur inside JSON strings, where the escape means the same
/// character, so the text parses to the same value and can neither end the element (`</script>`) nor
/// open a comment (`<!--`). Not for attributes: `"` stays as it is.
struct ScriptJson(String);

impl ScriptJson {
    fn of(value: &impl Serialize) -> serde_json::Result<Self> {
        let json = serde_json::to_string(value)?;
        let mut out = String::with_capacity(json.len());
        for c in json.chars() {
            match c {
                '<' | '>' | '&' | '\'' | '\u{2028}' | '\u{2029}' => {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        Ok(Self(out))
    }
}

impl std::fmt::Display for ScriptJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a `paymentOptions` name is paid here, if this relayer can serve it at all (exchanges, fiat and
/// payment apps cannot be: they are not shown).
fn kind_of(name: &str) -> Option<(Family, &'static str)> {
    Some(match name {
        "AllAddresses" | "ExternalChains" => (Family::Evm, "Send from any wallet or exchange"),
        "AllWallets" | "ConnectedWallet" | "AutoconnectInjectedWallets" => (Family::Evm, "Browser wallet"),
        "MetaMask" | "Rainbow" | "Rabby" | "Zerion" | "Trust" | "BaseApp" | "OKX" | "Bitget" => {
            (Family::Evm, "")
        }
        "Tron" => (Family::Tron, "Tron"),
        "Solana" => (Family::Solana, "Solana wallet"),
        "Phantom" | "Solflare" | "Backpack" => (Family::Solana, ""),
        _ => return None,
    })
}

/// The options shown for `options` (the session's `display.paymentOptions`, or a default order), in
/// their order and grouping, keeping only those a chain in `payable` (the families that can pay the
/// session) can serve. A name appears once.
pub fn shown_options(
    options: Option<&[PaymentOption]>,
    payable: &[(Family, String)],
) -> Vec<Vec<ShownOption>> {
    let default = [
        PaymentOption::One("AllAddresses".into()),
        PaymentOption::One("Tron".into()),
        PaymentOption::One("Solana".into()),
    ];
    let options = options.unwrap_or(&default);
    let mut seen = std::collections::HashSet::new();
    let mut groups = vec![];
    for entry in options {
        let names = match entry {
            PaymentOption::One(name) => std::slice::from_ref(name),
            PaymentOption::Group(names) => names.as_slice(),
        };
        let group: Vec<ShownOption> = names
            .iter()
            .filter_map(|name| {
                let (family, label) = kind_of(name)?;
                let chains: Vec<&str> =
                    payable.iter().filter(|(f, _)| *f == family).map(|(_, n)| n.as_str()).collect();
                if chains.is_empty() || !seen.insert(name.clone()) {
                    return None;
                }
                Some(ShownOption {
                    name: name.clone(),
                    kind: family.as_str(),
                    label: if label.is_empty() { name.clone() } else { label.to_owned() },
                    detail: chains.join(", "),
                })
            })
            .collect();
        if !group.is_empty() {
            groups.push(group);
        }
    }
    groups
}

/// An http(s) URL's origin (`https://host:port`), for the CSP.
fn origin(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.origin().ascii_serialization())
}

/// The page's Content-Security-Policy: everything from this origin only, the theme's origin for styles
/// only, framing by the configured origins only.
fn csp(theme_origin: Option<&str>, frame_ancestors: &[String]) -> String {
    let styles = theme_origin.map_or_else(|| "'self'".to_owned(), |o| format!("'self' {o}"));
    let frames = if frame_ancestors.is_empty() { "'none'".to_owned() } else { frame_ancestors.join(" ") };
    format!(
        "default-src 'none'; script-src 'self'; style-src {styles}; img-src 'self'; connect-src 'self'; \
         font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {frames}"
    )
}

/// The page shown instead of the checkout (`assets/checkout-error.html`).
#[derive(askama::Template)]
#[template(path = "checkout-error.html")]
struct ErrorPage<'a> {
    /// What went wrong, as text.
    message: &'a str,
    /// The dark palette link's `media`.
    dark_media: &'a str,
}

fn page_error(status: StatusCode, message: &str) -> Response {
    // Rendering into a String cannot fail: the only error a template can return is its writer's.
    let body = ErrorPage { message, dark_media: DARK_BY_PREFERENCE }.render().unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body)
        .into_response()
}

/// `GET /checkout/{id}?cs=…&layout=&theme=&returnUrl=&parentOrigin=`.
pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Ok(query) = query_params(raw.as_deref()) else {
        return page_error(StatusCode::BAD_REQUEST, "This checkout link is malformed.");
    };
    serve(&state, &id, &query)
}

/// `GET /webview?session=…&cs=…&layout=&parentOrigin=&locale=&theme=`: the same page at the URL Daimo's
/// SDK builds for its hosted flow (`DaimoFrame` loads `${baseUrl}/webview?…`). `locale` is accepted and
/// not used (the page is in English).
pub async fn webview(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let Ok(query) = query_params(raw.as_deref()) else {
        return page_error(StatusCode::BAD_REQUEST, "This checkout link is malformed.");
    };
    let id = query.get("session").cloned().unwrap_or_default();
    serve(&state, &id, &query)
}

fn serve(state: &AppState, id: &str, query: &std::collections::HashMap<String, String>) -> Response {
    let session = match id.parse().ok().map(|id| state.engine.session(&id)) {
        Some(Ok(session)) => session,
        Some(Err(crate::engine::EngineError::NotFound)) | None => {
            return page_error(StatusCode::NOT_FOUND, "No payment session with this id.");
        }
        Some(Err(error)) => {
            tracing::error!(error = %relayer_util::causes(&error), "checkout page: session unavailable");
            return page_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The payment session cannot be loaded right now.",
            );
        }
    };
    if check_client_secret(&session, query.get("cs").map_or("", String::as_str)).is_err() {
        return page_error(StatusCode::UNAUTHORIZED, "This checkout link is not valid for this session.");
    }
    let return_url = query.get("returnUrl").map(String::as_str).filter(|u| origin(u).is_some());
    render(state, &session, query, return_url)
}

/// The origin the page may tell about the session (`parentOrigin`), if the deployment lets it frame the
/// page: messages go to that origin only, never to `*`. Another origin could read them only by framing
/// the page, which the CSP's `frame-ancestors` already refuses it.
fn parent_origin(given: Option<&String>, frame_ancestors: &[String]) -> Option<String> {
    let given = origin(given?)?;
    frame_ancestors.iter().any(|allowed| origin(allowed).as_deref() == Some(given.as_str())).then_some(given)
}

fn render(
    state: &AppState,
    session: &Session,
    query: &std::collections::HashMap<String, String>,
    return_url: Option<&str>,
) -> Response {
    let options = state.engine.token_options(session);
    let payable: Vec<(Family, String)> =
        options.iter().map(|(chain, _)| (chain.key().family, chain.name().to_owned())).collect();
    let chains = options
        .iter()
        .map(|(chain, token)| PayChain {
            chain_id: chain.chain_id(),
            chain_name: chain.name().to_owned(),
            family: chain.key().family.as_str(),
            token_address: token.address.to_string(),
            token_symbol: token.symbol.clone(),
            decimals: token.decimals,
        })
        .collect();
    let config = PageConfig {
        session_id: session.id.to_string(),
        groups: shown_options(session.display.payment_options.as_deref(), &payable),
        chains,
        return_url,
        parent_origin: parent_origin(query.get("parentOrigin"), &state.checkout.frame_ancestors),
    };
    // The dark palette applies with the browser's preference, unless the URL forces a theme.
    let dark_media = match query.get("theme").map(String::as_str) {
        Some("light") => "not all",
        Some("dark") => "all",
        _ => DARK_BY_PREFERENCE,
    };
    let layout = if query.get("layout").is_some_and(|l| l == "embed") { "embed" } else { "page" };
    let theme_url = session.display.theme_css_url.as_deref().filter(|u| origin(u).is_some());
    let rendered = ScriptJson::of(&config).map_err(askama::Error::custom).and_then(|config| {
        Page { title: &session.display.title, dark_media, theme_url, layout, config }.render()
    });
    let html = match rendered {
        Ok(html) => html,
        Err(error) => {
            tracing::error!(%error, "checkout page: rendering failed");
            return page_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The checkout page cannot be shown right now.",
            );
        }
    };
    let policy = csp(theme_url.and_then(origin).as_deref(), &state.checkout.frame_ancestors);
    let mut response =
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], html)
            .into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    // The URL carries the client secret: never send it on as a Referer (to the theme's host, say).
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `GET /checkout/assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "checkout.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "checkout.css" => (STYLE, "text/css; charset=utf-8"),
        "checkout-dark.css" => (DARK_STYLE, "text/css; charset=utf-8"),
        "icon.svg" => (ICON, "image/svg+xml"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// `GET /checkout/qr.svg?data=`: the QR code of `data` (at most 512 characters) as SVG, made here.
pub async fn qr(RawQuery(raw): RawQuery) -> Response {
    let data = query_params(raw.as_deref()).ok().and_then(|q| q.get("data").cloned()).unwrap_or_default();
    if data.is_empty() || data.len() > MAX_QR_DATA {
        return (StatusCode::BAD_REQUEST, "data: 1 to 512 characters").into_response();
    }
    match qr_svg(&data) {
        Some(svg) => {
            ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=3600")], svg)
                .into_response()
        }
        None => (StatusCode::BAD_REQUEST, "data cannot be encoded").into_response(),
    }
}

/// `data` as a QR code (error correction M, 4-module quiet zone) in SVG, one `rect.dot` per dark module,
/// so the page's `--daimo-qr-dot` colours it.
pub fn qr_svg(data: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M).ok()?;
    let width = code.width();
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>"
    );
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = (i % width + quiet, i / width + quiet);
            svg.push_str(&format!("<rect class=\"dot\" x=\"{x}\" y=\"{y}\" width=\"1\" height=\"1\"/>"));
        }
    }
    svg.push_str("</svg>");
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(groups: &[Vec<ShownOption>]) -> Vec<Vec<&str>> {
        groups.iter().map(|g| g.iter().map(|o| o.name.as_str()).collect()).collect()
    }

    #[test]
    fn options_keep_the_sessions_order_and_groups_and_drop_what_cannot_be_served() {
        let payable = [
            (Family::Evm, "Base".to_owned()),
            (Family::Evm, "Arbitrum".to_owned()),
            (Family::Solana, "Solana".to_owned()),
        ];
        let options = [
            PaymentOption::One("Solana".into()),
            PaymentOption::Group(vec!["MetaMask".into(), "Coinbase".into(), "Rabby".into()]),
            PaymentOption::One("Tron".into()),
            PaymentOption::One("ApplePay".into()),
            PaymentOption::One("MetaMask".into()),
        ];
        let shown = shown_options(Some(&options), &payable);
        assert_eq!(names(&shown), [vec!["Solana"], vec!["MetaMask", "Rabby"]]);
        assert_eq!(shown[1][0].detail, "Base, Arbitrum");
        let default = shown_options(None, &payable);
        assert_eq!(names(&default), [vec!["AllAddresses"], vec!["Solana"]]);
    }

    #[test]
    fn the_policy_allows_the_theme_origin_for_styles_only() {
        let policy = csp(Some("https://theme.example"), &[]);
        assert!(policy.contains("style-src 'self' https://theme.example;"), "{policy}");
        assert!(policy.contains("script-src 'self';") && policy.contains("connect-src 'self';"));
        assert!(policy.ends_with("frame-ancestors 'none'"));
        assert!(
            csp(None, &["https://shop.example".into()]).ends_with("frame-ancestors https://shop.example")
        );
        assert_eq!(origin("javascript:alert(1)"), None);
    }

    #[test]
    fn the_error_page_shows_its_message_as_text() {
        let html = ErrorPage { message: "<b a=\"x\">&'", dark_media: DARK_BY_PREFERENCE }.render();
        let html = html.expect("renders");
        assert!(html.contains("<p>&#60;b a=&#34;x&#34;&#62;&#38;&#39;</p>"), "{html}");
        assert!(html.contains("media=\"(prefers-color-scheme: dark)\""), "{html}");
    }

    /// `text` with its character references decoded (named ones the escapers use, and decimal ones).
    fn unescape(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('&') {
            out.push_str(&rest[..at]);
            let end = rest[at..].find(';').map_or(rest.len(), |e| at + e);
            let entity = &rest[at + 1..end];
            let decoded = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                _ => entity.strip_prefix('#').and_then(|n| n.parse().ok()).and_then(char::from_u32),
            };
            out.push(decoded.unwrap_or('\u{fffd}'));
            rest = &rest[(end + 1).min(rest.len())..];
        }
        out + rest
    }

    /// The text between the first `open` and the `close` after it, and how often `open` occurs.
    fn between<'h>(html: &'h str, open: &str, close: &str) -> (&'h str, usize) {
        let start = html.find(open).map_or(html.len(), |i| i + open.len());
        let end = html[start..].find(close).map_or(html.len(), |i| start + i);
        (&html[start..end], html.matches(open).count())
    }

    #[test]
    fn every_value_lands_once_and_literally_whatever_it_contains() {
        // The markers the page template once used, and markup, in everything the page interpolates.
        let title = "Pay {{THEME_LINK}}{{CONFIG}}{{TITLE}} <b>\"Bob's\" & co</b>";
        let theme = "https://theme.example/{{LAYOUT}}.css?a=1&b=\"><script>x</script>";
        let back = "https://shop.example/</script><!--{{TITLE}}{{CONFIG}}&x='1'\u{2028}\u{2029}>";
        let page = Page {
            title,
            dark_media: DARK_BY_PREFERENCE,
            theme_url: Some(theme),
            layout: "embed",
            config: ScriptJson::of(&PageConfig {
                session_id: "00".repeat(16),
                groups: vec![],
                chains: vec![],
                return_url: Some(back),
                parent_origin: None,
            })
            .expect("serializes"),
        };
        let html = page.render().expect("renders");

        let (shown, titles) = between(&html, "<title>", "</title>");
        assert_eq!(titles, 1, "{html}");
        assert!(!shown.contains(['<', '>', '"', '\'']), "{shown}");
        assert_eq!(unescape(shown), title);

        let link = "<link rel=\"stylesheet\" href=\"https://theme.example/";
        let (href, links) = between(&html, link, "\">");
        assert_eq!(links, 1, "{html}");
        assert!(!href.contains(['<', '>', '"', '\'']), "{href}");
        assert_eq!(unescape(&format!("https://theme.example/{href}")), theme);

        let (config, configs) =
            between(&html, "<script type=\"application/json\" id=\"checkout-config\">", "</script>");
        assert_eq!(configs, 1, "{html}");
        assert!(!config.contains(['<', '>', '&', '\'', '\u{2028}', '\u{2029}']), "{config}");
        let read: serde_json::Value = serde_json::from_str(config).unwrap_or_default();
        assert_eq!(read["returnUrl"], back, "{config}");
        assert_eq!(read["sessionId"], "00".repeat(16));

        assert!(html.contains("<body data-layout=\"embed\">"), "{html}");
        assert!(html.contains(&format!("media=\"{DARK_BY_PREFERENCE}\">")), "{html}");
        assert_eq!(html.matches("<script").count(), 2, "{html}");
    }

    /// The attack: a page that frames the checkout names itself (or `*`) as `parentOrigin` to be told
    /// when the session is paid. Only an origin the deployment lets frame the page is ever named.
    #[test]
    fn only_an_origin_allowed_to_frame_the_page_is_told_about_it() {
        let allowed = ["https://shop.example".to_owned(), "http://localhost:5173".to_owned()];
        let named = |given: &str| parent_origin(Some(&given.to_owned()), &allowed);
        assert_eq!(named("https://shop.example"), Some("https://shop.example".into()));
        assert_eq!(
            named("HTTPS://SHOP.example:443/"),
            Some("https://shop.example".into()),
            "the same origin"
        );
        assert_eq!(named("http://localhost:5173"), Some("http://localhost:5173".into()));
        for refused in [
            "*",
            "null",
            "",
            "https://evil.example",
            "http://shop.example",
            "https://shop.example:8443",
            "https://shop.example.evil.example",
            "javascript:alert(1)",
            "http://localhost:5174",
        ] {
            assert_eq!(named(refused), None, "{refused}");
        }
        assert_eq!(parent_origin(None, &allowed), None);
        assert_eq!(parent_origin(Some(&"https://shop.example".to_owned()), &[]), None, "framing refused");
    }

    #[test]
    fn qr_codes_are_svg_with_a_quiet_zone() {
        let svg =
            qr_svg("ethereum:0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913@8453/transfer?address=0x1&uint256=1")
                .unwrap_or_default();
        assert!(svg.starts_with("<svg") && svg.contains("class=\"dot\""), "{svg}");
    }
}
