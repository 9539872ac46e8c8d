// Inputs of one host are one story (issue 11): a capture (bpftrace, ftrace, trace-cmd) and
// the QEMU log, libvirt log or QMP transcript of the same VM are merged into ONE
// time-ordered record stream, on the capture's clock, before the decoder sees them: so the
// decoder joins QEMU's device name with the capture's fd (by thread id, or by time), the
// tracker keeps one timeline per device, and QMP's migration status lands on the same
// migration as the device sessions. docs/input-formats.md "Merging inputs of one host".
//
// Which inputs are one host (planInputs): --host FILE=NAME says so; without it, when
// exactly one capture is among the inputs, the QEMU-side inputs are taken to be its
// host's (unless their thread ids are none of the capture's); with several captures, a
// QEMU input goes with the one capture whose process/thread ids it carries. Nothing else
// is guessed: two captures may be two hosts, and QEMU logs without a capture stay apart.
//
// Clocks: the capture's records are on its trace clock (mono); its clock-sync record
// pairs that with wall-clock time. QEMU's log stamps (≤ 10.0 TID@SEC.USEC gettimeofday,
// 10.1+ ISO 8601 UTC), qemu-trace-stap's gettimeofday_ns, libvirt's stamps and QMP event
// timestamps are wall-clock time: each is moved onto the capture's clock by
// −(wall − trace) of the clock-sync (or --clock-offset when the capture has none). An
// input that cannot be placed (no time, a second trace clock, a capture without any
// clock mapping) is analysed on its own, and its placement says why, instead of a guess.
//
// Streaming: the capture (any format, file or stdin) is pushed through its parser as
// before; the other inputs are line formats read from their files a chunk at a time,
// synchronously, whenever the capture's next record is later than their next one.

import { closeSync, openSync, readSync } from 'node:fs';
import type { InputFormat } from '../../parsers/format.js';
import { createLineFeeder, type LineFeeder } from '../../parsers/lines.js';
import type { InputProblem, ParserSink, TraceRecord } from '../record/types.js';
import { formatSource } from '../record/source-text.js';
import type { InputPlacement } from '../analysis/types.js';

/** Formats of syscall captures: their records are on a trace clock (docs/input-formats.md). */
const CAPTURE_FORMATS: ReadonlySet<string> = new Set(['bpftrace', 'ftrace', 'trace-cmd-report', 'trace.dat']);
/** Text formats whose stamps are wall-clock time, and so can be put on a capture's clock. */
const WALL_FORMATS: ReadonlySet<string> = new Set(['qemu-log', 'qemu-stap', 'libvirt-log', 'qmp']);

/** Records of the capture held while its clock mapping is not known yet (a clock-sync record comes first in a `migscope capture` file). */
const MAX_HELD_RECORDS = 50_000;
const MAX_IDS = 1_000;
const FOLLOWER_CHUNK = 1 << 20;

/** What the first bytes of an input say about it (read before any input is analysed). */
export interface Probe {
  /** The path as given ("-" for standard input). */
  readonly path: string;
  /** The name records carry ("<stdin>" for standard input). */
  readonly file: string;
  /** The detected format; undefined when not probed (standard input). */
  readonly format: InputFormat | undefined;
  readonly role: 'capture' | 'qemu-side' | 'unknown';
  /** The clock its first records are on: "realtime" for wall-clock stamps, a trace clock name, "order-only", or undefined. */
  readonly clock: string | undefined;
  /** How its lines are stamped, for the placement's rule. */
  readonly stamps: string;
  /** A host name the input itself gives (libvirt's "hostname:" start-up line). */
  readonly hostname: string | undefined;
  /** Thread and process ids its first records carry (the capture's, or QEMU's TID@ / stap PID@). */
  readonly tids: ReadonlySet<number>;
  readonly pids: ReadonlySet<number>;
}

