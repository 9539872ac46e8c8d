// A deterministic model of a hypervisor host for the benchmark inputs: QEMU-like VMs doing
// VFIO v1 live migrations (spec/vfio-migration.md §3: read-modify-write of device_state,
// pending_bytes / data_offset / data_size reads, data chunk reads, spec/trace-formats.md
// §1.1 for the offsets), optionally drowned in unrelated kernel activity (scheduler
// switches and wakeups, futex/read/write/KVM_RUN ioctl/pread64 of other processes), as a
// time-ordered stream of half-events (syscall entry, syscall exit, sched events). The
// renderers (ftrace-text.ts, tracedat.ts, bpftrace.ts) turn the same stream into each
// format, so the three inputs describe the same activity.
//
// Everything is driven by one seeded PRNG: the same seed gives byte-identical files.

/** mulberry32: small, fast, good enough for workload shapes (not for cryptography). */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n) };
}

export interface Task {
  readonly comm: string;
  readonly tid: number;
  readonly tgid: number;
  /** The CPU the task runs on (tasks are pinned: per-CPU streams stay independent). */
  readonly cpu: number;
  /** Kernel threads show "d..2." style flags in sched events; irrelevant to parsers. */
  readonly prio: number;
}

export type SysName = 'pread64' | 'pwrite64' | 'read' | 'write' | 'futex' | 'ioctl';

/** x86-64 syscall numbers (stored in __syscall_nr of trace.dat records). */
export const SYSCALL_NR: Readonly<Record<SysName, number>> = { read: 0, write: 1, ioctl: 16, pread64: 17, pwrite64: 18, futex: 202 };

export interface Call {
  readonly name: SysName;
  readonly fd: number;
  readonly buf: number;
  readonly count: number;
  /** Absolute file offset for pread64/pwrite64 (VFIO: region index << 40 | offset). */
  readonly pos: number;
  readonly cmd: number;
  readonly arg: number;
  readonly ret: number;
  /** First min(count, 8) bytes of the buffer (what bpftrace prints as val=). */
  readonly value: bigint;
  /** Entry timestamp, filled when the entry is emitted (bpftrace prints it at exit). */
  enterNs: number;
}

export const EV_ENTER = 0;
export const EV_EXIT = 1;
export const EV_SWITCH = 2;
export const EV_WAKEUP = 3;
/** A trace_marker write by QEMU's ftrace trace backend (ftrace:print; bpftrace skips it). */
export const EV_MARKER = 4;

/** A QEMU VFIO trace event, as QEMU's ftrace backend writes it to trace_marker. */
export interface Mark {
  readonly name: 'marker';
  /** `<event>  (<device>) <args>` (spec vfio-migration §4.1–4.2, v1-era formats). */
  readonly text: string;
}

/** One half-event. The object is reused by the world: renderers must not keep it. */
export interface Ev {
  kind: number;
  ts: number;
  task: Task;
  call: Call | undefined;
  /** sched_switch: the next task; sched_wakeup: the woken task. */
  other: Task | undefined;
  /** sched_switch prev_state letter ("R", "S", "D", "I"). */
  prevState: string;
  /** True for events of a VFIO migration thread (bpftrace traces only the QEMU pid). */
  vfio: boolean;
  /** EV_MARKER: the marker text. */
  text: string;
}

/** vfio-pci migration region index 9 in the samples: offsets 9 << 40 | field (spec §1.1). */
export const REGION_BASE = 9 * 2 ** 40;
const F_STATE = 0;
const F_PENDING = 8;
const F_DATA_OFFSET = 16;
const F_DATA_SIZE = 24;
const DATA_OFFSET = 0x1000;
const CHUNK = 0x2000;
/** "VFIOMIG0" little-endian, the first 8 bytes of every data chunk in the samples. */
const DATA_MAGIC = 0x3047494d4f494656n;

export interface Device {
  readonly fd: number;
  readonly name: string;
}

export interface Vm {
  readonly pid: number;
  readonly main: Task;
  readonly migration: Task;
  readonly devices: readonly Device[];
}

function call(name: SysName, fd: number, count: number, pos: number, ret: number, value: bigint, buf: number): Call {
  return { name, fd, buf, count, pos, cmd: 0, arg: 0, ret, value, enterNs: 0 };
}

