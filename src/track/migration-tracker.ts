// Rebuilds each migration from what QEMU and its management stack logged (QMP messages,
// QEMU's migration and VFIO trace events), per input, then merges the inputs
// (migration-merge.ts). Fed TraceRecords directly: it reads only `qmp`, `marker` and
// `vm-device` (QEMU's command line: QMP device-id → QEMU's device name) records, which the device decoder does not turn into per-device ops except for the
// VFIO ones. Memory: one builder per open migration and per input stream; status steps
// and device states are capped per migration and the rest counted.
//
// Facts used (QEMU qapi/migration.json, migration/migration.c):
// - MIGRATION {"status"} events (with the `events` capability) and `migrate_set_state
//   new state X` trace lines: the status sequence. The source passes through "setup";
//   a destination started with -incoming URI goes none → active
//   (process_incoming_migration_co), one started by migrate-incoming (libvirt's
//   -incoming defer) reports setup first too (seen: test/fixtures/libvirt-lab).
// - completed / failed / cancelled are final (MigrationStatus); anything else open.
// - query-migrate replies: status, setup-time, downtime, total-time, expected-downtime
//   (ms), ram.{transferred,total}, vfio.transferred, error-desc.
// - MIGRATION_PASS {"pass"}: RAM iterations. STOP / RESUME: the VM's run state.
// - migrate-set-parameters {"downtime-limit"} (ms), migrate_set_downtime {"value"} (s).

import type { QmpRecord, Source, TraceRecord } from '../record/types.js';
import { parseMigrationEvent } from '../decode/qemu-migration-events.js';
import { parseQemuEvent } from '../decode/qemu-events.js';
import { qmpVfioMigration } from '../decode/qmp-vfio.js';
import { createVmDeviceMap, type VmDeviceMap } from '../decode/vm-devices.js';
import type { MigrationEvidence, MigrationOutcome, MigrationSide } from './migration-types.js';

/** QEMU's 100 GiB stop-copy size when VFIO_DEVICE_FEATURE_MIG_DATA_SIZE fails (hw/vfio/migration.c, spec field-2026.md). */
export const STOP_COPY_SIZE_SENTINEL = 107_374_182_400n;

const FINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);
const MAX_STEPS = 1_000;
const MAX_DEVICE_STATES = 1_000;
const MAX_DEVICES = 256;

/** What one input (or one monitor within it) saw of one migration, in that input's clock. */
export interface RawMigration {
  readonly file: string;
  side: MigrationSide;
  sideEvidence: string | undefined;
  steps: { status: string; tsNs: bigint | undefined; via: MigrationEvidence; src: Source }[];
  stepsDropped: number;
  outcome: MigrationOutcome;
  errorDesc: string | undefined;
  setupTimeMs: number | undefined;
  downtimeMs: number | undefined;
  totalTimeMs: number | undefined;
  expectedDowntimeMs: number | undefined;
  figuresFrom: Source | undefined;
  downtimeLimitMs: number | undefined;
  ramTransferredBytes: bigint | undefined;
  ramTotalBytes: bigint | undefined;
  vfioTransferredBytes: bigint | undefined;
  passes: number | undefined;
  vmStopNs: bigint | undefined;
  vmResumeNs: bigint | undefined;
  /** Ordering key when the input has no time: the first record's line. */
  firstLine: number;
  devices: Map<string, { via: Set<MigrationEvidence>; states: { state: string; tsNs: bigint | undefined; via: MigrationEvidence; src: Source }[]; notes: Set<string> }>;
  uri: string | undefined;
  notes: string[];
  /** Other inputs of the same story (one host's merged timeline) whose QEMU events attached to this migration. */
  alsoFrom: Set<string>;
  /** Closed: a final status was seen (later replies may still fill in figures). */
  closed: boolean;
  lastTsNs: bigint | undefined;
}

