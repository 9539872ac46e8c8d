// The analysis' findings (check/finding-list.ts): kept in the spill file past the latest
// few, the finished list is the same, finding for finding, as the in-memory one: in time
// order (stable, untimed last), each judged once, and past the memory budget the findings
// are in the file, not in memory.

import { describe, expect, it } from 'vitest';
import { createFindingList, findingTotals } from '../../src/check/finding-list.js';
import type { Finding } from '../../src/check/types.js';
import type { SpillFile } from '../../src/track/spill-file.js';
import { isSpilled } from '../../src/track/spilled-list.js';
import { spillFiles } from '../helpers/spill-files.js';

const spill = spillFiles();

/** Finding i: times out of order with ties and some without a time; its index in the message shows where it came from. */
function finding(i: number): Finding {
  const tsNs = i % 7 === 3 ? undefined : 1_000_000_000_000n + BigInt((i * 7919) % 50) * 1_000n;
  return {
    rule: i % 2 === 0 ? 'V1-STATE-TRANSITION' : 'V2-SAVE-DRAIN',
    severity: i % 5 === 0 ? 'warning' : 'error',
    blame: i % 3 === 0 ? 'driver' : 'vmm',
    device: `dev${i % 3}`,
    tsNs,
    message: `finding ${i}`,
    evidence: [{ src: { file: 'trace.txt', line: i + 1, byteOffset: i * 80 }, what: `line ${i}` }],
    certainty: 'certain',
    specRef: 'spec §6.1',
  };
}

const judge = (f: Finding): Finding => (f.rule === 'V2-SAVE-DRAIN' ? { ...f, certainty: 'uncertain', device: `${f.device}-renamed` } : f);

function fill(n: number, file?: SpillFile, inMemory?: number) {
  const list = createFindingList(file, inMemory);
  for (let i = 0; i < n; i++) list.push(finding(i));
  return list;
}

describe('finding list', () => {
  it('finishes in time order, stable, findings without a time last, each judged', () => {
    const out = fill(40).finished(judge);
    expect(out).toHaveLength(40);
    const timed = out.filter((f) => f.tsNs !== undefined);
    for (let k = 1; k < timed.length; k++) {
      const a = timed[k - 1] as Finding;
      const b = timed[k] as Finding;
      expect(a.tsNs! <= b.tsNs!).toBe(true);
      // Ties keep the order they were reported in.
      if (a.tsNs === b.tsNs) expect(Number(a.message.split(' ')[1]) < Number(b.message.split(' ')[1])).toBe(true);
    }
    expect(out.slice(timed.length).every((f) => f.tsNs === undefined)).toBe(true);
    expect(out.filter((f) => f.rule === 'V2-SAVE-DRAIN').every((f) => f.certainty === 'uncertain' && f.device.endsWith('-renamed'))).toBe(true);
    expect(out.filter((f) => f.rule !== 'V2-SAVE-DRAIN').every((f) => f.certainty === 'certain')).toBe(true);
  });

  it('spilled: the same finished list as in memory, with the findings past the budget in the file', () => {
    const file = spill();
    const spilled = fill(1000, file, 16);
    expect(file.size()).toBeGreaterThan(0);
    const out = spilled.finished(judge);
    expect(isSpilled(out)).toBe(true);
    const plain = fill(1000).finished(judge);
    expect(out).toHaveLength(1000);
    expect([...out]).toEqual(plain);
    // Read twice, the same (items are read back from the file on access).
    expect(JSON.stringify(out, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).toBe(JSON.stringify(plain, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
  });

  it('in memory: the cap of watch drops the oldest; a spilled list refuses it (it keeps every finding)', () => {
    const list = fill(5);
    list.shift();
    expect(list.length).toBe(4);
    expect(list.finished((f) => f).map((f) => f.message)).not.toContain('finding 0');
    expect(() => fill(5, spill()).shift()).toThrow(/keeps every finding/);
  });

  it('spilled: the totals of the judged findings come without reading the file, equal to a count', () => {
    const file = spill();
    const out = fill(1000, file, 16).finished(judge);
    const plain = fill(1000).finished(judge);
    const counted = { total: 0, error: { vmm: 0, driver: 0 }, warning: { vmm: 0, driver: 0 }, uncertain: 0 };
    for (const f of plain) {
      counted.total++;
      counted[f.severity][f.blame]++;
      if (f.certainty === 'uncertain') counted.uncertain++;
    }
    // every kind occurs, and the judge's 'uncertain' is counted
    expect(Math.min(counted.error.vmm, counted.error.driver, counted.warning.vmm, counted.warning.driver, counted.uncertain)).toBeGreaterThan(0);
    expect(findingTotals(plain)).toEqual(counted);
    const reads = { n: 0 };
    const real = file.read.bind(file);
    file.read = (pos: number, len: number) => {
      reads.n++;
      return real(pos, len);
    };
    expect(findingTotals(out)).toEqual(counted);
    expect(reads.n).toBe(0);
  });
});
