// 100,000 sessions through the real pipeline (bpftrace text → parser → decoder → tracker
// with analyze's default per-device caps → export over OTLP/HTTP): every span reaches a
// loopback receiver, counted there. The tracker keeps 20,000 intervals per device, so 8
// devices × 12,500 sessions × 4 intervals cut every device's lists short; before issue 13
// the sessions past the cap lost their state spans (220,000 of 400,000 arrived) while the
// summary said "nothing lost".

import { afterEach, describe, expect, it, vi } from 'vitest';
import { analyzeInputs } from '../../src/cli/pipeline.js';
import { createSessionSliceKeeper } from '../../src/cli/session-slices.js';
import { FORMATS } from '../../parsers/index.js';
import { exportAnalysis, formatSummary } from '../../src/export/index.js';
import type { Analysis } from '../../src/analysis/types.js';
import { startHttpReceiver, type Receiver } from './otlp-receiver.js';

let r: Receiver | undefined;

afterEach(async () => {
  vi.unstubAllEnvs();
  await r?.close();
  r = undefined;
});

const PID = 4242;
const DEVICES = 8;
const REGION = 9n << 40n;
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** capture/migscope.bt text: device setup, then `sessions` clean v1 saves round-robin over the devices. */
async function* bpftraceTrace(sessions: number): AsyncIterable<string> {
  let t = 1_000_000_000;
  const id = `pid=${PID} tid=${PID}`;
  const head: string[] = [`# migscope-capture v1 tracer=bpftrace program=migscope.bt clock=mono pid=${PID} flags=0 begin_ns=${t}`];
  head.push(`${(t += 1000)} openat ${id} ret=20 flags=0x80002 lat_ns=3100 comm=qemu path=/dev/vfio/vfio`);
  head.push(`${(t += 1000)} openat ${id} ret=21 flags=0x80002 lat_ns=2900 comm=qemu path=/dev/vfio/12`);
  for (let d = 0; d < DEVICES; d++) {
    const fd = 30 + d;
    head.push(`${(t += 1000)} ioctl ${id} fd=21 cmd=0x3b6a arg=0x55d0c2a47e10 ret=${fd} w0=0x0 w1=0x0 w2=0x0 w3=0x0 lat_ns=41000 comm=qemu`);
    head.push(`${t} devfd ${id} fd=21 ret=${fd} comm=qemu name=0000:${(0x40 + d).toString(16)}:00.0`);
    head.push(`${(t += 1000)} ioctl ${id} fd=${fd} cmd=0x3b6c arg=0x7ffd67f3c4f0 ret=0 w0=0xb00000040 w1=0x2000000009 w2=0x100000 w3=${hex(REGION)} lat_ns=5200 comm=qemu`);
    head.push(`${t} regioninfo ${id} fd=${fd} ret=0 argsz_in=64 argsz=64 flags=0xb index=9 cap_offset=32 size=0x100000 offset=${hex(REGION)} caps=2@32,0@0,0@0 type=3 subtype=1 comm=qemu`);
  }
  yield head.join('\n') + '\n';
  const state = new Map<number, number>();
  const access = (op: 'pread64' | 'pwrite64', fd: number, field: bigint, count: number, val: number): string =>
    `${(t += 1000)} ${op} ${id} fd=${fd} off=${hex(REGION + field)} count=${count} ret=${count} val=${hex(val)} lat_ns=900 comm=qemu`;
  const rmw = (fd: number, to: number, out: string[]): void => {
    out.push(access('pread64', fd, 0n, 4, state.get(fd) ?? 1), access('pwrite64', fd, 0n, 4, to));
    state.set(fd, to);
  };
  let chunk: string[] = [];
  for (let s = 0; s < sessions; s++) {
    const fd = 30 + (s % DEVICES);
    rmw(fd, 3, chunk); // RUNNING → PRE_COPY
    chunk.push(access('pread64', fd, 8n, 8, 0));
    rmw(fd, 2, chunk); // → stop-and-copy
    chunk.push(access('pread64', fd, 8n, 8, 0)); // drained
    rmw(fd, 0, chunk); // → STOP: the save completed
    rmw(fd, 1, chunk); // resumed for the next round
    if (chunk.length >= 20_000) {
      yield chunk.join('\n') + '\n';
      chunk = [];
    }
  }
  yield chunk.join('\n') + `\n${(t += 1000)} end pid=${PID}\n`;
}

