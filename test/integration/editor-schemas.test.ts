/**
 * The editor schemas in a real editor's language server: yaml-language-server (the server
 * behind VS Code's Red Hat YAML extension, and Neovim's, Helix's, ... YAML support) is started
 * over stdio, opens manifests whose `# yaml-language-server: $schema=...` line names a schema of
 * schemas/, and publishes the diagnostics an editor would underline. Mistakes are reported at
 * their line and column with the schema's message; the example manifests and the manifests
 * `controller import compose` writes get none, with their schema loaded (a hover proves it).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { findRepoRoot } from '../../scripts/generate.js';
import { importCompose } from '../../src/compose/import.js';
import { writeImport } from '../../src/compose/write.js';
import { LspClient, type Diagnostic, type Position } from './lsp-client.js';

const root = findRepoRoot();
const serverBin = join(
  dirname(createRequire(import.meta.url).resolve('yaml-language-server/package.json')),
  'bin/yaml-language-server',
);

/**
 * The settings an editor sends: validation, hover and completion on (the defaults), and no
 * downloads: SchemaStore's catalogue and the Kubernetes CRD catalogue are off (this machine
 * has no network, and neither is needed: the modeline names the schema). One file is mapped
 * to a schema by `yaml.schemas`, the other way docs/editors.md describes.
 */
const bySettings = 'test/fixtures/editor/by-settings.yaml';
const yamlSettings = {
  schemas: { [join(root, 'schemas/manifest.json')]: [bySettings] },
  validate: true,
  hover: true,
  completion: true,
  schemaStore: { enable: false },
  kubernetesCRDStore: { enable: false },
};

let server: LspClient;
let version = 0;

before(async () => {
  server = new LspClient(process.execPath, [serverBin, '--stdio'], (section) =>
    section === 'yaml' ? yamlSettings : null,
  );
  const init = await server.request<{ serverInfo?: { name: string; version: string } }>('initialize', {
    processId: process.pid,
    rootUri: pathToFileURL(root).href,
    workspaceFolders: [{ uri: pathToFileURL(root).href, name: 'swarm-controller' }],
    capabilities: {
      workspace: { configuration: true, workspaceFolders: true },
      textDocument: {
        publishDiagnostics: {},
        hover: { contentFormat: ['markdown', 'plaintext'] },
        completion: { completionItem: { snippetSupport: true, documentationFormat: ['markdown'] } },
      },
    },
  });
  assert.equal(init.serverInfo?.name, 'yaml-language-server');
  server.notify('initialized', {});
  server.notify('workspace/didChangeConfiguration', { settings: { yaml: yamlSettings } });
});

after(async () => {
  await server?.close();
});

/** Opens `text` as the document at `path` and returns the diagnostics the server publishes for it. */
async function open(path: string, text: string): Promise<{ uri: string; diagnostics: Diagnostic[] }> {
  const uri = pathToFileURL(path).href;
  const published = server.nextDiagnostics(uri);
  server.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: ++version, text } });
  return { uri, diagnostics: (await published).diagnostics };
}

async function openFile(path: string): Promise<{ uri: string; text: string; diagnostics: Diagnostic[] }> {
  const text = readFileSync(path, 'utf8');
  return { text, ...(await open(path, text)) };
}

