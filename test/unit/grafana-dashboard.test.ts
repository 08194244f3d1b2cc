/**
 * manifests/grafana/swarm-controller.json queries only metrics the controller exposes: every
 * PromQL expression (panel targets and template variables) is read, its metric names picked out,
 * and each checked against the names a registry with the controller's and the process metrics
 * renders (histograms with their _bucket, _sum and _count series).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { controllerMetrics, Registry } from '../../src/controller/metrics.js';
import { repoRoot } from '../helpers/repo.js';

const dashboardPath = join(repoRoot, 'manifests/grafana/swarm-controller.json');

/** PromQL words that are not metric names. */
const keywords = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'inf',
  'nan',
]);

/**
 * The metric names an expression reads: label matchers, strings, grouping lists, ranges and
 * Grafana variables removed, then every identifier that is not a function call or a keyword.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names: string[] = [];
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const at = m.index ?? 0;
    const after = stripped.slice(at + m[0].length).trimStart();
    if (after.startsWith('(') || keywords.has(m[0].toLowerCase())) continue;
    if (at > 0 && /[\d.]/.test(stripped[at - 1])) continue; // part of a number such as 1e3
    names.push(m[0]);
  }
  return names;
}

/** Every PromQL expression in the dashboard: panel targets (also inside collapsed rows) and query variables. */
function expressions(dashboard: unknown): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const d = dashboard as {
    panels: {
      title: string;
      targets?: { expr: string }[];
      panels?: { title: string; targets?: { expr: string }[] }[];
    }[];
    templating: { list: { name: string; type: string; query: unknown }[] };
  };
  const fromPanel = (p: { title: string; targets?: { expr: string }[] }) => {
    for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}"`, expr: t.expr });
  };
  for (const p of d.panels) {
    fromPanel(p);
    for (const inner of p.panels ?? []) fromPanel(inner);
  }
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query: string }).query;
    const inner = /^label_values\((.*),\s*\w+\)$/.exec(q);
    out.push({ where: `variable $${v.name}`, expr: inner ? inner[1] : q });
  }
  return out;
}

async function exposedNames(): Promise<Set<string>> {
  const r = new Registry();
  controllerMetrics(r);
  r.collectProcessMetrics();
  const names = new Set<string>();
  for (const line of (await r.render()).split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (!t) continue;
    names.add(t[1]);
    if (t[2] === 'histogram' || t[2] === 'summary') for (const s of ['_bucket', '_sum', '_count']) names.add(t[1] + s);
  }
  return names;
}

describe('the Grafana dashboard', () => {
  it('picks metric names out of PromQL', () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.95, sum by (le, kind) (rate(a_bucket{job=~"$job", x="y{z}"}[$__rate_interval])))',
      ),
      ['a_bucket'],
    );
    assert.deepEqual(metricNames('time() - max(b{job=~"$job"} > 0) + 1e3'), ['b']);
    assert.deepEqual(metricNames('c / on (instance) group_left d offset 5m'), ['c', 'd']);
  });

  it('queries only metrics the controller exposes, and uses every controller metric', async () => {
    const dashboard: unknown = JSON.parse(readFileSync(dashboardPath, 'utf8'));
    const exposed = await exposedNames();
    const found = expressions(dashboard);
    assert.ok(found.length > 20, `expected the dashboard's queries, found ${found.length}`);
    const used = new Set<string>();
    for (const { where, expr } of found) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
      for (const n of names) {
        assert.ok(exposed.has(n), `${where}: ${n} is not a metric the controller exposes (in ${expr})`);
        used.add(n.replace(/_(bucket|sum|count)$/, ''));
      }
    }
    const controllerOwn = [...exposed].filter(
      (n) => n.startsWith('swarm_controller_') && !/_(bucket|sum|count)$/.test(n),
    );
    const unused = controllerOwn.filter((n) => !used.has(n) && !used.has(n.replace(/_total$/, '')));
    assert.deepEqual(unused, [], 'every controller metric has a panel');
  });

  it('reads its data source from a variable, so it imports into any Grafana', () => {
    const text = readFileSync(dashboardPath, 'utf8');
    const dashboard = JSON.parse(text) as { templating: { list: { name: string; type: string }[] } };
    assert.ok(dashboard.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'));
    for (const m of text.matchAll(/"uid": "([^"]*)"/g))
      if (m[1] !== 'swarm-controller') assert.equal(m[1], '${datasource}', 'no fixed data source uid');
  });
});
