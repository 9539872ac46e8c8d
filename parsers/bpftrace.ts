// Parser for bpftrace output of capture/migscope.bt ("migscope-capture v2",
// docs/capture-format.md), in bpftrace's text mode and its `-f json` mode; also reads the
// shared sample script's layout (samples/capture/vfio_mig_access.bt,
// spec/trace-formats.md §4.4).
//
// One parser serves both modes and mixtures of them: a line starting with "{" is a JSON
// record, anything else is text. Streams are not pure in practice (§4.1): the traced
// child's own stdout, blank lines at detach, exit-time maps, helper warnings.
//
// Line → record: pread64/pwrite64/read/write → access; ioctl → ioctl; devfd (the extra
// line migscope.bt prints after a VFIO_GROUP_GET_DEVICE_FD ioctl) → fd-open on success;
// regioninfo (after a successful GET_REGION_INFO) → region-info; openat → fd-open on
// success (an iommufd cdev named by the PCI address of an earlier vfiodev record); close → fd-close; clocksync → clock-sync; "Lost N events" / lost_events →
// lost-events. Other well-formed records (begin/end lines, exit-time maps, helper errors,
// other printf events) are counted as skipped. Comments ("# ..."), "Attaching N probes",
// attached_probes and blank lines are not records (the runner's header's host= names the
// host: ParserSink.host). Everything else is malformed.

import type { LineParser, ParserSink, Source, TraceRecord } from '../src/record/types.js';
import { parseBig, parseNum, splitRecordLine, type RecordLine } from './bpftrace/fields.js';
import { parseJsonLine } from './bpftrace/json.js';
import { createStreamOrder } from './stream-order.js';
import { cutShort } from './text/cut-line.js';
import { createHostReporter } from './text/host-name.js';

/** Highest "migscope-capture vN" this parser understands (v2 added `vfiodev`). */
export const BPFTRACE_CAPTURE_VERSION = 2;

/** Bound on distinct cdevs a capture may name (hostile input: a `vfiodev` line per line). */
const MAX_CDEVS = 4096;
const CDEV_PATH = /^\/dev\/vfio\/devices\/vfio\d{1,9}$/;
const PCI_ADDRESS = /^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

/** ioctl arguments below this are not pointers: migscope.bt reads no words for them. */
const MIN_POINTER = 4096n;

const HEADER = /^# migscope-capture v(\d+)\b/;
/** The runner's `host=NAME` (docs/capture-format.md); the value is checked by parsers/text/host-name.ts. */
const HOST_FIELD = / host=(\S*)/;
const ATTACHING = /^Attaching \d+ probes?\.\.\.$/;
const LOST = /^Lost (\d+) events$/;
const HELPER_WARNING = /^\S+:\d+:\d+(?:-\d+)?: WARNING: /;
const MAP_LINE = /^@[A-Za-z0-9_]*(?:\[.*\])?: /;
const HIST_BUCKET = /^[[(]-?[\dKMGTPE]*, ?-?[\dKMGTPE]*[\])]\s+\d+ \|/;

