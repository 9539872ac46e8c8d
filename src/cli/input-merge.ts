// Inputs of one host are one story (issue 11): a capture (bpftrace, ftrace, trace-cmd) and
// the QEMU log, libvirt log or QMP transcript of the same VM are merged into ONE
// time-ordered record stream, on the capture's clock, before the decoder sees them: so the
// decoder joins QEMU's device name with the capture's fd (by thread id, or by time), the
// tracker keeps one timeline per device, and QMP's migration status lands on the same
// migration as the device sessions. docs/input-formats.md "Merging inputs of one host".
//
// Which inputs are one host (planInputs): --host FILE=NAME says so; then the host an
// input names itself (ParserSink.host: a capture header's host=, trace.dat's UNAME, a
// libvirt log's hostname: line), so that two hosts' captures each take their own libvirt
// log and a log of another host is kept apart; without names, when exactly one capture is
// among the inputs, the QEMU-side inputs are taken to be its host's (unless their thread
// ids are none of the capture's); with several captures, a QEMU input goes with the one
// capture whose process/thread ids it carries. Nothing else is guessed: two captures may
// be two hosts, and QEMU logs without a capture stay apart.
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
import type { InputHost, InputPlacement } from '../analysis/types.js';

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
  /** The host the input itself names (ParserSink.host: a capture header's host=, trace.dat's UNAME, libvirt's hostname: line). */
  readonly host: InputHost | undefined;
  /** Thread and process ids its first records carry (the capture's, or QEMU's TID@ / stap PID@). */
  readonly tids: ReadonlySet<number>;
  readonly pids: ReadonlySet<number>;
  /** How its format was found when detection had to read past the first lines (src/cli/detect.ts). */
  readonly detection?: string;
}

/**
 * Reads what the head (first 64 KiB) of a line input says: clock, stamps, ids, host name;
 * of a binary input, what its metadata says (InputFormat.probe: trace.dat's UNAME host).
 * Problems are not reported here: analysing the input reports them.
 */
export function probeHead(path: string, file: string, format: InputFormat, head: Buffer): Probe {
  const role = CAPTURE_FORMATS.has(format.name) ? 'capture' : 'qemu-side';
  const tids = new Set<number>();
  const pids = new Set<number>();
  let clock: string | undefined;
  let host: InputHost | undefined;
  const text = head.toString('utf8');
  const lines = text.split('\n');
  if (!text.endsWith('\n')) lines.pop(); // a line cut by the head's end
  const sink: ParserSink = {
    record(r) {
      // libvirt's monitor lines carry the thread id of libvirtd, not of QEMU: no evidence
      // of which QEMU (or capture) the log is of.
      if (r.kind === 'qmp') return;
      if (r.tid !== undefined && tids.size < MAX_IDS) tids.add(r.tid);
      if (r.pid !== undefined && pids.size < MAX_IDS) pids.add(r.pid);
    },
    skipped() {},
    malformed() {},
    clock(name) {
      clock ??= name;
    },
    host(name, how) {
      host ??= { name, how };
    },
  };
  if (format.kind === 'lines') {
    const parser = format.create(file, sink);
    lines.forEach((l, i) => parser.line(l.endsWith('\r') ? l.slice(0, -1) : l, i + 1));
  } else format.probe?.(path, sink);
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
      break;
    case 'qmp':
      stamps = 'QMP event timestamps (µs, wall clock; commands and replies carry none and keep their place)';
      break;
    default:
      if (format.kind === 'file') clock = undefined;
      stamps = `${format.name} trace clock`;
  }
  return { path, file, format, role, clock, stamps, host, tids, pids };
}

