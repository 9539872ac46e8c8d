// Clean QEMU-like sequences (spec §3.3, §3.4) used as the base of rule tests and by the
// "no finding at all" test.

import type { Dev } from './ops-builder.js';

export const OFF = 0x1000n; // data_offset the test driver offers

/** One save iteration: pending (>0) was read before; offset, size, data. */
export function saveChunk(d: Dev, size: bigint): void {
  d.dataOffset(OFF);
  d.dataSize(size);
  d.data(false, OFF, Number(size));
}

/** Source side of a live migration (flow 3, §2.4): 001 → 011 → 010 → 000. */
export function cleanSource(d: Dev, opts: { notifier?: boolean } = {}): void {
  d.open();
  d.region();
  // save_setup: RMW of device_state, mask 7 | SAVING
  d.qemu('vfio_save_setup', {});
  d.set(1, 3);
  d.qemu('vfio_migration_set_state', { state: 3n });
  // pre-copy: pending, iterate while pending > 0
  d.pending(0x3000n);
  saveChunk(d, 0x2000n);
  d.pending(0x1000n);
  // VM stops: vmstate_change(running=false) → 010b
  d.set(3, 2);
  d.qemu('vfio_vmstate_change', { running: 0n, reason: 'finish-migrate', deviceState: 2n });
  // save_live_complete_precopy: set 010b again, drain until pending is 0, then 000b
  d.set(2, 2);
  d.pending(0x1000n);
  saveChunk(d, 0x1000n);
  d.pending(0x1000n);
  saveChunk(d, 0x1000n);
  d.pending(0n);
  d.set(2, 0);
  if (opts.notifier ?? true) d.qemu('vfio_migration_state_notifier', { state: 'completed' });
  d.close();
}

/** One resume chunk: read data_offset, write the data in 8-byte syscalls... or one, then data_size. */
export function resumeChunk(d: Dev, size: bigint): void {
  d.dataOffset(OFF);
  d.data(true, OFF, Number(size) / 2);
  d.data(true, OFF + size / 2n, Number(size) / 2);
  d.dataSizeWrite(size);
}

/** Destination side: 001 → 100, the chunks the clean source produced, → 001. */
export function cleanDest(d: Dev): void {
  d.open();
  d.region();
  d.set(1, 4);
  resumeChunk(d, 0x2000n);
  resumeChunk(d, 0x1000n);
  resumeChunk(d, 0x1000n);
  d.set(4, 1);
  d.qemu('vfio_vmstate_change', { running: 1n, reason: 'running', deviceState: 1n });
}
