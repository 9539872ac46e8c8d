// The one place the stages are wired together (STYLE.md: src/cli wires): input bytes →
// parser (parsers/) → decoder (src/decode) → tracker (src/track) and checker (src/check)
// → Analysis. Streaming end to end: no stage holds the trace.

import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { hostname } from 'node:os';
import { extended } from '../record/extended.js';
import { UnusableInputError, type InputFormat } from '../../parsers/format.js';
import { checkHostName } from '../../parsers/text/host-name.js';
import { feedLines } from '../../parsers/lines.js';
import type { InputProblem, ParserSink, TraceRecord } from '../record/types.js';
import { createDecoder, DEFAULT_MAX_FDS } from '../decode/decoder.js';
import type { DeviceRef, ProtocolOp } from '../decode/ops.js';
import { createTracker } from '../track/tracker.js';
import { settleByDestination } from '../track/stream-pairing.js';
import type { DeviceTimeline, MigrationSession } from '../track/types.js';
import { createChecker } from '../check/index.js';
import { createMigrationTracker } from '../track/migration-tracker.js';
import { mergeMigrations } from '../track/migration-merge.js';
import { withDowntimeShares } from '../track/downtime-shares.js';
import type { Finding } from '../check/types.js';
import { withInputHealth, type InputMark } from '../check/input-health.js';
import type { Analysis, ClockMapping, InputFile, InputHost, InputPlacement, InputSummary } from '../analysis/types.js';
import { mergeInputs, planInputs, probeHead, secondsText, unprobed, type Probe } from './input-merge.js';
import { formatSource } from '../record/source-text.js';
import { VERSION } from './version.js';
import { detectFirst, detectLate, HEAD_BYTES, LATE_DETECT_BYTES, unrecognisedMessage } from './detect.js';
import { assertNever } from '../protocol/assert-never.js';
import type { SessionSpill } from '../track/session-list.js';
import { untilStopped } from './until-stopped.js';
import { CHUNK_BYTES, fileChunks, READ_BYTES } from './file-chunks.js';
import { feedFilteredFile, lineFilterChoice, lineFilterMode, lineFilterWorkerUrl, type LineFilterMode } from './filtered-file.js';
import { skippableShare } from '../../parsers/line-filter.js';
import { createFindingList } from '../check/finding-list.js';

export interface InputSpec {
  /** A path, or "-" for standard input. */
  readonly path: string;
  /** Force a format by name instead of detecting it. */
  readonly format?: string;
}

export interface PipelineOptions {
  readonly formats: readonly InputFormat[];
  readonly deviceNames?: ReadonlyMap<string, string>;
  readonly regionOffsets?: ReadonlyMap<string, bigint>;
  /** --clock-offset: wall = trace + offset, when the trace has no clock-sync record. */
  readonly clockOffsetNs?: bigint;
  /** --host FILE=NAME: the host of an input, by the path as given (input-merge.ts). */
  readonly hosts?: ReadonlyMap<string, string>;
  /** --no-merge sets false: inputs of one host are not merged into one timeline. */
  readonly merge?: boolean;
  readonly eagainLimit?: number;
  /** V2-BLOCKED-ARC: seconds after which a FEATURE ioctl whose exit the trace lacks counts as hung (default 10). */
  readonly v2HangSeconds?: number;
  /** --downtime-limit (ms): overrides the migrate-set-parameters downtime-limit the inputs show. */
  readonly downtimeLimitMs?: number;
  /** MIG-PRECOPY-STALL: iterations without a shrink before pre-copy counts as stalled (default 3). */
  readonly stallIterations?: number;
  /** MIG-ESTIMATE-WRONG: stop-copy data above this many times the device's estimate (default 2). */
  readonly estimateFactor?: number;
  readonly onFinding?: (f: Finding) => void;
  readonly onSessionEnd?: (device: DeviceTimeline, session: MigrationSession) => void;
  readonly onStateChange?: (deviceId: string, raw: number | undefined, state: string, protocol: string) => void;
  /** Each pending-bytes sample (track/tracker.ts TrackerOptions.onPending). */
  readonly onPending?: (deviceId: string, protocol: 'v1' | 'v2', bytes: bigint, tsNs: bigint | undefined) => void;
  /** A device's protocol became known (track/tracker.ts TrackerOptions.onProtocol). */
  readonly onProtocol?: (deviceId: string, protocol: 'v1' | 'v2') => void;
  /** A traced process is gone, with the devices it used (track/tracker.ts TrackerOptions.onProcessGone). */
  readonly onProcessGone?: (pid: number, deviceIds: readonly string[]) => void;
  /**
   * Host mode (watch): a gone process's devices are forgotten after onProcessGone
   * (track/tracker.ts TrackerOptions.evictGoneProcesses); finish() then lists only the
   * devices of live processes, and evictedDevices() counts the others.
   */
  readonly evictGoneProcesses?: boolean;
  /** Progress over all inputs, in bytes. total is undefined for stdin. */
  readonly onProgress?: (done: number, total: number | undefined) => void;
  /** Caps for long-running use (watch): timeline intervals kept per device, findings kept. */
  readonly maxIntervalsPerDevice?: number;
  readonly maxFindingsKept?: number;
  /** Finished sessions kept per device (watch: the latest; each was handed out by onSessionEnd). */
  readonly maxSessionsPerDevice?: number;
  /**
   * Keep every finished session, the older ones in this temporary file (track/spill-file.ts),
   * not in memory: analyze and report on traces of many migrations (issue 13). The caller closes it.
   */
  readonly sessionSpill?: SessionSpill;
  /** QEMU's trace-events file for simpletrace inputs (--trace-events). */
  readonly traceEvents?: string;
  /** Read standard input from here (tests); defaults to process.stdin. */
  readonly stdin?: AsyncIterable<Buffer | string>;
  /** Resolves when reading must stop (SIGINT): what was read so far is analysed. */
  readonly stopReading?: Promise<unknown>;
}