interface Stream {
  readonly file: string;
  open: RawMigration | undefined;
  readonly done: RawMigration[];
  /** Side facts seen before any migration opened (a migrate / migrate-incoming command, side trace events). */
  pendingSide: { side: 'source' | 'destination'; evidence: string } | undefined;
  pendingUri: string | undefined;
  downtimeLimitMs: number | undefined;
  /** migrate-set-capabilities turned the `events` capability on in this input (so a source would report "setup"). */
  eventsOn: boolean;
  /** Commands awaiting their reply: by id, and in order for replies without one. */
  readonly byId: Map<string, string>;
  readonly fifo: string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function bytes(v: unknown): bigint | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : undefined;
}

export interface MigrationTracker {
  record(r: TraceRecord): void;
  /** Everything seen so far, per input, raw (migration-merge.ts turns it into Migration[]). */
  raw(): readonly RawMigration[];
  /** Status steps and device states not kept (caps against hostile input). */
  dropped(): number;
  /** The downtime limit (ms) most recently set by migrate-set-parameters / migrate_set_downtime in any input so far. */
  downtimeLimitMs(): number | undefined;
}

export interface MigrationTrackerOptions {
  /**
   * Inputs merged into one host's timeline (src/cli/input-merge.ts) are one story: a QEMU
   * log's VFIO events attach to the migration the same host's QMP or libvirt log opened.
   * Returns the story of an input, or undefined for an input on its own.
   */
  readonly storyOf?: (file: string) => string | undefined;
}

