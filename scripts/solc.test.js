// Tests for the solc CLI shim (run with `node --test scripts/`).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SHIM = path.join(__dirname, 'solc');

function run(args, input) {
  return spawnSync(SHIM, args, { input, encoding: 'utf8' });
}

function standardJson(sources) {
  return JSON.stringify({
    language: 'Solidity',
    sources,
    settings: { outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  });
}

test('--version prints the two lines a native solc prints', () => {
  const r = run(['--version']);
  assert.strictEqual(r.status, 0);
  const lines = r.stdout.trim().split('\n');
  assert.strictEqual(lines[0], 'solc, the solidity compiler commandline interface');
  assert.match(lines[1], /^Version: 0\.8\.30\+commit\.[0-9a-f]{8}\.Linux\.g\+\+$/);
});

test('--standard-json compiles and resolves imports against include paths', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shim-'));
  fs.mkdirSync(path.join(dir, 'lib'));
  fs.writeFileSync(path.join(dir, 'lib', 'Dep.sol'), '// SPDX-License-Identifier: MIT\npragma solidity 0.8.30;\nlibrary Dep { function one() internal pure returns (uint256) { return 1; } }\n');
  const main = '// SPDX-License-Identifier: MIT\npragma solidity 0.8.30;\nimport {Dep} from "Dep.sol";\ncontract Main { function f() external pure returns (uint256) { return Dep.one(); } }\n';
  const r = run(['--standard-json', '--base-path', dir, '--include-path', path.join(dir, 'lib'), '--allow-paths', dir],
    standardJson({ 'Main.sol': { content: main } }));
  assert.strictEqual(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  assert.deepStrictEqual(errors, []);
  assert.match(out.contracts['Main.sol'].Main.evm.bytecode.object, /^[0-9a-f]+$/);
});

test('an import outside the allowed paths is not read', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shim-'));
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'outside-'));
  fs.writeFileSync(path.join(outside, 'Secret.sol'), 'pragma solidity 0.8.30; contract Secret {}');
  const main = `pragma solidity 0.8.30; import "${path.join(outside, 'Secret.sol')}"; contract Main {}`;
  const r = run(['--standard-json', '--base-path', dir], standardJson({ 'Main.sol': { content: main } }));
  assert.strictEqual(r.status, 0);
  const out = JSON.parse(r.stdout);
  assert.ok(out.errors.some((e) => e.severity === 'error' && /not found/i.test(e.message)), r.stdout);
});

test('compiler errors come back in the standard JSON output', () => {
  const r = run(['--standard-json'], standardJson({ 'Bad.sol': { content: 'pragma solidity 0.8.30; contract {' } }));
  assert.strictEqual(r.status, 0);
  const out = JSON.parse(r.stdout);
  assert.ok(out.errors.some((e) => e.severity === 'error'));
});

test('unsupported arguments are refused with a non-zero exit', () => {
  const r = run(['--bin', 'x.sol']);
  assert.notStrictEqual(r.status, 0);
  assert.match(r.stderr, /unsupported argument: --bin/);
});