/** Thrown through a file parser's progress callback to end it early (stopReading). */
class ReadingStopped extends Error {}

/** An input that cannot be analysed at all (missing file, unknown format): exit status 2. */
export class InputError extends Error {}

const MAX_PROBLEMS_KEPT = 200;
/** Positions of malformed records and lost-events windows kept to judge findings next to them (input-health.ts). */
const MAX_MARKS_KEPT = 100_000;
export const DEFAULT_MAX_INTERVALS_PER_DEVICE = 20_000;
const DEFAULT_MAX_PENDING_SAMPLES = 2_000;

export type SessionOptions = Omit<PipelineOptions, 'formats' | 'onProgress' | 'stdin' | 'traceEvents'>;

export interface AnalysisSession {
  /** Start an input; returns the sink its parser writes to. Inputs are analysed one after another. */
  beginInput(file: string): ParserSink;
  /** The input ended (its parser's end() has run); `detection` says how its format was found when that was not plain. */
  endInput(format: string, placement?: InputPlacement, detection?: string): void;
  /** An input whose records went through another input's sink (merged into its timeline, input-merge.ts). */
  noteMergedInput(file: InputFile): void;
  /** These inputs are now on one timeline (before any of the followers' records arrive). */
  oneStory(timeline: string, files: readonly string[]): void;
  /** End of all inputs: close what is open and assemble the result. */
  finish(): Analysis;
  /** Counts so far (live mode). */
  counts(): { readonly records: number; readonly malformed: number; readonly lostEvents: number };
  /** Devices evicted with their gone process so far (evictGoneProcesses): not in finish()'s devices. */
  evictedDevices(): number;
  /** Entries the session's per-device indexes hold now (tests of host mode's memory). */
  liveEntries(): LiveEntries;
}

/** What an analysis session holds per device now: bounded by live devices in host mode. */
export interface LiveEntries {
  /** Tracker device entries and device names indexed, over every input. */
  readonly trackerDevices: number;
  readonly trackerNames: number;
  /** Device lives with rule instances in the checker, and each cross-device rule's entries. */
  readonly deviceLives: number;
  readonly rules: Readonly<Record<string, number>>;
  /** Device ids the session remembers the first input of. */
  readonly ids: number;
}

/**
 * One analysis over one or more inputs: parser sink → decoder → tracker + checker. Used by
 * `analyze` over files and by `watch` over a live stream.
 */
