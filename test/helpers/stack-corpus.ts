/**
 * The stack-file corpus: real public stack files in test/fixtures/stacks/<dir>/, listed in
 * corpus.json, and the record of what `docker stack deploy` made of each on each engine
 * (expected.json, written by scripts/stack-corpus.ts). Read by that script and by the tests
 * that compare `controller import compose` + `apply` with stack deploy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './repo.js';

export const stacksDir = join(repoRoot, 'test/fixtures/stacks');

/** External objects a file refers to, created (with stand-in content) before it is deployed. */
export interface Prerequisites {
  /** Overlay networks, created attachable. */
  networks?: string[];
  secrets?: string[];
  configs?: string[];
}

export interface CorpusEntry {
  /** Unique; the stack is deployed as `e2e-corpus-<name>`. */
  name: string;
  /** monitoring, shop, reverse proxy, ...; "(refusal)" when stack deploy is expected to refuse it. */
  kind: string;
  /** Folder under test/fixtures/stacks/; several entries may share one. */
  dir: string;
  /** Compose files, in `-c` order, relative to dir. */
  files: string[];
  /** KEY=VALUE file in dir: the only variables set when the files are read. */
  env?: string;
  prerequisites?: Prerequisites;
  /**
   * Set when stack deploy refuses the file: a regular expression its error line matches on
   * every engine (some refusals name one of several culprits, picked by Go map order).
   */
  refusal?: string;
  note?: string;
}

/** What one engine did with one entry. */
export interface EngineOutcome {
  deploys: boolean;
  /**
   * Objects labelled with the stack's namespace after the deploy (names, sorted). For a
   * refusal: what stack deploy had created before it stopped (it is not atomic).
   */
  services: string[];
  networks: string[];
  configs: string[];
  secrets: string[];
  /** stack deploy's warnings (stderr), in order, without the --detach notice. */
  warnings: string[];
  /** The error line stack deploy printed when it refused the file. */
  refusal?: string;
}

export interface EngineInfo {
  version: string;
  api: string;
  recorded: string;
}

export interface ExpectedRecord {
  cli: string;
  engines: Record<string, EngineInfo>;
  entries: Record<string, Record<string, EngineOutcome>>;
}

export const stackName = (e: CorpusEntry): string => `e2e-corpus-${e.name}`;

export function loadCorpus(): CorpusEntry[] {
  return JSON.parse(readFileSync(join(stacksDir, 'corpus.json'), 'utf8')) as CorpusEntry[];
}

export function loadExpected(): ExpectedRecord {
  return JSON.parse(readFileSync(join(stacksDir, 'expected.json'), 'utf8')) as ExpectedRecord;
}

/** The variables of an entry's env file (KEY=VALUE lines; # comments and blank lines skipped). */
export function entryEnv(e: CorpusEntry): Record<string, string> {
  if (!e.env) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(stacksDir, e.dir, e.env), 'utf8').split('\n')) {
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`${e.dir}/${e.env}: not KEY=VALUE: ${line}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