/** Reads what the head (first 64 KiB) of a line input says: clock, stamps, ids, host name. */
export function probeHead(path: string, file: string, format: InputFormat, head: Buffer): Probe {
  const role = CAPTURE_FORMATS.has(format.name) ? 'capture' : 'qemu-side';
  const tids = new Set<number>();
  const pids = new Set<number>();
  let clock: string | undefined;
  let hostname: string | undefined;
  const text = head.toString('utf8');
  const lines = text.split('\n');
  if (!text.endsWith('\n')) lines.pop(); // a line cut by the head's end
  if (format.kind === 'lines') {
    const sink: ParserSink = {
      record(r) {
        if (r.tid !== undefined && tids.size < MAX_IDS) tids.add(r.tid);
        if (r.pid !== undefined && pids.size < MAX_IDS) pids.add(r.pid);
      },
      skipped() {},
      malformed() {},
      clock(name) {
        clock ??= name;
      },
    };
    const parser = format.create(file, sink);
    lines.forEach((l, i) => parser.line(l.endsWith('\r') ? l.slice(0, -1) : l, i + 1));
  }
  let stamps = format.name;
  switch (format.name) {
    case 'qemu-log': {
      // Every line of a stamped log has the prefix, QEMU's own messages too (10.1+): the
      // head shows the form even when its first events are not ones migscope keeps.
      const tidForm = lines.some((l) => /^\d+@\d+\.\d+:/.test(l));
      const isoForm = lines.some((l) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}) /.test(l));
      if (tidForm || isoForm) clock = 'realtime';
      else clock ??= 'order-only';
      stamps = tidForm
        ? "QEMU ≤ 10.0 log stamps TID@SEC.USEC (gettimeofday: wall clock)"
        : isoForm
          ? "QEMU 10.1+ log stamps (ISO 8601 UTC, util/log.c: wall clock)"
          : 'QEMU log without -msg timestamp=on (no time)';
      break;
    }
    case 'qemu-stap':
      stamps = 'qemu-trace-stap stamps PID@NS (gettimeofday_ns: wall clock)';
      break;
    case 'libvirt-log':
      clock = 'realtime'; // every libvirt line has its wall-clock prefix
      stamps = "libvirt's stamps (ms) and QMP event timestamps (µs): wall clock";
      hostname = lines.map((l) => /\bhostname: ([A-Za-z0-9][\w.-]{0,252})/.exec(l)?.[1]).find((h) => h !== undefined);
      break;
    case 'qmp':
      stamps = 'QMP event timestamps (µs, wall clock; commands and replies carry none and keep their place)';
      break;
    default:
      if (format.kind === 'file') clock = undefined;
      stamps = `${format.name} trace clock`;
  }
  return { path, file, format, role, clock, stamps, hostname, tids, pids };
}

export function unprobed(path: string, file: string): Probe {
  return { path, file, format: undefined, role: 'unknown', clock: undefined, stamps: 'not probed', hostname: undefined, tids: new Set(), pids: new Set() };
}

export interface PlanOptions {
  /** --host FILE=NAME, by the path as given. */
  readonly hosts: ReadonlyMap<string, string>;
  /** --no-merge: every input on its own. */
  readonly merge: boolean;
}

/** One host's inputs merged on the clock of `timeline`. */
export interface MergeGroup {
  readonly kind: 'group';
  readonly host: string | undefined;
  readonly hostRule: string;
  /** What put each member on this host, by path (the timeline's is `hostRule`). */
  readonly hostRules: ReadonlyMap<string, string>;
  readonly timeline: Probe;
  readonly followers: readonly Probe[];
}

/** An input analysed on its own; `placement` says why (absent for a lone input). */
export interface SingleInput {
  readonly kind: 'single';
  readonly probe: Probe;
  readonly placement: InputPlacement | undefined;
}

export type InputUnit = MergeGroup | SingleInput;

