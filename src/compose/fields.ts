/**
 * The compose fields the importer knows, and for those our manifests cannot express, why and
 * what to do. `stack` says what `docker stack deploy` does with the field: "ignored" (it
 * prints "Ignoring unsupported options" or drops it) or "swarm" (it sets it in the Swarm
 * spec, so our import loses something stack deploy keeps). docs/compose.md lists the same.
 */
import { containerFieldNames } from './container-fields.js';

export interface Unexpressible {
  stack: 'ignored' | 'swarm';
  fix: string;
}

const ignored = (fix: string): Unexpressible => ({ stack: 'ignored', fix });
const swarm = (fix: string): Unexpressible => ({ stack: 'swarm', fix });

/** Service fields that are converted (see convert-service.ts). */
export const convertedServiceFields = [
  'image',
  'command',
  'entrypoint',
  'environment',
  'env_file',
  'working_dir',
  'user',
  'hostname',
  'labels',
  'ports',
  'expose',
  'networks',
  'volumes',
  'secrets',
  'configs',
  'healthcheck',
  'stop_grace_period',
  'deploy',
  'restart',
  ...containerFieldNames,
] as const;

export const unexpressibleServiceFields: Record<string, Unexpressible> = {
  build: ignored('build and push the image first; the manifest uses "image"'),
  container_name: ignored('Swarm names containers itself; remove it'),
  depends_on: ignored(
    'Swarm starts services in no order; make the service retry its dependencies (a healthcheck and restart policy help)',
  ),
  links: ignored('services reach each other by name on a shared network; remove it'),
  external_links: ignored('attach both services to a shared network instead'),
  network_mode: ignored('attach the service to networks instead'),
  privileged: ignored('Swarm services cannot run privileged; drop it or run the container outside Swarm'),
  devices: ignored('Swarm services cannot map devices; run the container outside Swarm'),
  ipc: ignored('remove it; Swarm services do not share IPC namespaces'),
  pid: ignored('remove it; Swarm services do not share PID namespaces'),
  shm_size: ignored('mount a tmpfs at /dev/shm with a size instead (volumes: type tmpfs)'),
  security_opt: ignored('remove it; Swarm does not pass security options'),
  userns_mode: ignored('remove it; Swarm does not support user namespace modes per service'),
  cgroup_parent: ignored('remove it'),
  cgroupns_mode: ignored('remove it'),
  domainname: ignored('remove it'),
  mac_address: ignored('remove it'),
  tmpfs: ignored('write a volume of type tmpfs instead: volumes: [{type: tmpfs, target: /path}]'),
  profiles: ignored('every service is imported; remove the services you do not want'),
  pull_policy: ignored('Swarm pulls when it schedules a task; remove it'),
  platform: ignored('use a placement constraint such as node.platform.arch == x86_64'),
  scale: ignored('use deploy.replicas'),
  mem_limit: ignored('use deploy.resources.limits.memory'),
  memswap_limit: ignored('remove it'),
  mem_reservation: ignored('use deploy.resources.reservations.memory'),
  cpus: ignored('use deploy.resources.limits.cpus'),
  cpu_shares: ignored('use deploy.resources'),
  cpu_quota: ignored('use deploy.resources.limits.cpus'),
  cpuset: ignored('remove it'),
  blkio_config: ignored('remove it'),
  oom_kill_disable: ignored('remove it'),
  storage_opt: ignored('remove it'),
  develop: ignored('remove it; it is for docker compose watch'),
  isolation: swarm('Windows only: process or hyperv isolation has no meaning for Linux containers; remove it'),
  credential_spec: swarm('Windows only (gMSA credentials); remove it'),
  group_add: ignored('docker stack deploy does not set it either; add the groups to the user in the image'),
};

/** Fields of deploy (and below) that are converted, by path below deploy. */
export const convertedDeployFields = [
  'mode',
  'replicas',
  'labels',
  'endpoint_mode',
  'placement',
  'resources',
  'restart_policy',
  'update_config',
  'rollback_config',
];

export const unexpressibleDeployFields: Record<string, Unexpressible> = {
  'resources.reservations.devices': ignored('Swarm services cannot reserve devices'),
  'placement.platforms': ignored('use a placement constraint such as node.platform.arch == x86_64'),
};

export const knownTopLevel = ['version', 'name', 'services', 'networks', 'volumes', 'configs', 'secrets'];
