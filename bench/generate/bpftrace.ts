// bpftrace text output of capture/migscope.bt ("migscope-capture v1", the printf formats
// in that script): one line per completed syscall of the traced QEMU process, written at
// syscall exit with the entry time first; the setup of each device first (container and
// group openat, VFIO_GROUP_GET_DEVICE_FD with its devfd line, GET_REGION_INFO with its
// regioninfo line naming the v1 migration region, type 3 / subtype 1), then the model's
// migrations (model.ts) with the values bpftrace reads from user memory.
import { EV_EXIT, createWorld, REGION_BASE, type Vm } from './model.js';
import { createTextOut } from './out.js';
import type { GenResult } from './ftrace-text.js';

const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

function setupLines(vm: Vm, t0: number): string[] {
  const m = vm.main;
  const id = `pid=${vm.pid} tid=${m.tid}`;
  const lines: string[] = [];
  let t = t0;
  const at = (): number => (t += 2000);
  lines.push(`${at()} openat ${id} ret=20 flags=0x80002 lat_ns=3100 comm=${m.comm} path=/dev/vfio/vfio`);
  lines.push(`${at()} openat ${id} ret=21 flags=0x80002 lat_ns=2900 comm=${m.comm} path=/dev/vfio/12`);
  for (const d of vm.devices) {
    const ts = at();
    lines.push(`${ts} ioctl ${id} fd=21 cmd=0x3b6a arg=0x55d0c2a47e10 ret=${d.fd} w0=0x0 w1=0x0 w2=0x0 w3=0x0 lat_ns=41000 comm=${m.comm}`);
    lines.push(`${ts} devfd ${id} fd=21 ret=${d.fd} comm=${m.comm} name=${d.name}`);
    const rs = at();
    const words = `w0=0xb00000040 w1=0x2000000009 w2=0x100000 w3=${hex(REGION_BASE)}`;
    lines.push(`${rs} ioctl ${id} fd=${d.fd} cmd=0x3b6c arg=0x7ffd67f3c4f0 ret=0 ${words} lat_ns=5200 comm=${m.comm}`);
    lines.push(
      `${rs} regioninfo ${id} fd=${d.fd} ret=0 argsz_in=64 argsz=64 flags=0xb index=9 cap_offset=32 size=0x100000 offset=${hex(REGION_BASE)} caps=2@32,0@0,0@0 type=3 subtype=1 comm=${m.comm}`,
    );
  }
  return lines;
}

/**
 * migscope.bt text output holding `sessions` device migrations, in chunks of about 1 MiB
 * (bench/watch-soak.ts feeds them to `watch -` as they are made; nothing holds the whole).
 * `onSessions` is told the number of sessions begun so far after each chunk.
 */
export function* bpftraceChunks(sessions: number, seed: number, devices = 8, onSessions?: (n: number) => void): Generator<string, GenResult, undefined> {
  const w = createWorld({ seed, vms: 1, devicesPerVm: devices, noiseShare: 0, cpus: 2, markers: false });
  const vm = w.vms[0];
  if (vm === undefined) throw new Error('no VM');
  const t0 = 1_873_600_000_000;
  let acc = 'Attaching 13 probes...\n';
  acc += `# migscope-capture v1 tracer=bpftrace program=migscope.bt clock=mono pid=${vm.pid} flags=0 begin_ns=${t0}\n`;
  acc += `${t0 + 500} clocksync clock=mono wall_ns=1764108000000000000 uncertainty_ns=1200 source=runner at=start\n`;
  let n = 3;
  let bytes = 0;
  for (const l of setupLines(vm, t0 + 1000)) {
    acc += `${l}\n`;
    n++;
  }
  let last = t0;
  while (w.sessions() < sessions) {
    const e = w.next();
    last = e.ts;
    if (e.kind !== EV_EXIT || e.call === undefined) continue;
    const c = e.call;
    const t = e.task;
    const lat = e.ts - c.enterNs;
    // migscope.bt: "%llu pread64 pid=%d tid=%d fd=%llu off=0x%llx count=%llu ret=%lld val=0x%llx lat_ns=%llu comm=%s"
    acc += `${c.enterNs} ${c.name} pid=${t.tgid} tid=${t.tid} fd=${c.fd} off=${hex(c.pos)} count=${c.count} ret=${c.ret} val=${hex(c.value)} lat_ns=${lat} comm=${t.comm}\n`;
    n++;
    if (acc.length >= CHUNK) {
      bytes += acc.length;
      onSessions?.(w.sessions());
      yield acc;
      acc = '';
    }
  }
  acc += `${last + 1000} end pid=${vm.pid}\n`;
  bytes += acc.length;
  onSessions?.(w.sessions());
  yield acc;
  return { bytes, records: n + 1, sessions: w.sessions() };
}

const CHUNK = 1 << 20;

/** Write migscope.bt text output holding `sessions` device migrations. */
export function generateBpftrace(path: string, sessions: number, seed: number, devices = 8): GenResult {
  const out = createTextOut(path);
  const it = bpftraceChunks(sessions, seed, devices);
  for (;;) {
    const r = it.next();
    if (r.done === true) {
      out.close();
      return r.value;
    }
    out.write(r.value);
  }
}
