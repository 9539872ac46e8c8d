// The capture back ends `migscope capture --tracer NAME` can use. Adding one (ftrace,
// trace-cmd) is a file implementing capture/tracer.ts's `Tracer` plus a line here.

import { bpftraceTracer } from './bpftrace.js';
import { ftraceTracer } from './ftrace.js';
import { traceCmdTracer } from './tracecmd.js';
import type { Tracer } from './tracer.js';

export const TRACERS: ReadonlyMap<string, Tracer> = new Map([
  [bpftraceTracer.name, bpftraceTracer],
  [ftraceTracer.name, ftraceTracer],
  [traceCmdTracer.name, traceCmdTracer],
]);

export const DEFAULT_TRACER = bpftraceTracer.name;
