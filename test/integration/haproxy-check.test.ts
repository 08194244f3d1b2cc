/** The haproxy.cfg (and its maps) the renderer writes (test/unit/proxy-config.test.ts checks its text) is accepted by the real `haproxy -c`. */
import { describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostMapPath, pathMapPath, renderConfig, renderMaps } from '../../src/proxy/haproxy-config.js';
import { tableChecksum } from '../../src/proxy/route-table.js';
import { assignSlots } from '../../src/proxy/slots.js';
import { sampleRoutes } from '../helpers/route-tables.js';

describe('haproxy.cfg rendering', () => {
  it('is accepted by the real haproxy -c', () => {
    const routes = [sampleRoutes.web, sampleRoutes.admin];
    const t = { generation: 1, checksum: tableChecksum(routes), routes };
    const dir = mkdtempSync(join(tmpdir(), 'sc-proxy-cfg-'));
    const text = renderConfig(t, assignSlots(t), {
      httpBind: '127.0.0.1:18080',
      httpsBind: '127.0.0.1:18443',
      stateDir: dir,
    });
    try {
      writeFileSync(join(dir, 'haproxy.cfg'), text);
      const maps = renderMaps(t);
      writeFileSync(hostMapPath(dir), maps.hosts);
      writeFileSync(pathMapPath(dir), maps.paths);
      try {
        execFileSync(process.env.HAPROXY ?? '/usr/sbin/haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')], {
          stdio: 'pipe',
        });
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
        if (e.code === 'ENOENT')
          throw new Error(
            'HAProxy is not installed: run scripts/install-deps.sh (apt-get install haproxy) or set HAPROXY',
            { cause: err },
          );
        throw new Error(`haproxy -c refused the rendered configuration:\n${e.stderr?.toString()}`, { cause: err });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
