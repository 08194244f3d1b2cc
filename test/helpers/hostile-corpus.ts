/**
 * The hostile-input corpus: the small files kept in test/fixtures/hostile/<class>/ with their
 * expected diagnostics (expected.json), and the cases made at test time because they are
 * large, not UTF-8, links or special files. Used by test/unit/hostile-input.test.ts and
 * test/e2e/security.test.ts. Each expected diagnostic is "CODE line:column [field]".
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { maxFileBytes } from '../../src/manifest/source-files.js';
import { repoRoot } from './repo.js';

export const corpusDir = join(repoRoot, 'test/fixtures/hostile');

export interface Expectation {
  /** Every diagnostic, in order; with `count`, the first two and the last. */
  diagnostics: string[];
  count?: number;
  /** The file loads; plan/apply must be blocked by this code (found only against the Swarm). */
  plan?: string;
}

export interface HostileCase {
  class: string;
  /** The path given to -f. */
  path: string;
  expect: Expectation;
  /** Made by generate(), not committed. */
  generated?: boolean;
  /** Read from standard input instead of a path. */
  stdin?: () => Buffer;
}

export function committedCases(): HostileCase[] {
  const expected = JSON.parse(readFileSync(join(corpusDir, 'expected.json'), 'utf8')) as Record<string, Expectation>;
  const cases: HostileCase[] = [];
  for (const cls of readdirSync(corpusDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()) {
    for (const file of readdirSync(join(corpusDir, cls)).sort()) {
      const key = `${cls}/${file}`;
      const expect = expected[key];
      if (!expect) throw new Error(`test/fixtures/hostile/expected.json has no entry for ${key}`);
      cases.push({ class: cls, path: join(corpusDir, key), expect });
    }
  }
  const stale = Object.keys(expected).filter((k) => !cases.some((c) => c.path === join(corpusDir, k)));
  if (stale.length) throw new Error(`expected.json names files that do not exist: ${stale.join(', ')}`);
  return cases;
}

const header =
  'apiVersion: swarm.controller/v1alpha1\nkind: Service\nmetadata:\n  name: big\n  namespace: e2e-sec-hostile\nspec:\n  image: swarm-controller/test-app:1\n  env:\n';

/** A manifest of about `bytes` bytes: one env value per 1 KiB line. */
export function bigManifest(bytes: number): Buffer {
  const line = `    K%: "${'x'.repeat(1000)}"\n`;
  const n = Math.ceil((bytes - header.length) / line.length);
  return Buffer.from(header + Array.from({ length: n }, (_, i) => line.replace('%', String(i))).join(''));
}

const utf8 = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

/**
 * Makes the generated cases under `dir` (which must be empty): a 10 MB document, one just over
 * the limit, 10 MB on standard input, invalid UTF-8 of five kinds, links out of the directory,
 * a link loop, a FIFO reached through a link, a FIFO and a device given to -f.
 */
export function generate(dir: string): HostileCase[] {
  const cases: HostileCase[] = [];
  const put = (cls: string, name: string, bytes: Buffer, expect: Expectation) => {
    mkdirSync(join(dir, cls), { recursive: true });
    writeFileSync(join(dir, cls, name), bytes);
    cases.push({ class: cls, path: join(dir, cls, name), expect, generated: true });
  };
  put('size', 'ten-megabytes.yaml', bigManifest(10 * 1024 * 1024), { diagnostics: ['SC1007 1:1'] });
  put('size', 'one-byte-over.yaml', bigManifest(maxFileBytes + 4096).subarray(0, maxFileBytes + 1), {
    diagnostics: ['SC1007 1:1'],
  });
  cases.push({
    class: 'size',
    path: '-',
    stdin: () => bigManifest(10 * 1024 * 1024),
    expect: { diagnostics: ['SC1007 1:1'] },
    generated: true,
  });

  // Wide, not deep: work must stay linear in the size (a spread of 500 000 items overflowed the
  // stack; yaml's unique-key check was quadratic; a position lookup per problem was too).
  put(
    'wide',
    'list-of-500000-numbers.yaml',
    Buffer.from(`${header.replace('  env:\n', '')}  args: [${Array(500_000).fill('1').join(',')}]\n`),
    { diagnostics: ['SC1007 8:199995'] },
  );
  put(
    'wide',
    'env-of-60000-keys-one-twice.yaml',
    Buffer.from(`${header}${Array.from({ length: 60_000 }, (_, i) => `    K${i}: v\n`).join('')}    K7: again\n`),
    { diagnostics: ['SC1002 60009:5'] },
  );
  put(
    'wide',
    'env-of-45000-wrong-values.yaml',
    Buffer.from(`${header}${Array.from({ length: 45_000 }, (_, i) => `    K${i}: {x: 1}\n`).join('')}`),
    { count: 101, diagnostics: ['SC2005 9:5 spec.env.K0', 'SC2005 10:5 spec.env.K1', 'SC1010 109:5'] },
  );
  put('wide', '300000-documents.yaml', Buffer.from('--- 1\n'.repeat(300_000)), { diagnostics: ['SC1007 10001:1'] });

  const ok = 'apiVersion: swarm.controller/v1alpha1\nkind: Network\nmetadata:\n  name: n\n';
  put('invalid-utf8', 'lone-ff.yaml', utf8(ok, 'spec:\n  labels: {a: "', [0xff], '"}\n'), {
    diagnostics: ['SC1008 6:16'],
  });
  put('invalid-utf8', 'truncated-sequence.yaml', utf8(ok, '# caf', [0xc3]), { diagnostics: ['SC1008 5:6'] });
  put('invalid-utf8', 'overlong-slash.yaml', utf8('apiVersion: swarm.controller/v1alpha1', [0xc0, 0xaf], '\n'), {
    diagnostics: ['SC1008 1:38'],
  });
  put('invalid-utf8', 'utf16-with-bom.yaml', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(ok, 'utf16le')]), {
    diagnostics: ['SC1008 1:1'],
  });
  put('invalid-utf8', 'encoded-surrogate.yaml', utf8(ok, 'x: "', [0xed, 0xa0, 0x80], '"\n'), {
    diagnostics: ['SC1008 5:5'],
  });

  // Links: a directory whose manifests link out of it, or back into it.
  const outside = join(dir, 'outside');
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'secret.yaml'), ok);
  const links = (name: string, make: (d: string) => void, expect: Expectation) => {
    const d = join(dir, 'symlinks', name);
    mkdirSync(d, { recursive: true });
    make(d);
    cases.push({ class: 'symlinks', path: d, expect, generated: true });
  };
  links('to-file-outside', (d) => symlinkSync(join(outside, 'secret.yaml'), join(d, 'app.yaml')), {
    diagnostics: ['SC1009 1:1'],
  });
  links('to-dir-outside', (d) => symlinkSync(outside, join(d, 'more')), { diagnostics: ['SC1009 1:1'] });
  links('to-etc', (d) => symlinkSync('/etc', join(d, 'etc')), { diagnostics: ['SC1009 1:1'] });
  links('loop', (d) => symlinkSync('.', join(d, 'again')), { diagnostics: ['SC1005 1:1'] });
  links(
    'to-fifo-inside',
    (d) => {
      execFileSync('mkfifo', [join(d, '.pipe')]);
      symlinkSync('.pipe', join(d, 'app.yaml'));
    },
    { diagnostics: ['SC1005 1:1'] },
  );

  mkdirSync(join(dir, 'special'), { recursive: true });
  execFileSync('mkfifo', [join(dir, 'special', 'fifo.yaml')]);
  cases.push({
    class: 'special-files',
    path: join(dir, 'special', 'fifo.yaml'),
    expect: { diagnostics: ['SC1005 1:1'] },
    generated: true,
  });
  cases.push({ class: 'special-files', path: '/dev/zero', expect: { diagnostics: ['SC1005 1:1'] }, generated: true });
  return cases;
}

/** A diagnostic as expected.json writes it. */
export function brief(d: { code: string; position?: { line: number; column: number }; field?: string }): string {
  return `${d.code} ${d.position?.line}:${d.position?.column}${d.field ? ` ${d.field}` : ''}`;
}

export function displayName(c: HostileCase): string {
  if (c.path === '-') return `${c.class}/<stdin>`;
  return c.generated ? `${c.class}/${c.path.split('/').pop()} (generated)` : relative(corpusDir, c.path);
}