export function createAnalysisSession(opts: SessionOptions): AnalysisSession {
  let records = 0;
  let malformed = 0;
  let duplicates = 0;
  let timeBackwards = 0;
  let lostEvents = 0;
  const problems: InputProblem[] = [];
  let problemsDropped = 0;
  const gaps: { tsNs: bigint | undefined; count: number | undefined; file: string; line: number | undefined; byteOffset: number | undefined }[] = [];
  const files: InputFile[] = [];
  const marks: InputMark[] = [];
  let marksDropped = 0;
  const mark = (m: InputMark): void => {
    if (marks.length < MAX_MARKS_KEPT) marks.push(m);
    else marksDropped++;
  };
  // Spilled with the sessions when they are (analyze, report); watch caps them instead.
  const findings = createFindingList(opts.maxFindingsKept === undefined ? opts.sessionSpill?.file : undefined);
  let sync: { clock: string; offsetNs: bigint } | undefined;
  let firstTs: bigint | undefined;
  let lastTs: bigint | undefined;

  const checker = createChecker({
    eagainLimit: opts.eagainLimit,
    v2HangSeconds: opts.v2HangSeconds,
    ...(opts.estimateFactor !== undefined ? { estimateFactor: opts.estimateFactor } : {}),
    onFinding: (f: Finding) => {
      // Watch mode keeps the latest findings only (they were printed and exported already).
      if (opts.maxFindingsKept !== undefined && findings.length >= opts.maxFindingsKept) findings.shift();
      findings.push(f);
      opts.onFinding?.(f);
    },
  });
  const trackers: ReturnType<typeof createTracker>[] = [];
  /** The input each tracker analysed (trackers[i] is trackerFiles[i]'s): a device's host is its input's. */
  const trackerFiles: string[] = [];
  // The migration level (QMP, QEMU's migration events), over all inputs at once.
  /** Inputs merged into one host's timeline, by input: the timeline input (one story at the migration level). */
  const stories = new Map<string, string>();
  const migrationTracker = createMigrationTracker({ storyOf: (f) => stories.get(f) });
  const renames = new Map<string, string>();
  /** Accesses the decoder could not place, by (pre-rename) device id. */
  const unplaced = new Map<string, { ref: DeviceRef; count: number; first: readonly import('../record/types.js').Source[]; regionOffsets: readonly bigint[] }>();
  /**
   * How each device's syscall view and QEMU's view were joined (decoder joins), by the
   * device's id in its input (before QEMU's name replaces pid:fd): two inputs (two hosts)
   * may join the same QEMU name with two different devices.
   */
  const joins = new Map<string, string>();
  const usedIds = new Map<string, string>(); // device id → file that first used it
  /**
   * Inputs whose own clock-sync record maps their trace clock to wall-clock time with another
   * offset than the analysis' (the first clock-sync, `sync`): a second host's capture, with
   * the inputs merged into its timeline. Their times are moved by `shiftNs` = own − first as
   * they are read, so that every device time of the analysis maps with `clock.offsetNs`
   * (wall = t + offset): the second host's sessions, spans, terminal and JSON times are on
   * wall-clock time by its own clock-sync, and the two hosts' devices are on one time line
   * (issue 11). By timeline input (the input whose sink the records go through).
   */
  const shifts = new Map<string, { readonly shiftNs: bigint; readonly ownOffsetNs: bigint; readonly src: string }>();
  let current: { file: string; clock: string | undefined; host: InputHost | undefined; decoder: ReturnType<typeof createDecoder>; renamed: Map<string, string>; shiftNs: bigint; synced: boolean; timed: number } | undefined;

  /** The InputFile fields that say an input's times were moved onto the analysis' clock. */
  const shiftOf = (timeline: string): Pick<InputFile, 'clockShift'> => {
    const x = shifts.get(timeline);
    return x === undefined || sync === undefined
      ? {}
      : { clockShift: { shiftNs: x.shiftNs, ownOffsetNs: x.ownOffsetNs, rule: `${timeline}'s own clock-sync record (${x.src}) gives wall = trace ${secondsText(x.ownOffsetNs)}, the analysis' clock (its first clock-sync) ${secondsText(sync.offsetNs)}: times moved by ${secondsText(x.shiftNs)} to map with the analysis' offset` } };
  };

  return {
    beginInput(file: string): ParserSink {
      const tracker = createTracker({
        onSessionEnd: opts.onSessionEnd,
        onStateChange: opts.onStateChange,
        onPending: opts.onPending,
        onProtocol: opts.onProtocol,
        onProcessGone:
          opts.evictGoneProcesses === true
            ? (pid, ids) => {
                opts.onProcessGone?.(pid, ids);
                // One input (watch): the id needs no telling apart from another input's any more.
                for (const id of ids) if (usedIds.get(id) === file) usedIds.delete(id);
              }
            : opts.onProcessGone,
        ...(opts.evictGoneProcesses === true ? { evictGoneProcesses: true } : {}),
        // What a device's output keeps (older items are counted, not kept): bounds memory
        // on multi-GB traces of thousands of migrations (bench/RESULTS.md "Memory").
        maxIntervalsPerDevice: opts.maxIntervalsPerDevice ?? DEFAULT_MAX_INTERVALS_PER_DEVICE,
        maxPendingSamples: DEFAULT_MAX_PENDING_SAMPLES,
        ...(opts.maxSessionsPerDevice !== undefined ? { maxSessionsPerDevice: opts.maxSessionsPerDevice } : {}),
        ...(opts.sessionSpill !== undefined ? { sessionSpill: opts.sessionSpill } : {}),
        // The checker reads this tracker's model of each device: ops and facts in order.
        observer: checker.observer,
        // A save's convergence account (and MIG-EARLY-SWITCHOVER) compares with the limit in
        // force when it ends: the flag, else the last migrate-set-parameters read so far
        // (a QMP log given after the trace comes too late for it: pass it first).
        downtimeLimit: () => {
          if (opts.downtimeLimitMs !== undefined) return { ms: opts.downtimeLimitMs, from: 'flag' };
          const ms = migrationTracker.downtimeLimitMs();
          return ms === undefined ? undefined : { ms, from: 'qmp' };
        },
        ...(opts.stallIterations !== undefined ? { convergence: { stallIterations: opts.stallIterations } } : {}),
      });
      trackers.push(tracker);
      trackerFiles.push(file);
      const renamed = new Map<string, string>();
      // The same device name in two inputs (source and destination hosts) is two devices:
      // the second input's ref gets an "@file" id. Decided once per DeviceRef object (the
      // decoder reuses one per device), not once per op.
      const effective = new WeakMap<DeviceRef, DeviceRef>();
      // Consecutive ops are mostly of one device: the last answer, before the WeakMap.
      let lastRef: DeviceRef | undefined;
      let lastEff: DeviceRef | undefined;
      const effectiveRef = (ref: DeviceRef): DeviceRef => {
        if (ref === lastRef && lastEff !== undefined) return lastEff;
        lastRef = ref;
        lastEff = effectiveRefOf(ref);
        return lastEff;
      };
      const effectiveRefOf = (ref: DeviceRef): DeviceRef => {
        let eff = effective.get(ref);
        if (eff !== undefined) return eff;
        const owner = usedIds.get(ref.id);
        if (owner === undefined) usedIds.set(ref.id, file);
        if (owner === undefined || owner === file) eff = ref;
        else {
          let id = renamed.get(ref.id);
          if (id === undefined) {
            id = `${ref.id}@${basename(file)}`;
            renamed.set(ref.id, id);
          }
          eff = { ...ref, id };
        }
        effective.set(ref, eff);
        return eff;
      };
      const onOp = (op: ProtocolOp): void => {
        if (op.op !== 'gap' && op.op !== 'process-exit') {
          const eff = effectiveRef(op.device);
          if (eff !== op.device) op = extended(op, { device: eff });
        }
        tracker.op(op);
      };
      const decoder = createDecoder({ deviceNames: opts.deviceNames, regionOffsets: opts.regionOffsets, onOp });
      const cur = { file, clock: undefined as string | undefined, host: undefined as InputHost | undefined, decoder, renamed, shiftNs: 0n, synced: false, timed: 0 };
      current = cur;
      /** This input's first clock-sync record: the first of the analysis, or one that moves this input's times (see `shifts`). */
      const ownSync = (r: TraceRecord & { kind: 'clock-sync' }): void => {
        cur.synced = true;
        const own = r.wallNs - r.traceNs;
        if (sync === undefined) {
          sync = { clock: r.clock, offsetNs: own };
          return;
        }
        if (own === sync.offsetNs) return;
        if (cur.timed > 0) {
          // Records already passed on (a clock-sync that is not at the start): moving only the
          // rest would split the input's time line. Left on the first offset, and said so.
          if (problems.length < MAX_PROBLEMS_KEPT) problems.push({ src: r.src, message: `this input's clock-sync record (wall = ${r.clock} ${secondsText(own)}) comes after ${cur.timed} records with times: its times are left on the analysis' clock mapping (${secondsText(sync.offsetNs)}, the first clock-sync), which is not this input's` });
          else problemsDropped++;
          return;
        }
        cur.shiftNs = own - sync.offsetNs;
        shifts.set(file, { shiftNs: cur.shiftNs, ownOffsetNs: own, src: formatSource(r.src) });
      };
      return {
        record(r: TraceRecord): void {
          records++;
          if (r.kind === 'clock-sync' && !cur.synced) ownSync(r);
          else if (r.tsNs !== undefined && !cur.synced) cur.timed++;
          if (cur.shiftNs !== 0n && r.tsNs !== undefined) r = extended(r, { tsNs: r.tsNs + cur.shiftNs }); // per record: not a spread (record/extended.ts)
          if (r.tsNs !== undefined) {
            if (firstTs === undefined || r.tsNs < firstTs) firstTs = r.tsNs;
            if (lastTs === undefined || r.tsNs > lastTs) lastTs = r.tsNs;
          }
          if (r.kind === 'lost-events') {
            lostEvents += r.count ?? 0;
            if (gaps.length < 10_000) gaps.push({ tsNs: r.tsNs, count: r.count, file: r.src.file, line: r.src.line, byteOffset: r.src.byteOffset });
            mark({ src: r.src, tsNs: r.tsNs, what: `${r.count ?? 'an unknown number of'} events lost here` });
          }
          if (r.kind === 'qmp' || r.kind === 'marker' || r.kind === 'vm-device') migrationTracker.record(r);
          decoder.record(r);
        },
        skipped(count = 1): void {
          records += count;
        },
        malformed(p: InputProblem): void {
          if (cur.shiftNs !== 0n && p.tsNs !== undefined) p = extended(p, { tsNs: p.tsNs + cur.shiftNs });
          switch (p.kind) {
            case 'duplicate':
              // An exact copy was dropped: nothing is missing, so findings near it stay as they are.
              duplicates++;
              break;
            case 'time-backwards':
              timeBackwards++;
              mark({ src: p.src, tsNs: p.tsNs, what: `time goes backwards next to the evidence: ${p.message}` });
              break;
            case undefined:
            case 'malformed':
            case 'truncated':
              malformed++;
              mark({ src: p.src, tsNs: p.tsNs, what: `${p.kind === 'truncated' ? 'truncated' : 'malformed'} record next to the evidence: ${p.message}` });
              break;
            default:
              assertNever(p.kind);
          }
          if (problems.length < MAX_PROBLEMS_KEPT) problems.push(p);
          else problemsDropped++;
        },
        clock(name: string): void {
          cur.clock = name;
        },
        host(name: string, how: string): void {
          cur.host ??= { name, how };
        },
      };
    },
    endInput(format: string, placement?: InputPlacement, detection?: string): void {
      const cur = current;
      if (cur === undefined) return;
      current = undefined;
      cur.decoder.end();
      const overflowed = cur.decoder.overflowed();
      if (overflowed > 0) {
        malformed++;
        if (problems.length < MAX_PROBLEMS_KEPT)
          problems.push({
            src: cur.decoder.firstOverflow() ?? { file: cur.file },
            message: `${overflowed} records ignored from here on: more than ${DEFAULT_MAX_FDS} distinct file descriptors (a limit against hostile input)`,
          });
      }
      for (const [id, name] of cur.decoder.aliases()) renames.set(cur.renamed.get(id) ?? id, name);
      for (const [, j] of cur.decoder.joins()) {
        const id = cur.renamed.get(j.device.id) ?? j.device.id;
        if (!joins.has(id)) joins.set(id, j.how);
      }
      for (const u of cur.decoder.unplaced()) {
        const id = cur.renamed.get(u.device.id) ?? u.device.id;
        unplaced.set(id, { ref: { ...u.device, id }, count: u.count, first: u.first, regionOffsets: u.regionOffsets });
      }
      files.push({ path: cur.file, format, clock: cur.clock, ...(detection !== undefined ? { detection } : {}), ...(cur.host !== undefined ? { host: cur.host } : {}), ...(placement !== undefined ? { placement } : {}), ...shiftOf(cur.file) });
    },
    noteMergedInput(file: InputFile): void {
      // Its records went through the timeline's sink: moved with the timeline's shift.
      files.push(file.placement?.timeline !== undefined ? { ...file, ...shiftOf(file.placement.timeline) } : file);
    },
    oneStory(timeline: string, members: readonly string[]): void {
      for (const f of [timeline, ...members]) stories.set(f, timeline);
    },
    counts: () => ({ records, malformed, lostEvents }),
    evictedDevices: () => trackers.reduce((n, t) => n + t.evictedDevices(), 0),
    liveEntries(): LiveEntries {
      const c = checker.liveEntries();
      return {
        trackerDevices: trackers.reduce((n, t) => n + t.liveEntries().devices, 0),
        trackerNames: trackers.reduce((n, t) => n + t.liveEntries().names, 0),
        deviceLives: c.deviceLives,
        rules: c.rules,
        ids: usedIds.size,
      };
    },
    finish(): Analysis {
      for (const t of trackers) t.end();
      checker.end();
      const clockMap: ClockMapping =
        sync !== undefined
          ? { source: 'sync', clock: sync.clock, offsetNs: sync.offsetNs }
          : opts.clockOffsetNs !== undefined
            ? { source: 'offset', clock: files[0]?.clock, offsetNs: opts.clockOffsetNs }
            : { source: 'relative', clock: files[0]?.clock, offsetNs: undefined };
      const input: InputSummary = {
        files,
        records,
        malformed,
        duplicates,
        timeBackwards,
        lostEvents,
        gaps,
        problems,
        problemsDropped,
        firstTsNs: firstTs,
        lastTsNs: lastTs,
      };
      const fileInfo = (f: string): InputFile | undefined => files.find((x) => x.path === f);
      /**
       * The host an input is from, by name: its placement's host (--host, the name a member of
       * its group gives), --host for a lone input, else the name it gives itself. A placement
       * host like "the host of cap.txt" only describes an unnamed host: no valid host name has
       * a space, so it is not taken as one.
       */
      const hostOfFile = (f: string): { name: string; how: string } | undefined => {
        const x = fileInfo(f);
        const p = x?.placement;
        if (p?.host !== undefined && checkHostName(p.host).ok) return { name: p.host, how: p.hostRule };
        const flag = opts.hosts?.get(f);
        if (flag !== undefined) return { name: flag, how: `--host ${f}=${flag}` };
        return x?.host;
      };
      const migrations = mergeMigrations(migrationTracker.raw(), {
        clockOf: (f) => files.find((x) => x.path === f)?.clock,
        traceOffsetNs: clockMap.offsetNs,
        inputOrder: files.map((x) => x.path),
        mergedInto: (f) => {
          const p = files.find((x) => x.path === f)?.placement;
          return p?.merged === true && p.timeline !== undefined && p.timeline !== f ? p.timeline : undefined;
        },
        // A merged input's records were moved by −(its timeline's wall offset): mapped back with
        // that timeline's offset, which for a second host's capture is not the first sync's.
        // The timeline input itself (a capture on its trace clock) maps with the same offset.
        offsetOf: (f) => {
          const p = fileInfo(f)?.placement;
          if (p?.merged !== true || p.timeline === undefined) return undefined;
          // Its times were moved onto the analysis' clock as they were read (`shifts`).
          if (shifts.has(p.timeline)) return undefined;
          const follower = p.timeline !== f ? p : files.find((x) => x.path !== f && x.placement?.merged === true && x.placement.timeline === f)?.placement;
          return follower?.offsetNs !== undefined ? -follower.offsetNs : undefined;
        },
        hostOf: hostOfFile,
      });
      const migDropped = migrationTracker.dropped();
      if (migDropped > 0 && problems.length < MAX_PROBLEMS_KEPT)
        problems.push({ src: { file: files[0]?.path ?? '' }, message: `${migDropped} migration status steps, device states or devices not kept (per-migration caps against hostile input)` });
      if (marksDropped > 0) problems.push({ src: { file: files[0]?.path ?? '' }, message: `${marksDropped} malformed records or lost-events windows past ${MAX_MARKS_KEPT} were not used to judge the certainty of findings` });
      // Devices first seen as "pid:fd" and named later by QEMU's events take that name,
      // unless another device already has it.
      // The destination's view settles a source save whose end of stream was not traced.
      const tracked = trackers.flatMap((t, i) => {
        const h = hostOfFile(trackerFiles[i] ?? '');
        return h === undefined ? t.devices() : t.devices().map((d) => ({ ...d, host: h.name }));
      });
      // A device fd whose accesses could not be placed never vanishes: it is listed with them.
      const withUnplaced = tracked.map((d) => {
        const u = unplaced.get(d.id);
        return u === undefined ? d : { ...d, unplaced: unplacedOf(u) };
      });
      for (const [id, u] of unplaced) {
        if (tracked.some((d) => d.id === id)) continue;
        withUnplaced.push({ id, pid: u.ref.pid, comm: undefined, fd: u.ref.fd, naming: u.ref.naming, protocol: 'unknown', region: undefined, timeline: [], stateWrites: [], sessions: [], resets: 0, intervalsDropped: 0, unplaced: unplacedOf(u) });
      }
      const { devices, settled } = settleByDestination(withUnplaced);
      const settledByDestination = (f: Finding): Finding => {
        if (f.rule !== 'V2-SAVE-DRAIN') return f;
        const s = settled.find((x) => x.device === f.device && f.tsNs !== undefined && x.endNs !== undefined && f.tsNs <= x.endNs && (x.startNs === undefined || f.tsNs >= x.startNs));
        if (s === undefined) return f;
        // The read() = 0 may simply be missing from the source's trace: the destination got every byte.
        return { ...f, certainty: 'uncertain', evidence: [...f.evidence, ...(s.by.src !== undefined ? [{ src: s.by.src, what: `the destination ${s.by.device} accepted the whole stream` }] : [])] };
      };
      const taken = new Set(devices.map((d) => d.id));
      for (const [id, name] of renames) {
        if (!taken.has(name)) continue;
        // Another input's device (the other host's) has the name already: this one gets it
        // with its input's name, as the same name in two inputs does (effectiveRef), if free.
        const file = usedIds.get(id);
        const alt = file !== undefined ? `${name}@${basename(file)}` : undefined;
        const how = joins.get(id);
        if (alt !== undefined && !taken.has(alt)) {
          renames.set(id, alt);
          taken.add(alt);
          if (how !== undefined) joins.set(id, `${how}; ${name} is another input's device already, so this one is ${alt}`);
        } else {
          renames.delete(id);
          if (how !== undefined) joins.set(id, `${how}; the name ${name} is another device's already (another input's), so this one keeps its id`);
        }
      }
      const rename = (id: string): string => renames.get(id) ?? id;
      const notJudged = checker.notJudged();
      return {
        tool: { name: 'migscope', version: VERSION },
        host: hostname(),
        input,
        clock: clockMap,
        // Each save's share of the downtime, against the other devices and QEMU's figure (final ids).
        devices: withDowntimeShares(
          devices.map((d) => {
            const id = rename(d.id);
            const how = joins.get(d.id);
            if (id === d.id && how === undefined) return d;
            return { ...d, id, naming: renames.has(d.id) ? 'qemu' : d.naming, ...(how !== undefined ? { identity: how } : {}) };
          }),
          migrations,
          { clockOf: (f) => files.find((x) => x.path === f)?.clock, traceOffsetNs: clockMap.offsetNs },
        ),
        // Each finding judged once every input is read: next to lost or malformed input it is
        // uncertain (DESIGN.md "Knowing versus guessing"), then the destination's view, then
        // its device's final name; in time order.
        findings: findings.finished((f) => {
          const judged = settledByDestination(withInputHealth(f, marks));
          return renames.size === 0 ? judged : extended(judged, { device: rename(judged.device) });
        }),
        migrations,
        ...(notJudged.length > 0 ? { notJudged } : {}),
      };
    },
  };
}

