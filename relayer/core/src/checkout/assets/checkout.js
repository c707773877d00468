// The hosted checkout page. Talks only to this relayer's public API, with the session's client secret
// (never an API key): GET the session, POST its payment method, PUT /check every 3 s (every 15 s while the
// page is hidden). Every string from the session is inserted as text, never as HTML.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("checkout-config").textContent);
  const params = new URLSearchParams(location.search);
  const clientSecret = params.get("cs") || "";
  const base = "/v1/sessions/" + encodeURIComponent(config.sessionId);
  const app = document.getElementById("app");
  const live = document.getElementById("live");
  const state = { session: null, view: "options", chain: null, tron: null, error: null, amount: null, sent: {} };

  // --- host messages (Daimo's WebView protocol: React Native, then WKWebView, then a parent frame) ---
  // A parent frame hears only if the server named its origin (`parentOrigin`, and only one the
  // deployment lets frame the page): the session's progress is nobody else's business.
  function sendToHost(type, payload) {
    const msg = { source: "daimo-pay", version: 1, type: type, payload: payload || {} };
    if (window.ReactNativeWebView && window.ReactNativeWebView.postMessage) {
      window.ReactNativeWebView.postMessage(JSON.stringify(msg));
    } else if (window.webkit && window.webkit.messageHandlers && window.webkit.messageHandlers.daimoPay) {
      window.webkit.messageHandlers.daimoPay.postMessage(msg);
    } else if (config.parentOrigin && window.parent && window.parent !== window) {
      window.parent.postMessage(msg, config.parentOrigin);
    }
  }
  function once(type) {
    if (!state.sent[type]) {
      state.sent[type] = true;
      sendToHost(type);
    }
  }
  // The content's own height (the panel and its margins), not the document's: a document is never
  // shorter than its frame, so a frame sized to it could grow but never shrink.
  let lastHeight = 0;
  new ResizeObserver(function () {
    const style = getComputedStyle(app);
    const margins = parseFloat(style.marginTop) + parseFloat(style.marginBottom);
    const height = Math.ceil(app.getBoundingClientRect().height + margins);
    if (height !== lastHeight) {
      lastHeight = height;
      sendToHost("contentHeightChanged", { height: height });
    }
  }).observe(app);

  // --- small DOM helpers: text only ---
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
      else node.setAttribute(key, value);
    }
    for (const child of children || []) if (child) node.appendChild(child);
    return node;
  }
  function announce(text) {
    live.textContent = text;
  }

  // --- amounts: decimal strings <-> base units, exactly (BigInt) ---
  function toUnits(text, decimals) {
    const match = /^(\d+)(?:\.(\d*))?$/.exec(text.trim());
    if (!match) return null;
    const frac = match[2] || "";
    if (frac.length > decimals) return null;
    return BigInt(match[1] + frac.padEnd(decimals, "0"));
  }
  function fromUnits(units, decimals) {
    const s = units.toString().padStart(decimals + 1, "0");
    const int = s.slice(0, s.length - decimals);
    let frac = s.slice(s.length - decimals).replace(/0+$/, "");
    if (frac.length < 2) frac = frac.padEnd(Math.min(2, decimals), "0");
    return decimals ? int + "." + frac : int;
  }

  // --- API (same origin, client secret only) ---
  async function api(method, path, body) {
    const init = { method: method, headers: {} };
    if (body) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(Object.assign({ clientSecret: clientSecret }, body));
    }
    const url = method === "GET" ? path + "?clientSecret=" + encodeURIComponent(clientSecret) : path;
    const response = await fetch(url, init);
    const json = await response.json().catch(function () { return {}; });
    if (!response.ok) throw new Error((json.error && json.error.message) || "request failed (" + response.status + ")");
    return json;
  }

  // --- what the payer chooses ---
  function chainsOf(family) {
    return config.chains.filter(function (c) { return c.family === family; });
  }
  function fixedAmount(chain) {
    const dest = state.session.destination;
    if (dest.amountUnits) return toUnits(dest.amountUnits, chain.decimals);
    return state.amount === null ? null : state.amount;
  }
  function eip681(chain, receiver, units) {
    return "ethereum:" + chain.tokenAddress + "@" + chain.chainId + "/transfer?address=" + receiver + "&uint256=" + units.toString();
  }
  function qr(data, label) {
    const img = el("img", { class: "qr", src: "/checkout/qr.svg?data=" + encodeURIComponent(data), alt: "QR code: " + label, width: "220", height: "220" });
    img.dataset.uri = data;
    return img;
  }
  function copyButton(text) {
    const button = el("button", { class: "small", type: "button", text: "Copy" });
    button.addEventListener("click", async function () {
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
        announce("Address copied");
      } catch (e) {
        announce("Copy failed: select the address instead");
      }
    });
    return button;
  }

  async function choose(kind, chain) {
    state.error = null;
    try {
      if (kind === "evm") {
        if (!state.session.paymentMethod || state.session.paymentMethod.type !== "evm") {
          const answer = await api("POST", base + "/paymentMethods", { paymentMethod: { type: "evm" } });
          state.session = answer.session;
        }
        state.chain = chain;
        state.view = "pay-evm";
      } else if (kind === "tron") {
        const body = { paymentMethod: { type: "tron" } };
        if (!state.session.destination.amountUnits && state.amount !== null) body.paymentMethod.amountUsd = fromUnits(state.amount, chain.decimals);
        const answer = await api("POST", base + "/paymentMethods", body);
        state.session = answer.session;
        state.tron = answer.tron;
        state.chain = chain;
        state.view = "pay-tron";
      } else if (kind === "solana") {
        state.chain = chain;
        state.view = "pay-solana";
      }
    } catch (e) {
      state.error = e.message;
    }
    render();
  }

  // --- injected wallets (EIP-6963 discovery, falling back to window.ethereum) ---
  const evmWallets = [];
  window.addEventListener("eip6963:announceProvider", function (event) {
    if (event.detail && event.detail.provider && !evmWallets.some(function (w) { return w.info.uuid === event.detail.info.uuid; })) {
      evmWallets.push(event.detail);
      render();
    }
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  function injected() {
    if (evmWallets.length) return evmWallets[0];
    if (window.ethereum) return { info: { name: "Browser wallet" }, provider: window.ethereum };
    return null;
  }
  async function payWithWallet(chain, receiver, units) {
    const wallet = injected();
    try {
      const [from] = await wallet.provider.request({ method: "eth_requestAccounts" });
      await wallet.provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x" + chain.chainId.toString(16) }] });
      const data = "0xa9059cbb" + receiver.slice(2).toLowerCase().padStart(64, "0") + units.toString(16).padStart(64, "0");
      const txHash = await wallet.provider.request({ method: "eth_sendTransaction", params: [{ from: from, to: chain.tokenAddress, data: data }] });
      announce("Transaction sent; waiting for it to confirm");
      await api("PUT", base + "/check", { txHash: txHash });
    } catch (e) {
      state.error = "The wallet did not send the payment: " + (e.message || e);
      render();
    }
  }

  // --- Solana wallets (Wallet Standard): sign and send the session's serializedTx ---
  const solanaWallets = [];
  // The app's side of the Wallet Standard handshake, offered both ways (to wallets already loaded, and
  // to those that load later); a wallet that answers both is kept once.
  const walletRegistry = {
    register: function (wallet) {
      if (!solanaWallets.includes(wallet)) { solanaWallets.push(wallet); render(); }
      return function () {};
    },
  };
  window.addEventListener("wallet-standard:register-wallet", function (event) { event.detail(walletRegistry); });
  window.dispatchEvent(new CustomEvent("wallet-standard:app-ready", { detail: walletRegistry }));
  function solanaWallet() {
    return solanaWallets.find(function (w) { return w.features && w.features["solana:signAndSendTransaction"]; });
  }
  async function payWithSolanaWallet(chain) {
    const wallet = solanaWallet();
    try {
      const { accounts } = await wallet.features["standard:connect"].connect();
      const account = accounts[0];
      const body = { paymentMethod: { type: "solana", walletAddress: account.address, inputTokenMint: chain.tokenAddress } };
      if (!state.session.destination.amountUnits && state.amount !== null) body.paymentMethod.amountUsd = fromUnits(state.amount, chain.decimals);
      const answer = await api("POST", base + "/paymentMethods", body);
      state.session = answer.session;
      const hex = answer.solana.serializedTx;
      const bytes = new Uint8Array(hex.match(/../g).map(function (h) { return parseInt(h, 16); }));
      await wallet.features["solana:signAndSendTransaction"].signAndSendTransaction({ account: account, chain: "solana:mainnet", transaction: bytes });
      announce("Transaction sent; waiting for it to confirm");
    } catch (e) {
      state.error = "The wallet did not send the payment: " + (e.message || e);
    }
    render();
  }

  // --- views ---
  function header() {
    const s = state.session;
    const dest = s.destination;
    const nodes = [el("h1", { text: s.display.title })];
    if (dest.amountUnits) {
      nodes.push(el("p", { class: "amount", text: dest.amountUnits + " " + dest.tokenSymbol }));
    }
    const where = dest.type === "solana" ? "Solana" : dest.chainName;
    nodes.push(el("p", { class: "secondary", text: "Delivered as " + dest.tokenSymbol + " on " + where }));
    return nodes;
  }

  function countdown() {
    const left = state.session.expiresAt - Math.floor(Date.now() / 1000);
    if (left <= 0) return el("p", { class: "muted", text: "Expiring…" });
    const m = Math.floor(left / 60), sec = left % 60;
    return el("p", { class: "muted", id: "countdown", text: "Expires in " + m + ":" + String(sec).padStart(2, "0") });
  }

  function amountEntry() {
    if (state.session.destination.amountUnits) return null;
    const decimals = (config.chains[0] && config.chains[0].decimals) || 6;
    const input = el("input", { id: "amount", inputmode: "decimal", autocomplete: "off", placeholder: "0.00", value: state.amount === null ? "" : fromUnits(state.amount, decimals) });
    const hint = el("p", { class: "muted", id: "amount-hint", text: "At most " + decimals + " decimals" });
    input.setAttribute("aria-describedby", "amount-hint");
    input.addEventListener("input", function () {
      const units = toUnits(input.value, decimals);
      state.amount = units !== null && units > 0n ? units : null;
      hint.textContent = input.value && state.amount === null ? "Enter an amount with at most " + decimals + " decimals" : "At most " + decimals + " decimals";
    });
    return el("div", {}, [el("label", { for: "amount", text: "Amount (" + state.session.destination.tokenSymbol + ")" }), input, hint]);
  }

  function optionsView() {
    const nodes = header();
    nodes.push(countdown());
    const entry = amountEntry();
    if (entry) nodes.push(entry);
    nodes.push(el("h2", { id: "options-title", text: state.session.display.verb + " with" }));
    const list = el("div", { id: "options", role: "list", "aria-labelledby": "options-title" });
    for (const group of config.groups) {
      const row = el("div", { class: "group", role: "listitem" });
      for (const option of group) {
        const button = el("button", { type: "button", class: "option", "data-option": option.name, "data-kind": option.kind });
        button.appendChild(el("span", { text: option.label }));
        button.appendChild(el("span", { class: "muted", text: option.detail }));
        button.addEventListener("click", function () {
          if (option.kind === "evm") { state.view = "evm-chains"; render(); }
          else choose(option.kind, chainsOf(option.kind)[0]);
        });
        row.appendChild(button);
      }
      list.appendChild(row);
    }
    nodes.push(list);
    return nodes;
  }

  function evmChainsView() {
    const nodes = header();
    nodes.push(el("h2", { text: "Choose the chain you pay from" }));
    const row = el("div", { class: "group", id: "chains" });
    for (const chain of chainsOf("evm")) {
      row.appendChild(el("button", { type: "button", "data-chain": String(chain.chainId), text: chain.tokenSymbol + " on " + chain.chainName, on: { click: function () { choose("evm", chain); } } }));
    }
    nodes.push(row, backButton());
    return nodes;
  }

  function backButton() {
    return el("button", { type: "button", class: "link", text: "← Other ways to pay", on: { click: function () { state.view = "options"; render(); } } });
  }

  function payEvmView() {
    const s = state.session, chain = state.chain;
    const receiver = s.paymentMethod.receiverAddress;
    const units = fixedAmount(chain);
    const nodes = header();
    nodes.push(countdown());
    if (units === null) {
      const entry = amountEntry();
      if (entry) nodes.push(entry);
      nodes.push(el("button", { type: "button", class: "primary", text: "Show where to send", on: { click: render } }));
      nodes.push(backButton());
      return nodes;
    }
    const amount = fromUnits(units, chain.decimals);
    nodes.push(el("h2", { text: "Send exactly " + amount + " " + chain.tokenSymbol + " on " + chain.chainName }));
    nodes.push(el("p", { class: "secondary", text: "to this address, which only this payment uses:" }));
    nodes.push(el("div", { class: "address" }, [el("code", { id: "receiver", text: receiver }), copyButton(receiver)]));
    nodes.push(qr(eip681(chain, receiver, units), "send " + amount + " " + chain.tokenSymbol + " on " + chain.chainName + " to " + receiver));
    if (injected()) {
      nodes.push(el("button", { type: "button", class: "primary", id: "wallet", text: s.display.verb + " with " + injected().info.name, on: { click: function () { payWithWallet(chain, receiver, units); } } }));
    }
    nodes.push(waitingStatus());
    nodes.push(backButton());
    return nodes;
  }

  // Waiting, or, once something arrived short of what starts the session (the contracts deliver nothing
  // before it), what the payer can do: send the rest, or get it back after expiry.
  function waitingStatus() {
    const s = state.session, dest = s.destination, source = s.paymentMethod && s.paymentMethod.source;
    if (!source) return el("div", { class: "status", role: "status", text: "Waiting for your deposit…" });
    const asked = dest.amountUnits ? " of the " + dest.amountUnits + " requested" : "";
    return el("div", { class: "status warning", role: "status", id: "partial", text: "Received " + source.sentUnits + " " + source.tokenSymbol + asked + ", not enough to deliver yet: send the rest to the same address before the session expires, or what arrived is returned to you after it expires." });
  }

  function payTronView() {
    const chain = state.chain, receiver = state.tron.receiverAddress;
    const units = fixedAmount(chain);
    const nodes = header();
    nodes.push(countdown());
    const amount = units === null ? "" : fromUnits(units, chain.decimals) + " ";
    nodes.push(el("h2", { text: "Send " + amount + chain.tokenSymbol + " (TRC-20) on Tron" }));
    nodes.push(el("div", { class: "address" }, [el("code", { id: "receiver", text: receiver }), copyButton(receiver)]));
    nodes.push(qr(receiver, "Tron address " + receiver));
    nodes.push(waitingStatus());
    nodes.push(backButton());
    return nodes;
  }

  function paySolanaView() {
    const chain = state.chain;
    const nodes = header();
    nodes.push(countdown());
    const entry = amountEntry();
    if (entry) nodes.push(entry);
    const wallet = solanaWallet();
    if (wallet) {
      nodes.push(el("button", { type: "button", id: "solana-wallet", class: "primary", text: state.session.display.verb + " with " + wallet.name, on: { click: function () { payWithSolanaWallet(chain); } } }));
    } else {
      nodes.push(el("p", { class: "status warning", role: "status", text: "Paying from Solana needs a Solana wallet in this browser (Phantom, Solflare, Backpack): open this page in one." }));
    }
    nodes.push(backButton());
    return nodes;
  }

  // The API names source chains in lower case ("solana", "tron"); the page shows them as names.
  function chainLabel(name) {
    return name ? name.charAt(0).toUpperCase() + name.slice(1) : name;
  }
  function txLine(label, tx, chainName) {
    return [el("dt", { text: label }), el("dd", {}, [el("code", { text: tx }), chainName ? el("span", { class: "muted", text: " (" + chainName + ")" }) : null])];
  }

  function detectedView() {
    const s = state.session, source = s.paymentMethod && s.paymentMethod.source;
    const nodes = header();
    nodes.push(el("div", { class: "status", role: "status", id: "state", "data-status": "processing", text: "Deposit detected; delivering…" }));
    if (source) {
      nodes.push(el("dl", {}, [
        el("dt", { text: "Sent" }), el("dd", { text: source.sentUnits + " " + source.tokenSymbol + " on " + chainLabel(source.chainName) }),
      ].concat(txLine("Deposit", source.txHash, chainLabel(source.chainName)))));
    }
    return nodes;
  }

  function finalView() {
    const s = state.session, dest = s.destination, source = s.paymentMethod && s.paymentMethod.source;
    const nodes = header();
    if (s.status === "succeeded") {
      nodes.push(el("div", { class: "status success", role: "status", id: "state", "data-status": "succeeded", text: "✓ Delivered" }));
    } else if (s.status === "bounced") {
      nodes.push(el("div", { class: "status error", role: "status", id: "state", "data-status": "bounced", text: "The delivery failed, so the funds were returned to the refund address." }));
    } else {
      nodes.push(el("div", { class: "status error", role: "status", id: "state", "data-status": "expired", text: "This payment session expired." }));
    }
    const facts = [];
    if (source) {
      facts.push(el("dt", { text: "Sent" }), el("dd", { text: source.sentUnits + " " + source.tokenSymbol + " on " + chainLabel(source.chainName) }));
      facts.push.apply(facts, txLine("Deposit", source.txHash, chainLabel(source.chainName)));
    }
    if (dest.delivery) {
      const what = s.status === "bounced" ? "Returned" : "Received";
      facts.push(el("dt", { text: what }), el("dd", { text: dest.delivery.receivedUnits + " " + dest.tokenSymbol }));
      facts.push.apply(facts, txLine(s.status === "bounced" ? "Refund" : "Delivery", dest.delivery.txHash, dest.type === "solana" ? "Solana" : dest.chainName));
    }
    if (facts.length) nodes.push(el("dl", {}, facts));
    // Honest about under- and over-payments: what was asked, against what arrived.
    if (dest.amountUnits && source && source.sentUnits !== dest.amountUnits) {
      const requested = toUnits(dest.amountUnits, 18), sent = toUnits(source.sentUnits, 18);
      const word = sent !== null && requested !== null && sent < requested ? "less" : "more";
      nodes.push(el("p", { class: "status warning", id: "mismatch", text: "You sent " + source.sentUnits + " " + source.tokenSymbol + ", " + word + " than the " + dest.amountUnits + " requested." }));
    }
    if (config.returnUrl) nodes.push(el("a", { class: "button", href: config.returnUrl, text: "Return to the merchant" }));
    return nodes;
  }

  function render() {
    const s = state.session;
    let nodes;
    if (!s) nodes = [el("div", { class: "skeleton" })];
    else if (s.status === "processing") nodes = detectedView();
    else if (["succeeded", "bounced", "expired"].includes(s.status)) nodes = finalView();
    else if (state.view === "pay-evm" && s.paymentMethod && s.paymentMethod.type === "evm") nodes = payEvmView();
    else if (state.view === "pay-tron" && state.tron) nodes = payTronView();
    else if (state.view === "pay-solana") nodes = paySolanaView();
    else if (state.view === "evm-chains") nodes = evmChainsView();
    else nodes = optionsView();
    if (state.error) nodes.push(el("p", { class: "status error", role: "alert", text: state.error }));
    const focused = document.activeElement && document.activeElement.id;
    app.replaceChildren.apply(app, nodes);
    if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
    if (s) document.body.dataset.status = s.status;
    if (state.sent.ready) announceStatus();
  }

  // paymentStarted once a deposit is detected, paymentCompleted once it was delivered:
  // each once, and never before `ready`.
  function announceStatus() {
    const status = state.session && state.session.status;
    if (status === "processing" || status === "succeeded" || status === "bounced") once("paymentStarted");
    // Delivered: a bounced payment went back to the payer, which Daimo's hosts do not call completed.
    if (status === "succeeded") once("paymentCompleted");
  }

  // --- live status ---
  let previous = null;
  let timer = null;
  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }
  function received(session) {
    const source = session.paymentMethod && session.paymentMethod.source;
    return source ? source.sentUnits : null;
  }
  async function poll() {
    try {
      const answer = await api("PUT", base + "/check", {});
      // A deposit short of the minimum leaves the status as it was but changes what the page says.
      const changed = !state.session || answer.session.status !== state.session.status;
      const arrived = state.session && received(answer.session) !== received(state.session);
      state.session = answer.session;
      if (changed || arrived) {
        render();
        if (changed && previous !== null) announce("Status: " + answer.session.status.replace(/_/g, " "));
        previous = answer.session.status;
      } else {
        const c = document.getElementById("countdown");
        if (c) c.replaceWith(countdown());
      }
    } catch (e) {
      // A failed poll is retried on the next tick.
    }
    const terminal = state.session && ["succeeded", "bounced", "expired"].includes(state.session.status);
    if (!terminal) schedule(document.hidden ? 15000 : 3000);
  }

  async function start() {
    try {
      const answer = await api("GET", base);
      state.session = answer.session;
      previous = state.session.status;
      if (state.session.paymentMethod && state.session.paymentMethod.type === "evm" && chainsOf("evm").length) {
        state.view = "pay-evm";
        state.chain = chainsOf("evm")[0];
      }
    } catch (e) {
      state.error = e.message;
    }
    render();
    once("ready");
    announceStatus();
    schedule(3000);
  }
  document.addEventListener("visibilitychange", function () {
    const terminal = state.session && ["succeeded", "bounced", "expired"].includes(state.session.status);
    if (!document.hidden && state.session && !terminal) schedule(0);
  });
  start();
})();