const overlap = (a: ReadonlySet<number>, b: ReadonlySet<number>): boolean => [...a].some((x) => b.has(x));
/** The thread and process ids an input's head carries, as one set. */
const idsOf = (p: Probe): Set<number> => new Set([...p.tids, ...p.pids]);

/**
 * Which inputs are one host and which of them can share its timeline. The units come in
 * the order of their first input; the capture of a group is its timeline even when it
 * is not given first.
 */
export function planInputs(probes: readonly Probe[], o: PlanOptions): InputUnit[] {
  if (probes.length < 2) return probes.map((probe) => ({ kind: 'single', probe, placement: undefined }));
  if (!o.merge) return probes.map((probe) => ({ kind: 'single', probe, placement: { host: o.hosts.get(probe.path), hostRule: o.hosts.has(probe.path) ? '--host' : 'not known', merged: false, rule: '--no-merge: analysed on its own' } }));
  const host = new Map<Probe, { key: string; name: string | undefined; rule: string }>();
  const why = new Map<Probe, string>();
  for (const p of probes) {
    const h = o.hosts.get(p.path);
    if (h !== undefined) host.set(p, { key: `flag:${h}`, name: h, rule: `--host ${p.path}=${h}` });
  }
  const unhosted = probes.filter((p) => !host.has(p));
  const captures = unhosted.filter((p) => p.role === 'capture');
  const cap = captures.length === 1 ? captures[0] : undefined;
  if (cap !== undefined) {
    const libvirtName = unhosted.map((p) => p.hostname).find((h) => h !== undefined);
    const key = `auto:${cap.path}`;
    host.set(cap, { key, name: libvirtName, rule: 'the only capture among the inputs without --host' });
    const capIds = idsOf(cap);
    for (const p of unhosted) {
      if (p === cap || p.role === 'capture') continue;
      // QEMU's thread ids (≤ 10.0 log) or process id (stap) that are none of the capture's:
      // another VM or another host's QEMU. Not merged on the "only capture" rule alone.
      const ids = idsOf(p);
      if (ids.size > 0 && capIds.size > 0 && !overlap(ids, capIds)) {
        why.set(p, `its thread/process ids (${[...ids].slice(0, 5).join(', ')}) are none of ${cap.file}'s: another VM's or another host's QEMU (pass --host to merge it anyway)`);
        continue;
      }
      host.set(p, { key, name: libvirtName, rule: `taken as the host of ${cap.file}, the only capture among the inputs without --host` });
    }
  } else if (captures.length > 1) {
    // Several captures (the two hosts, maybe): a QEMU input goes with a capture only when
    // its thread or process ids are that capture's and no other's.
    for (const p of unhosted) {
      if (p.role === 'capture') continue;
      const ids = idsOf(p);
      const matches = ids.size === 0 ? [] : captures.filter((c) => overlap(ids, idsOf(c)));
      const m = matches.length === 1 ? matches[0] : undefined;
      if (m === undefined) {
        why.set(
          p,
          `${captures.length} captures among the inputs (they may be two hosts)${ids.size === 0 ? ' and this input carries no thread or process id' : `; its thread/process ids match ${matches.length} of them`}: say which host each input is from with --host FILE=NAME`,
        );
        continue;
      }
      const key = `auto:${m.path}`;
      host.set(m, { key, name: undefined, rule: `its process is the one ${p.file}'s thread ids name` });
      host.set(p, { key, name: undefined, rule: `its thread/process ids (${[...ids].filter((x) => m.tids.has(x) || m.pids.has(x)).slice(0, 5).join(', ')}) are ${m.file}'s, and no other capture's` });
    }
    for (const c of captures) if (!host.has(c)) why.set(c, `${captures.length} captures among the inputs and no QEMU input matched this one's ids: analysed on its own (--host FILE=NAME merges)`);
  } else {
    for (const p of unhosted) why.set(p, 'no capture among the inputs to merge with and no --host: analysed on its own');
  }

  const units: InputUnit[] = [];
  const placed = new Set<Probe>();
  for (const p of probes) {
    if (placed.has(p)) continue;
    const h = host.get(p);
    if (h === undefined) {
      placed.add(p);
      units.push({ kind: 'single', probe: p, placement: { host: undefined, hostRule: 'not known', merged: false, rule: why.get(p) ?? 'analysed on its own' } });
      continue;
    }
    const members = probes.filter((q) => host.get(q)?.key === h.key);
    for (const q of members) placed.add(q);
    const memberCapture = members.find((q) => q.role === 'capture');
    const hostName = h.name ?? (memberCapture !== undefined ? `the host of ${memberCapture.file}` : undefined);
    const timeline = members.find((q) => q.role === 'capture' && q.format !== undefined) ?? members.find((q) => q.clock === 'realtime' && q.format?.kind === 'lines' && q.path !== '-');
    const followers: Probe[] = [];
    const alone: SingleInput[] = [];
    const single = (q: Probe, rule: string): void => void alone.push({ kind: 'single', probe: q, placement: { host: hostName, hostRule: host.get(q)?.rule ?? '', merged: false, rule } });
    for (const q of members) {
      if (q === timeline) continue;
      if (timeline === undefined) single(q, 'no input of this host has a clock the others can be put on (a capture, or wall-clock stamps)');
      else if (q.path === '-') single(q, 'standard input is read as it comes; only files can be merged into a timeline');
      else if (q.role === 'capture') single(q, `a second capture of this host, on its own trace clock: only wall-clock inputs (QEMU, libvirt, QMP logs) are merged into ${timeline.file}'s timeline`);
      else if (q.format === undefined || q.format.kind !== 'lines' || !WALL_FORMATS.has(q.format.name)) single(q, `${q.format?.name ?? 'this'} input has no wall-clock stamps (${q.stamps}): cannot be put on ${timeline.file}'s clock`);
      else if (q.clock === 'order-only') single(q, `${q.stamps}: its events have only an order, not a time, so they cannot be placed among ${timeline.file}'s records`);
      else if (q.clock !== 'realtime') single(q, `no time stamp in its first 64 KiB (${q.stamps}): cannot be placed on ${timeline.file}'s clock`);
      else followers.push(q);
    }
    if (timeline !== undefined && followers.length > 0) units.push({ kind: 'group', host: hostName, hostRule: host.get(timeline)?.rule ?? h.rule, hostRules: new Map(members.map((q) => [q.path, host.get(q)?.rule ?? ''])), timeline, followers });
    else if (timeline !== undefined) units.push({ kind: 'single', probe: timeline, placement: { host: hostName, hostRule: host.get(timeline)?.rule ?? h.rule, merged: false, rule: 'nothing of this host could be merged with it' } });
    units.push(...alone);
  }
  return units;
}