/** One in FAULT_EVERY stop-and-copy stays ends with data still pending (a VMM bug). */
const FAULT_EVERY = 50;

/**
 * The syscalls of one VM's migration thread, forever, with the trace events QEMU's ftrace
 * backend writes right after them (samples/ftrace/ftrace-trace_pipe-tgid.txt: the marker
 * follows the syscall it reports, from the same thread, which is how the decoder joins
 * QEMU's device name to the fd and learns the values the syscall events do not carry).
 * Migrate all devices (QEMU v1: vfio_save_setup → iterate → stop-and-copy until
 * pending_bytes is 0 → STOP), then resume the devices (STOP → RUNNING, as after a
 * cancelled migration) and start over. One stop-and-copy stay in FAULT_EVERY is left for
 * STOP while pending_bytes still says data is pending (V1-SAVE-DRAIN), so the rules and
 * the findings path run on every input. `onSession` is called once per device per
 * completed migration.
 */
export function* vmCalls(vm: Vm, rng: Rng, onSession: () => void, markers = true): Generator<Call | Mark, never, undefined> {
  const bufSmall = 0x7f2276ef6d50 + vm.pid * 0x1000;
  const bufData = 0x7f2270001020 + vm.pid * 0x1000;
  const state = new Map<number, number>();
  for (const d of vm.devices) state.set(d.fd, 1);
  const mark = (d: Device, event: string, args: string): Mark => ({ name: 'marker', text: `${event}  (${d.name})${args === '' ? '' : ` ${args}`}` });
  const hex = (v: number): string => `0x${v.toString(16)}`;
  const rmw = function* (d: Device, to: number): Generator<Call | Mark, void, undefined> {
    const from = state.get(d.fd) ?? 1;
    yield call('pread64', d.fd, 4, REGION_BASE + F_STATE, 4, BigInt(from), bufSmall);
    yield call('pwrite64', d.fd, 4, REGION_BASE + F_STATE, 4, BigInt(to), bufSmall);
    if (markers) yield mark(d, 'vfio_migration_set_state', `state ${to}`);
    state.set(d.fd, to);
  };
  const pendingRead = function* (d: Device, p: number): Generator<Call | Mark, void, undefined> {
    yield call('pread64', d.fd, 8, REGION_BASE + F_PENDING, 8, BigInt(p), bufSmall);
    if (markers) yield mark(d, 'vfio_update_pending', `pending ${hex(p)}`);
  };
  const chunk = function* (d: Device, pending: number): Generator<Call | Mark, number, undefined> {
    yield call('pread64', d.fd, 8, REGION_BASE + F_DATA_OFFSET, 8, BigInt(DATA_OFFSET), bufSmall);
    const size = Math.min(pending, CHUNK);
    yield call('pread64', d.fd, 8, REGION_BASE + F_DATA_SIZE, 8, BigInt(size), bufSmall);
    yield call('pread64', d.fd, size, REGION_BASE + DATA_OFFSET, size, DATA_MAGIC, bufData);
    if (markers) yield mark(d, 'vfio_save_buffer', `Offset ${hex(DATA_OFFSET)} size ${hex(size)} pending ${hex(pending)}`);
    return pending - size;
  };
  let stays = 0;
  for (;;) {
    for (const d of vm.devices) {
      yield* rmw(d, 3); // RUNNING → PRE_COPY (011b)
      if (markers) yield mark(d, 'vfio_save_setup', '');
    }
    const pending = new Map<number, number>();
    for (const d of vm.devices) pending.set(d.fd, (2 + rng.int(6)) * CHUNK);
    const iterations = 2 + rng.int(4);
    for (let i = 0; i < iterations; i++) {
      for (const d of vm.devices) {
        let p = pending.get(d.fd) ?? 0;
        yield* pendingRead(d, p);
        if (p > 0) p = yield* chunk(d, p);
        // The guest keeps dirtying pages while it runs.
        pending.set(d.fd, p + rng.int(2) * CHUNK);
      }
    }
    for (const d of vm.devices) {
      yield* rmw(d, 2); // PRE_COPY → stop-and-copy (010b)
      const faulty = ++stays % FAULT_EVERY === 0;
      let p = (1 + rng.int(3)) * CHUNK;
      for (;;) {
        yield* pendingRead(d, p);
        if (p === 0) break;
        p = yield* chunk(d, p);
        // The faulty VMM stops after the first chunk although data is still pending.
        if (faulty && p > 0) {
          yield* pendingRead(d, p);
          break;
        }
      }
      if (markers) yield mark(d, 'vfio_save_complete_precopy', '');
    }
    for (const d of vm.devices) {
      yield* rmw(d, 0); // stop-and-copy → STOP: this device's migration is done
      onSession();
    }
    for (const d of vm.devices) yield* rmw(d, 1); // resume for the next round
  }
}