const RECORD_EVENT_NAMES: ReadonlySet<string> = new Set(['pread64', 'pwrite64', 'read', 'write', 'ioctl', 'devfd', 'regioninfo', 'openat', 'close', 'vmm', 'vmmexit']);
const EVENT_HEAD = /^\d+ ([a-z][a-z0-9_]*)(?: |$)/;
const RECORD_EVENTS = /^\d+ (pread64|pwrite64|read|write|ioctl|devfd|regioninfo|openat|close|clocksync) pid=/;
const JSON_TYPES = /^\{\s*"type":\s*"(attached_probes|printf|lost_events|map|hist|stats|value|time|cat|join|syscall|helper_error)"/;

/** 'json' or 'text' if these first lines look like bpftrace output we read; else undefined. */
export function detectBpftrace(firstLines: readonly string[]): 'text' | 'json' | undefined {
  for (const raw of firstLines) {
    const line = raw.trim();
    if (line === '') continue;
    if (JSON_TYPES.test(line)) return 'json';
    if (HEADER.test(line) || ATTACHING.test(line) || RECORD_EVENTS.test(line) || line.startsWith('# vfio_mig_access.bt')) {
      return 'text';
    }
  }
  return undefined;
}

export function createBpftraceParser(file: string, sink: ParserSink): LineParser {
  let clockAnnounced = false;
  /** Lines of source context that follow a text-mode helper WARNING line. */
  let warningContext = 0;

  const announceClock = (): void => {
    if (!clockAnnounced) {
      clockAnnounced = true;
      // bpftrace nsecs = bpf_ktime_get_ns() = CLOCK_MONOTONIC (trace-formats §4.4)
      sink.clock('mono');
    }
  };

  /** Time of the last record read: where a problem after it sits on the trace's clock. */
  let lastTs: bigint | undefined;
  /** Line number of a last line the input ended without a newline after (else -1). */
  let cutLine = -1;
  // A thread's records are in time order (its next syscall enters after the previous
  // returned); two threads' records need not be (capture/reorder.ts).
  const order = createStreamOrder(file, 'thread', (p) => sink.malformed(p));
  /** iommufd cdev path → PCI address, from the capture's `vfiodev` records. */
  const cdevs = new Map<string, string>();
  const reportHost = createHostReporter(sink);

  const bad = (lineNo: number, message: string): void =>
    sink.malformed(lineNo === cutLine ? cutShort(file, lineNo, message, lastTs) : { src: { file, line: lineNo }, message, ...(lastTs !== undefined ? { tsNs: lastTs } : {}) });

  function textLine(line: string, lineNo: number, fromJson: boolean): void {
    if (!fromJson && warningContext > 0) {
      warningContext--;
      return;
    }
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const h = HEADER.exec(line);
      if (h !== null) {
        announceClock();
        const v = Number(h[1]);
        if (v > BPFTRACE_CAPTURE_VERSION) {
          bad(lineNo, `capture format v${v} is newer than this migscope reads (v${BPFTRACE_CAPTURE_VERSION}); reading it as v${BPFTRACE_CAPTURE_VERSION}`);
        }
        // The runner's header names the host (optional: older captures do not). Read only
        // before `target=`: a host-mode target's match="REGEX" is free text.
        const t = line.indexOf(' target=');
        const host = HOST_FIELD.exec(t < 0 ? line : line.slice(0, t));
        if (host !== null) reportHost(host[1] ?? '', { file, line: lineNo }, 'capture header host=', lastTs);
      }
      return;
    }
    if (ATTACHING.test(line)) return;
    const lost = LOST.exec(line);
    if (lost !== null) {
      sink.record({ ...noTask(file, lineNo, lastTs), kind: 'lost-events', count: Number(lost[1]) });
      return;
    }
    if (!fromJson && HELPER_WARNING.test(line)) {
      // bpftrace -k: "file.bt:L:C-C: WARNING: Failed to ..." + the source line + a ~~~ marker
      warningContext = 2;
      sink.skipped();
      return;
    }
    if (MAP_LINE.test(line) || HIST_BUCKET.test(line)) {
      sink.skipped();
      return;
    }
    const head = EVENT_HEAD.exec(line);
    if (head !== null && !RECORD_EVENT_NAMES.has(head[1] ?? '') && head[1] !== 'clocksync' && head[1] !== 'vfiodev') {
      // a timestamped line of another event (begin/end, other scripts' printf): not ours
      sink.skipped();
      return;
    }
    const parts = splitRecordLine(line);
    if (parts === undefined) {
      if (fromJson) {
        // a printf record of some other bpftrace program: well-formed, not ours
        sink.skipped();
        return;
      }
      bad(lineNo, `not a bpftrace record: ${JSON.stringify(truncate(line))} (stray output of the traced program?)`);
      return;
    }
    if (typeof parts === 'string') {
      bad(lineNo, `${parts}: ${JSON.stringify(truncate(line))}`);
      return;
    }
    if (parts.event === 'vfiodev') {
      cdevLine(parts, lineNo);
      return;
    }
    announceClock();
    let r = toRecord(parts, { file, line: lineNo });
    if (typeof r === 'object' && r.kind === 'fd-open' && r.via === 'openat') {
      const pci = cdevs.get(r.name);
      if (pci !== undefined) r = { ...r, resolvedName: pci };
    }
    if (r === 'skip') sink.skipped();
    else if (typeof r === 'string') bad(lineNo, `${parts.event}: ${r}`);
    else if (r.tid === undefined || r.tsNs === undefined) {
      lastTs = r.tsNs ?? lastTs;
      sink.record(r);
    } else {
      const ts = order.check(r.tid, r.tsNs, line, lineNo, r.pid);
      if (ts === undefined) return; // a duplicate: reported, dropped
      lastTs = ts;
      // Held at the thread's latest time after a backwards step (parsers/stream-order.ts).
      sink.record(ts === r.tsNs ? r : { ...r, tsNs: ts });
      // The process is no longer traced (its leader exited, it exec'd, or the runner took it
      // back): its threads' order state goes (stream-order.ts says why that loses nothing);
      // a host agent's state would otherwise grow with every VMM lifetime.
      if (r.kind === 'process-exit') order.dropGroup(r.pid);
    }
  }

  /** `<ts> vfiodev cdev=/dev/vfio/devices/vfioN pci=DDDD:BB:DD.F source=sysfs` (capture/vfio-cdev.ts). */
  function cdevLine(parts: RecordLine, lineNo: number): void {
    const cdev = parts.fields.get('cdev') ?? '';
    const pci = parts.fields.get('pci') ?? '';
    if (!CDEV_PATH.test(cdev)) return bad(lineNo, `vfiodev: bad cdev=${JSON.stringify(truncate(cdev))}`);
    if (!PCI_ADDRESS.test(pci)) return bad(lineNo, `vfiodev: bad pci=${JSON.stringify(truncate(pci))}`);
    if (!cdevs.has(cdev) && cdevs.size >= MAX_CDEVS) return bad(lineNo, `vfiodev: more than ${MAX_CDEVS} cdevs named; ${cdev} not used`);
    cdevs.set(cdev, pci); // a later record for the same cdev (rebound to another device) replaces it
    sink.skipped();
  }

  function jsonLine(line: string, lineNo: number): void {
    const j = parseJsonLine(line);
    if (typeof j === 'string') {
      bad(lineNo, j);
      return;
    }
    switch (j.type) {
      case 'printf': {
        // one printf call; ours end with "\n" and hold one record each
        const pieces = j.text.split('\n');
        if (pieces.length > 1 && pieces[pieces.length - 1] === '') pieces.pop();
        for (const p of pieces) textLine(p, lineNo, true);
        return;
      }
      case 'lost_events':
        sink.record({ ...noTask(file, lineNo, lastTs), kind: 'lost-events', count: j.events });
        return;
      case 'other':
        // attached_probes is bookkeeping; maps, hist, stats, time, helper_error, …: skipped
        if (j.name !== 'attached_probes') sink.skipped();
        return;
    }
  }

  return {
    line(text: string, lineNo: number, unterminated?: boolean): void {
      if (unterminated === true) cutLine = lineNo;
      try {
        const line = text.endsWith('\r') ? text.slice(0, -1) : text;
        if (line.startsWith('{')) jsonLine(line, lineNo);
        else textLine(line, lineNo, false);
      } catch (e) {
        // a parser bug must not lose the rest of the trace
        bad(lineNo, `internal parser error: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
    end(): void {
      // records are complete lines; nothing is pending
    },
    liveEntries: () => order.liveStreams(),
  };
}

function truncate(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function noTask(file: string, line: number, tsNs: bigint | undefined): { tsNs: bigint | undefined; pid: undefined; tid: undefined; comm: undefined; cpu: undefined; src: Source } {
  return { tsNs, pid: undefined, tid: undefined, comm: undefined, cpu: undefined, src: { file, line } };
}

/** The record for a line, 'skip' for well-formed lines of no interest, or what is wrong. */
function toRecord(p: RecordLine, src: Source): TraceRecord | 'skip' | string {
  const f = p.fields;
  const tsNs = BigInt(p.ts);
  const need = (k: string): number | string => parseNum(f.get(k)) ?? `missing or bad ${k}=${f.get(k) ?? ''}`;
  const needBig = (k: string): bigint | string => parseBig(f.get(k)) ?? `missing or bad ${k}=${f.get(k) ?? ''}`;

  if (p.event === 'clocksync') {
    const wall = needBig('wall_ns');
    if (typeof wall === 'string') return wall;
    const clock = f.get('clock') ?? 'mono';
    return { kind: 'clock-sync', tsNs, pid: undefined, tid: undefined, comm: undefined, cpu: undefined, src, clock, traceNs: tsNs, wallNs: wall };
  }

  // other events (begin/end lines, other scripts' printf records): well-formed, not ours
  if (!RECORD_EVENT_NAMES.has(p.event)) return 'skip';
  const pid = need('pid');
  const tid = need('tid');
  if (typeof pid === 'string') return pid;
  if (typeof tid === 'string') return tid;
  const base = { tsNs, pid, tid, comm: p.comm, cpu: undefined, src };

  switch (p.event) {
    case 'vmm': {
      // host mode: a process is traced from here on. VFIO ioctls it made between its exec
      // and this line were not traced (migscope.bt counts them): a hole in its protocol.
      const early = need('early_vfio');
      if (typeof early === 'string') return early;
      return early > 0 ? { ...base, kind: 'lost-events', count: early } : 'skip';
    }
    case 'vmmexit': {
      const why = f.get('why');
      if (why !== 'exit' && why !== 'exec' && why !== 'unregistered') return `bad why=${why ?? ''}`;
      return { ...base, kind: 'process-exit', pid, why };
    }
    case 'pread64':
    case 'pwrite64':
    case 'read':
    case 'write': {
      const positioned = p.event === 'pread64' || p.event === 'pwrite64';
      const fd = need('fd');
      const size = need('count');
      const ret = need('ret');
      const val = needBig('val');
      const off = positioned ? needBig('off') : undefined;
      for (const v of [fd, size, ret, val, off]) if (typeof v === 'string') return v;
      if (typeof fd !== 'number' || typeof size !== 'number' || typeof ret !== 'number' || typeof val !== 'bigint') return 'bad fields';
      if (typeof off === 'string') return off;
      const isRead = p.event === 'pread64' || p.event === 'read';
      const op = p.event === 'pread64' ? 'pread' : p.event === 'pwrite64' ? 'pwrite' : p.event;
      // Hot path: fields written out (a `...base` spread costs a third of this function).
      return {
        kind: 'access',
        tsNs: base.tsNs,
        pid: base.pid,
        tid: base.tid,
        comm: base.comm,
        cpu: base.cpu,
        src: base.src,
        op,
        fd,
        offset: off,
        size,
        // a failed read returned nothing: its buffer says nothing (never guess)
        value: isRead && ret <= 0 ? undefined : val,
        ret,
      };
    }
    case 'ioctl': {
      const fd = need('fd');
      const cmd = need('cmd');
      const ret = need('ret');
      const arg = needBig('arg');
      if (typeof fd === 'string') return fd;
      if (typeof cmd === 'string') return cmd;
      if (typeof ret === 'string') return ret;
      if (typeof arg === 'string') return arg;
      const words: bigint[] = [];
      if (arg >= MIN_POINTER) {
        for (const k of ['w0', 'w1', 'w2', 'w3']) {
          const s = f.get(k);
          if (s === undefined) break;
          const w = parseBig(s);
          if (w === undefined) return `bad ${k}=${s}`;
          words.push(w);
        }
      }
      return { ...base, kind: 'ioctl', fd, cmd, arg, ret, argWords: words };
    }
    case 'devfd': {
      const fd = need('fd');
      const ret = need('ret');
      if (typeof fd === 'string') return fd;
      if (typeof ret === 'string') return ret;
      if (p.text?.key !== 'name') return 'missing name=';
      if (ret < 0) return 'skip'; // the failure is on the ioctl line
      return { ...base, kind: 'fd-open', fd: ret, via: 'group-get-device-fd', name: p.text.value, parentFd: fd };
    }
    case 'openat': {
      const ret = need('ret');
      if (typeof ret === 'string') return ret;
      if (p.text?.key !== 'path') return 'missing path=';
      if (ret < 0) return 'skip';
      return { ...base, kind: 'fd-open', fd: ret, via: 'openat', name: p.text.value, parentFd: undefined };
    }
    case 'close': {
      const fd = need('fd');
      const ret = need('ret');
      if (typeof fd === 'string') return fd;
      if (typeof ret === 'string') return ret;
      return { ...base, kind: 'fd-close', fd, ret };
    }
    case 'regioninfo': {
      const fd = need('fd');
      const ret = need('ret');
      const index = need('index');
      const flags = need('flags');
      const size = needBig('size');
      const offset = needBig('offset');
      const type = need('type');
      const subtype = need('subtype');
      for (const v of [fd, ret, index, flags, size, offset, type, subtype]) if (typeof v === 'string') return v;
      if (
        typeof fd !== 'number' ||
        typeof ret !== 'number' ||
        typeof index !== 'number' ||
        typeof flags !== 'number' ||
        typeof size !== 'bigint' ||
        typeof offset !== 'bigint' ||
        typeof type !== 'number' ||
        typeof subtype !== 'number'
      ) {
        return 'bad fields';
      }
      return {
        ...base,
        kind: 'region-info',
        fd,
        index,
        flags,
        offset,
        size,
        // -1: no TYPE capability in the first three caps
        capType: type >= 0 ? type : undefined,
        capSubtype: type >= 0 && subtype >= 0 ? subtype : undefined,
        ret,
      };
    }
    default:
      return 'skip';
  }
}