/** How the merged timeline maps to wall-clock time, once known. */
interface TimelineClock {
  /** wall = timeline + offsetNs. */
  readonly offsetNs: bigint;
  readonly rule: string;
}

/** A QEMU-side input read a chunk at a time, its records moved onto the timeline's clock. */
interface Follower {
  readonly probe: Probe;
  readonly queue: TraceRecord[];
  qi: number;
  eof: boolean;
  fd: number | undefined;
  feeder: LineFeeder | undefined;
  ownClock: string | undefined;
  stamped: number;
  records: number;
}

export interface MergedInputs {
  /** Where the timeline input's parser writes. */
  readonly sink: ParserSink;
  /**
   * The timeline input ended: the rest of every follower is read. Returns each input's
   * placement; followers that could not be placed (`merged` false) were not read and are
   * for the caller to analyse on their own.
   */
  finish(stopped: boolean): { readonly timeline: InputPlacement; readonly followers: readonly { readonly probe: Probe; readonly placement: InputPlacement }[] };
}

export interface MergeOptions {
  /** --clock-offset: wall = trace + offset, for a capture without a clock-sync record. */
  readonly clockOffsetNs?: bigint;
  /** The timeline's clock mapping is known: the followers' records follow from here on. */
  readonly onPlaced?: () => void;
}

