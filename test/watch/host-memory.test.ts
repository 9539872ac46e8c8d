// Issue 15, host mode's memory: `watch --all` is an agent that runs for months and sees
// thousands of VMM lifetimes. Fed through watch's own record path (watch-stream.ts, the
// code watch-run.ts runs on the tracer's lines), 2,000 VMM processes, one after another,
// each opening its devices, migrating and exiting, must leave nothing behind: after each
// exit the parser's per-thread order state, the tracker's device entries, the checker's
// device lives, the cross-device rules' indexes, watch's per-device maps and the
// exporter's span state are back to what the
// live processes hold (none here). Findings still fire for the breaking lifetimes among
// them (V1-GROUP-RECOVER needs the siblings of a process, decided at the closes its exit
// brings, before the eviction) and stay quiet for the clean ones, and the summary counts
// every lifetime's devices and sessions.
//
// The lifetimes are recorded lab captures (test/fixtures/lab/bpftrace) with their pid,
// threads, timestamps and device names rewritten, and a `vmmexit` line (migscope.bt's
// process exit) after each; half the lifetimes keep the lab's PCI address (a device handed
// from one VMM to the next), half get one of their own (a name no later VMM uses again);
// the breaking lifetimes leave their devices open for the exit to close.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createExporter } from '../../src/export/index.js';
import { createWatchStream } from '../../src/cli/watch-stream.js';
import type { Finding } from '../../src/check/types.js';
import { REPO } from './helpers.js';

const LIFETIMES = 2_000;
/** Every BREAK_EVERY-th lifetime is the breaking one. */
const BREAK_EVERY = 250;

const fixture = (name: string): string[] => readFileSync(join(REPO, 'test', 'fixtures', 'lab', 'bpftrace', `${name}.txt`), 'utf8').split('\n');
const RECORD = /^(\d+) (openat|ioctl|devfd|regioninfo|pread64|pwrite64|read|write|close) pid=(\d+) tid=(\d+)(.*)$/;

/** One lifetime's lines: the fixture's records under pid `pid` (its other thread pid+1), from `t0` on, then the exit. */
function lifetime(lines: readonly string[], pid: number, t0: number, opts: { rename?: string; keepCloses: boolean }): { lines: string[]; t: number } {
  const recs = lines.flatMap((l) => {
    const m = RECORD.exec(l);
    return m === null ? [] : [m];
  });
  const leader = recs[0]?.[3];
  let t = t0;
  const out: string[] = [];
  for (const m of recs) {
    const [, , ev, , tid, rest] = m as unknown as [string, string, string, string, string, string];
    // Without closes, the process's exit ends its devices (the decoder closes each fd it
    // knows); the lab's journal file written after the device closes is left out with them.
    if (!opts.keepCloses && (ev === 'close' || ev === 'write' || /journal\.jsonl/.test(rest))) continue;
    const body = opts.rename !== undefined ? rest.replaceAll('0000:65:00.', `${opts.rename}:65:00.`) : rest;
    t += 1000;
    out.push(`${t} ${ev} pid=${pid} tid=${tid === leader ? pid : pid + 1}${body}`);
  }
  t += 1000;
  out.push(`${t} vmmexit pid=${pid} tid=${pid} why=exit`);
  return { lines: out, t };
}

const CLEAN = fixture('clean-live-migration');
const BREAKING = fixture('two-devices-one-fails');

function newStream(out: string[]) {
  const exporter = createExporter({ traces: ['none'], metrics: ['none'], countFindingsOnSight: true });
  const findings: Finding[] = [];
  const stream = createWatchStream({
    host: 'soak-host',
    exporter,
    file: '<stdin>',
    jsonLines: true,
    color: false,
    out: (t) => {
      out.push(t);
      const j = JSON.parse(t) as { type: string } & Finding;
      if (j.type === 'finding') findings.push(j);
    },
    err: (t) => out.push(t),
  });
  return { stream, exporter, findings };
}

const HEADER = '# migscope-capture v2 tracer=bpftrace format=text runner=migscope target=all read_write=1';

/** What one lifetime alone gives (the expectation for each of the soak's). */
async function alone(lines: readonly string[], keepCloses: boolean): Promise<{ rules: string[]; sessions: number; devices: number }> {
  const out: string[] = [];
  const { stream, exporter, findings } = newStream(out);
  stream.feed(HEADER);
  for (const l of lifetime(lines, 500, 1_000_000, { keepCloses }).lines) stream.feed(l);
  const totals = await stream.finish();
  await exporter.shutdown();
  return { rules: findings.map((f) => f.rule).sort(), sessions: totals.sessions, devices: totals.devices };
}

