/**
 * Measures the manifest loader on some files in a process of its own, so the peak resident
 * memory belongs to these files alone: `node dist/test/helpers/measure-load.js FILE...`
 * (`-` reads a generated 10 MB document as standard input). Prints one JSON line:
 * {files, problems, ms, baseRssMiB, peakRssMiB}. For docs/reliability.md, never an assertion.
 */
import { loadManifests } from '../../src/manifest/load.js';
import { bigManifest } from './hostile-corpus.js';

const files = process.argv.slice(2);
const base = process.memoryUsage().rss;
const started = performance.now();
let problems = 0;
for (const f of files) {
  const loaded = await loadManifests([f], async () => bigManifest(10 * 1024 * 1024));
  problems += loaded.diagnostics.length;
}
const ms = performance.now() - started;
const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
// resourceUsage().maxRSS is in KiB and covers the whole life of the process.
process.stdout.write(
  JSON.stringify({
    files: files.length,
    problems,
    ms: Math.round(ms * 10) / 10,
    baseRssMiB: mib(base),
    peakRssMiB: mib(process.resourceUsage().maxRSS * 1024),
  }) + '\n',
);
