// QEMU's "simple" trace backend binary file, version 4 (trace/simple.c writes it,
// scripts/simpletrace.py reads it; field names follow the latter). All integers are in
// the writing host's byte order ("=" in struct formats); only little-endian files are
// read (x86, arm64, ppc64le, riscv hosts). Described once here (STYLE.md "Declarative
// binary layouts") for the parser and for the fixture builder (fixture.ts).
//
//   file header   =QQQ   header_event_id (~0), header_magic, log_version (4)
//   then records, each starting with a u64 record type:
//     0 mapping   =Q L s  event_id, name length, name          (trace/simple.c st_write_event_mapping)
//     1 event     =QQII   event_id, timestamp_ns, length, pid  then the arguments:
//                         strings as u32 length + bytes, everything else as u64.
//                         length counts the 24-byte header and the arguments (trace_record_start).
//   A dropped-events record is an event record with event_id 0xfffffffffffffffe and one
//   u64 argument, the number of events dropped (trace/simple.c, simpletrace.py "dropped").

import { defineLayout } from '../tracedat/layout.js';

export const HEADER_EVENT_ID = 0xffff_ffff_ffff_ffffn;
export const HEADER_MAGIC = 0xf2b1_77cb_0aa4_29b4n;
export const DROPPED_EVENT_ID = 0xffff_ffff_ffff_fffen;
export const SUPPORTED_VERSION = 4n;
export const RECORD_TYPE_MAPPING = 0n;
export const RECORD_TYPE_EVENT = 1n;

export const FILE_HEADER = defineLayout([
  { name: 'headerEventId', type: 'u64' },
  { name: 'magic', type: 'u64' },
  { name: 'version', type: 'u64' },
]);

export const RECORD_TYPE = defineLayout([{ name: 'type', type: 'u64' }]);

export const MAPPING_HEAD = defineLayout([
  { name: 'eventId', type: 'u64' },
  { name: 'nameLength', type: 'u32' },
]);

export const EVENT_HEAD = defineLayout([
  { name: 'eventId', type: 'u64' },
  { name: 'timestampNs', type: 'u64' },
  { name: 'length', type: 'u32' },
  { name: 'pid', type: 'u32' },
]);

/** Bytes of EVENT_HEAD: the part of an event record's `length` that is not arguments. */
export const EVENT_HEAD_SIZE = 24;
