// A host page for Daimo's own `DaimoFrame`, as an integrator would write it, with hooks the browser
// tests read: every callback fired, the frame's height, and whether the component gave up loading.
//
// Query: ?baseUrl=<relayer>&session=<id>&cs=<client secret>[&layout=embed|modal]

import { createElement } from "react";
import { createRoot } from "react-dom/client";
// A relative path, because the package's `exports` map only offers `@daimo/sdk/web`, whose index pulls
// in Privy, wallet libraries and optional peers; this one file needs nothing but React.
import { DaimoFrame } from "../node_modules/@daimo/sdk/dist/web/components/DaimoFrame.js";

const params = new URLSearchParams(location.search);
const baseUrl = params.get("baseUrl");
const sessionId = params.get("session");
const clientSecret = params.get("cs");
const layout = params.get("layout") ?? "embed";

window.daimoEvents = [];

// Defined once: DaimoFrame re-subscribes its message listener whenever a callback's identity changes.
const record = (name) => () => window.daimoEvents.push(name);
const handlers = {
  onPaymentStarted: record("paymentStarted"),
  onPaymentCompleted: record("paymentCompleted"),
  onOpen: record("open"),
  onClose: record("close"),
};

// The element DaimoFrame sizes to the reported content height is the iframe's parent (the inline
// surface in embed layout, the bubble in modal layout). Null before the iframe mounts and after the
// component has replaced it with its error card.
window.daimoFrameHeight = () => {
  const surface = document.querySelector('iframe[title="Daimo"]')?.parentElement;
  return surface ? surface.getBoundingClientRect().height : null;
};

// After its load timeout DaimoFrame unmounts the iframe for a card reading "Couldn't load. Offline?"
// (DaimoFrameError); in modal layout that card is portaled to <body>, so look there.
window.daimoFrameError = () => document.body.textContent.includes("Couldn't load");

const root = document.getElementById("root");
if (!baseUrl || !sessionId || !clientSecret) {
  // Without baseUrl DaimoFrame would silently frame https://daimo.com instead.
  root.textContent = "missing query parameter: baseUrl, session and cs are required";
  throw new Error(root.textContent);
}
createRoot(root).render(
  createElement(DaimoFrame, { baseUrl, sessionId, clientSecret, layout, ...handlers }),
);