/**
 * The sink the timeline input's parser writes to: its records go to `out` with the
 * followers' records interleaved by time, once the timeline's clock mapping is known.
 */
export function mergeInputs(out: ParserSink, group: MergeGroup, o: MergeOptions): MergedInputs {
  let timelineClock: string | undefined;
  let clock: TimelineClock | undefined;
  let failed: string | undefined;
  /** Records of the timeline input held until the clock mapping is known. */
  const held: TraceRecord[] = [];
  const followers: Follower[] = group.followers.map((probe) => ({ probe, queue: [], qi: 0, eof: false, fd: undefined, feeder: undefined, ownClock: undefined, stamped: 0, records: 0 }));

  const shiftOf = (): bigint => -(clock?.offsetNs ?? 0n);

  function open(f: Follower): void {
    if (f.feeder !== undefined || f.eof) return;
    const format = f.probe.format;
    if (format === undefined || format.kind !== 'lines') {
      f.eof = true;
      return;
    }
    const shift = shiftOf();
    const fsink: ParserSink = {
      record(r) {
        f.records++;
        if (r.tsNs !== undefined) f.stamped++;
        f.queue.push(r.tsNs === undefined ? r : { ...r, tsNs: r.tsNs + shift });
      },
      skipped: (n) => out.skipped(n),
      malformed: (p: InputProblem) => out.malformed(p.tsNs === undefined ? p : { ...p, tsNs: p.tsNs + shift }),
      clock(name) {
        f.ownClock ??= name;
      },
    };
    try {
      f.fd = openSync(f.probe.path, 'r');
    } catch (e) {
      out.malformed({ src: { file: f.probe.file }, message: `cannot read: ${(e as Error).message}` });
      f.eof = true;
      return;
    }
    f.feeder = createLineFeeder(format.create(f.probe.file, fsink), { file: f.probe.file, sink: fsink });
  }

  const buf = Buffer.alloc(FOLLOWER_CHUNK);
  /** The follower's next record (reading on when its queue is empty), or undefined at its end. */
  function head(f: Follower): TraceRecord | undefined {
    open(f);
    while (f.qi >= f.queue.length && !f.eof) {
      f.queue.length = 0;
      f.qi = 0;
      const n = f.fd === undefined ? 0 : readSync(f.fd, buf, 0, buf.length, null);
      if (n === 0) {
        f.feeder?.end();
        f.eof = true;
        if (f.fd !== undefined) closeSync(f.fd);
        f.fd = undefined;
      } else f.feeder?.push(buf.subarray(0, n));
    }
    return f.queue[f.qi];
  }

  /** Every follower record not later than `limit` (all of them when undefined), earliest first. */
  function drainUntil(limit: bigint | undefined): void {
    for (;;) {
      let best: Follower | undefined;
      let bestTs: bigint | undefined;
      for (const f of followers) {
        const r = head(f);
        if (r === undefined) continue;
        // A record without time (a QMP command) keeps its place in its own file: right away.
        if (r.tsNs === undefined) {
          best = f;
          bestTs = undefined;
          break;
        }
        if (limit !== undefined && r.tsNs > limit) continue;
        if (bestTs === undefined || r.tsNs < bestTs) {
          best = f;
          bestTs = r.tsNs;
        }
      }
      if (best === undefined) return;
      const r = best.queue[best.qi++];
      if (r !== undefined) emit(r);
    }
  }

  const emit = (r: TraceRecord): void => out.record(r);

  function pass(r: TraceRecord): void {
    if (r.tsNs !== undefined) drainUntil(r.tsNs);
    emit(r);
  }

  function settle(c: TimelineClock | undefined, why: string | undefined): void {
    clock = c;
    failed = c === undefined ? why : undefined;
    if (c !== undefined) o.onPlaced?.();
    if (c === undefined) for (const f of followers) f.eof = true;
    for (const r of held.splice(0)) (c === undefined ? emit : pass)(r);
  }

  const flagClock = (): TimelineClock | undefined => (o.clockOffsetNs === undefined ? undefined : { offsetNs: o.clockOffsetNs, rule: `--clock-offset (it has no clock-sync record)` });

  const sink: ParserSink = {
    record(r) {
      if (clock === undefined && failed === undefined && r.kind === 'clock-sync') {
        out.record(r);
        settle({ offsetNs: r.wallNs - r.traceNs, rule: `its clock-sync record (${formatSource(r.src)})` }, undefined);
        return;
      }
      if (clock !== undefined) return pass(r);
      if (failed !== undefined) return emit(r);
      held.push(r);
      if (held.length >= MAX_HELD_RECORDS) settle(flagClock(), `no clock-sync record in the first ${MAX_HELD_RECORDS} records of ${group.timeline.file} and no --clock-offset: its trace clock cannot be put against wall-clock stamps`);
    },
    skipped: (n) => out.skipped(n),
    malformed: (p) => out.malformed(p),
    clock(name) {
      timelineClock ??= name;
      out.clock(name);
      // A timeline input whose own stamps are wall-clock (no capture in the group): nothing to move.
      if (name === 'realtime' && clock === undefined && failed === undefined) settle({ offsetNs: 0n, rule: 'its own wall-clock stamps' }, undefined);
    },
  };

  return {
    sink,
    finish(stopped) {
      if (clock === undefined && failed === undefined) {
        settle(flagClock(), timelineClock === 'order-only' ? `${group.timeline.file} has no time` : `${group.timeline.file} has no clock-sync record and no --clock-offset was given: its trace clock (${timelineClock ?? 'unknown'}) cannot be put against wall-clock stamps`);
      }
      if (clock !== undefined && !stopped) drainUntil(undefined);
      for (const f of followers) if (f.fd !== undefined) closeSync(f.fd);
      const base = { host: group.host, hostRule: group.hostRule };
      return {
        timeline: { ...base, merged: clock !== undefined, timeline: group.timeline.file, ownClock: timelineClock, offsetNs: 0n, rule: clock !== undefined ? `wall = ${timelineClock ?? 'its clock'} ${secondsText(clock.offsetNs)}, from ${clock.rule}` : `no other input could be put on its clock: ${failed ?? ''}` },
        followers: followers.map((f) => ({
          probe: f.probe,
          placement:
            clock !== undefined
              ? {
                  ...base,
                  hostRule: group.hostRules.get(f.probe.path) ?? group.hostRule,
                  merged: true,
                  timeline: group.timeline.file,
                  ownClock: f.ownClock ?? f.probe.clock,
                  offsetNs: -clock.offsetNs,
                  rule:
                    `${f.probe.stamps} put on ${group.timeline.file}'s clock${timelineClock !== undefined ? ` ${timelineClock}` : ''} with ${group.timeline.file}'s ${clock.rule.replace(/^its /, '')}` +
                    (f.records > 0 && f.stamped === 0 ? '; none of its records carried a time: they keep their order at the start' : '') +
                    (stopped ? '; reading stopped: only what came before the stop was merged' : ''),
                }
              : { ...base, hostRule: group.hostRules.get(f.probe.path) ?? group.hostRule, merged: false, timeline: group.timeline.file, ownClock: f.probe.clock, rule: `kept separate: ${failed ?? 'not placed'}` },
        })),
      };
    },
  };
}

/** Signed seconds with 9 decimals (exact), e.g. "-1795645749.207000000 s". */
export function secondsText(ns: bigint): string {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  return `${neg ? '-' : '+'}${a / 1_000_000_000n}.${(a % 1_000_000_000n).toString().padStart(9, '0')} s`;
}
