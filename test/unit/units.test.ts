import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatCpus, formatDuration, formatMemory, parseCpus, parseDuration, parseMemory } from '../../src/units.js';

describe('units', () => {
  it('parseDuration reads Go-style durations and refuses anything else', () => {
    assert.equal(parseDuration('10s'), 10e9);
    assert.equal(parseDuration('1m30s'), 90e9);
    assert.equal(parseDuration('500ms'), 5e8);
    assert.equal(parseDuration('1.5h'), 5400e9);
    assert.equal(parseDuration('250us'), 250e3);
    assert.equal(parseDuration('10'), undefined);
    assert.equal(parseDuration('10 seconds'), undefined);
    assert.equal(parseDuration(''), undefined);
  });

  it('formatDuration gives one spelling per value, so "90s" and "1m30s" compare equal', () => {
    assert.equal(formatDuration(parseDuration('90s')!), '1m30s');
    assert.equal(formatDuration(parseDuration('1m30s')!), '1m30s');
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(5e8), '500ms');
    assert.equal(formatDuration(3600e9), '1h');
    assert.equal(formatDuration(1500), '1500ns');
  });

  it('parseMemory reads binary and decimal units and refuses lower-case m', () => {
    assert.equal(parseMemory('256Mi'), 256 * 1024 * 1024);
    assert.equal(parseMemory('1Gi'), 1024 ** 3);
    assert.equal(parseMemory('1G'), 1e9);
    assert.equal(parseMemory('512'), 512);
    assert.equal(parseMemory(1024), 1024);
    assert.equal(parseMemory('512m'), undefined);
    assert.equal(parseMemory(-1), undefined);
  });

  it('formatMemory uses the largest exact binary unit', () => {
    assert.equal(formatMemory(268435456), '256Mi');
    assert.equal(formatMemory(1024 ** 3), '1Gi');
    assert.equal(formatMemory(1e9), '1000000000');
    assert.equal(formatMemory(1536), '1536');
  });

  it('CPUs: "0.5", 0.5 and "500m" are the same 500000000 NanoCPUs', () => {
    assert.equal(parseCpus('0.5'), 5e8);
    assert.equal(parseCpus(0.5), 5e8);
    assert.equal(parseCpus('500m'), 5e8);
    assert.equal(parseCpus('two'), undefined);
    assert.equal(formatCpus(5e8), '0.5');
    assert.equal(formatCpus(2e9), '2');
  });
});
