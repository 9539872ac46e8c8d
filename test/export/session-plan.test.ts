// The decisions behind the spans, without an SDK: which intervals are children and how
// they are clipped, where write events go, what makes a span an error, untimed sessions.

import { describe, expect, it } from 'vitest';
import { planSession, intervalInSession, type SessionInput } from '../../src/export/session-plan.js';
import { wallClockOf, nsToHrTime, traceToHrTime, nsToSeconds } from '../../src/export/time.js';
import { ATTR, EVENT } from '../../src/export/conventions.js';
import type { StateInterval } from '../../src/track/types.js';
import { cleanSaveAnalysis, errorThenResetAnalysis, failedSaveAnalysis, SAVE, SYNC_CLOCK } from './fixtures.js';

function inputOf(a: ReturnType<typeof cleanSaveAnalysis>, findings = a.findings): SessionInput {
  const device = a.devices[0]!;
  return { host: a.host, clock: a.clock, device, session: device.sessions[0]!, findings };
}

const ctx = (a: ReturnType<typeof cleanSaveAnalysis>) => ({ wall: wallClockOf(a.clock), sessionIndex: 0, migrationId: undefined });

describe('time', () => {
  it('converts exactly, clamps negatives, and treats a relative mapping as epoch-based', () => {
    expect(nsToHrTime(1_732_536_000_100_000_123n)).toEqual([1_732_536_000, 100_000_123]);
    expect(nsToHrTime(-5n)).toEqual([0, 0]);
    expect(traceToHrTime(1000n * 1_000_000_000n + 7n, wallClockOf(SYNC_CLOCK))).toEqual([1_732_536_000, 7]);
    expect(wallClockOf({ source: 'relative', clock: 'mono', offsetNs: undefined })).toEqual({ source: 'relative', clockName: 'mono', offsetNs: 0n });
    // sync without an offset is not trusted
    expect(wallClockOf({ source: 'sync', clock: 'mono', offsetNs: undefined }).source).toBe('relative');
    expect(traceToHrTime(5n, { source: 'offset', clockName: undefined, offsetNs: -10n })).toEqual([0, 0]);
    expect(nsToSeconds(123_456_789_012_345_678n)).toBeCloseTo(123_456_789.012345678, 6);
  });
});

describe('children', () => {
  const iv = (startNs: bigint | undefined, endNs: bigint | undefined): StateInterval => ({ state: 'X', raw: 0, startNs, endNs, certainty: 'known', bytes: 0, src: undefined });

  it('takes intervals that start inside, the state reached at the end, and one running into the start', () => {
    expect(intervalInSession(iv(10n, 20n), 10n, 30n)).toBe(true);
    expect(intervalInSession(iv(30n, undefined), 10n, 30n)).toBe(true); // reached at the end
    expect(intervalInSession(iv(5n, 15n), 10n, 30n)).toBe(true); // running into the start
    expect(intervalInSession(iv(5n, 10n), 10n, 30n)).toBe(false); // ends where the session starts
    expect(intervalInSession(iv(31n, 40n), 10n, 30n)).toBe(false);
    expect(intervalInSession(iv(undefined, 40n), 10n, 30n)).toBe(false);
    expect(intervalInSession(iv(1n, undefined), 10n, 30n)).toBe(true);
  });

  it('clips children to the session and marks them', () => {
    const a = cleanSaveAnalysis();
    const plan = planSession(inputOf(a), ctx(a));
    expect(plan.states.map((s) => [s.state, s.durationNs])).toEqual([
      ['PRE_COPY', SAVE.saving - SAVE.preCopy],
      ['SAVING', SAVE.stop - SAVE.saving],
      ['STOP', 0n],
    ]);
    expect(plan.states[0]?.attributes[ATTR.stateClipped]).toBeUndefined();
    expect(plan.states[2]?.attributes[ATTR.stateClipped]).toBe(true);
  });
});

describe('events and status', () => {
  it('puts a failed write on the state it was attempted in and findings on the root', () => {
    const a = failedSaveAnalysis();
    const inside = a.findings.filter((f) => f.rule !== 'V1-WIDTH');
    const plan = planSession(inputOf(a, inside), ctx(a));
    expect(plan.states.map((s) => [s.state, s.events.map((e) => `${e.attributes[ATTR.toState]}:${e.attributes[ATTR.writeResult]}`)])).toEqual([
      ['PRE_COPY', ['PRE_COPY:ok', 'SAVING:failed']],
      ['INVALID_101', ['INVALID_101:ok']],
    ]);
    expect(plan.root.events.map((e) => e.name)).toEqual([EVENT.finding, EVENT.finding, EVENT.finding]);
    expect(plan.root.error).toMatch(/^save session failed; V1-REFUSE-VALID/);
  });

  it('an uncertain error finding alone does not make the span an error; a certain one does', () => {
    const a = cleanSaveAnalysis();
    const f = failedSaveAnalysis().findings.find((x) => x.rule === 'V1-REFUSE-VALID')!;
    expect(planSession(inputOf(a, [{ ...f, certainty: 'uncertain' }]), ctx(a)).root.error).toBeUndefined();
    expect(planSession(inputOf(a, [f]), ctx(a)).root.error).toBe('V1-REFUSE-VALID: V1-REFUSE-VALID fired');
    expect(planSession(inputOf(a, []), ctx(a)).root.error).toBeUndefined();
  });

  it('the ERROR state span is an error', () => {
    const a = errorThenResetAnalysis();
    const plan = planSession(inputOf(a, []), ctx(a));
    expect(plan.states.map((s) => [s.state, s.error])).toEqual([
      ['PRE_COPY', undefined],
      ['SAVING', undefined],
      ['ERROR', 'device in ERROR state'],
    ]);
  });
});

describe('sessions without times, and open at the end', () => {
  it('an untimed session is still a span (at the epoch), with its findings and no children', () => {
    const a = failedSaveAnalysis();
    const input = inputOf(a);
    const plan = planSession({ ...input, session: { ...input.session, startNs: undefined, endNs: undefined } }, ctx(a));
    expect(plan.timed).toBe(false);
    expect(plan.states).toEqual([]);
    expect(plan.root.attributes[ATTR.timed]).toBe(false);
    expect(plan.root.events).toHaveLength(a.findings.length);
    // Findings keep their own times; one without a time sits at the span's start and says so.
    expect(plan.root.events[1]?.time).toEqual(traceToHrTime(a.findings[1]!.tsNs!, wallClockOf(a.clock)));
    const noTime = planSession({ ...input, session: { ...input.session, startNs: undefined }, findings: [{ ...a.findings[0]!, tsNs: undefined }] }, ctx(a));
    expect(noTime.root.events[0]?.attributes[ATTR.findingTimed]).toBe(false);
    expect(noTime.root.events[0]?.time).toEqual(noTime.root.start);
  });

  it('an incomplete session without an end runs to the last time the device shows', () => {
    const a = cleanSaveAnalysis();
    const input = inputOf(a);
    const plan = planSession({ ...input, session: { ...input.session, endNs: undefined, outcome: 'incomplete' } }, ctx(a));
    expect(plan.root.end).toEqual(traceToHrTime(SAVE.stop, wallClockOf(a.clock)));
  });
});