export interface WorldOptions {
  readonly seed: number;
  readonly vms: number;
  readonly devicesPerVm: number;
  /** Share of half-events that are unrelated kernel activity (0 dense, 0.95 sparse). */
  readonly noiseShare: number;
  readonly cpus: number;
  /** First timestamp, ns (1873.6 s of uptime, like the samples). */
  readonly startNs?: number;
  /** QEMU's trace events in trace_marker (default true; bpftrace has values instead). */
  readonly markers?: boolean;
}

export interface World {
  /** The next half-event in time order (a reused object). */
  next(): Ev;
  readonly vms: readonly Vm[];
  /** Every task that can appear (for trace.dat's saved cmdlines). */
  readonly tasks: readonly Task[];
  /** Device migrations completed so far. */
  sessions(): number;
}

interface NoiseTask {
  readonly task: Task;
  inCall: Call | undefined;
  readonly kind: 'vcpu' | 'db' | 'daemon' | 'kworker';
}

export function createWorld(o: WorldOptions): World {
  const rng = createRng(o.seed);
  const tasks: Task[] = [];
  const task = (comm: string, tid: number, tgid: number, cpu: number, prio = 120): Task => {
    const t = { comm, tid, tgid, cpu, prio };
    tasks.push(t);
    return t;
  };
  const vms: Vm[] = [];
  for (let i = 0; i < o.vms; i++) {
    const pid = 20497 + i * 100;
    const devices: Device[] = [];
    for (let d = 0; d < o.devicesPerVm; d++) {
      devices.push({ fd: 27 + i * o.devicesPerVm + d, name: `0000:${(0x65 + i * o.devicesPerVm + d).toString(16).padStart(2, '0')}:00.0` });
    }
    vms.push({ pid, main: task('qemu-system-x86', pid, pid, i % o.cpus), migration: task('live_migration', pid + 41, pid, i % o.cpus), devices });
  }
  let sessions = 0;
  const streams = vms.map((vm) => ({ vm, calls: vmCalls(vm, rng, () => sessions++, o.markers ?? true), open: undefined as Call | undefined }));

  // Unrelated activity: vCPU threads (KVM_RUN ioctls, futex), a database (pread64 of its
  // files at small offsets, write), daemons (read/write/futex), kernel workers.
  const noise: NoiseTask[] = [];
  for (let c = 0; c < o.cpus; c++) {
    noise.push({ task: task(`CPU ${c}/KVM`, 30000 + c, 20497, c), inCall: undefined, kind: 'vcpu' });
    noise.push({ task: task('postgres', 31000 + c, 31000, c), inCall: undefined, kind: 'db' });
    noise.push({ task: task('systemd-journal', 32000 + c, 32000, c), inCall: undefined, kind: 'daemon' });
    noise.push({ task: task('sshd', 33000 + c, 33000, c), inCall: undefined, kind: 'daemon' });
    noise.push({ task: task(`kworker/${c}:1`, 40 + c, 40 + c, c), inCall: undefined, kind: 'kworker' });
  }
  const noiseByCpu = Array.from({ length: o.cpus }, (_, c) => noise.filter((n) => n.task.cpu === c));
  const idle = Array.from({ length: o.cpus }, (_, c) => task(`swapper/${c}`, 0, 0, c));
  const running: Task[] = idle.slice();

  let now = o.startNs ?? 1_873_633_810_000;
  const ev: Ev = { kind: EV_ENTER, ts: 0, task: idle[0] ?? task('swapper/0', 0, 0, 0), call: undefined, other: undefined, prevState: 'R', vfio: false, text: '' };

  function noiseCall(n: NoiseTask): Call {
    switch (n.kind) {
      case 'vcpu':
        return rng.next() < 0.7
          ? { name: 'ioctl', fd: 19, buf: 0, count: 0, pos: 0, cmd: 0xae80, arg: 0, ret: 0, value: 0n, enterNs: 0 } // KVM_RUN
          : call('futex', 0, 0, 0, 0, 0n, 0x7ffd67f3c4f0);
      case 'db': {
        const r = rng.next();
        if (r < 0.6) return call('pread64', 12 + rng.int(4), 0x2000, rng.int(4096) * 0x2000, 0x2000, 0n, 0x55d0c2a41000);
        if (r < 0.8) return call('write', 7, 0x40 + rng.int(200), 0, 0x40, 0n, 0x55d0c2a45000);
        return call('futex', 0, 0, 0, 0, 0n, 0x7f8a3c001000);
      }
      case 'daemon': {
        const r = rng.next();
        if (r < 0.4) return call('read', 3 + rng.int(8), 0x1000, 0, rng.int(300), 0n, 0x55e1d7a3b2c0);
        if (r < 0.7) return call('write', 3 + rng.int(8), 0x80 + rng.int(400), 0, 0x80, 0n, 0x55e1d7a3c000);
        return call('futex', 0, 0, 0, 0, 0n, 0x7f1b2c003040);
      }
      case 'kworker':
        return call('futex', 0, 0, 0, 0, 0n, 0x7f0000001000);
    }
  }

  function emitNoise(): void {
    const r = rng.next();
    if (r < 0.35) {
      // sched_switch on a CPU: the running task yields to another task of that CPU.
      const cpu = rng.int(o.cpus);
      const candidates = noiseByCpu[cpu] ?? [];
      const next = rng.next() < 0.2 ? idle[cpu] : candidates[rng.int(candidates.length)]?.task;
      const prev = running[cpu];
      if (prev === undefined || next === undefined) return emitNoiseSyscall();
      ev.kind = EV_SWITCH;
      ev.task = prev;
      ev.other = next;
      ev.prevState = prev.tid === 0 ? 'R' : rng.next() < 0.7 ? 'S' : 'R';
      running[cpu] = next;
      return;
    }
    if (r < 0.5) {
      const wakee = noise[rng.int(noise.length)];
      const waker = noise[rng.int(noise.length)];
      if (wakee === undefined || waker === undefined) return emitNoiseSyscall();
      ev.kind = EV_WAKEUP;
      ev.task = waker.task;
      ev.other = wakee.task;
      return;
    }
    emitNoiseSyscall();
  }

  function emitNoiseSyscall(): void {
    const n = noise[rng.int(noise.length)];
    if (n === undefined) throw new Error('no noise tasks');
    ev.task = n.task;
    if (n.inCall === undefined) {
      const c = noiseCall(n);
      c.enterNs = now;
      n.inCall = c;
      ev.kind = EV_ENTER;
      ev.call = c;
    } else {
      ev.kind = EV_EXIT;
      ev.call = n.inCall;
      n.inCall = undefined;
    }
  }

  function emitVfio(): void {
    const s = streams[rng.int(streams.length)];
    if (s === undefined) throw new Error('no VMs');
    ev.task = s.vm.migration;
    ev.vfio = true;
    if (s.open === undefined) {
      const c = s.calls.next().value;
      if (c.name === 'marker') {
        ev.kind = EV_MARKER;
        ev.text = c.text;
        return;
      }
      c.enterNs = now;
      s.open = c;
      ev.kind = EV_ENTER;
      ev.call = c;
    } else {
      ev.kind = EV_EXIT;
      ev.call = s.open;
      s.open = undefined;
    }
  }

  return {
    vms,
    tasks,
    sessions: () => sessions,
    next(): Ev {
      now += 500 + rng.int(4000); // 0.5–4.5 µs between events
      ev.ts = now;
      ev.vfio = false;
      ev.other = undefined;
      ev.call = undefined;
      if (streams.length > 0 && (o.noiseShare <= 0 || rng.next() >= o.noiseShare)) emitVfio();
      else emitNoise();
      return ev;
    },
  };
}
