// Tests for the wildcard-arm check over chain families (run with `node --test scripts/`).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const CHECK = path.join(__dirname, 'family-arms.js');

function check(source) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'family-arms-'));
  fs.writeFileSync(path.join(dir, 'lib.rs'), source);
  const run = spawnSync(process.execPath, [CHECK, dir], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true });
  return run;
}

test('a match naming every family passes', () => {
  const run = check(`fn f(f: Family) -> u8 { match f { Family::Evm => 1, Family::Tron | Family::Solana => { 2 } } }`);
  assert.strictEqual(run.status, 0, run.stderr);
});

test('a wildcard arm in a match over a family fails, with its line', () => {
  const run = check(`fn f(f: Family) -> u8 {\n    match f {\n        Family::Evm => 1,\n        _ => 2,\n    }\n}`);
  assert.strictEqual(run.status, 1);
  assert.match(run.stderr, /lib\.rs:4: a wildcard arm/);
});

test('a guarded wildcard and struct patterns are seen', () => {
  const run = check(`match kind { PaymentKind::Solana { wallet, mint } => Some(wallet), _ if x => None, PaymentKind::Evm => None }`);
  assert.strictEqual(run.status, 1);
  assert.match(run.stderr, /wildcard arm/);
});

test('a family chosen by a wildcard arm or as a default fails', () => {
  assert.strictEqual(check(`match kind { "evm" => Family::Evm, _ => Family::Solana }`).status, 1);
  assert.strictEqual(check(`let f = a.map_or(Family::Evm, |a| a.family());`).status, 1);
});

test('wildcards over other enums, and braces in strings and comments, are not the check\'s business', () => {
  const run = check(`// match f { Family::Evm => 1, _ => 2 }
fn g(s: &str) -> u8 { match s { "{" => 1, _ => 2 } }
fn h(o: Option<u8>) -> u8 { match o { Some(x) => x, _ => 0 } }
const S: &str = r#"match f { Family::Evm => 1, _ => 2 }"#;`);
  assert.strictEqual(run.status, 0, run.stderr);
});