export function createMigrationTracker(opts: MigrationTrackerOptions = {}): MigrationTracker {
  const streams = new Map<string, Stream>();
  let dropped = 0;
  let lastLimitMs: number | undefined;

  /** QEMU command lines read (vm-device records), per story: one host's merged inputs share one. */
  const vmDevices = new Map<string, VmDeviceMap>();
  function vmDevicesOf(file: string): VmDeviceMap {
    const key = opts.storyOf?.(file) ?? file;
    let m = vmDevices.get(key);
    if (m === undefined) {
      m = createVmDeviceMap();
      vmDevices.set(key, m);
    }
    return m;
  }

  function stream(file: string, monitor: string | undefined): Stream {
    const key = `${file}\u0000${monitor ?? ''}`;
    let s = streams.get(key);
    if (s === undefined) {
      s = { file, open: undefined, done: [], pendingSide: undefined, pendingUri: undefined, downtimeLimitMs: undefined, eventsOn: false, byId: new Map(), fifo: [] };
      streams.set(key, s);
    }
    return s;
  }

  function begin(s: Stream, src: Source): RawMigration {
    const m: RawMigration = {
      file: s.file,
      side: s.pendingSide?.side ?? 'unknown',
      sideEvidence: s.pendingSide?.evidence,
      steps: [],
      stepsDropped: 0,
      outcome: 'unknown',
      errorDesc: undefined,
      setupTimeMs: undefined,
      downtimeMs: undefined,
      totalTimeMs: undefined,
      expectedDowntimeMs: undefined,
      figuresFrom: undefined,
      downtimeLimitMs: s.downtimeLimitMs,
      ramTransferredBytes: undefined,
      ramTotalBytes: undefined,
      vfioTransferredBytes: undefined,
      passes: undefined,
      vmStopNs: undefined,
      vmResumeNs: undefined,
      firstLine: src.line ?? src.byteOffset ?? 0,
      devices: new Map(),
      uri: s.pendingUri,
      notes: [],
      alsoFrom: new Set(),
      closed: false,
      lastTsNs: undefined,
    };
    s.pendingUri = undefined;
    s.open = m;
    s.done.push(m);
    return m;
  }

  function setSide(m: RawMigration, side: 'source' | 'destination', evidence: string): void {
    if (m.side === 'unknown') {
      m.side = side;
      m.sideEvidence = evidence;
    } else if (m.side !== side && !m.notes.some((n) => n.startsWith('conflicting side'))) {
      m.notes.push(`conflicting side evidence: ${evidence} (kept ${m.side}: ${m.sideEvidence ?? ''})`);
    }
  }

  function touch(m: RawMigration, tsNs: bigint | undefined): void {
    if (tsNs !== undefined && (m.lastTsNs === undefined || tsNs > m.lastTsNs)) m.lastTsNs = tsNs;
  }

  /** The migration a fact at this time belongs to: the open one, else the last closed one (replies come after the end). */
  function current(s: Stream): RawMigration | undefined {
    return s.open ?? s.done.at(-1);
  }

  function status(s: Stream, st: string, tsNs: bigint | undefined, via: MigrationEvidence, src: Source): void {
    if (st === 'none') return;
    let m = s.open;
    if (m !== undefined && st === 'setup' && m.steps.length > 0 && m.steps.some((x) => x.status !== 'setup')) {
      // A new migration started while the last one had no final status in this input.
      m.notes.push('no final status before the next migration started');
      m.closed = true;
      s.open = undefined;
      m = undefined;
    }
    if (m === undefined) {
      const last = s.done.at(-1);
      // A final status already recorded (e.g. the MIGRATION event, then a query-migrate reply): the same migration.
      if (last !== undefined && last.closed && FINAL.has(st) && last.outcome === st) {
        addStep(last, st, tsNs, via, src);
        return;
      }
      m = begin(s, src);
    }
    // A source's first status is setup; so is a destination's started by migrate-incoming
    // (QEMU 7.2 under libvirt reports setup → active → completed there: the real libvirt
    // log in test/fixtures/libvirt-lab). So setup says "source" only without that command.
    if (st === 'setup' && m.side !== 'destination') setSide(m, 'source', 'status "setup" and no migrate-incoming command before it (a destination reports setup only after migrate-incoming: test/fixtures/libvirt-lab)');
    else if (via === 'qmp-event' && s.eventsOn && m.steps.length === 0 && st === 'active') {
      // With the events capability on, a source's first MIGRATION event is "setup"; the
      // destination goes none → active (process_incoming_migration_co).
      setSide(m, 'destination', `first MIGRATION event "active" with the events capability on (${src.file}:${src.line ?? ''}); a source reports "setup" first`);
    }
    addStep(m, st, tsNs, via, src);
    if (FINAL.has(st)) {
      m.outcome = st === 'completed' ? 'completed' : st === 'failed' ? 'failed' : 'cancelled';
      if (st === 'completed' && m.vmResumeNs !== undefined && m.side === 'unknown') setSide(m, 'destination', 'the VM resumed (RESUME) before the migration completed here: only the destination runs the VM at completion');
      m.closed = true;
      s.open = undefined;
    }
  }

  function addStep(m: RawMigration, st: string, tsNs: bigint | undefined, via: MigrationEvidence, src: Source): void {
    touch(m, tsNs);
    const prev = m.steps.at(-1);
    // The same status reported again (an event, then a trace line, then a reply): one step.
    if (prev !== undefined && prev.status === st) {
      if (prev.tsNs === undefined && tsNs !== undefined && via !== 'query-migrate') prev.tsNs = tsNs;
      return;
    }
    if (m.steps.length >= MAX_STEPS) {
      m.stepsDropped++;
      dropped++;
      return;
    }
    // A query-migrate reply tells the status at the time of the reply, not when it began.
    m.steps.push({ status: st, tsNs: via === 'query-migrate' ? undefined : tsNs, via, src });
  }

  function device(m: RawMigration, id: string, via: MigrationEvidence): { via: Set<MigrationEvidence>; states: { state: string; tsNs: bigint | undefined; via: MigrationEvidence; src: Source }[]; notes: Set<string> } | undefined {
    let d = m.devices.get(id);
    if (d === undefined) {
      if (m.devices.size >= MAX_DEVICES) {
        dropped++;
        return undefined;
      }
      d = { via: new Set(), states: [], notes: new Set() };
      m.devices.set(id, d);
    }
    d.via.add(via);
    return d;
  }

  function deviceState(m: RawMigration, id: string, state: string, tsNs: bigint | undefined, via: MigrationEvidence, src: Source): void {
    const d = device(m, id, via);
    if (d === undefined) return;
    if (d.states.at(-1)?.state === state) return;
    if (d.states.length >= MAX_DEVICE_STATES) {
      dropped++;
      return;
    }
    d.states.push({ state, tsNs, via, src });
  }

  function onQmp(r: QmpRecord): void {
    const s = stream(r.src.file, r.monitor);
    const msg = r.message;
    if (r.dir === 'command') {
      const cmd = typeof msg['execute'] === 'string' ? msg['execute'] : typeof msg['exec-oob'] === 'string' ? msg['exec-oob'] : '';
      const id = msg['id'];
      if (typeof id === 'string' || typeof id === 'number') s.byId.set(String(id), cmd);
      else {
        s.fifo.push(cmd);
        if (s.fifo.length > 64) s.fifo.shift();
      }
      if (s.byId.size > 1024) s.byId.delete(s.byId.keys().next().value ?? '');
      const args = isObject(msg['arguments']) ? msg['arguments'] : {};
      if (cmd === 'migrate-set-parameters') {
        const limit = num(args['downtime-limit']);
        if (limit !== undefined) {
          s.downtimeLimitMs = limit;
          lastLimitMs = limit;
          if (s.open !== undefined) s.open.notes.push(`downtime-limit set to ${limit} ms during the migration`);
        }
      } else if (cmd === 'migrate-set-capabilities') {
        const caps = args['capabilities'];
        if (Array.isArray(caps) && caps.some((x) => isObject(x) && x['capability'] === 'events' && x['state'] === true)) s.eventsOn = true;
      } else if (cmd === 'migrate_set_downtime') {
        const v = num(args['value']);
        if (v !== undefined) {
          s.downtimeLimitMs = v * 1000;
          lastLimitMs = v * 1000;
        }
      } else if (cmd === 'migrate') {
        const uri = typeof args['uri'] === 'string' ? args['uri'] : undefined;
        s.pendingSide = { side: 'source', evidence: `"migrate" command (${r.src.file}:${r.src.line ?? ''})` };
        s.pendingUri = uri;
      } else if (cmd === 'migrate-incoming') {
        const uri = typeof args['uri'] === 'string' ? args['uri'] : undefined;
        s.pendingSide = { side: 'destination', evidence: `"migrate-incoming" command (${r.src.file}:${r.src.line ?? ''})` };
        s.pendingUri = uri;
      } else if (cmd === 'migrate_cancel' || cmd === 'migrate-pause') {
        current(s)?.notes.push(`${cmd} sent (${r.src.file}:${r.src.line ?? ''})`);
      }
      return;
    }
    if (r.dir === 'reply') {
      const id = msg['id'];
      let cmd: string | undefined;
      if (typeof id === 'string' || typeof id === 'number') {
        cmd = s.byId.get(String(id));
        s.byId.delete(String(id));
      } else cmd = s.fifo.shift();
      const ret = msg['return'];
      if (cmd === 'query-migrate' && isObject(ret)) onQueryMigrate(s, ret, r);
      else if (cmd === undefined && isObject(ret) && typeof ret['status'] === 'string' && ('total-time' in ret || 'ram' in ret || 'setup-time' in ret)) {
        // The command was not in the input (a log that starts mid-way): only a query-migrate reply has this shape.
        onQueryMigrate(s, ret, r);
      }
      return;
    }
    if (r.dir !== 'event') return;
    const ev = msg['event'];
    const data = isObject(msg['data']) ? msg['data'] : {};
    if (ev === 'MIGRATION') {
      const st = data['status'];
      if (typeof st === 'string') status(s, st, r.tsNs, 'qmp-event', r.src);
    } else if (ev === 'MIGRATION_PASS') {
      const m = s.open;
      const p = num(data['pass']);
      if (m !== undefined && p !== undefined) {
        m.passes = Math.max(m.passes ?? 0, p);
        touch(m, r.tsNs);
      }
    } else if (ev === 'STOP') {
      const m = s.open;
      if (m !== undefined && m.vmStopNs === undefined) m.vmStopNs = r.tsNs;
    } else if (ev === 'RESUME') {
      // On the destination QEMU resumes the VM at the end of the load, or libvirt sends `cont` after it.
      const m = s.open ?? s.done.at(-1);
      if (m !== undefined && m.vmResumeNs === undefined) {
        m.vmResumeNs = r.tsNs;
        if (m.outcome === 'completed') setSide(m, 'destination', `RESUME after the migration completed (${r.src.file}:${r.src.line ?? ''}): a source stays paused after completing`);
      }
    } else if (ev === 'VFIO_MIGRATION') {
      const v = qmpVfioMigration(r);
      const m = s.open ?? s.done.at(-1);
      // By QEMU's name of the device when the command line gives it (decode/vm-devices.ts), as the device timelines are.
      const id = v === undefined ? undefined : (vmDevicesOf(r.src.file).resolve(v.device, v.args['qomPath'])?.name ?? v.device);
      if (v !== undefined && id !== undefined && m !== undefined) deviceState(m, id, v.args['state'] ?? '', r.tsNs, 'qmp-event', r.src);
    }
  }

  function onQueryMigrate(s: Stream, ret: Record<string, unknown>, r: QmpRecord): void {
    const st = ret['status'];
    if (typeof st !== 'string') return;
    status(s, st, r.tsNs, 'query-migrate', r.src);
    const m = current(s);
    if (m === undefined) return;
    const setup = num(ret['setup-time']);
    const down = num(ret['downtime']);
    const total = num(ret['total-time']);
    const expected = num(ret['expected-downtime']);
    if (setup !== undefined) m.setupTimeMs = setup;
    if (down !== undefined) m.downtimeMs = down;
    if (total !== undefined) m.totalTimeMs = total;
    if (expected !== undefined) m.expectedDowntimeMs = expected;
    if (setup !== undefined || down !== undefined || total !== undefined) m.figuresFrom = r.src;
    const ram = ret['ram'];
    if (isObject(ram)) {
      m.ramTransferredBytes = bytes(ram['transferred']) ?? m.ramTransferredBytes;
      m.ramTotalBytes = bytes(ram['total']) ?? m.ramTotalBytes;
    }
    const vfio = ret['vfio'];
    if (isObject(vfio)) m.vfioTransferredBytes = bytes(vfio['transferred']) ?? m.vfioTransferredBytes;
    const err = ret['error-desc'];
    if (typeof err === 'string') m.errorDesc = err;
  }

  function onMarker(r: TraceRecord & { kind: 'marker' }): void {
    const s = stream(r.src.file, undefined);
    const text = r.text;
    if (text.startsWith('vfio_')) {
      onVfioEvent(s, r);
      return;
    }
    const ev = parseMigrationEvent(text);
    if (ev === undefined) return;
    const mg = ev.meaning;
    switch (mg.kind) {
      case 'status':
        status(s, mg.status, r.tsNs, 'qemu-trace', r.src);
        return;
      case 'vm-stop': {
        const m = s.open;
        if (m !== undefined) {
          setSide(m, 'source', `trace event ${ev.event}`);
          if (m.vmStopNs === undefined) m.vmStopNs = r.tsNs;
        }
        return;
      }
      case 'error': {
        const m = current(s);
        if (m !== undefined) m.errorDesc ??= mg.desc;
        return;
      }
      case 'side': {
        const m = s.open;
        if (m !== undefined) setSide(m, mg.side, `trace event ${ev.event}`);
        else if (s.pendingSide === undefined) s.pendingSide = { side: mg.side, evidence: `trace event ${ev.event}` };
        return;
      }
    }
  }

  /**
   * The migration open in another stream of the same story: another input of one host's
   * merged timeline, or the monitor stream of the same file (libvirt's per-VM log carries
   * QEMU's stderr trace lines beside the monitor traffic that opened the migration).
   */
  function openInStory(s: Stream): RawMigration | undefined {
    const story = opts.storyOf?.(s.file) ?? s.file;
    for (const o of streams.values()) if (o !== s && o.open !== undefined && (opts.storyOf?.(o.file) ?? o.file) === story) return o.open;
    return undefined;
  }

  function onVfioEvent(s: Stream, r: TraceRecord & { kind: 'marker' }): void {
    const sibling = s.open === undefined ? openInStory(s) : undefined;
    if (sibling !== undefined && sibling.file !== r.src.file) sibling.alsoFrom.add(r.src.file);
    const m = s.open ?? sibling ?? s.done.at(-1);
    if (m === undefined) return;
    const ev = parseQemuEvent(r.text);
    if (ev === undefined || ev.device === undefined) return;
    if (s.open === undefined && sibling === undefined && !(m.lastTsNs !== undefined && r.tsNs !== undefined && r.tsNs <= m.lastTsNs + 5_000_000_000n)) return;
    const d = device(m, ev.device, 'qemu-trace');
    if (d === undefined) return;
    touch(m, r.tsNs);
    const state = ev.args['state'] ?? ev.args['newState'];
    if ((ev.event === 'vfio_migration_set_device_state' || (ev.event === 'vfio_migration_set_state' && ev.args['newState'] === undefined)) && typeof state === 'string') {
      deviceState(m, ev.device, state, r.tsNs, 'qemu-trace', r.src);
    }
    if (ev.event.startsWith('vfio_save_')) setSide(m, 'source', `trace event ${ev.event}`);
    else if (ev.event.startsWith('vfio_load_')) setSide(m, 'destination', `trace event ${ev.event}`);
    if (ev.event === 'vfio_query_stop_copy_size') {
      const size = ev.args['size'];
      const ret = ev.args['ret'];
      if ((typeof ret === 'bigint' && ret < 0n) || size === STOP_COPY_SIZE_SENTINEL) {
        d.notes.add(
          `QEMU could not get the stop-copy size (vfio_query_stop_copy_size ret ${String(ret)}, size ${String(size)}; 100 GiB is QEMU's sentinel): the driver's VFIO_DEVICE_FEATURE_MIG_DATA_SIZE failed, so convergence cannot be predicted (${r.src.file}:${r.src.line ?? ''})`,
        );
      }
    } else if (ev.event === 'vfio_save_complete_precopy_thread_start' || ev.event === 'vfio_load_bufs_thread_start') {
      d.notes.add('multifd device-state transfer (QEMU 10.0+): stop-copy data goes through multifd channels, no vfio_save_block lines');
    } else if (ev.event === 'vfio_load_state_device_buffer_starved') {
      d.notes.add('destination loader starved for multifd device-state buffers (vfio_load_state_device_buffer_starved)');
    }
  }

  return {
    record(r: TraceRecord): void {
      if (r.kind === 'qmp') onQmp(r);
      else if (r.kind === 'vm-device') vmDevicesOf(r.src.file).note(r);
      else if (r.kind === 'marker') {
        const c = r.text.charCodeAt(0);
        // Only QEMU's trace event names (lower-case identifiers) can mean anything here.
        if (c >= 97 && c <= 122) onMarker(r);
      }
    },
    raw: () => [...streams.values()].flatMap((s) => s.done),
    dropped: () => dropped,
    downtimeLimitMs: () => lastLimitMs,
  };
}