function unplacedOf(u: { ref: DeviceRef; count: number; first: readonly import('../record/types.js').Source[]; regionOffsets: readonly bigint[] }): NonNullable<DeviceTimeline['unplaced']> {
  const who = `${u.ref.pid ?? '?'}:${u.ref.fd}`;
  const offs = u.regionOffsets.map((o) => `--region ${who}=0x${o.toString(16)}`);
  const hint = offs.length > 0 ? `if the migration region is one of the regions touched, pass ${offs.join(' or ')}` : `pass --region ${who}=OFFSET with the migration region's fd offset`;
  return { count: u.count, first: u.first, hint };
}

export async function analyzeInputs(inputs: readonly InputSpec[], opts: PipelineOptions): Promise<Analysis> {
  const session = createAnalysisSession(opts);
  let stopped = false;
  void opts.stopReading?.then(() => (stopped = true));
  const o: PipelineOptions & { readonly isStopped: () => boolean } = { ...opts, isStopped: () => stopped };
  const fileOf = (input: InputSpec): string => (input.path === '-' ? '<stdin>' : input.path);
  /** `probed`: how probing found the format (several inputs are probed first and parsed by the format's name, which detects nothing again). */
  const runOne = async (input: InputSpec, placement: InputPlacement | undefined, probed?: string): Promise<void> => {
    const file = fileOf(input);
    const sink = session.beginInput(file);
    let format = input.format ?? 'unknown';
    const how: { detection?: string } = {};
    try {
      format = await parseOne(input, file, sink, o, how);
    } catch (e) {
      if (!(e instanceof ReadingStopped)) throw e;
    }
    session.endInput(format, placement, how.detection ?? probed);
  };
  if (inputs.length < 2) {
    for (const input of inputs) if (!stopped) await runOne(input, undefined);
    return session.finish();
  }
  // Several inputs: which are one host, and can they share its timeline (input-merge.ts)?
  const probes: Probe[] = [];
  for (const input of inputs) probes.push(await probeInput(input, fileOf(input), opts.formats));
  const specOf = (p: Probe): InputSpec => ({ path: p.path, format: inputs.find((i) => i.path === p.path)?.format ?? p.format?.name });
  const units = planInputs(probes, { hosts: opts.hosts ?? new Map(), merge: opts.merge !== false });
  for (const unit of units) {
    if (stopped) break;
    if (unit.kind === 'single') {
      await runOne(specOf(unit.probe), unit.placement, unit.probe.detection);
      continue;
    }
    const file = unit.timeline.file;
    const merged = mergeInputs(session.beginInput(file), unit, {
      ...(opts.clockOffsetNs !== undefined ? { clockOffsetNs: opts.clockOffsetNs } : {}),
      onPlaced: () => session.oneStory(file, unit.followers.map((f) => f.file)),
    });
    let format = unit.timeline.format?.name ?? 'unknown';
    const how: { detection?: string } = {};
    try {
      format = await parseOne(specOf(unit.timeline), file, merged.sink, o, how);
    } catch (e) {
      if (!(e instanceof ReadingStopped)) throw e;
    }
    const placed = merged.finish(stopped);
    session.endInput(format, placed.timeline, how.detection ?? unit.timeline.detection);
    const apart: { probe: Probe; placement: InputPlacement }[] = [];
    for (const f of placed.followers) {
      if (f.placement.merged)
        session.noteMergedInput({ path: f.probe.file, format: f.probe.format?.name ?? 'unknown', clock: placed.timeline.ownClock, ...(f.probe.detection !== undefined ? { detection: f.probe.detection } : {}), ...(f.host !== undefined ? { host: f.host } : {}), placement: f.placement });
      else apart.push(f);
    }
    // Not placed on the timeline: analysed on their own, as without merging.
    for (const f of apart) if (!stopped) await runOne(specOf(f.probe), f.placement, f.probe.detection);
  }
  return session.finish();
}

