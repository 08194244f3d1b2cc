/**
 * The proxy token: a random secret shared by the controller (which pushes route tables) and
 * the proxy agents (which accept them). It lives in the Swarm as a secret both services
 * mount, so it never appears in git or in a manifest. `controller bootstrap` creates it once.
 */
import { randomBytes } from 'node:crypto';
import type { SwarmAccess } from '../api/swarm-access.js';
import { AlreadyExistsError } from '../errors.js';

export const proxyTokenSecret = 'swarm-controller-proxy-token';

/** Creates the token secret unless it exists; returns whether it was created. */
export async function ensureProxyTokenSecret(
  swarm: Pick<SwarmAccess, 'listSecrets' | 'createSecret'>,
  name = proxyTokenSecret,
): Promise<boolean> {
  if ((await swarm.listSecrets()).some((s) => s.Spec.Name === name)) return false;
  try {
    await swarm.createSecret(name, { 'swarm.controller/purpose': 'proxy-token' }, randomBytes(32).toString('hex'));
    return true;
  } catch (err) {
    if (err instanceof AlreadyExistsError) return false; // created meanwhile
    throw err;
  }
}
