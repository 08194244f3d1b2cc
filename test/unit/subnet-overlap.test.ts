import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan } from '../../src/plan/build-plan.js';
import { cidrRange, subnetsOverlap } from '../../src/plan/subnet-overlap.js';
import type { LiveState } from '../../src/api/swarm-types.js';
import { desiredFrom, network } from '../helpers/manifests.js';

describe('subnet ranges', () => {
  it('reads IPv4 and IPv6 CIDRs, ignoring host bits', () => {
    assert.deepEqual(cidrRange('10.213.100.7/24'), { family: 4, first: 0x0ad56400n, last: 0x0ad564ffn });
    assert.deepEqual(cidrRange('fd00:1::/64'), {
      family: 6,
      first: 0xfd000001000000000000000000000000n,
      last: 0xfd00000100000000ffffffffffffffffn,
    });
    for (const bad of ['10.0.0.0', '10.0.0.256/24', '10.0.0.0/33', 'fd00::1::/64', 'x/8'])
      assert.equal(cidrRange(bad), undefined, bad);
  });

  it('overlap: containment and equality overlap; neighbours and other families do not', () => {
    assert.equal(subnetsOverlap('10.213.100.0/24', '10.213.100.0/24'), true);
    assert.equal(subnetsOverlap('10.213.0.0/16', '10.213.100.0/24'), true);
    assert.equal(subnetsOverlap('10.213.100.128/25', '10.213.100.0/24'), true);
    assert.equal(subnetsOverlap('10.213.100.0/24', '10.213.101.0/24'), false);
    assert.equal(subnetsOverlap('10.213.100.0/24', 'fd00::/8'), false);
    assert.equal(subnetsOverlap('10.213.100.0/24', 'nonsense'), false);
  });
});

describe('the plan refuses a network whose subnet another network holds (SC4008)', () => {
  const empty = (): LiveState => ({ services: [], networks: [], routeConfigs: [], configs: [], secrets: [] });
  const withSubnet = (name: string, subnet: string) => network(name, `ipam: {subnets: [{subnet: ${subnet}}]}`);

  it('against a network in the Swarm that the controller does not manage', () => {
    const live = empty();
    live.networks.push({
      Id: 'x',
      Name: 'shop_backend',
      Driver: 'overlay',
      Scope: 'swarm',
      Labels: {},
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.213.100.0/24' }] },
    });
    const p = buildPlan(desiredFrom(withSubnet('backend', '10.213.100.0/25')), live, { applySet: 'e2e' });
    assert.deepEqual(
      p.blockers.map((b) => b.code),
      ['SC4008'],
    );
    assert.match(
      p.blockers[0].message,
      /subnet 10\.213\.100\.0\/25 overlaps 10\.213\.100\.0\/24 of network "shop_backend"/,
    );
    assert.match(p.blockers[0].fix, /choose a subnet no other network uses/);
  });

  it('between two networks of the same manifests, reported once', () => {
    const p = buildPlan(desiredFrom(withSubnet('a', '10.1.0.0/16') + withSubnet('b', '10.1.2.0/24')), empty(), {
      applySet: 'e2e',
    });
    assert.deepEqual(
      p.blockers.map((b) => `${b.code} ${b.id}`),
      ['SC4008 Network/b'],
    );
  });

  it('not against itself, nor for free subnets', () => {
    const live = empty();
    live.networks.push({
      Id: 'y',
      Name: 'other',
      Driver: 'overlay',
      Scope: 'swarm',
      Labels: {},
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.213.7.0/24' }] },
    });
    const p = buildPlan(desiredFrom(withSubnet('a', '10.213.8.0/24') + network('b')), live, { applySet: 'e2e' });
    assert.deepEqual(p.blockers, []);
    assert.deepEqual(
      p.changes.map((c) => `${c.action} ${c.id}`),
      ['create Network/a', 'create Network/b'],
    );
  });
});
