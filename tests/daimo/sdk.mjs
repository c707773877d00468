// Calls the relayer through Daimo's own published client, for the Rust end-to-end tests:
//
//   node tests/daimo/sdk.mjs <baseUrl> <call> '<json args>'
//
//   retrieve               {sessionId}
//   paymentMethods.create  {sessionId, input}
//   check                  {sessionId, input}
//   tokenOptions.list      {sessionId, input}
//
// Prints one line: {"ok": <answer>} or, when the client throws its DaimoRequestError, {"error": {status,
// type, code, param, message, requestId}} (absent members as null), and exits 0 either way, so a test
// can assert on refusals too. Anything else (bad usage, an unexpected exception) exits non-zero.
import { createDaimoClient } from "@daimo/sdk/client";

const calls = {
  retrieve: (c, a) => c.sessions.retrieve(a.sessionId),
  "paymentMethods.create": (c, a) => c.sessions.paymentMethods.create(a.sessionId, a.input),
  check: (c, a) => c.sessions.check(a.sessionId, a.input),
  "tokenOptions.list": (c, a) => c.sessions.tokenOptions.list(a.sessionId, a.input),
};

const [baseUrl, call, rawArgs] = process.argv.slice(2);
if (!baseUrl || !calls[call] || rawArgs === undefined) {
  console.error(`usage: node sdk.mjs <baseUrl> <${Object.keys(calls).join("|")}> '<json args>'`);
  process.exit(2);
}
let args;
try {
  args = JSON.parse(rawArgs);
} catch (e) {
  console.error(`args are not JSON: ${e.message}`);
  process.exit(2);
}

const client = createDaimoClient({ baseUrl });
try {
  const answer = await calls[call](client, args);
  console.log(JSON.stringify({ ok: answer ?? null }));
} catch (e) {
  // By name: importing the class from @daimo/sdk/common would load zod and viem on every call.
  if (e?.name !== "DaimoRequestError") throw e;
  const { status, type, code, param, message, requestId } = e;
  const error = { status, type, code, param, message, requestId };
  for (const k of Object.keys(error)) error[k] ??= null;
  console.log(JSON.stringify({ error }));
}
