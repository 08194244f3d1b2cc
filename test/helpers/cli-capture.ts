/**
 * The controller's command line over a FakeSwarm, with stdout and stderr captured together in
 * the order they were written (what a user sees on a terminal).
 */
import { main } from '../../src/cli/main.js';
import type { FakeSwarm } from './fake-swarm.js';

export function capturingCli(swarm: FakeSwarm) {
  let out = '';
  const io = {
    out: (s: string) => void (out += s),
    err: (s: string) => void (out += s),
    connect: async () => Object.assign(swarm, { describe: () => 'fake' }),
  };
  return {
    run: (...args: string[]) => main(args, io),
    output: () => out,
    clear: () => void (out = ''),
  };
}
