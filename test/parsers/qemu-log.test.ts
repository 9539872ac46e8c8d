// parsers/qemu-log.ts: QEMU's log trace backend (spec vfio-migration §4.1).

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createQemuLogParser, detectQemuLog } from '../../parsers/qemu-log.js';
import { fixturesDir, parseFile, parseText } from '../fixtures/text/harness.js';

describe('QEMU log backend', () => {
  it('vfio events become markers: text without the prefix, thread id and wall-clock time from it', () => {
    const out = parseFile(join(fixturesDir, 'qemu-log.txt'), createQemuLogParser);
    expect(out.records).toEqual([
      {
        kind: 'marker',
        tsNs: 1608130130_441188_000n,
        pid: undefined,
        tid: 4711,
        comm: undefined,
        cpu: undefined,
        src: { file: join(fixturesDir, 'qemu-log.txt'), line: 2 },
        text: 'vfio_region_setup Device 0000:65:00.0, region 9 "migration", flags: 0xb, offset: 0x90000000000, size: 0x1000',
      },
      expect.objectContaining({ tsNs: 1608130131_000001_000n, tid: 4712, text: 'vfio_migration_set_state  (0000:65:00.0) state 3', src: expect.objectContaining({ line: 4 }) }),
      // No prefix (newer QEMU without message timestamps): no time, no thread.
      expect.objectContaining({ tsNs: undefined, tid: undefined, text: 'vfio_save_setup  (0000:65:00.0)', src: expect.objectContaining({ line: 5 }) }),
    ]);
    // The prefix is gettimeofday: the records' clock is wall-clock time.
    expect(out.clocks).toEqual(['realtime']);
    // The warning, another subsystem's event, and a "vfio_pci:" message are not vfio events.
    expect(out.skipped).toBe(3);
    expect(out.malformed.map((m) => m.src.line)).toEqual([6]);
    expect(out.malformed[0]?.message).toMatch(/TID@SEC\.USEC/);
  });

  it('without any timestamped line no wall clock is claimed: the input says its records are in order only', () => {
    const out = parseText('vfio_save_setup  (0000:65:00.0)\n', createQemuLogParser);
    expect(out.records).toHaveLength(1);
    expect(out.clocks).toEqual(['order-only']);
  });

  it('detection', () => {
    expect(detectQemuLog(['4711@1608130130.441188:vfio_migration_set_state  (0000:65:00.0) state 3'])).toBe(true);
    expect(detectQemuLog(['vfio_migration_set_state  (0000:65:00.0) state 3'])).toBe(true);
    expect(detectQemuLog(['# tracer: nop', ' qemu-system-x86-19794   [001] .....  1868.003137: tracing_mark_write: vfio_save_setup  (0000:65:00.0)'])).toBe(false);
    expect(detectQemuLog(['cpus=2'])).toBe(false);
  });
});