/** What an input's first bytes say (format, clock, ids), for planning the merge; standard input is not probed. */
async function probeInput(input: InputSpec, file: string, formats: readonly InputFormat[]): Promise<Probe> {
  if (input.path === '-') return unprobed(input.path, file);
  const d = input.format !== undefined ? { format: formatByName(formats, input.format), ...(await readFileHead(input.path, file)) } : await detectFile(input.path, file, formats);
  // A late-starting QEMU log is probed over what detection read, so its stamps are seen.
  const probe = probeHead(input.path, file, d.format, d.head);
  return d.detection !== undefined ? { ...probe, detection: d.detection } : probe;
}

/** Detect a file's format (src/cli/detect.ts): its head, and how far detection had to read. */
async function detectFile(path: string, file: string, formats: readonly InputFormat[]): Promise<{ format: InputFormat; size: number; regular: boolean; head: Buffer; detection?: string }> {
  const first = await readFileHead(path, file);
  if (first.head.length === 0) throw new InputError(`${file}: empty input`);
  const f = detectFirst(first.head, formats);
  if (f !== undefined) return { format: f, ...first };
  const far = first.size > first.head.length ? await readFileHead(path, file, LATE_DETECT_BYTES) : first;
  const late = detectLate(far.head, formats);
  if (late !== undefined) return { format: late.format, size: far.size, regular: far.regular, head: far.head, detection: late.note };
  throw new InputError(unrecognisedMessage(file, first.head, formats, far.head.length, far.head.length >= far.size));
}

