// Checks live relayer answers against Daimo's published TypeScript types:
//
//   node tests/daimo/typecheck.mjs <answers.json>
//
// answers.json: {"RetrieveSessionResponse": [...], "CreatePaymentMethodResponse": [...],
//                "CheckSessionResponse": [...], "TokenOptionsResponse": [...]}
//
// Each answer becomes an object literal annotated with its type, so TypeScript checks missing and
// mistyped members, literal types ("USDT on Tron", "tron") and excess members alike. Exits non-zero
// with tsc's diagnostics (and keeps the generated file for reading) when any answer doesn't fit.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = [
  "RetrieveSessionResponse",
  "CreatePaymentMethodResponse",
  "CheckSessionResponse",
  "TokenOptionsResponse",
];

const file = process.argv[2];
if (!file) {
  console.error("usage: node typecheck.mjs <answers.json>");
  process.exit(2);
}
const answers = JSON.parse(readFileSync(file, "utf8"));
const entries = Object.entries(answers);
const wellFormed = entries.every(([k, v]) => TYPES.includes(k) && Array.isArray(v));
if (!wellFormed || !entries.some(([, v]) => v.length)) {
  console.error(`expected non-empty arrays under ${TYPES.join(", ")}; got keys ${Object.keys(answers)}`);
  process.exit(2);
}

const lines = [`import type { ${TYPES.join(", ")} } from "@daimo/sdk/common";`, ""];
for (const [type, list] of entries) {
  list.forEach((answer, i) => {
    lines.push(`export const ${type}_${i}: ${type} = ${JSON.stringify(answer, null, 2)};`, "");
  });
}

const here = fileURLToPath(new URL(".", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "daimo-typecheck-"));
// Outside the repo so concurrent runs don't collide; the link lets `@daimo/sdk/common` resolve
// through the package's own `exports` map, as it would for an integrator.
symlinkSync(join(here, "node_modules"), join(dir, "node_modules"));
const program = lines.join("\n");
writeFileSync(join(dir, "answers.ts"), program);
writeFileSync(
  join(dir, "tsconfig.json"),
  JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: "es2022",
      module: "esnext",
      moduleResolution: "bundler",
      lib: ["es2022", "dom"],
      types: [],
      // The SDK's .d.ts reach into viem and zod; their internals aren't what is under test.
      skipLibCheck: true,
    },
    files: ["answers.ts"],
  }),
);

const tsc = join(here, "node_modules/typescript/bin/tsc");
try {
  execFileSync(process.execPath, [tsc, "-p", ".", "--pretty", "false"], { cwd: dir, stdio: "pipe" });
  rmSync(dir, { recursive: true, force: true });
} catch (e) {
  if (e.status == null) throw e;
  // Name the answer each diagnostic falls in, and quote its line: CI keeps the log, not the temp file.
  for (const diag of `${e.stdout}${e.stderr}`.trim().split("\n")) {
    const at = /^answers\.ts\((\d+),/.exec(diag);
    if (!at) {
      console.error(diag);
      continue;
    }
    const upTo = program.split("\n").slice(0, Number(at[1]));
    const decl = upTo.findLast((l) => l.startsWith("export const ")).split(":")[0].slice(13);
    console.error(`${diag}\n    in ${decl}: ${upTo.at(-1).trim()}`);
  }
  console.error(`answers don't match @daimo/sdk's types; generated program: ${join(dir, "answers.ts")}`);
  process.exit(1);
}
