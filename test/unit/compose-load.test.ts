import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeFiles } from '../../src/compose/merge.js';
import { normaliseServices } from '../../src/compose/normalise.js';
import { Problems, Reader } from '../../src/compose/problems.js';
import { parsePortShort, parseVolumeShort, shellSplit, composeBytes } from '../../src/compose/short-syntax.js';
import { parseComposeText, posOf, type TreeMap } from '../../src/compose/yaml-tree.js';

function load(texts: string[], files: Record<string, string> = {}): { project: TreeMap; problems: Problems } {
  const problems = new Problems();
  const parsed = texts.map((t, i) => {
    const p = parseComposeText(`f${i}.yml`, t);
    assert.deepEqual(p.diagnostics, []);
    normaliseServices(p.value!.services as TreeMap, {
      reader: new Reader(problems),
      env: { FROM_ENV: 'e' },
      workingDir: '/project',
      readText: (path) =>
        files[path] ??
        (() => {
          throw Object.assign(new Error('no'), { code: 'ENOENT' });
        })(),
    });
    return p.value!;
  });
  return { project: mergeFiles(parsed), problems };
}

describe('compose files: parsing with positions', () => {
  it('records the line and column of every key', () => {
    const p = parseComposeText('a.yml', 'services:\n  web:\n    image: nginx\n    ports:\n      - "80:80"\n');
    const web = (p.value!.services as TreeMap).web as TreeMap;
    assert.deepEqual(posOf(web, 'image'), { file: 'a.yml', line: 3, column: 5 });
    assert.deepEqual(posOf(web.ports, 0), { file: 'a.yml', line: 5, column: 9 });
  });

  it('resolves anchors and merge keys, explicit keys winning', () => {
    const p = parseComposeText(
      'a.yml',
      'x-d: &d {replicas: 2, mode: replicated}\nx-e: &e {replicas: 5, labels: {a: b}}\nservices:\n  web:\n    deploy:\n      <<: [*d, *e]\n      mode: global\n',
    );
    const deploy = ((p.value!.services as TreeMap).web as TreeMap).deploy;
    assert.deepEqual(deploy, { mode: 'global', replicas: 2, labels: { a: 'b' } });
  });

  it('reads plain 0440 as octal like docker/cli, quoted "0440" as a string', () => {
    const p = parseComposeText('a.yml', 'a: 0440\nb: "0440"\nc: 440\n');
    assert.deepEqual(p.value, { a: 0o440, b: '0440', c: 440 });
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    const bad = parseComposeText('a.yml', 'services:\n  web:\n    image: [unclosed\n');
    assert.equal(bad.diagnostics[0].code, 'SC1001');
    assert.equal(bad.diagnostics[0].position!.file, 'a.yml');
    const dup = parseComposeText('a.yml', 'services:\n  web: {}\n  web: {}\n');
    assert.deepEqual(
      dup.diagnostics.map((d) => [d.code, d.position?.line]),
      [['SC1002', 3]],
    );
  });

  it('stops alias bombs', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 6; i++)
      lines.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(', ')}]`,
      );
    const p = parseComposeText('bomb.yml', lines.join('\n') + '\n');
    assert.equal(p.diagnostics[0]?.code, 'SC1003');
  });
});

describe('compose short syntax', () => {
  it('parses ports: published:target, protocol, host ip, ranges, target only', () => {
    assert.deepEqual(parsePortShort('8080:80'), [{ target: 80, published: 8080, protocol: 'tcp', mode: 'ingress' }]);
    assert.deepEqual(parsePortShort('53:53/udp')[0].protocol, 'udp');
    assert.deepEqual(parsePortShort('127.0.0.1:8080:80')[0], {
      target: 80,
      published: 8080,
      protocol: 'tcp',
      mode: 'ingress',
      host_ip: '127.0.0.1',
    });
    assert.deepEqual(
      parsePortShort('9090-9091:8090-8091').map((p) => [p.published, p.target]),
      [
        [9090, 8090],
        [9091, 8091],
      ],
    );
    assert.deepEqual(parsePortShort(3000), [{ target: 3000, protocol: 'tcp', mode: 'ingress' }]);
    assert.throws(() => parsePortShort('80-81:90'), /same length/);
    assert.throws(() => parsePortShort('http'), /not a port/);
  });

  it('parses volumes: named, bind, anonymous, options', () => {
    assert.deepEqual(parseVolumeShort('data:/var/lib/db'), { type: 'volume', source: 'data', target: '/var/lib/db' });
    assert.deepEqual(parseVolumeShort('./conf:/etc/app:ro'), {
      type: 'bind',
      source: './conf',
      target: '/etc/app',
      read_only: true,
    });
    assert.deepEqual(parseVolumeShort('/:/host:ro,rslave'), {
      type: 'bind',
      source: '/',
      target: '/host',
      read_only: true,
      bind: { propagation: 'rslave' },
    });
    assert.deepEqual(parseVolumeShort('/tmp/cache'), { type: 'volume', target: '/tmp/cache' });
    assert.throws(() => parseVolumeShort('a:/b:bogus'), /bogus/);
  });

  it('splits command strings like a shell, without expansions', () => {
    assert.deepEqual(shellSplit(`npm run "start prod" --flag='a b' x\\ y`), [
      'npm',
      'run',
      'start prod',
      '--flag=a b',
      'x y',
    ]);
    assert.throws(() => shellSplit('echo "open'), /not closed/);
  });

  it('reads sizes with binary units like docker', () => {
    assert.equal(composeBytes('512M'), '512Mi');
    assert.equal(composeBytes('1g'), '1Gi');
    assert.equal(composeBytes(1024), 1024);
    assert.equal(composeBytes('1.5g'), 1610612736);
  });
});

describe('compose files: normalising and merging in order', () => {
  it('merges environment (env_file first), ports by value, volumes by target, replaces command', () => {
    const { project, problems } = load(
      [
        'services:\n  web:\n    image: a:1\n    command: serve --port 80\n    env_file: web.env\n    environment: [A=1, B=2, FROM_ENV]\n    ports: ["80:80"]\n    volumes: ["data:/data", "/a:/logs"]\n    deploy: {placement: {constraints: [x == 1]}}\n',
        'services:\n  web:\n    image: a:2\n    command: ["serve", "--prod"]\n    environment: {B: "3"}\n    ports: ["80:80", "443:443"]\n    volumes: ["/b:/logs"]\n    deploy: {placement: {constraints: [y == 2]}}\n',
      ],
      { '/project/web.env': 'A=from-file\nC=file\n' },
    );
    assert.deepEqual(problems.list, []);
    const web = (project.services as TreeMap).web as TreeMap;
    assert.equal(web.image, 'a:2');
    assert.deepEqual(web.command, ['serve', '--prod']);
    assert.deepEqual(web.environment, { A: '1', B: '3', C: 'file', FROM_ENV: 'e' });
    assert.deepEqual(
      (web.ports as TreeMap[]).map((p) => p.published),
      [80, 443],
    );
    assert.deepEqual(
      (web.volumes as TreeMap[]).map((v) => `${v.source as string}:${v.target as string}`),
      ['data:/data', '/b:/logs'],
    );
    assert.deepEqual(((web.deploy as TreeMap).placement as TreeMap).constraints, ['x == 1', 'y == 2']);
  });

  it('reports an env file that cannot be read at the env_file line', () => {
    const { problems } = load(['services:\n  web:\n    image: a\n    env_file: missing.env\n']);
    assert.deepEqual(
      problems.list.map((d) => [d.code, d.position?.line, d.field]),
      [['SC1005', 4, 'services.web.env_file']],
    );
  });

  it("resolves relative bind mounts against the first file's directory", () => {
    const { project } = load(['services:\n  web:\n    image: a\n    volumes: ["./conf:/etc/conf"]\n']);
    assert.equal((((project.services as TreeMap).web as TreeMap).volumes as TreeMap[])[0].source, '/project/conf');
  });
});
