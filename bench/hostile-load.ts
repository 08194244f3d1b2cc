/**
 * The manifest loader's cost on the hostile corpus (test/fixtures/hostile/ and the cases
 * generate() makes), per class: time and peak memory, each class loaded in a process of its
 * own (test/helpers/measure-load.ts) so the peak belongs to its files alone. Prints the Markdown
 * table of docs/reliability.md; measures, asserts nothing (the refusals themselves are
 * test/integration/hostile-input.test.ts). Run: npm run bench:hostile
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { committedCases, generate, type HostileCase } from '../test/helpers/hostile-corpus.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const work = mkdtempSync(join(tmpdir(), 'sc-bench-hostile-'));
try {
  const cases = [...committedCases(), ...generate(join(work, 'generated'))];
  const byClass = new Map<string, HostileCase[]>();
  for (const c of cases) byClass.set(c.class, [...(byClass.get(c.class) ?? []), c]);
  const rows = [
    '| class | files | problems | time (ms) | RSS before (MiB) | peak RSS (MiB) |',
    '|---|---|---|---|---|---|',
  ];
  for (const [cls, list] of byClass) {
    const out = execFileSync(
      process.execPath,
      [join(root, 'dist/test/helpers/measure-load.js'), ...list.map((c) => c.path)],
      { encoding: 'utf8', timeout: 120_000 },
    );
    const m = JSON.parse(out) as {
      files: number;
      problems: number;
      ms: number;
      baseRssMiB: number;
      peakRssMiB: number;
    };
    rows.push(`| ${cls} | ${m.files} | ${m.problems} | ${m.ms} | ${m.baseRssMiB} | ${m.peakRssMiB} |`);
  }
  console.log(`Loader cost per class (node ${process.version}):\n${rows.join('\n')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
