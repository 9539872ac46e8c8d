// libvirt's logs of a QEMU VM (docs/input-formats.md): the per-VM log
// /var/log/libvirt/qemu/<vm>.log (libvirt's start-up lines, the QEMU command line, and
// QEMU's stderr, where the log trace backend writes when no -D is given) and the daemon
// log with `log_filters="1:qemu.qemu_monitor_json 1:qemu.qemu_monitor"`, whose monitor
// traffic lines are (src/qemu/qemu_monitor_json.c qemuMonitorJSONIOProcessLine,
// src/qemu/qemu_monitor.c qemuMonitorSend):
//
//   2025-07-21 18:43:28.089+0000: 3021: info : qemuMonitorJSONIOProcessLine:235 : QEMU_MONITOR_RECV_EVENT: mon=0x7f2c1c0040c0 event={"timestamp": …, "event": "MIGRATION", "data": {"status": "setup"}}
//   2025-07-21 18:43:28.090+0000: 3021: info : qemuMonitorJSONIOProcessLine:240 : QEMU_MONITOR_RECV_REPLY: mon=0x7f2c1c0040c0 reply={"return": {…}, "id": "libvirt-412"}
//   2025-07-21 18:43:28.088+0000: 3017: info : qemuMonitorSend:995 : QEMU_MONITOR_SEND_MSG: mon=0x7f2c1c0040c0 msg={"execute":"query-migrate","id":"libvirt-412"}\r
//    fd=-1
//
// SEND_MSG prints the transmit buffer, which ends in "\r\n", so its ` fd=N` lands on the
// next line: a message that spans lines. KubeVirt's virt-launcher wraps the same text
// in a JSON log line ({"subcomponent":"libvirt","msg":"QEMU_MONITOR_…","timestamp":…});
// those are read too.
//
// Monitor messages become QmpRecords: events with QEMU's own timestamp (µs), commands and
// replies with libvirt's (ms); both are wall-clock time (clock "realtime"). QEMU trace
// lines in the per-VM log go through the log-backend parser (parsers/qemu-log.ts). The
// QEMU command line's `-device` options with a host device and an id become vm-device
// records (parsers/text/qemu-cmdline.ts), so that QMP's device-id can be joined with the
// device's host address. Every other line (other libvirt messages, the rest of the command
// line, the continuation of a multi-line entry) is counted as skipped; a monitor line
// whose JSON is broken, or a -device whose JSON is, is malformed. The
// `hostname:` line libvirt writes at the top of its logs names the host (ParserSink.host).

import type { LineParser, ParserSink } from '../src/record/types.js';
import { createQemuLogParser } from './qemu-log.js';
import { parseIsoStamp } from './qemu-log.js';
import { parseQmpMessage } from './text/qmp-message.js';
import { createHostReporter } from './text/host-name.js';
import { createCommandLineReader } from './text/qemu-cmdline.js';

const LIBVIRT_PREFIX = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})([+-])(\d{2})(\d{2}): (\d+): (\w+) : ([\w.]+):(\d+) : /;
/**
 * The host libvirt runs on, as it writes it at the top of every log (src/util/virlog.c
 * virLogHostnameString, "hostname: %s"): the per-VM log's start-up line
 * (`…: starting up libvirt version: …, kernel: …, hostname: dst.example`, qemuLogOperation)
 * and the daemon log's own line (`…: 3017: info : hostname: hv1`). Only these two forms:
 * "hostname: " inside a monitor message or QEMU's output is not libvirt naming its host.
 */
const HOSTNAME_LINE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}: (?:starting up libvirt .*, |\d+: info : )hostname: (.*?)\s*$/;
const MONITOR = /^QEMU_MONITOR_(RECV_EVENT|RECV_REPLY|SEND_MSG): mon=(0x[0-9a-fA-F]+|\(nil\)) (event|reply|msg)=/;

/** `2025-07-21 18:43:28.089+0000` as epoch ns. */
function libvirtTime(m: RegExpExecArray): bigint {
  const n = (k: number): number => Number(m[k]);
  let ms = Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6)) + n(7);
  const sign = m[8] === '-' ? -1 : 1;
  ms -= sign * (n(9) * 60 + n(10)) * 60_000;
  return BigInt(ms) * 1_000_000n;
}

