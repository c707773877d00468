// Tests for the Grafana dashboard shipped in ops/grafana (run with `node --test scripts/`): its shape,
// the alerts its panels name, and every query parsed by promtool (as a recording rule). That the
// metrics it queries exist is checked against a running relayer by the Rust suite
// (postgres::every_metric_the_alerting_rules_use_is_exported_and_a_low_balance_is_not_ready).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'ops/grafana/relayer-dashboard.json'), 'utf8'));
const rules = fs.readFileSync(path.join(ROOT, 'ops/prometheus/relayer-alerts.yml'), 'utf8');
const panels = dashboard.panels.filter((p) => p.type !== 'row');
const targets = panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, ...t })));

test('every panel has an id of its own, a description, a place and queries on the chosen datasource', () => {
  const ids = dashboard.panels.map((p) => p.id);
  assert.strictEqual(new Set(ids).size, ids.length, 'panel ids are unique');
  assert.ok(panels.length >= 15, `panels: ${panels.length}`);
  for (const p of panels) {
    assert.ok(p.description && p.description.length > 10, `${p.title}: a description`);
    const { x, y, w, h } = p.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24 && y >= 0 && h > 0, `${p.title}: inside the grid`);
    assert.ok(p.targets.length > 0, `${p.title}: queries`);
    for (const t of p.targets) {
      assert.strictEqual(t.datasource.uid, '${datasource}', `${p.title}: the dashboard's datasource`);
      assert.match(t.expr, /relayer_|up\{/, `${p.title}: queries the relayer`);
    }
  }
  assert.ok(dashboard.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'));
});

test('every alert a panel names is one of the shipped rules', () => {
  const alerts = new Set([...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]));
  const named = panels.flatMap((p) => [...p.description.matchAll(/\b(Relayer[A-Z]\w+)/g)].map((m) => m[1]));
  assert.ok(named.length >= 12, `panels name the alerts that watch them: ${named}`);
  for (const name of named) assert.ok(alerts.has(name), `${name} is not an alert in relayer-alerts.yml`);
});

test('promtool parses every query of the dashboard', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-'));
  const file = path.join(dir, 'queries.yml');
  const lines = ['groups:', '  - name: dashboard', '    rules:'];
  targets.forEach((t, i) => lines.push(`      - record: dashboard:query_${i}`, `        expr: ${JSON.stringify(t.expr)}`));
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true });
  assert.ok(!run.error, `promtool is installed by scripts/tools.sh: ${run.error}`);
  assert.strictEqual(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, new RegExp(`SUCCESS: ${targets.length} rules found`));
});
