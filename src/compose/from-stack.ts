/**
 * `controller import stack NAME`: a stack running in the Swarm (deployed by `docker stack
 * deploy`, its files lost) as manifests. The stack is what carries the label
 * com.docker.stack.namespace=NAME: its services, and the networks, configs and secrets they
 * use. Each live spec is read into the canonical model (src/model/) and written back as the
 * manifest that means it (model/to-manifest.ts), so `apply --adopt` of the result changes no
 * task template. Names are the stack's (`NAME_web` is Service `web` of namespace NAME); an
 * object of the stack without the prefix has an explicit name (spec.name); one not of the
 * stack is external. A config's content is read from the Swarm; a secret's never is, so a
 * secret is written as external (a warning says so). Whatever the manifests cannot express is
 * a warning naming the Swarm field. Pure: the caller reads the Swarm.
 */
import { canonicalImage, parseImageRef, withoutDigest } from '../api/image-ref.js';
import { userLabels } from '../api/labels.js';
import type { SwarmConfig, SwarmNetwork, SwarmSecret, SwarmService } from '../api/swarm-types.js';
import { diagnostic, type Diagnostic } from '../errors.js';
import { networkModelFromLive } from '../model/network.js';
import { serviceModelFromSpec } from '../model/service.js';
import { networkManifestSpec, serviceManifestSpec } from '../model/to-manifest.js';
import type { DataFile } from './convert-objects.js';
import { stackLabel } from './convert-service.js';
import { apiVersion, type Manifest } from './import.js';
import { manifestName } from './names.js';

export interface LiveStack {
  services: SwarmService[];
  networks: SwarmNetwork[];
  /** With their data. */
  configs: SwarmConfig[];
  secrets: SwarmSecret[];
}

export interface StackImport {
  manifests: Manifest[];
  dataFiles: DataFile[];
  diagnostics: Diagnostic[];
}

/** stack deploy's record of the image asked for; the stored image is what the manifest keeps. */
const labelStackImage = 'com.docker.stack.image';

/**
 * The image stack deploy was asked for: the live image without the digest it pinned (the
 * stack's image label names the tag), so the manifest says `app:1` and apply carries the pin.
 */
function requestedImage(s: SwarmService): string {
  const image = s.Spec.TaskTemplate?.ContainerSpec?.Image ?? '';
  const asked = s.Spec.Labels?.[labelStackImage];
  const ref = parseImageRef(image);
  if (ref.tag && ref.digest && !(asked && parseImageRef(asked).digest)) return canonicalImage(withoutDigest(image));
  return canonicalImage(image);
}

export function stackManifests(stack: string, live: LiveStack): StackImport {
  const diagnostics: Diagnostic[] = [];
  const warn = (object: string, field: string, message: string, fix: string) =>
    diagnostics.push(diagnostic('SC6004', message, { severity: 'warning', object, field, fix }));
  const inStack = (labels: Record<string, string> | null | undefined) => labels?.[stackLabel] === stack;
  const prefix = `${stack}_`;
  const services = live.services.filter((s) => inStack(s.Spec.Labels) && s.Spec.Name?.startsWith(prefix));
  const meta = (name: string, labels: Record<string, string> = {}) => ({
    name,
    namespace: stack,
    ...(Object.keys(labels).length ? { labels } : {}),
  });

  // Networks the services use: the stack's own (prefixed or named), or external ones.
  const manifests: Manifest[] = [];
  const networkRef = new Map<string, string>();
  const byId = new Map(live.networks.map((n) => [n.Id, n]));
  const used = new Set(services.flatMap((s) => (s.Spec.TaskTemplate?.Networks ?? []).map((n) => n.Target ?? '')));
  for (const n of [...used].map((id) => byId.get(id)).filter((n): n is SwarmNetwork => !!n)) {
    const own = inStack(n.Labels);
    const name = own && n.Name.startsWith(prefix) ? n.Name.slice(prefix.length) : manifestName('network', n.Name);
    networkRef.set(n.Name, name);
    const spec = own
      ? { ...(n.Name.startsWith(prefix) ? {} : { name: n.Name }), ...networkManifestSpec(networkModelFromLive(n)) }
      : { external: true, name: n.Name };
    manifests.push({ apiVersion, kind: 'Network', metadata: meta(name, own ? userLabels(n.Labels) : {}), spec });
  }

  // Configs and secrets the services mount.
  const dataFiles: DataFile[] = [];
  const dataRef = new Map<string, string>();
  const mounted = (kind: 'Config' | 'Secret') =>
    new Set(
      services.flatMap((s) => {
        const c = s.Spec.TaskTemplate?.ContainerSpec;
        return kind === 'Config'
          ? (c?.Configs ?? []).map((r) => r.ConfigName ?? '')
          : (c?.Secrets ?? []).map((r) => r.SecretName ?? '');
      }),
    );
  for (const kind of ['Config', 'Secret'] as const) {
    const objects: (SwarmConfig | SwarmSecret)[] = kind === 'Config' ? live.configs : live.secrets;
    for (const swarmName of [...mounted(kind)].sort()) {
      const o = objects.find((x) => x.Spec.Name === swarmName);
      const own = o && inStack(o.Spec.Labels);
      const name =
        own && swarmName.startsWith(prefix)
          ? swarmName.slice(prefix.length)
          : manifestName(kind === 'Config' ? 'config' : 'secret', swarmName);
      dataRef.set(`${kind}/${swarmName}`, name);
      const object = `${kind} "${stack}/${name}"`;
      const data = o && 'Data' in o.Spec ? o.Spec.Data : undefined;
      if (!own || data === undefined) {
        if (own)
          warn(
            object,
            'spec',
            `Swarm never returns a secret's value, so "${swarmName}" is written as external: its services keep using it, and the controller does not manage it`,
            `to manage it, replace "external: true" with file: or env: holding its value (the plan then makes a new version and moves the services to it)`,
          );
        manifests.push({
          apiVersion,
          kind,
          metadata: meta(name),
          spec: { external: true, ...(swarmName !== `${stack}_${name}` ? { name: swarmName } : {}) },
        });
        continue;
      }
      const to = `files/${name}`;
      dataFiles.push({ from: '', to, secret: false, content: Buffer.from(data, 'base64'), field: `${kind}/${name}` });
      const templating = o.Spec.Templating?.Name;
      manifests.push({
        apiVersion,
        kind,
        metadata: meta(name, userLabels(o.Spec.Labels)),
        spec: {
          ...(swarmName.startsWith(prefix) ? {} : { name: swarmName }),
          file: to,
          ...(templating ? { templateDriver: templating } : {}),
        },
      });
    }
  }

  for (const s of services) {
    const name = (s.Spec.Name ?? '').slice(prefix.length);
    const object = `Service "${stack}/${name}"`;
    const model = {
      ...serviceModelFromSpec(s.Spec, { networkNames: new Map(live.networks.map((n) => [n.Id, n.Name])) }),
      image: requestedImage(s),
    };
    for (const path of Object.keys(model.unmanaged))
      warn(
        object,
        `swarm:${path}`,
        `${path} is left out: the Service manifest cannot express it`,
        'check the service works without it; an apply removes it',
      );
    const labels = userLabels(s.Spec.Labels);
    delete labels[labelStackImage];
    const spec = serviceManifestSpec(model, {
      network: (n) => networkRef.get(n) ?? n,
      data: (kind, n) => dataRef.get(`${kind}/${n}`) ?? n,
    });
    manifests.push({ apiVersion, kind: 'Service', metadata: meta(name, labels), spec });
  }
  return { manifests, dataFiles, diagnostics };
}