async function exportThroughPipeline(
  sessions: number,
  o: { readonly maxIntervalsPerDevice?: number; readonly keep?: boolean } = {},
): Promise<{ analysis: Analysis; spansAtReceiver: number; unique: number; ok: boolean; exported: number; summary: string; sessionsCut: number | undefined }> {
  const receiver = await startHttpReceiver(0, { countOnly: true });
  r = receiver;
  vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', receiver.endpoint);
  vi.stubEnv('OTEL_NODE_RESOURCE_DETECTORS', 'env');
  const keeper = createSessionSliceKeeper();
  // analyze's own wiring (src/cli/analyze.ts): default caps, the keeper as onSessionEnd.
  const analysis = await analyzeInputs([{ path: '-', format: 'bpftrace' }], {
    formats: FORMATS,
    stdin: bpftraceTrace(sessions),
    onSessionEnd: keeper.onSessionEnd,
    ...(o.maxIntervalsPerDevice !== undefined ? { maxIntervalsPerDevice: o.maxIntervalsPerDevice } : {}),
  });
  const s = await exportAnalysis(analysis, {}, o.keep === false ? undefined : keeper);
  return { analysis, spansAtReceiver: receiver.counts.spans, unique: receiver.counts.uniqueSpanIds, ok: s.ok, exported: s.spansExported, summary: formatSummary(s), sessionsCut: s.sessionsCut };
}

describe('export at scale through the pipeline', () => {
  it('counts the sessions whose state spans the cap cut, and fails, when no session slices were kept', async () => {
    const n = DEVICES * 40; // 160 intervals per device against a cap of 50
    const full = await exportThroughPipeline(n, { maxIntervalsPerDevice: 50 });
    expect(full.analysis.devices.every((d) => d.intervalsDropped > 0)).toBe(true);
    expect(full.ok).toBe(true);
    expect(full.sessionsCut).toBeUndefined();
    await r?.close();
    r = undefined;
    const cut = await exportThroughPipeline(n, { maxIntervalsPerDevice: 50, keep: false });
    expect(cut.spansAtReceiver).toBeLessThan(full.spansAtReceiver);
    expect(cut.ok).toBe(false);
    // Each device keeps 50 intervals = 12 whole sessions of 4; the rest (and the one cut in two) lack spans.
    const keptWhole = cut.analysis.devices.map((d) => d.sessions.filter((s) => s.endNs !== undefined && d.timeline.some((iv) => iv.startNs !== undefined && iv.startNs >= s.endNs!)).length);
    expect(cut.sessionsCut).toBe(n - keptWhole.reduce((a, b) => a + b, 0));
    expect(cut.summary).toMatch(new RegExp(`LOST .*the state spans of ${cut.sessionsCut} sessions`));
  }, 120_000);

  it('delivers every span of 100,000 sessions although the per-device cap cut the device lists', async () => {
    // Spans per session where no cap is near (10 sessions): the reference, not a constant.
    const small = await exportThroughPipeline(DEVICES * 10);
    const smallSessions = small.analysis.devices.reduce((n, d) => n + d.sessions.length, 0);
    expect(smallSessions).toBe(DEVICES * 10);
    expect(small.analysis.devices.every((d) => d.intervalsDropped === 0)).toBe(true);
    const perSession = small.spansAtReceiver / smallSessions;
    expect(Number.isInteger(perSession) && perSession > 1).toBe(true);
    await r?.close();
    r = undefined;

    const n = 100_000;
    const big = await exportThroughPipeline(n);
    const sessions = big.analysis.devices.flatMap((d) => d.sessions);
    expect(sessions.length).toBe(n);
    expect(sessions.every((s) => s.outcome === 'completed')).toBe(true);
    // The cap did cut every device's lists: the case this test is about.
    expect(big.analysis.devices.every((d) => d.intervalsDropped > 0)).toBe(true);
    expect(big.spansAtReceiver).toBe(perSession * n);
    expect(big.unique).toBe(perSession * n);
    expect(big.exported).toBe(perSession * n);
    expect(big.ok).toBe(true);
  }, 600_000);
});