describe('watch --all over 2,000 VMM lifetimes: memory returns to the live processes after each exit', async () => {
  const clean = await alone(CLEAN, true);
  const breaking = await alone(BREAKING, false);

  it('the lifetimes themselves: the clean one is quiet and the breaking one has its group finding (else the soak proves nothing)', () => {
    expect(clean.rules).toEqual([]);
    expect(clean.sessions).toBeGreaterThan(0);
    expect(breaking.rules).toContain('V1-GROUP-RECOVER');
    expect(breaking.devices).toBe(2);
  });

  it('keeps nothing of a gone process, still finds what the breaking lifetimes break, and counts every lifetime in the summary', async () => {
    const out: string[] = [];
    const { stream, exporter, findings } = newStream(out);
    stream.feed(HEADER);
    let t = 1_000_000;
    /** Per lifetime: its first and last line, whether it breaks. */
    const spans: { first: number; last: number; breaks: boolean }[] = [];
    let line = 1;
    let peak = 0;
    let peakThreads = 0;
    const afterExit: ReturnType<typeof stream.liveEntries>[] = [];
    const exporterAfter: number[] = [];
    for (let i = 0; i < LIFETIMES; i++) {
      const breaks = i % BREAK_EVERY === BREAK_EVERY - 1;
      const rename = i % 2 === 1 ? (0x100 + i).toString(16).padStart(4, '0') : undefined;
      const lt = lifetime(breaks ? BREAKING : CLEAN, 10_000 + 2 * i, t, { keepCloses: !breaks, ...(rename !== undefined ? { rename } : {}) });
      t = lt.t;
      spans.push({ first: line + 1, last: line + lt.lines.length, breaks });
      lt.lines.forEach((l, k) => {
        stream.feed(l);
        if (k === lt.lines.length - 2) {
          peak = Math.max(peak, stream.liveEntries().trackerDevices);
          peakThreads = Math.max(peakThreads, stream.liveEntries().parser);
        }
      });
      line += lt.lines.length;
      afterExit.push(stream.liveEntries());
      if (i % 100 === 99) {
        // The exporter forgets a gone device once its last session span is out (at the drain).
        await exporter.flush();
        exporterAfter.push(exporter.liveDevices());
      }
    }
    expect(exporterAfter).toEqual(exporterAfter.map(() => 0));
    // The counters count: just before its exit a lifetime's devices are held.
    expect(peak).toBeGreaterThan(0);
    // …and so are its two threads' order states in the parser (parsers/stream-order.ts).
    expect(peakThreads).toBe(2);
    // After every exit: no device entry, no rule instance, no rule index entry, no watch map
    // entry is left of the gone process (no other process is live).
    const worst = afterExit.reduce(
      (w, e) => ({
        trackerDevices: Math.max(w.trackerDevices, e.trackerDevices),
        trackerNames: Math.max(w.trackerNames, e.trackerNames),
        deviceLives: Math.max(w.deviceLives, e.deviceLives),
        rules: Math.max(w.rules, ...Object.values(e.rules)),
        ids: Math.max(w.ids, e.ids),
        watch: Math.max(w.watch, e.watch),
        parser: Math.max(w.parser, e.parser),
      }),
      { trackerDevices: 0, trackerNames: 0, deviceLives: 0, rules: 0, ids: 0, watch: 0, parser: 0 },
    );
    expect(worst).toEqual({ trackerDevices: 0, trackerNames: 0, deviceLives: 0, rules: 0, ids: 0, watch: 0, parser: 0 });
    expect(Object.keys(afterExit[0]?.rules ?? {}).sort()).toEqual(['V1-GROUP-RECOVER', 'V1-SEGMENTS', 'V2-BLOCKED-ARC', 'V2-P2P-ORDER', 'V2-STREAM-BYTES']);

    const totals = await stream.finish();
    await exporter.flush();
    expect(exporter.liveDevices()).toBe(0);
    await exporter.shutdown();

    const breakers = spans.filter((s) => s.breaks);
    expect(breakers).toHaveLength(LIFETIMES / BREAK_EVERY);
    // Every finding belongs to a breaking lifetime (by its evidence lines), and each breaking
    // lifetime has exactly the findings it has alone.
    const owner = (f: Finding): number => {
      const l = f.evidence[0]?.src.line ?? -1;
      return spans.findIndex((s) => l >= s.first && l <= s.last);
    };
    for (const f of findings) expect(spans[owner(f)]?.breaks, `${f.rule} at line ${f.evidence[0]?.src.line}`).toBe(true);
    for (const b of breakers) {
      const mine = findings.filter((f) => spans[owner(f)] === b).map((f) => f.rule).sort();
      expect(mine).toEqual(breaking.rules);
    }
    // The summary counts every lifetime, evicted or not.
    const cleanCount = LIFETIMES - breakers.length;
    expect(totals.devices).toBe(cleanCount * clean.devices + breakers.length * breaking.devices);
    expect(totals.sessions).toBe(cleanCount * clean.sessions + breakers.length * breaking.sessions);
    expect(totals.findings.error + totals.findings.warning).toBe(breakers.length * breaking.rules.length);
    // Only the live processes' devices are listed (none are live at the end).
    expect(totals.analysis.devices).toEqual([]);
    expect(out.filter((l) => !l.startsWith('{'))).toEqual([]);
  });
});
