#!/usr/bin/env node
// Fails if a `match` over a chain family (`Family`, `ChainAddress`, `TxId`, `PaymentKind`) has a wildcard
// arm: adding a family must be a compile error at every place that treats families differently, never a
// silent fall into some other family's case (issue 21). Also refuses a family chosen as a default
// (`map_or(Family::…`, `unwrap_or(Family::…`). Usage: scripts/family-arms.js [files or folders…]
"use strict";
const fs = require("fs");
const path = require("path");

const FAMILY = /^(Family|ChainAddress|TxId|PaymentKind)::|^Self::(Evm|Tron|Solana)\b/;
const DEFAULTED = /\b(map_or|unwrap_or|map_or_else|unwrap_or_else)\(\s*Family::/;

function rustFiles(p) {
  const st = fs.statSync(p);
  if (st.isFile()) return p.endsWith(".rs") ? [p] : [];
  return fs.readdirSync(p).flatMap((e) => (e === "target" || e.startsWith(".") ? [] : rustFiles(path.join(p, e))));
}

// Blanks comments, strings and char literals (keeping line breaks), so braces and `=>` are code.
function code(text) {
  let out = "";
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    if (text.startsWith("//", i)) {
      while (i < text.length && text[i] !== "\n") (out += " "), i++;
    } else if (text.startsWith("/*", i)) {
      let depth = 0;
      do {
        if (text.startsWith("/*", i)) (depth++, (out += "  "), (i += 2));
        else if (text.startsWith("*/", i)) (depth--, (out += "  "), (i += 2));
        else (out += text[i] === "\n" ? "\n" : " "), i++;
      } while (i < text.length && depth > 0);
    } else if (/r#*"/.test(text.slice(i, i + 3)) && !/\w/.test(text[i - 1] || "")) {
      const hashes = text.slice(i + 1).match(/^#*/)[0];
      const end = text.indexOf('"' + hashes, i + 2 + hashes.length);
      const stop = end < 0 ? text.length : end + 1 + hashes.length;
      for (; i < stop; i++) out += text[i] === "\n" ? "\n" : " ";
    } else if (c === '"') {
      out += " ";
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === "\\") (out += " "), i++;
        out += text[i] === "\n" ? "\n" : " ";
      }
      (out += " "), i++;
    } else if (c === "'" && /^'(\\.|[^\\'])'/.test(text.slice(i, i + 4))) {
      const len = text.slice(i).match(/^'(\\.|[^\\'])'/)[0].length;
      (out += " ".repeat(len)), (i += len);
    } else (out += c), i++;
  }
  return out;
}

// The top-level arms' patterns of the match block starting at `open` (a `{`).
function arms(src, open) {
  const patterns = [];
  let depth = 0, start = open + 1;
  for (let i = open; i < src.length; i++) {
    const c = src[i];
    if (c === "{" || c === "(" || c === "[") depth++;
    else if (c === "}" || c === ")" || c === "]") {
      depth--;
      if (depth === 0) return patterns;
      // A block arm ends without a comma; a `}` that closes a struct pattern is followed by `=>`, `if`
      // or `|`.
      if (depth === 1 && c === "}" && !/^\s*(=>|if\b|\|)/.test(src.slice(i + 1, i + 40))) start = i + 1;
    } else if (depth === 1 && c === "," ) start = i + 1;
    else if (depth === 1 && src.startsWith("=>", i)) {
      const raw = src.slice(start, i);
      patterns.push({ text: raw.trim(), at: start + raw.length - raw.trimStart().length });
      i++;
    }
  }
  return patterns;
}

const problems = [];
const roots = process.argv.slice(2);
for (const file of (roots.length ? roots : ["relayer"]).flatMap(rustFiles)) {
  const text = fs.readFileSync(file, "utf8");
  const src = code(text);
  const line = (at) => src.slice(0, at).split("\n").length;
  for (const m of src.matchAll(/\bmatch\b/g)) {
    // The block opens at the first `{` at bracket depth 0 after the scrutinee.
    let depth = 0, open = -1;
    for (let i = m.index + 5; i < src.length; i++) {
      const c = src[i];
      if (c === "(" || c === "[") depth++;
      else if (c === ")" || c === "]") depth--;
      else if (c === "{" && depth === 0) { open = i; break; }
      else if (c === ";" && depth === 0) break;
    }
    if (open < 0) continue;
    const found = arms(src, open);
    const family = found.some((a) => a.text.split("|").some((p) => FAMILY.test(p.trim())));
    const wild = found.find((a) => /^_(\s+if\b.*)?$/s.test(a.text));
    if (family && wild) problems.push(`${file}:${line(wild.at)}: a wildcard arm in a match over a chain family`);
  }
  for (const m of src.matchAll(/(^|[\s,{])_\s*=>\s*(Family|ChainAddress|TxId)::/g)) {
    problems.push(`${file}:${line(m.index + 1)}: a chain family chosen by a wildcard arm`);
  }
  for (const m of src.matchAll(new RegExp(DEFAULTED, "g"))) {
    problems.push(`${file}:${line(m.index)}: a chain family chosen as a default`);
  }
}
if (problems.length) {
  console.error(problems.join("\n"));
  console.error("name every family in the match, so that adding one is a compile error here (README: Adding a family)");
  process.exit(1);
}
