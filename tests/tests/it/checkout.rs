//! The hosted checkout page in a real headless Chromium against a real relayer and anvil: the page
//! follows real deposits through every status, shows the options in the session's order, its receiver
//! and QR code (decoded with a real QR decoder) say exactly what the API says, the theme CSS applies,
//! nothing is fetched from anywhere but the relayer (and the theme), no console errors, no API key, and
//! axe-core finds no serious accessibility violation. Screenshots of the main states go to
//! `target/checkout-screenshots/`.

use std::path::PathBuf;

use alloy::{primitives::Address, sol_types::SolCall};
use e2e::{
    API_KEY, Api, Auth, Chain, DEST, Relayer, Settings,
    browser::{Browser, Page, decode_qr_svg},
    session_body, usdc,
};
use relayer_devnet::BASE_USDC;
use reqwest::Method;
use serde_json::{Value, json};

type Result = eyre::Result<()>;

/// Collects the host messages the page sends (Daimo's React Native transport, which it tries first).
const HOST: &str = "window.__host = []; window.ReactNativeWebView = { postMessage: (m) => window.__host.push(JSON.parse(m)) };";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn shot_path(name: &str) -> PathBuf {
    root().join("target/checkout-screenshots").join(format!("{name}.png"))
}

/// A stylesheet on another origin, as an integrator's `themeCssUrl`.
async fn theme_server() -> eyre::Result<String> {
    let css = ":root { --daimo-title: rgb(200, 0, 0); --daimo-radius-xl: 4px; }\n\
               @media (prefers-color-scheme: dark) { :root { --daimo-title: rgb(255, 170, 170); } }";
    let app = axum::Router::new().route(
        "/theme.css",
        axum::routing::get(move || async move { ([("content-type", "text/css")], css) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/theme.css", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

fn checkout_url(api: &Api, session: &Value, extra: &str) -> String {
    let id = session["sessionId"].as_str().unwrap_or_default();
    let secret = session["clientSecret"].as_str().unwrap_or_default();
    format!("{}/checkout/{id}?cs={secret}{extra}", api.base)
}

async fn status_is(page: &Page<'_>, status: &str, secs: u64) -> Result {
    page.wait_for(&format!("document.body.dataset.status === {status:?}"), secs).await
}

/// axe-core (pinned in package.json) over the page as it is: the serious and critical WCAG A/AA violations.
/// `preload: false`: axe would otherwise fetch the stylesheets itself, which the page's CSP rightly blocks.
async fn accessibility_violations(page: &Page<'_>) -> eyre::Result<Vec<String>> {
    let axe = std::fs::read_to_string(root().join("node_modules/axe-core/axe.min.js"))?;
    page.eval(&format!("{axe};true")).await?;
    let found = page
        .eval(
            "axe.run(document, { preload: false, runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })\
             .then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')\
             .map(v => v.id + ': ' + JSON.stringify(v.nodes.map(n => n.target))))",
        )
        .await?;
    Ok(serde_json::from_value(found)?)
}

/// Everything the page asked for stayed on the relayer's origin (the theme CSS aside), never carried an
/// `Authorization` header, and nothing went wrong in its console.
fn assert_clean(page: &Page<'_>, origin: &str, theme: Option<&str>) {
    let log = page.log();
    for (url, authorised) in &log.requests {
        let allowed = url.starts_with(origin) || Some(url.as_str()) == theme;
        assert!(allowed, "a request left the relayer's origin: {url}");
        assert!(!authorised, "the page sent an Authorization header to {url}");
    }
    assert!(log.errors.is_empty(), "console errors: {:#?}", log.errors);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_follows_a_real_deposit_through_processing_to_delivered() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let theme = theme_server().await?;
    let mut body = session_body(DEST, Some("10.00"), None, None);
    body["display"]["paymentOptions"] =
        json!(["ApplePay", ["Rabby", "Coinbase", "MetaMask"], "AllAddresses", "Solana"]);
    body["display"]["themeCssUrl"] = theme.clone().into();
    let session = relayer.api.create(&body).await?;
    let id = session["sessionId"].as_str().unwrap_or_default().to_owned();
    let browser = Browser::launch().await?;
    let mut page = browser.page(1280, 900, false, false, HOST).await?;
    page.goto(&checkout_url(&relayer.api, &session, "")).await?;
    page.wait_for("document.querySelector('#options')", 15).await?;

    // Options: the session's order and grouping; what this deployment cannot serve is not shown.
    let order = page
        .eval("[...document.querySelectorAll('#options .group')].map(g => [...g.querySelectorAll('.option')].map(b => b.dataset.option))")
        .await?;
    assert_eq!(order, json!([["Rabby", "MetaMask"], ["AllAddresses"]]));
    assert_eq!(page.eval("document.querySelector('h2').textContent").await?, "Deposit with");
    assert_eq!(page.eval("document.querySelector('.amount').textContent").await?, "10.00 USDC");
    // The theme redefines custom properties: computed colours change.
    assert_eq!(page.eval("getComputedStyle(document.querySelector('h1')).color").await?, "rgb(200, 0, 0)");
    page.screenshot(&shot_path("options-light-desktop")).await?;
    let violations = accessibility_violations(&page).await?;
    assert!(violations.is_empty(), "{violations:?}");

    // Paying to an address: the page sets the method with the client secret and shows the receiver.
    page.click("[data-option=Rabby]").await?;
    page.wait_for("document.querySelector('#chains')", 10).await?;
    page.click("[data-chain='8453']").await?;
    page.wait_for("document.querySelector('#receiver')", 15).await?;
    let receiver = relayer.api.get(&id).await?["paymentMethod"]["receiverAddress"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(page.eval("document.querySelector('#receiver').textContent").await?, receiver.as_str());
    let src = page.eval("document.querySelector('img.qr').getAttribute('src')").await?;
    let svg =
        relayer.api.send(Method::GET, src.as_str().unwrap_or_default(), None, None, Auth::None).await?.text;
    let expected =
        format!("ethereum:{}@8453/transfer?address={receiver}&uint256=10000000", BASE_USDC.to_checksum(None));
    assert_eq!(decode_qr_svg(&svg)?, expected, "the QR code is the EIP-681 request for this payment");
    page.screenshot(&shot_path("waiting-light-desktop")).await?;

    // A real deposit, mined on its own; the settlement then waits in the mempool (no automine) while the
    // page shows the deposit detected.
    let deposit = chain.pay_unmined(receiver.parse::<Address>()?, usdc(10)).await?; // automine now off
    chain.mine().await?;
    status_is(&page, "processing", 20).await?;
    let shown = page.eval("document.body.innerText").await?;
    assert!(
        shown.as_str().is_some_and(|t| t.contains("Deposit detected") && t.contains(&deposit.to_string())),
        "{shown}"
    );
    page.screenshot(&shot_path("processing-light-desktop")).await?;
    chain.set_automine(true).await?;
    chain.mine().await?;
    status_is(&page, "succeeded", 30).await?;
    let done = relayer.api.get(&id).await?;
    let delivery = done["destination"]["delivery"]["txHash"].as_str().unwrap_or_default();
    let text = page.eval("document.body.innerText").await?;
    assert!(
        text.as_str()
            .is_some_and(|t| t.contains("Delivered") && t.contains(delivery) && t.contains("10.00 USDC")),
        "{text}"
    );
    assert_eq!(page.eval("!!document.querySelector('#mismatch')").await?, false, "the exact amount arrived");
    page.screenshot(&shot_path("succeeded-light-desktop")).await?;
    let violations = accessibility_violations(&page).await?;
    assert!(violations.is_empty(), "{violations:?}");

    // Host messages, in Daimo's names and order.
    let host = page.eval("window.__host.map(m => m.type).filter(t => t !== 'contentHeightChanged')").await?;
    assert_eq!(host, json!(["ready", "paymentStarted", "paymentCompleted"]));
    let height =
        page.eval("window.__host.find(m => m.type === 'contentHeightChanged').payload.height").await?;
    assert!(height.as_u64().is_some_and(|h| h > 100), "{height}");
    let origin = relayer.api.base.clone();
    assert_clean(&page, &origin, Some(&theme));
    let html = page.eval("document.documentElement.outerHTML").await?;
    assert!(!html.as_str().unwrap_or_default().contains(API_KEY), "the API key never reaches the page");

    // Dark, on a phone: the system scheme, and the `theme` parameter over a light system.
    let mut dark = browser.page(360, 740, true, true, "").await?;
    dark.goto(&checkout_url(&relayer.api, &session, "")).await?;
    status_is(&dark, "succeeded", 15).await?;
    let background = "getComputedStyle(document.body).backgroundColor";
    assert_eq!(dark.eval(background).await?, "rgb(15, 17, 21)");
    let title = "getComputedStyle(document.querySelector('h1')).color";
    assert_eq!(dark.eval(title).await?, "rgb(255, 170, 170)", "the theme wins in the dark scheme too");
    dark.screenshot(&shot_path("succeeded-dark-phone")).await?;
    let violations = accessibility_violations(&dark).await?;
    assert!(violations.is_empty(), "{violations:?}");
    let mut forced = browser.page(360, 740, true, false, "").await?;
    forced.goto(&checkout_url(&relayer.api, &session, "&theme=dark&layout=embed")).await?;
    status_is(&forced, "succeeded", 15).await?;
    assert_eq!(forced.eval(background).await?, "rgba(0, 0, 0, 0)", "embedded: transparent body");
    assert_eq!(
        forced.eval("getComputedStyle(document.querySelector('main')).backgroundColor").await?,
        "rgb(24, 27, 33)"
    );
    // And `theme=light` over a dark system.
    let mut light = browser.page(360, 740, true, true, "").await?;
    light.goto(&checkout_url(&relayer.api, &session, "&theme=light")).await?;
    status_is(&light, "succeeded", 15).await?;
    assert_eq!(light.eval(background).await?, "rgb(244, 245, 247)");
    assert_clean(&dark, &origin, Some(&theme));
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bounced_short_paid_and_expired_sessions_are_shown_honestly() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let short_lived =
        Relayer::start(&chain, Settings { session_lifetime_secs: 4, ..Settings::default() }).await?;
    let browser = Browser::launch().await?;

    // Bounced: the final call reverts; the page says the funds went back, with the refund's tx.
    let bounced = relayer.api.create(&chain.bouncing_session_body("5.00").await?.0).await?;
    let receiver = relayer.api.set_evm(&bounced).await?;
    chain.pay(receiver, usdc(5)).await?;
    let mut page = browser.page(360, 740, true, false, "").await?;
    page.goto(&checkout_url(&relayer.api, &bounced, "")).await?;
    status_is(&page, "bounced", 30).await?;
    let refund = relayer.api.get(bounced["sessionId"].as_str().unwrap_or_default()).await?;
    let refund_tx = refund["destination"]["delivery"]["txHash"].as_str().unwrap_or_default();
    let text = page.eval("document.body.innerText").await?;
    assert!(
        text.as_str().is_some_and(|t| t.contains("returned to the refund address") && t.contains(refund_tx)),
        "{text}"
    );
    page.screenshot(&shot_path("bounced-light-phone")).await?;
    let violations = accessibility_violations(&page).await?;
    assert!(violations.is_empty(), "{violations:?}");

    // Paid short: nothing can start the session below its minimum, so the page says what arrived and
    // what the payer can do; the rest arrives and everything is delivered. The page is open before the
    // deposit: a short deposit changes what it says without changing the status.
    let short = relayer.api.create(&session_body(DEST, Some("10.00"), None, None)).await?;
    let receiver = relayer.api.set_evm(&short).await?;
    let mut page = browser.page(1280, 900, false, true, "").await?;
    page.goto(&checkout_url(&relayer.api, &short, "")).await?;
    page.wait_for("document.body.innerText.includes('Waiting for your deposit')", 30).await?;
    chain.pay(receiver, usdc(7)).await?;
    page.wait_for("(document.querySelector('#partial') || {}).textContent", 30).await?;
    let partial = page.eval("document.querySelector('#partial').textContent").await?;
    assert_eq!(
        partial,
        "Received 7.00 USDC of the 10.00 requested, not enough to deliver yet: send the rest to the same address before the session expires, or what arrived is returned to you after it expires."
    );
    assert_eq!(
        relayer.api.get(short["sessionId"].as_str().unwrap_or_default()).await?["status"],
        "waiting_payment"
    );
    page.screenshot(&shot_path("waiting-partial-dark-desktop")).await?;
    chain.pay(receiver, usdc(3)).await?;
    status_is(&page, "succeeded", 30).await?;
    let received = page.eval("document.body.innerText").await?;
    assert!(received.as_str().is_some_and(|t| t.contains("10.00 USDC")), "{received}");

    // Expired: a countdown, then the page says so.
    let expiring = short_lived.api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
    let mut page = browser.page(1280, 900, false, true, "").await?;
    page.goto(&checkout_url(&short_lived.api, &expiring, "")).await?;
    page.wait_for("(document.querySelector('#countdown') || {}).textContent", 10).await?;
    status_is(&page, "expired", 20).await?;
    page.screenshot(&shot_path("expired-dark-desktop")).await?;
    let violations = accessibility_violations(&page).await?;
    assert!(violations.is_empty(), "{violations:?}");
    assert_clean(&page, &short_lived.api.base, None);

    // The page itself: a wrong secret is refused; the policy forbids framing and foreign scripts.
    let bad = relayer
        .api
        .send(
            Method::GET,
            &format!("/checkout/{}?cs={}", bounced["sessionId"].as_str().unwrap_or_default(), "0".repeat(32)),
            None,
            None,
            Auth::None,
        )
        .await?;
    assert_eq!(bad.status, 401);
    let good = relayer
        .api
        .send(
            Method::GET,
            &checkout_url(&relayer.api, &short, "").replace(&relayer.api.base, ""),
            None,
            None,
            Auth::None,
        )
        .await?;
    let policy =
        good.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(policy.contains("script-src 'self'") && policy.ends_with("frame-ancestors 'none'"), "{policy}");
    assert_eq!(good.headers.get("referrer-policy").and_then(|v| v.to_str().ok()), Some("no-referrer"));
    relayer.node.shutdown().await;
    short_lived.node.shutdown().await;
    Ok(())
}

/// An injected EIP-1193 wallet that hands every transaction to the test: `eth_sendTransaction` waits
/// until the test sends it for real and answers with its hash.
const WALLET: &str = r#"
window.__tx = null;
window.ethereum = {
  request: async ({ method, params }) => {
    if (method === "eth_requestAccounts") return ["0x00000000000000000000000000000000000000aa"];
    if (method === "wallet_switchEthereumChain") { window.__chain = params[0].chainId; return null; }
    if (method === "eth_sendTransaction") {
      window.__tx = params[0];
      return await new Promise((resolve) => { window.__sent = resolve; });
    }
    throw new Error("unsupported " + method);
  },
};
"#;

#[tokio::test(flavor = "multi_thread")]
async fn an_injected_wallet_pays_the_receiver_in_one_click() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let session = relayer.api.create(&session_body(DEST, Some("3.50"), None, None)).await?;
    let browser = Browser::launch().await?;
    let mut page = browser.page(1280, 900, false, false, WALLET).await?;
    page.goto(&checkout_url(&relayer.api, &session, "")).await?;
    page.wait_for("document.querySelector('#options')", 15).await?;
    page.click("[data-option=AllAddresses]").await?;
    page.wait_for("document.querySelector('#chains')", 10).await?;
    page.click("[data-chain='8453']").await?;
    page.wait_for("document.querySelector('#wallet')", 15).await?;
    page.click("#wallet").await?;
    page.wait_for("window.__tx", 10).await?;

    // The wallet was asked for exactly the ERC-20 transfer the session needs, on its chain.
    let tx = page.eval("window.__tx").await?;
    assert_eq!(page.eval("window.__chain").await?, "0x2105");
    assert_eq!(tx["to"].as_str().map(str::to_lowercase), Some(BASE_USDC.to_string().to_lowercase()));
    let receiver = page.eval("document.querySelector('#receiver').textContent").await?;
    let receiver: Address = receiver.as_str().unwrap_or_default().parse()?;
    let data = alloy::hex::decode(tx["data"].as_str().unwrap_or_default())?;
    let call = relayer_devnet::bindings::TestUSDC::transferCall::abi_decode(&data)?;
    assert_eq!((call.to, call.amount), (receiver, usdc(3) + usdc(1) / alloy::primitives::U256::from(2)));
    let hash = chain.pay(receiver, call.amount).await?;
    page.eval(&format!("window.__sent({:?}); true", hash.to_string())).await?;
    status_is(&page, "succeeded", 30).await?;
    let text = page.eval("document.body.innerText").await?;
    assert!(
        text.as_str().is_some_and(|t| t.contains("3.50 USDC") && t.contains(&hash.to_string())),
        "{text}"
    );
    assert_clean(&page, &relayer.api.base, None);

    // An open amount: the payer enters it, bounded by the token's decimals, and the QR code asks for it.
    let open = relayer.api.create(&session_body(DEST, None, None, None)).await?;
    let mut page = browser.page(360, 740, true, false, "").await?;
    page.goto(&checkout_url(&relayer.api, &open, "")).await?;
    page.wait_for("document.querySelector('#amount')", 15).await?;
    let typed = |text: &str| {
        format!(
            "(() => {{ const i = document.querySelector('#amount'); i.value = {text:?}; i.dispatchEvent(new Event('input')); return document.querySelector('#amount-hint').textContent; }})()"
        )
    };
    assert_eq!(page.eval(&typed("2.1234567")).await?, "Enter an amount with at most 6 decimals");
    assert_eq!(page.eval(&typed("2.5")).await?, "At most 6 decimals");
    page.click("[data-option=AllAddresses]").await?;
    page.wait_for("document.querySelector('#chains')", 10).await?;
    page.click("[data-chain='8453']").await?;
    page.wait_for("document.querySelector('img.qr')", 15).await?;
    let uri = page.eval("document.querySelector('img.qr').dataset.uri").await?;
    assert!(uri.as_str().is_some_and(|u| u.ends_with("&uint256=2500000")), "{uri}");
    page.screenshot(&shot_path("waiting-open-amount-light-phone")).await?;
    assert_clean(&page, &relayer.api.base, None);
    relayer.node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn tron_usdt_is_paid_to_the_tron_receiver_the_page_shows() -> Result {
    use relayer_devnet::multichain::{BASE, TRON};
    let chains = e2e::Chains::start(&[BASE, TRON]).await?;
    let tron = chains.get(TRON.chain_id)?;
    let dir = tempfile::tempdir()?;
    let (params, key, _) = chains.relayer_config(dir.path().join("db"), &Settings::default(), None).await?;
    let node = relayer_node::start(relayer_devnet::config(&params, &key)?).await?;
    let api = Api::new(format!("http://{}", node.addr));
    let base_usdt = BASE.usdt.ok_or_else(|| eyre::eyre!("Base USDT"))?;
    let mut body = session_body(DEST, Some("7.00"), None, None);
    body["destination"]["tokenAddress"] = base_usdt.to_checksum(None).into();
    body["display"]["paymentOptions"] = json!(["Tron", "AllAddresses"]);
    let session = api.create(&body).await?;

    let browser = Browser::launch().await?;
    let mut page = browser.page(360, 740, true, false, "").await?;
    page.goto(&checkout_url(&api, &session, "")).await?;
    page.wait_for("document.querySelector('#options')", 15).await?;
    let order =
        page.eval("[...document.querySelectorAll('#options .option')].map(b => b.dataset.option)").await?;
    assert_eq!(order, json!(["Tron", "AllAddresses"]));
    page.click("[data-option=Tron]").await?;
    page.wait_for("document.querySelector('#receiver')", 15).await?;
    let receiver = page.eval("document.querySelector('#receiver').textContent").await?;
    let receiver = receiver.as_str().unwrap_or_default().to_owned();
    let chosen = api.get(session["sessionId"].as_str().unwrap_or_default()).await?;
    assert_eq!(chosen["paymentMethod"]["receiverAddress"], receiver.as_str(), "the API's Tron receiver");
    let src = page.eval("document.querySelector('img.qr').getAttribute('src')").await?;
    let svg = api.send(Method::GET, src.as_str().unwrap_or_default(), None, None, Auth::None).await?.text;
    assert_eq!(decode_qr_svg(&svg)?, receiver, "the QR code is the TRC-20 address");
    page.screenshot(&shot_path("waiting-tron-light-phone")).await?;

    let address: relayer_types::ChainAddress = format!("tron:{receiver}").parse()?;
    let address = address.evm_shaped().ok_or_else(|| eyre::eyre!("20 bytes"))?;
    tron.pay(address, usdc(7)).await?;
    status_is(&page, "succeeded", 60).await?;
    let text = page.eval("document.body.innerText").await?;
    assert!(text.as_str().is_some_and(|t| t.contains("7.00 USDT on Tron")), "{text}");
    assert_clean(&page, &api.base, None);
    node.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_keyboard_alone_reaches_the_receiver_and_a_return_link_ends_the_flow() -> Result {
    let chain = Chain::start().await?;
    let relayer = Relayer::start(&chain, Settings::default()).await?;
    let session = relayer.api.create(&session_body(DEST, Some("1.00"), None, None)).await?;
    let browser = Browser::launch().await?;
    let mut page = browser.page(1280, 900, false, false, "").await?;
    let back = "&returnUrl=https%3A%2F%2Fshop.example%2Fthanks";
    page.goto(&checkout_url(&relayer.api, &session, back)).await?;
    page.wait_for("document.querySelector('#options')", 15).await?;
    let focused = "document.activeElement.dataset.option || document.activeElement.dataset.chain || ''";
    page.press("Tab").await?;
    assert_eq!(page.eval(focused).await?, "AllAddresses", "the first Tab lands on the first option");
    page.press("Enter").await?;
    page.wait_for("document.querySelector('#chains')", 10).await?;
    page.press("Tab").await?;
    assert_eq!(page.eval(focused).await?, "8453");
    page.press("Enter").await?;
    page.wait_for("document.querySelector('#receiver')", 15).await?;
    let receiver = page.eval("document.querySelector('#receiver').textContent").await?;
    chain.pay(receiver.as_str().unwrap_or_default().parse::<Address>()?, usdc(1)).await?;
    status_is(&page, "succeeded", 30).await?;
    let link = page.eval("(document.querySelector('a.button') || {}).href").await?;
    assert_eq!(link, "https://shop.example/thanks");

    // Only an http(s) returnUrl becomes a link.
    let mut other = browser.page(1280, 900, false, false, "").await?;
    other.goto(&checkout_url(&relayer.api, &session, "&returnUrl=javascript%3Aalert(1)")).await?;
    status_is(&other, "succeeded", 15).await?;
    assert_eq!(other.eval("!!document.querySelector('a.button')").await?, false);
    assert_clean(&page, &relayer.api.base, None);
    relayer.node.shutdown().await;
    Ok(())
}

/// A Wallet Standard Solana wallet for the account `address` that hands the transaction to the test:
/// `signAndSendTransaction` keeps the bytes (hex) in `window.__solTx` and waits until the test has
/// signed and sent them for real, then answers with the signature.
fn solana_wallet(address: &str) -> String {
    format!(
        r#"
window.__solTx = null;
(() => {{
  const account = {{ address: "{address}", publicKey: new Uint8Array(32), chains: ["solana:mainnet"], features: ["solana:signAndSendTransaction"] }};
  const wallet = {{
    version: "1.0.0", name: "Test Wallet", icon: "data:image/svg+xml;base64,PHN2Zy8+", chains: ["solana:mainnet"], accounts: [account],
    features: {{
      "standard:connect": {{ version: "1.0.0", connect: async () => ({{ accounts: [account] }}) }},
      "solana:signAndSendTransaction": {{
        version: "1.0.0", supportedTransactionVersions: ["legacy", 0],
        signAndSendTransaction: async (input) => {{
          window.__solTx = Array.from(input.transaction, (b) => b.toString(16).padStart(2, "0")).join("");
          window.__solChain = input.chain;
          const signature = await new Promise((resolve) => {{ window.__solSent = resolve; }});
          return [{{ signature: new Uint8Array(signature) }}];
        }},
      }},
    }},
  }};
  const callback = ({{ register }}) => register(wallet);
  window.addEventListener("wallet-standard:app-ready", (event) => callback(event.detail));
  window.dispatchEvent(new CustomEvent("wallet-standard:register-wallet", {{ detail: callback }}));
}})();
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_solana_wallet_signs_the_sessions_transaction_and_the_page_follows_it_to_delivered() -> Result {
    use e2e::solana::{SolanaEnv, deposit_address, sign_and_send, wallet};
    use solana_sdk::{signature::Keypair, signer::Signer};
    let env = SolanaEnv::start().await?;
    let bank = &env.bank;
    let dir = tempfile::tempdir()?;
    let (node, api) = env.relayer(dir.path(), &Settings::default()).await?;
    let merchant = Keypair::new().pubkey();
    let session = api
        .create(&json!({
            "destination": { "type": "solana", "address": merchant.to_string(), "tokenAddress": bank.usdc().to_string(), "amountUnits": "4.25" },
            "display": { "title": "Top up", "verb": "Deposit", "paymentOptions": ["Solana"] },
        }))
        .await?;
    let id = session["sessionId"].as_str().unwrap_or_default().to_owned();
    let payer = wallet(bank, 10_000_000).await?;

    let browser = Browser::launch().await?;
    let mut page = browser.page(360, 740, true, false, &solana_wallet(&payer.pubkey().to_string())).await?;
    page.goto(&checkout_url(&api, &session, "")).await?;
    page.wait_for("document.querySelector('[data-option=Solana]')", 15).await?;
    page.click("[data-option=Solana]").await?;
    page.wait_for("document.querySelector('#solana-wallet')", 15).await?;
    let label = page.eval("document.querySelector('#solana-wallet').textContent").await?;
    assert_eq!(label, "Deposit with Test Wallet");
    page.click("#solana-wallet").await?;
    page.wait_for("window.__solTx", 15).await?;

    // The page set the Solana payment method for the connected account through the public API, and asked
    // the wallet to sign the API's transaction: the payer's signature only, 4.25 USDC into the vault.
    let chosen = api.get(&id).await?;
    assert_eq!(
        (&chosen["status"], &chosen["paymentMethod"]["type"]),
        (&json!("waiting_payment"), &json!("solana"))
    );
    let hex = page.eval("window.__solTx").await?.as_str().unwrap_or_default().to_owned();
    let transaction = relayer_svm::tx::deserialize(&alloy::hex::decode(&hex)?).map_err(|e| eyre::eyre!(e))?;
    assert_eq!(transaction.message.account_keys[0], payer.pubkey(), "the wallet pays the fee and signs");
    let transfer = &transaction.message.instructions[1].data;
    assert_eq!((transfer[0], &transfer[1..9]), (12, &4_250_000u64.to_le_bytes()[..]), "transferChecked 4.25");
    let vault_account = deposit_address(&hex)?;

    let signature = sign_and_send(bank.as_ref(), &hex, &payer).await?;
    page.eval(&format!("window.__solSent({:?}); true", signature.as_ref())).await?;
    status_is(&page, "succeeded", 60).await?;
    let done = api.get(&id).await?;
    assert_eq!(done["paymentMethod"]["source"]["txHash"], signature.to_string());
    let delivery = done["destination"]["delivery"]["txHash"].as_str().unwrap_or_default().to_owned();
    let text = page.eval("document.body.innerText").await?;
    assert!(
        text.as_str().is_some_and(|t| t.contains("4.25 USDC on Solana") && t.contains(&delivery)),
        "{text}"
    );
    assert_eq!(bank.usdc_balance(&merchant).await?, 4_250_000, "delivered, exactly");
    assert_eq!(bank.usdc_balance(&payer.pubkey()).await?, 5_750_000);
    assert_eq!(bank.lamports(&vault_account).await?, 0, "the emptied vault account was closed");
    page.screenshot(&shot_path("succeeded-solana-light-phone")).await?;
    assert_eq!(accessibility_violations(&page).await?, Vec::<String>::new());
    assert_clean(&page, &api.base, None);
    node.shutdown().await;
    Ok(())
}
