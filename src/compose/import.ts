/**
 * The compose import pipeline, without writing: read each file, parse it with positions,
 * interpolate variables, bring services to long forms, merge the files in order, then convert
 * to manifests. Returns the manifests, the data files to copy and every diagnostic; with any
 * error the caller writes nothing. File reads go through the injected readText (tests).
 */
import { checkStackDeployRefusals } from './stack-deploy-refusals.js';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { closest } from '../manifest/suggest.js';
import { sortDiagnostics, type Diagnostic } from '../errors.js';
import { convertFileObject, convertNetwork, type DataFile } from './convert-objects.js';
import { convertService, type ServiceContext } from './convert-service.js';
import { knownTopLevel } from './fields.js';
import { interpolateTree, type Environment } from './interpolate.js';
import { mergeFiles } from './merge.js';
import { defaultNamespace, manifestName, NameTable } from './names.js';
import { normaliseServices } from './normalise.js';
import { at, Problems, Reader } from './problems.js';
import { isMapValue, parseComposeText, type TreeMap } from './yaml-tree.js';

export const apiVersion = 'swarm.controller/v1alpha1';

export interface Manifest {
  apiVersion: typeof apiVersion;
  kind: 'Service' | 'Network' | 'Config' | 'Secret';
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

export interface ImportOptions {
  files: string[];
  namespace?: string;
  env?: Environment;
  readText?: (path: string) => string;
}

export interface ImportResult {
  namespace: string;
  manifests: Manifest[];
  dataFiles: DataFile[];
  diagnostics: Diagnostic[];
}

const maxBytes = 4 * 1024 * 1024;

function readComposeFile(path: string): string {
  const buf = readFileSync(path);
  if (buf.length > maxBytes) throw Object.assign(new Error('larger than 4 MiB'), { code: 'EFBIG' });
  return new TextDecoder('utf-8', { fatal: true }).decode(buf);
}

export function importCompose(options: ImportOptions): ImportResult {
  const env = options.env ?? process.env;
  const readText = options.readText ?? readComposeFile;
  const problems = new Problems();
  const r = new Reader(problems);
  const workingDir = dirname(resolve(options.files[0] ?? '.'));
  const parsed: TreeMap[] = [];
  for (const file of options.files) {
    let text: string;
    try {
      text = readText(file);
    } catch (err) {
      problems.list.push({
        code: 'SC1005',
        severity: 'error',
        message: `cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        position: { file, line: 1, column: 1 },
        fix: 'check the path of the compose file (UTF-8, at most 4 MiB)',
      });
      continue;
    }
    const p = parseComposeText(file, text);
    problems.list.push(...p.diagnostics);
    if (!p.value) continue;
    problems.list.push(...interpolateTree(p.value, env));
    checkTopLevel(p.value, r);
    checkStackDeployRefusals(p.value, r);
    const services = r.map(at(p.value, 'services', ''), p.value.services);
    if (services) normaliseServices(services, { reader: r, env, workingDir, readText });
    parsed.push(p.value);
  }
  const empty = (namespace: string): ImportResult => ({
    namespace,
    manifests: [],
    dataFiles: [],
    diagnostics: sortDiagnostics(problems.list),
  });
  if (problems.hasErrors || parsed.length === 0) return empty(options.namespace ?? 'default');
  const project = mergeFiles(parsed);
  const topName = typeof project.name === 'string' ? project.name : undefined;
  const namespace = options.namespace ?? defaultNamespace(options.files[0], topName);
  const manifests = convertProject(project, namespace, workingDir, r);
  if (problems.hasErrors) return empty(namespace);
  return {
    namespace,
    manifests: manifests.list,
    dataFiles: manifests.files,
    diagnostics: sortDiagnostics(problems.list),
  };
}

function checkTopLevel(file: TreeMap, r: Reader): void {
  for (const key of Object.keys(file)) {
    if (knownTopLevel.includes(key) || key.startsWith('x-')) continue;
    if (key === 'include' || key === 'models') {
      r.problems.warn(
        'SC6004',
        at(file, key, ''),
        `"${key}" is left out: docker stack deploy does not support it`,
        'pass the other files with more FILE arguments instead',
      );
      continue;
    }
    const guess = closest(key, knownTopLevel);
    r.problems.error(
      'SC6003',
      at(file, key, ''),
      `unknown top-level field "${key}"`,
      guess ? `did you mean "${guess}"?` : 'remove it, or prefix it with "x-" to make it an extension field',
    );
  }
}

function convertProject(
  project: TreeMap,
  namespace: string,
  workingDir: string,
  r: Reader,
): { list: Manifest[]; files: DataFile[] } {
  const section = (key: string): TreeMap => r.map(at(project, key, ''), project[key]) ?? {};
  const services = section('services');
  const names = {
    services: new NameTable('service', r.problems),
    networks: new NameTable('network', r.problems),
    configs: new NameTable('config', r.problems),
    secrets: new NameTable('secret', r.problems),
  };
  const ctx: ServiceContext = {
    r,
    namespace,
    names,
    networks: section('networks'),
    volumes: section('volumes'),
    configs: section('configs'),
    secrets: section('secrets'),
    usedNetworks: new Set(),
  };
  const manifest = (
    kind: Manifest['kind'],
    name: string,
    labels: Record<string, string>,
    spec: Record<string, unknown>,
  ): Manifest => ({
    apiVersion,
    kind,
    metadata: { name, namespace, ...(Object.keys(labels).length ? { labels } : {}) },
    spec,
  });
  const list: Manifest[] = [];
  const files: DataFile[] = [];
  for (const kind of ['configs', 'secrets'] as const) {
    for (const key of Object.keys(ctx[kind]).sort()) {
      const o = convertFileObject(kind === 'configs' ? 'Config' : 'Secret', key, names[kind], ctx[kind], {
        r,
        workingDir,
        files,
      });
      if (o) list.push(manifest(o.kind, o.name, o.labels, o.spec));
    }
  }
  const serviceManifests: Manifest[] = [];
  for (const key of Object.keys(services).sort()) {
    const svc = services[key];
    if (!isMapValue(svc)) continue;
    const name = names.services.add(key, at(services, key, 'services'));
    const { spec, labels } = convertService(key, svc, `services.${key}`, ctx);
    serviceManifests.push(manifest('Service', name, labels, spec));
  }
  for (const key of Object.keys(ctx.networks).sort()) {
    if (!ctx.usedNetworks.has(key)) {
      r.problems.warn(
        'SC6004',
        at(ctx.networks, key, 'networks'),
        `network "${key}" is used by no service and is left out, as docker stack deploy does`,
        'attach a service to it, or remove it',
      );
    }
  }
  const networkManifests = [...ctx.usedNetworks].sort().map((key) => {
    const name = names.networks.get(key) ?? manifestName('network', key);
    const o = convertNetwork(key, name, ctx.networks[key], `networks.${key}`, r);
    return manifest('Network', o.name, o.labels, o.spec);
  });
  return { list: [...networkManifests, ...list, ...serviceManifests], files };
}