/** The file's first `bytes`, its size, and whether it is a regular file (not a pipe or a device). */
async function readFileHead(path: string, file: string, bytes = HEAD_BYTES): Promise<{ size: number; regular: boolean; head: Buffer }> {
  try {
    const st = await stat(path);
    const size = st.size;
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(Math.min(bytes, size));
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      return { size, regular: st.isFile(), head: buf.subarray(0, bytesRead) };
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new InputError(`${file}: cannot read: ${(e as Error).message}`);
  }
}

function formatByName(formats: readonly InputFormat[], name: string): InputFormat {
  const f = formats.find((x) => x.name === name);
  if (f === undefined) throw new InputError(`unknown format "${name}"; known: ${formats.map((x) => x.name).join(', ')}`);
  return f;
}

/** Detects the format, runs its parser, returns the format's name. */
async function parseOne(input: InputSpec, file: string, sink: ParserSink, opts: PipelineOptions & { readonly isStopped?: () => boolean }, how: { detection?: string } = {}): Promise<string> {
  const byName = (name: string): InputFormat => formatByName(opts.formats, name);

  if (input.path === '-') {
    const stream = untilStopped(opts.stdin ?? process.stdin, opts.stopReading);
    const first = await readHead(stream[Symbol.asyncIterator](), [], HEAD_BYTES);
    let { head } = first;
    const { rest } = first;
    let format = input.format !== undefined ? byName(input.format) : undefined;
    if (format === undefined) {
      if (head.length === 0) throw new InputError(`${file}: empty input`);
      format = detectFirst(head, opts.formats);
    }
    if (format === undefined) {
      // A late-starting QEMU log: read on (bounded), the bytes kept to be parsed first.
      const more = await readHead(rest, [head], LATE_DETECT_BYTES);
      head = more.head;
      const late = detectLate(head, opts.formats);
      if (late === undefined) throw new InputError(unrecognisedMessage(file, first.head, opts.formats, head.length, more.ended));
      format = late.format;
      how.detection = late.note;
    }
    if (format.kind === 'file') {
      throw new InputError(`${file}: ${format.name} input needs random access; save it to a file and pass the path`);
    }
    const parser = format.create(file, sink);
    let done = 0;
    await feedLines(prepend(head, rest), parser, {
      file,
      sink,
      onBytes: (n) => {
        done += n;
        opts.onProgress?.(done, undefined);
      },
    });
    return format.name;
  }

  const d = input.format !== undefined ? { format: byName(input.format), ...(await readFileHead(input.path, file)) } : await detectFile(input.path, file, opts.formats);
  const { size, format } = d;
  if (d.detection !== undefined) how.detection = d.detection;
  if (format.kind === 'file') {
    try {
      // A file parser yields to the event loop between progress reports: a stop request
      // ends it there (line inputs end through untilStopped).
      await format.parse(input.path, sink, {
        onProgress: (d, t) => {
          if (opts.isStopped?.() === true) throw new ReadingStopped();
          opts.onProgress?.(d, t);
        },
        traceEvents: opts.traceEvents,
      });
    } catch (e) {
      if (e instanceof UnusableInputError) throw new InputError(e.message);
      throw e;
    }
    return format.name;
  }
  const parser = format.create(file, sink);
  let done = 0;
  const onBytes = (n: number): void => {
    done += n;
    opts.onProgress?.(done, size);
  };
  // ftrace text on both cores (filtered-file.ts): a regular file, big enough for the worker's start.
  if (format.name === 'ftrace' && parser.lineBytes !== undefined && parser.skipLines !== undefined && d.regular) {
    const worker = lineFilterWorkerUrl();
    let mode: LineFilterMode;
    let choice: 'thread' | 'inline' | 'off';
    try {
      mode = lineFilterMode();
      choice = lineFilterChoice(mode, size, () => skippableShare(d.head), worker !== undefined);
    } catch (e) {
      throw new InputError((e as Error).message);
    }
    if (choice !== 'off') {
      // The automatic choice falls back to this thread when the worker cannot start; MIGSCOPE_LINE_FILTER=thread fails.
      await feedFilteredFile(input.path, parser, { file, sink, onBytes, worker: choice === 'thread' ? worker : undefined, stop: opts.stopReading, fallBack: mode === 'auto' });
      return format.name;
    }
  }
  await feedLines(untilStopped(fileChunks(input.path, CHUNK_BYTES, READ_BYTES), opts.stopReading), parser, { file, sink, onBytes });
  return format.name;
}

/** Reads `it` on until `limit` bytes are held (with `parts` already read) or it ends. */
async function readHead(it: AsyncIterator<Buffer | string>, parts: Buffer[], limit: number): Promise<{ head: Buffer; rest: AsyncIterator<Buffer | string>; ended: boolean }> {
  let n = parts.reduce((a, b) => a + b.length, 0);
  let ended = false;
  while (n < limit) {
    const r = await it.next();
    if (r.done === true) {
      ended = true;
      break;
    }
    const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    parts.push(b);
    n += b.length;
  }
  return { head: Buffer.concat(parts), rest: it, ended };
}

async function* prepend(head: Buffer, rest: AsyncIterator<Buffer | string>): AsyncIterable<Buffer | string> {
  if (head.length > 0) yield head;
  for (;;) {
    const r = await rest.next();
    if (r.done === true) return;
    yield r.value;
  }
}
