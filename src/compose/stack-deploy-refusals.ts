/**
 * What `docker stack deploy` refuses in a compose file that the importer can read all the
 * same, said as SC6008 warnings at the field, so a user moving a stack learns why stack deploy
 * failed on it (and that the manifests will not fail the same way, or will, and where). Seen on
 * the stack corpus (test/fixtures/stacks/): its schema (compose file format 3.x) refuses a list
 * field written empty (`volumes:` holding only comments is null) and `depends_on` with
 * conditions (a mapping); Swarm refuses a service on a network of a local driver (`bridge`,
 * after stack deploy has created the network) and a network whose IPAM driver no plugin
 * provides. Reads one file's tree after interpolation, before normalising. Pure.
 */
import { at, type Reader } from './problems.js';
import { isMapValue, type TreeMap } from './yaml-tree.js';

/** Service fields stack deploy's schema wants as a list, never null. */
const listFields = ['volumes', 'ports', 'secrets', 'configs', 'cap_add', 'cap_drop', 'expose', 'dns_search', 'devices'];
/** Network drivers whose networks Swarm services cannot use (their scope is one node). */
const localDrivers = ['bridge', 'host', 'none'];

export function checkStackDeployRefusals(file: TreeMap, r: Reader): void {
  const refuses = (container: unknown, key: string, field: string, why: string, fix: string) =>
    r.problems.warn('SC6008', at(container, key, field), `docker stack deploy refuses this file: ${why}`, fix);
  const services = isMapValue(file.services) ? file.services : {};
  for (const [name, svc] of Object.entries(services)) {
    if (!isMapValue(svc)) continue;
    const field = `services.${name}`;
    for (const key of listFields)
      if (key in svc && svc[key] === null)
        refuses(
          svc,
          key,
          field,
          `${field}.${key} must be a list (it is empty, null); the import reads it as no ${key}`,
          `remove "${key}:" or give it a list`,
        );
    if (isMapValue(svc.depends_on))
      refuses(
        svc,
        'depends_on',
        field,
        `${field}.depends_on must be a list (its schema has no conditions); the import leaves depends_on out, as Swarm has no start order`,
        'remove depends_on; make the service retry its dependencies',
      );
  }
  const networks = isMapValue(file.networks) ? file.networks : {};
  for (const [name, n] of Object.entries(networks)) {
    if (!isMapValue(n) || n.external) continue;
    const field = `networks.${name}`;
    if (typeof n.driver === 'string' && localDrivers.includes(n.driver))
      refuses(
        n,
        'driver',
        field,
        `it creates network "${name}" with driver "${n.driver}" and then Swarm refuses every service on it ("cannot be used with services. Only networks scoped to the swarm can be used")`,
        'remove the driver (overlay is the default), or use an external network',
      );
    const ipam = isMapValue(n.ipam) ? n.ipam : undefined;
    if (ipam && typeof ipam.driver === 'string' && ipam.driver !== 'default')
      refuses(
        ipam,
        'driver',
        `${field}.ipam`,
        `Swarm refuses network "${name}" unless an IPAM plugin "${ipam.driver}" is installed ("error during lookup of plugin")`,
        'remove ipam.driver to use the default IPAM',
      );
  }
}
