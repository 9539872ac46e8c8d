// Builds QEMU simpletrace v4 files from the layouts the parser reads
// (parsers/simpletrace/layout.ts), for the tests and the committed fixture.

import { encodeLayout } from '../../parsers/tracedat/layout.js';
import { DROPPED_EVENT_ID, EVENT_HEAD, FILE_HEADER, HEADER_EVENT_ID, HEADER_MAGIC, MAPPING_HEAD, RECORD_TYPE, RECORD_TYPE_EVENT, RECORD_TYPE_MAPPING } from '../../parsers/simpletrace/layout.js';

export type Arg = string | bigint;

export function header(version = 4n): Buffer {
  return encodeLayout(FILE_HEADER, { headerEventId: HEADER_EVENT_ID, magic: HEADER_MAGIC, version });
}

export function mapping(id: bigint, name: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  return Buffer.concat([encodeLayout(RECORD_TYPE, { type: RECORD_TYPE_MAPPING }), encodeLayout(MAPPING_HEAD, { eventId: id, nameLength: n.length }), n]);
}

export function event(id: bigint, tsNs: bigint, pid: number, args: readonly Arg[]): Buffer {
  const body = Buffer.concat(
    args.map((a) => {
      if (typeof a === 'string') {
        const s = Buffer.from(a, 'utf8');
        const l = Buffer.alloc(4);
        l.writeUInt32LE(s.length);
        return Buffer.concat([l, s]);
      }
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt.asUintN(64, a));
      return b;
    }),
  );
  return Buffer.concat([encodeLayout(RECORD_TYPE, { type: RECORD_TYPE_EVENT }), encodeLayout(EVENT_HEAD, { eventId: id, timestampNs: tsNs, length: 24 + body.length, pid }), body]);
}

export function dropped(tsNs: bigint, pid: number, count: bigint): Buffer {
  return event(DROPPED_EVENT_ID, tsNs, pid, [count]);
}

/** The committed fixture test/fixtures/qemu/simpletrace-v4.bin: a source migration with one VFIO device. */
export function fixtureTrace(): Buffer {
  const T = 5_000_000_000n; // CLOCK_MONOTONIC ns
  const names = ['migrate_set_state', 'vfio_migration_set_device_state', 'savevm_state_setup', 'migration_completion_vm_stop', 'vfio_save_block', 'memory_region_ops_read', 'vfio_unknown_to_trace_events'];
  return Buffer.concat([
    header(),
    ...names.map((n, i) => mapping(BigInt(i), n)),
    event(0n, T, 4711, ['setup']),
    event(2n, T + 1_000n, 4711, []),
    event(1n, T + 2_000n, 4711, ['0000:65:00.0', 'PRE_COPY']),
    event(0n, T + 3_000n, 4711, ['active']),
    event(5n, T + 4_000n, 4711, [0n, 0x562fdfbb3820n, 0x3ccn, 0x67n, 1n]),
    dropped(T + 5_000n, 4711, 3n),
    event(3n, T + 200_000_000n, 4711, [0n]),
    event(1n, T + 200_001_000n, 4711, ['0000:65:00.0', 'STOP_COPY']),
    event(4n, T + 200_002_000n, 4711, ['0000:65:00.0', -1n]),
    event(6n, T + 200_003_000n, 4711, [1n]),
    event(9n, T + 200_004_000n, 4711, []),
    event(1n, T + 300_000_000n, 4711, ['0000:65:00.0', 'STOP']),
    event(0n, T + 310_000_000n, 4711, ['completed']),
  ]);
}