export function unprobed(path: string, file: string): Probe {
  return { path, file, format: undefined, role: 'unknown', clock: undefined, stamps: 'not probed', host: undefined, tids: new Set(), pids: new Set() };
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

/** Host names are compared case-insensitively (RFC 4343). */
const keyOf = (name: string): string => `host:${name.toLowerCase()}`;

/**
 * Which group of `groups` (key → host name) the host name `name` is: the same name, else
 * a short name and its FQDN (libvirt logs the FQDN virGetHostname found, while a capture
 * and trace.dat carry the nodename, often the short name), when exactly one group is so.
 */
function resolveHost(name: string, groups: ReadonlyMap<string, string>): { readonly key: string; readonly fqdn: boolean } | undefined {
  const n = name.toLowerCase();
  const same = [...groups].find(([, g]) => g.toLowerCase() === n);
  if (same !== undefined) return { key: same[0], fqdn: false };
  const near = [...groups].filter(([, g]) => {
    const x = g.toLowerCase();
    return x.startsWith(`${n}.`) || n.startsWith(`${x}.`);
  });
  const only = near.length === 1 ? near[0] : undefined;
  return only === undefined ? undefined : { key: only[0], fqdn: true };
}

const fqdnNote = (name: string, group: string): string => (name.length > group.length ? `the FQDN of ${group}` : `the short name of ${group}`);

/**
 * Which inputs are one host and which of them can share its timeline. The units come in
 * the order of their first input; the capture of a group is its timeline even when it
 * is not given first.
 *
 * The host of an input, strongest first: --host; the name the input gives itself (a
 * capture's header host= or trace.dat UNAME; a libvirt log's hostname: line, which puts
 * the log with the capture of that host, or keeps it apart when every capture names
 * another host); then, for inputs that name none, the only capture among the inputs, or
 * with several captures the one whose thread/process ids the input carries.
 */
export function planInputs(probes: readonly Probe[], o: PlanOptions): InputUnit[] {
  if (probes.length < 2) return probes.map((probe) => ({ kind: 'single', probe, placement: undefined }));
  if (!o.merge) return probes.map((probe) => ({ kind: 'single', probe, placement: { host: o.hosts.get(probe.path), hostRule: o.hosts.has(probe.path) ? '--host' : 'not known', merged: false, rule: '--no-merge: analysed on its own' } }));
  const host = new Map<Probe, { key: string; rule: string }>();
  /** The name of each host group, and what gave it. */
  const names = new Map<string, { name: string; by: string }>();
  const why = new Map<Probe, string>();
  const put = (p: Probe, key: string, rule: string, name?: { name: string; by: string }): void => {
    host.set(p, { key, rule });
    if (name !== undefined && !names.has(key)) names.set(key, name);
  };
  const nameOf = (key: string): string | undefined => names.get(key)?.name;
  /** "its host is B (how), but …": a QEMU-side input that names another host than the capture's. */
  const otherHost = (p: Probe, h: InputHost, theirs: string): string => `its host is ${h.name} (${h.how}), ${theirs}: another host's input, not merged (--host FILE=NAME merges it anyway)`;

  for (const p of probes) {
    const h = o.hosts.get(p.path);
    if (h !== undefined) put(p, keyOf(h), `--host ${p.path}=${h}`, { name: h, by: '--host' });
  }
  const unhosted = probes.filter((p) => !host.has(p));
  const captures = unhosted.filter((p) => p.role === 'capture');
  // A capture that names its own host is that host's: its name wins over "the only capture".
  for (const c of captures) if (c.host !== undefined) put(c, keyOf(c.host.name), `its own host name: ${c.host.how}`, { name: c.host.name, by: c.host.how });
  /** The named hosts of captures (by --host or their own name), key → name, and their files. */
  const captureHosts = new Map<string, string>();
  const captureFiles = new Map<string, string[]>();
  for (const c of probes) {
    const h = host.get(c);
    const n = h === undefined ? undefined : nameOf(h.key);
    if (c.role !== 'capture' || h === undefined || n === undefined) continue;
    captureHosts.set(h.key, n);
    captureFiles.set(h.key, [...(captureFiles.get(h.key) ?? []), c.file]);
  }
  const unnamedCaptures = captures.filter((c) => !host.has(c));
  // A QEMU-side input that names its host (libvirt's hostname:) goes with that host's capture.
  for (const p of unhosted) {
    if (p.role === 'capture' || p.host === undefined) continue;
    const m = resolveHost(p.host.name, captureHosts);
    if (m !== undefined) {
      put(p, m.key, `${p.host.how} names ${p.host.name}${m.fqdn ? ` (${fqdnNote(p.host.name, captureHosts.get(m.key) ?? '')})` : ''}, the host of ${(captureFiles.get(m.key) ?? []).join(', ')}`);
    } else if (unnamedCaptures.length === 0 && captureHosts.size > 0) {
      why.set(p, otherHost(p, p.host, `not ${[...captureHosts].map(([k, n]) => `${n} (${(captureFiles.get(k) ?? []).join(', ')})`).join(' or ')}`));
    }
    // else: a capture that does not name its host may be this input's (below).
  }

  const rest = unhosted.filter((p) => !host.has(p) && !why.has(p));
  const cap = captures.length === 1 ? captures[0] : undefined;
  if (cap !== undefined) {
    // The only capture among the inputs without --host: the QEMU-side inputs that name no
    // other host are its host's. Unnamed itself, it takes the name of the first QEMU-side
    // input that gives one (libvirt's hostname:).
    if (!host.has(cap)) {
      const named = rest.find((p) => p.role !== 'capture' && p.host !== undefined)?.host;
      put(cap, `auto:${cap.path}`, 'the only capture among the inputs without --host', named === undefined ? undefined : { name: named.name, by: named.how });
    }
    const key = host.get(cap)?.key ?? `auto:${cap.path}`;
    const capIds = idsOf(cap);
    for (const p of rest) {
      if (p === cap || p.role === 'capture') continue;
      // QEMU's thread ids (≤ 10.0 log) or process id (stap) that are none of the capture's:
      // another VM or another host's QEMU. Not merged on the "only capture" rule alone.
      const ids = idsOf(p);
      if (ids.size > 0 && capIds.size > 0 && !overlap(ids, capIds)) {
        why.set(p, `its thread/process ids (${[...ids].slice(0, 5).join(', ')}) are none of ${cap.file}'s: another VM's or another host's QEMU (pass --host to merge it anyway)`);
        continue;
      }
      const named = names.get(key);
      if (p.host !== undefined && named !== undefined && resolveHost(p.host.name, new Map([[key, named.name]])) === undefined) {
        why.set(p, otherHost(p, p.host, `but ${cap.file}'s host is ${named.name} (${named.by})`));
        continue;
      }
      put(p, key, `taken as the host of ${cap.file}, the only capture among the inputs without --host`);
    }
  } else if (captures.length > 1) {
    // Several captures (the two hosts, maybe): a QEMU input goes with a capture only when
    // its thread or process ids are that capture's and no other's.
    for (const p of rest) {
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
      const key = host.get(m)?.key ?? `auto:${m.path}`;
      const named = names.get(key);
      if (p.host !== undefined && named !== undefined && resolveHost(p.host.name, new Map([[key, named.name]])) === undefined) {
        why.set(p, otherHost(p, p.host, `but ${m.file}, whose process its ids name, is of ${named.name} (${named.by})`));
        continue;
      }
      if (!host.has(m)) put(m, key, `its process is the one ${p.file}'s thread ids name`);
      put(p, key, `its thread/process ids (${[...ids].filter((x) => m.tids.has(x) || m.pids.has(x)).slice(0, 5).join(', ')}) are ${m.file}'s, and no other capture's`, p.host === undefined ? undefined : { name: p.host.name, by: p.host.how });
    }
    for (const c of captures) if (!host.has(c)) why.set(c, `${captures.length} captures among the inputs and no QEMU input matched this one's ids: analysed on its own (--host FILE=NAME merges)`);
  } else {
    for (const p of rest) why.set(p, 'no capture among the inputs to merge with and no --host: analysed on its own');
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
    const hostName = nameOf(h.key) ?? (memberCapture !== undefined ? `the host of ${memberCapture.file}` : undefined);
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
      else if (q.clock !== 'realtime') single(q, `no time stamp in what was probed of it (${q.stamps}): cannot be placed on ${timeline.file}'s clock`);
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
  /** The host the follower names itself (its own records' ParserSink.host). */
  host: InputHost | undefined;
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
  finish(stopped: boolean): { readonly timeline: InputPlacement; readonly followers: readonly { readonly probe: Probe; readonly host: InputHost | undefined; readonly placement: InputPlacement }[] };
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
  const followers: Follower[] = group.followers.map((probe) => ({ probe, queue: [], qi: 0, eof: false, fd: undefined, feeder: undefined, ownClock: undefined, host: undefined, stamped: 0, records: 0 }));

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
      host(name, how) {
        f.host ??= { name, how };
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
    host: (name, how) => out.host?.(name, how),
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
          host: f.host,
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
