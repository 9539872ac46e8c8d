// The input formats `analyze` knows, in detection order (most specific first). Adding a
// format: write its parser file, add its entry here.

import type { InputFormat } from './format.js';
import { UnusableInputError } from './format.js';
import { createBpftraceParser, detectBpftrace } from './bpftrace.js';
import { createFtraceTextParser, detectFtraceText } from './ftrace-text.js';
import { createTraceCmdReportParser, detectTraceCmdReport } from './tracecmd-report.js';
import { createQemuLogParser, detectQemuLog } from './qemu-log.js';
import { createQemuStapParser, detectQemuStap } from './qemu-stap.js';
import { createQmpTranscriptParser, detectQmpTranscript } from './qmp.js';
import { createLibvirtLogParser, detectLibvirtLog } from './libvirt-log.js';
import { detectTraceDat, parseTraceDat, probeTraceDat, TraceDatError } from './tracedat/index.js';
import { detectSimpletrace, parseSimpletrace } from './simpletrace/index.js';

export const FORMATS: readonly InputFormat[] = [
  {
    name: 'trace.dat',
    kind: 'file',
    detect: (head) => detectTraceDat(head),
    parse: async (path, sink, opts) => {
      try {
        await parseTraceDat(path, sink, { onProgress: opts.onProgress });
      } catch (e) {
        if (e instanceof TraceDatError) throw new UnusableInputError(`${path}: ${e.message}`);
        throw e;
      }
    },
    probe: probeTraceDat,
  },
  {
    name: 'simpletrace',
    kind: 'file',
    detect: (head) => detectSimpletrace(head),
    parse: (path, sink, opts) => parseSimpletrace(path, sink, { onProgress: opts.onProgress, traceEvents: opts.traceEvents }),
  },
  { name: 'bpftrace', kind: 'lines', detect: (_h, lines) => detectBpftrace(lines) !== undefined, create: createBpftraceParser },
  { name: 'trace-cmd-report', kind: 'lines', detect: (_h, lines) => detectTraceCmdReport(lines), create: (file, sink) => createTraceCmdReportParser(file, sink) },
  { name: 'ftrace', kind: 'lines', detect: (_h, lines) => detectFtraceText(lines), create: (file, sink) => createFtraceTextParser(file, sink) },
  // libvirt's logs carry QEMU log lines too (QEMU's stderr): tried before qemu-log.
  { name: 'libvirt-log', kind: 'lines', detect: (_h, lines) => detectLibvirtLog(lines), create: createLibvirtLogParser },
  { name: 'qmp', kind: 'lines', detect: (_h, lines) => detectQmpTranscript(lines), create: createQmpTranscriptParser },
  // QEMU writes its own messages (warnings, "char device redirected to …") to the same log
  // before the first trace event: these two are looked for past the first lines too.
  { name: 'qemu-stap', kind: 'lines', detect: (_h, lines) => detectQemuStap(lines), create: createQemuStapParser, detectLate: true },
  { name: 'qemu-log', kind: 'lines', detect: (_h, lines) => detectQemuLog(lines), create: createQemuLogParser, detectLate: true },
];

export { UnusableInputError };
