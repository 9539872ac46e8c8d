// ftrace text as the tracefs `trace` file prints it with options/irq-info and
// options/record-tgid on (spec/trace-formats.md §2.2–2.5, the layout of
// samples/ftrace/ftrace-trace-tgid.txt), from the model's half-events: the kernel's own
// syscall renderings (`sys_pread64(fd: 4, …)`, `sys_pread64 -> 0x4`, values < 10 in
// decimal, else 0x-hex, §2.5.1), sched_switch / sched_wakeup bodies.
import { EV_ENTER, EV_EXIT, EV_MARKER, EV_SWITCH, EV_WAKEUP, createWorld, type Call, type Ev, type Task, type WorldOptions } from './model.js';
import { createTextOut } from './out.js';

const LEGEND = [
  '#',
  '#                                          _-----=> irqs-off/BH-disabled',
  '#                                         / _----=> need-resched',
  '#                                        | / _---=> hardirq/softirq',
  '#                                        || / _--=> preempt-depth',
  '#                                        ||| / _-=> migrate-disable',
  '#                                        |||| /     delay',
  '#           TASK-PID       TGID    CPU#  |||||  TIMESTAMP  FUNCTION',
  '#              | |           |       |   |||||     |         |',
];

/** "%lx"-style register as kernel 6.18 prints it: decimal below 10, else 0x-hex (§2.5.1). */
function reg(v: number): string {
  return v < 10 ? String(v) : `0x${v.toString(16)}`;
}

/** Syscall return as the unsigned 64-bit hex the exit event prints (§2.5.2). */
function retHex(v: number): string {
  return v >= 0 ? `0x${v.toString(16)}` : `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
}

function prefix(t: Task, cpu: number, flags: string, ts: number): string {
  const comm = t.tid === 0 ? '<idle>' : t.comm;
  const tgid = t.tid === 0 ? '-------' : String(t.tgid).padStart(7);
  const sec = Math.floor(ts / 1e9);
  const usec = Math.floor((ts % 1e9) / 1000);
  return `${comm.padStart(16)}-${String(t.tid).padEnd(7)} (${tgid}) [${String(cpu).padStart(3, '0')}] ${flags} ${String(sec).padStart(5)}.${String(usec).padStart(6, '0')}: `;
}

function enterBody(c: Call): string {
  switch (c.name) {
    case 'pread64':
    case 'pwrite64':
      return `sys_${c.name}(fd: ${reg(c.fd)}, buf: ${reg(c.buf)}, count: ${reg(c.count)}, pos: ${reg(c.pos)})`;
    case 'read':
    case 'write':
      return `sys_${c.name}(fd: ${reg(c.fd)}, buf: ${reg(c.buf)}, count: ${reg(c.count)})`;
    case 'ioctl':
      return `sys_ioctl(fd: ${reg(c.fd)}, cmd: ${reg(c.cmd)}, arg: ${reg(c.arg)})`;
    case 'futex':
      return `sys_futex(uaddr: ${reg(c.buf)}, op: 0x80, val: 2, utime: 0, uaddr2: 0, val3: 0)`;
  }
}

export function renderFtraceLine(e: Ev): string {
  const t = e.task;
  switch (e.kind) {
    case EV_ENTER:
      return `${prefix(t, t.cpu, '.....', e.ts)}${enterBody(e.call ?? fail())}\n`;
    case EV_EXIT: {
      const c = e.call ?? fail();
      return `${prefix(t, t.cpu, '.....', e.ts)}sys_${c.name} -> ${retHex(c.ret)}\n`;
    }
    case EV_SWITCH: {
      const n = e.other ?? fail();
      return `${prefix(t, t.cpu, 'd..2.', e.ts)}sched_switch: prev_comm=${t.comm} prev_pid=${t.tid} prev_prio=${t.prio} prev_state=${e.prevState} ==> next_comm=${n.comm} next_pid=${n.tid} next_prio=${n.prio}\n`;
    }
    case EV_WAKEUP: {
      const w = e.other ?? fail();
      return `${prefix(t, t.cpu, 'dN.5.', e.ts)}sched_wakeup: comm=${w.comm} pid=${w.tid} prio=${w.prio} target_cpu=${String(w.cpu).padStart(3, '0')}\n`;
    }
    case EV_MARKER:
      // trace_marker writes print with preempt-depth 1 (the sample's "...1." flags).
      return `${prefix(t, t.cpu, '...1.', e.ts)}tracing_mark_write: ${e.text}\n`;
    default:
      return fail();
  }
}

function fail(): never {
  throw new Error('bench generator: inconsistent event');
}

export interface GenResult {
  readonly bytes: number;
  /** Lines (text) or ring-buffer records (trace.dat) written. */
  readonly records: number;
  readonly sessions: number;
}

/** Write an ftrace `trace` file of at least `targetBytes` bytes. */
export function generateFtraceText(path: string, targetBytes: number, world: WorldOptions): GenResult {
  const w = createWorld(world);
  const out = createTextOut(path);
  out.write('# tracer: nop\n');
  // The entry counts are known at the end: reserve the line and patch it (trailing spaces
  // keep its length; parsers read the numbers only).
  const countsAt = out.bytes();
  const countsWidth = 72;
  out.write(`${' '.repeat(countsWidth - 1)}\n`);
  for (const l of LEGEND) out.write(`${l}\n`);
  let n = 0;
  while (out.bytes() < targetBytes) {
    out.write(renderFtraceLine(w.next()));
    n++;
  }
  out.patch(countsAt, `# entries-in-buffer/entries-written: ${n}/${n}   #P:${world.cpus}`.padEnd(countsWidth - 1));
  const bytes = out.bytes();
  out.close();
  return { bytes, records: n, sessions: w.sessions() };
}