export function createLibvirtLogParser(file: string, sink: ParserSink): LineParser {
  let clockReported = false;
  let orderOnly = false;
  // QEMU's lines share this input's clock report: "realtime" once, "order-only" only when nothing had a time.
  const qemu = createQemuLogParser(file, {
    record: (r) => sink.record(r),
    skipped: (n) => sink.skipped(n),
    malformed: (p) => sink.malformed(p),
    clock: (name) => {
      if (name === 'order-only') orderOnly = true;
      else if (!clockReported) {
        clockReported = true;
        sink.clock(name);
      }
    },
  });
  const reportHost = createHostReporter(sink);
  /** QEMU's command line (the per-VM log's start): its host devices by id. */
  const cmdline = createCommandLineReader();
  /** The last entry was a SEND_MSG whose ` fd=N` continuation is still due. */
  let awaitingFd = false;

  function monitorMessage(body: string, tsNs: bigint | undefined, tid: number | undefined, lineNo: number): boolean {
    const mm = MONITOR.exec(body);
    if (mm === null) return false;
    let json = body.slice(mm[0].length);
    if (mm[1] === 'SEND_MSG') {
      // "msg={…}\r\n fd=N": the line may still carry " fd=N" when the CR was lost.
      json = json.replace(/\s+fd=-?\d+\s*$/, '');
      awaitingFd = !/fd=-?\d+\s*$/.test(body);
    }
    const m = parseQmpMessage(json.trimEnd());
    if (!m.ok) {
      sink.malformed({ src: { file, line: lineNo }, message: `libvirt QEMU_MONITOR_${mm[1]}: ${m.error}` });
      return true;
    }
    if (!clockReported) {
      clockReported = true;
      sink.clock('realtime');
    }
    sink.record({
      kind: 'qmp',
      tsNs: m.tsNs ?? tsNs,
      pid: undefined,
      tid,
      comm: undefined,
      cpu: undefined,
      src: { file, line: lineNo },
      dir: m.dir,
      message: m.message,
      monitor: mm[2],
    });
    return true;
  }

  function line(text: string, lineNo: number): void {
    if (text.length === 0) return;
    if (awaitingFd) {
      awaitingFd = false;
      if (/^\s*fd=-?\d+\s*$/.test(text)) {
        sink.skipped(); // the tail of the SEND_MSG entry above
        return;
      }
    }
    const p = LIBVIRT_PREFIX.exec(text);
    if (p !== null) {
      const body = text.slice(p[0].length);
      if (!body.startsWith('QEMU_MONITOR_') || !monitorMessage(body, libvirtTime(p), Number(p[11]), lineNo)) sink.skipped();
      return;
    }
    if (text.charCodeAt(0) === 123 && text.includes('"subcomponent":"libvirt"')) {
      virtLauncher(text, lineNo);
      return;
    }
    const h = HOSTNAME_LINE.exec(text);
    if (h !== null) reportHost(h[1] ?? '', { file, line: lineNo }, "libvirt's hostname: line");
    const c = cmdline.line(text);
    if (c.kind === 'command-line') {
      for (const e of c.errors) sink.malformed({ src: { file, line: lineNo }, message: `QEMU command line: ${e}` });
      if (c.devices.length === 0 && c.errors.length === 0) sink.skipped();
      // No time: the command line is written before QEMU starts; in a merged timeline it keeps its place (first).
      for (const d of c.devices) sink.record({ kind: 'vm-device', tsNs: undefined, pid: undefined, tid: undefined, comm: undefined, cpu: undefined, src: { file, line: lineNo }, ...d });
      return;
    }
    qemu.line(text, lineNo);
  }

  /** KubeVirt virt-launcher: {"component":"virt-launcher","msg":"QEMU_MONITOR_…","subcomponent":"libvirt","timestamp":"…Z",…}. */
  function virtLauncher(text: string, lineNo: number): void {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      sink.malformed({ src: { file, line: lineNo }, message: 'virt-launcher log line: not JSON' });
      return;
    }
    if (typeof v !== 'object' || v === null) return void sink.skipped();
    const o = v as Record<string, unknown>;
    const msg = o['msg'];
    const ts = typeof o['timestamp'] === 'string' ? parseIsoStamp(o['timestamp'])?.tsNs : undefined;
    if (typeof msg !== 'string' || !msg.startsWith('QEMU_MONITOR_') || !monitorMessage(msg, ts, undefined, lineNo)) sink.skipped();
  }

  return {
    line,
    end() {
      qemu.end();
      if (!clockReported && orderOnly) sink.clock('order-only');
    },
  };
}

/** A libvirt log line (daemon or per-VM log) or a virt-launcher libvirt line among the first lines. */
export function detectLibvirtLog(firstLines: readonly string[]): boolean {
  return firstLines.some(
    (l) =>
      /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}: (?:\d+: \w+ : |starting up libvirt|shutting down)/.test(l) ||
      (l.startsWith('{') && l.includes('"subcomponent":"libvirt"') && l.includes('QEMU_MONITOR_')),
  );
}