/** The 0-based position of the first (or last) `needle` in `text` (LSP positions). */
function positionOf(text: string, needle: string, last = false): Position {
  const offset = last ? text.lastIndexOf(needle) : text.indexOf(needle);
  assert.ok(offset >= 0, `"${needle}" is in the text`);
  const lines = text.slice(0, offset).split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

/** [line, character] of the first `needle` in `text`, 0-based, as diagnostics are summarised. */
function lineAndColumn(text: string, needle: string): [number, number] {
  const p = positionOf(text, needle);
  return [p.line, p.character];
}

/** Diagnostics as [line, character, message], sorted by position; lines are 0-based as in LSP. */
function summary(diagnostics: Diagnostic[]): [number, number, string][] {
  return diagnostics
    .map((d): [number, number, string] => [d.range.start.line, d.range.start.character, d.message])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

async function hover(uri: string, position: Position): Promise<string> {
  const result = await server.request<{ contents: { value: string } | string } | null>('textDocument/hover', {
    textDocument: { uri },
    position,
  });
  if (result === null) return '';
  return typeof result.contents === 'string' ? result.contents : result.contents.value;
}

describe('yaml-language-server with schemas/', () => {
  it('reports an unknown field, a wrong enum value and two bad patterns of a Service at their places', async () => {
    const { text, diagnostics } = await openFile(join(root, 'test/fixtures/editor/service-mistakes.yaml'));
    const at = (needle: string) => lineAndColumn(text, needle);
    assert.deepEqual(summary(diagnostics), [
      [
        ...at('web_1_'),
        'Does not match ^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$. The service\'s name, as Swarm and docker stack deploy accept it: letters, digits, dashes and underscores, starting and ending with a letter or digit, e.g. "web" or "payment_gateway". Its Swarm name is <namespace>_<name>, and on its networks it is also reachable as <name> when that is listed in aliases (the compose import lists it, as stack deploy does).',
      ],
      [
        ...at('everywhere'),
        'Value is not accepted. Valid values: "replicated", "global", "replicated-job", "global-job".',
      ],
      [...at('update_config'), 'Property update_config is not allowed.'],
      [
        ...at('10 seconds'),
        'Does not match ^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$. A Go-style duration: one or more numbers, each followed by a unit (ns, us, µs, ms, s, m, h), e.g. "10s", "1m30s" or "500ms".',
      ],
    ]);
    // In the fixture as a person reads it (1-based): update_config is on line 11, column 3.
    assert.deepEqual(at('update_config'), [10, 2]);
    const unknown = diagnostics.find((d) => d.message.includes('update_config'));
    assert.deepEqual(unknown?.range.end, { line: 10, character: 2 + 'update_config'.length });
  });

  it('checks each document of a file against its own kind with schemas/manifest.json', async () => {
    const { text, diagnostics } = await openFile(join(root, 'test/fixtures/editor/mixed-mistakes.yaml'));
    const at = (needle: string) => lineAndColumn(text, needle);
    assert.deepEqual(summary(diagnostics), [
      [...at('70000'), 'Value is above the maximum of 65535.'],
      [
        ...at('10.20.0.0/33'),
        'Does not match ^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])$. An IPv4 address range in CIDR notation (address/prefix length), e.g. "10.20.0.0/24".',
      ],
      [...at('gatway'), 'Property gatway is not allowed.'],
    ]);
    // The source names the schema that reported it: the Service's port, the Network's subnet.
    assert.deepEqual(diagnostics.map((d) => d.source).sort(), [
      'yaml-schema: IpamSubnet',
      'yaml-schema: Ipv4Cidr',
      'yaml-schema: ServicePort',
    ]);
  });

  it('checks every document of a file that the yaml.schemas setting maps to schemas/manifest.json', async () => {
    const { text, diagnostics } = await openFile(join(root, bySettings));
    assert.deepEqual(summary(diagnostics), [
      [...lineAndColumn(text, '"3"'), 'Incorrect type. Expected "integer".'],
      [...lineAndColumn(text, 'stripPrefx'), 'Property stripPrefx is not allowed.'],
    ]);
  });

  it('gives no diagnostic for the example manifests, whose schema it loaded', async () => {
    for (const dir of ['manifests/examples', 'manifests/controller']) {
      for (const name of readdirSync(join(root, dir)).filter((n) => n.endsWith('.yaml'))) {
        const { uri, text, diagnostics } = await openFile(join(root, dir, name));
        assert.deepEqual(summary(diagnostics), [], `${dir}/${name}`);
        // The schema was found and read, for the first and the last document of the file:
        // hovering over metadata shows its description.
        for (const last of [false, true]) {
          const shown = await hover(uri, positionOf(text, 'metadata:', last));
          assert.match(shown, /The name, namespace and labels/, `${dir}/${name}: hover on metadata`);
        }
      }
    }
  });

  it('checks the manifests `controller import compose` writes, by the schema line it writes', async () => {
    const out = mkdtempSync(join(tmpdir(), 'editor-import-'));
    try {
      const compose = join(root, 'test/fixtures/compose/voting-app/docker-stack.yml');
      const result = importCompose({ files: [compose], env: {} });
      assert.deepEqual(
        result.diagnostics.filter((d) => d.severity === 'error'),
        [],
      );
      writeImport(out, result.manifests, result.dataFiles, [compose]);
      const path = join(out, 'service-vote.yaml');
      const { uri, text, diagnostics } = await openFile(path);
      assert.match(text.split('\n')[1], /^# yaml-language-server: \$schema=\S+\/schemas\/service\.json$/);
      assert.deepEqual(summary(diagnostics), []);
      assert.match(await hover(uri, positionOf(text, 'metadata:')), /The name, namespace and labels/);

      // A mistake typed into the generated file is reported where it was typed.
      const edited = text.replace(/^spec:\n/m, 'spec:\n  replicaz: 2\n');
      const published = server.nextDiagnostics(uri);
      server.notify('textDocument/didChange', {
        textDocument: { uri, version: ++version },
        contentChanges: [{ text: edited }],
      });
      const p = positionOf(edited, 'replicaz');
      assert.deepEqual(summary((await published).diagnostics), [
        [p.line, p.character, 'Property replicaz is not allowed.'],
      ]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
