// src/decode/qemu-events.ts: every VFIO event of spec vfio-migration §4.2 and §4.3, in the
// formats of the QEMU releases that had them, as the log and ftrace backends write them.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFtraceTextParser } from '../../parsers/ftrace-text.js';
import { parseQemuEvent } from '../../src/decode/qemu-events.js';
import { parseFile, samplesDir } from '../fixtures/text/harness.js';

const D = '0000:65:00.0';

describe('parseQemuEvent', () => {
  const cases: readonly [string, string, Record<string, bigint | string>][] = [
    // v1 era (QEMU 5.2 – 7.2)
    ['vfio_migration_probe  (0000:65:00.0) Region 9', 'vfio_migration_probe', { index: 9n }],
    ['vfio_migration_set_state  (0000:65:00.0) state 3', 'vfio_migration_set_state', { state: 3n }],
    ['vfio_migration_v1_set_state  (0000:65:00.0) state 2', 'vfio_migration_v1_set_state', { state: 2n }],
    ['vfio_vmstate_change  (0000:65:00.0) running 0 reason finish-migrate device state 2', 'vfio_vmstate_change', { running: 0n, reason: 'finish-migrate', deviceState: 2n }],
    ['vfio_migration_state_notifier  (0000:65:00.0) state cancelled', 'vfio_migration_state_notifier', { state: 'cancelled' }],
    ['vfio_save_setup  (0000:65:00.0)', 'vfio_save_setup', {}],
    ['vfio_save_cleanup  (0000:65:00.0)', 'vfio_save_cleanup', {}],
    ['vfio_save_buffer  (0000:65:00.0) Offset 0x1000 size 0x2000 pending 0x6000', 'vfio_save_buffer', { dataOffset: 0x1000n, dataSize: 0x2000n, pending: 0x6000n }],
    ['vfio_update_pending  (0000:65:00.0) pending 0x4000', 'vfio_update_pending', { pending: 0x4000n }],
    ['vfio_save_device_config_state  (0000:65:00.0)', 'vfio_save_device_config_state', {}],
    ['vfio_save_pending  (0000:65:00.0) precopy 0x6000 postcopy 0x0 compatible 0x0', 'vfio_save_pending', { precopy: 0x6000n, postcopy: 0n, compatible: 0n }],
    ['vfio_save_iterate  (0000:65:00.0) data_size 8192', 'vfio_save_iterate', { dataSize: 8192n }],
    ['vfio_save_complete_precopy  (0000:65:00.0)', 'vfio_save_complete_precopy', {}],
    ['vfio_load_device_config_state  (0000:65:00.0)', 'vfio_load_device_config_state', {}],
    ['vfio_load_state  (0000:65:00.0) data 0xffffffffef100003', 'vfio_load_state', { data: 0xffffffffef100003n }],
    ['vfio_load_state_device_data  (0000:65:00.0) Offset 0x1000 size 0x2000', 'vfio_load_state_device_data', { dataOffset: 0x1000n, dataSize: 0x2000n }],
    ['vfio_load_cleanup  (0000:65:00.0)', 'vfio_load_cleanup', {}],
    // v2: QEMU 8.0
    ['vfio_migration_probe  (0000:65:00.0)', 'vfio_migration_probe', {}],
    ['vfio_migration_set_state  (0000:65:00.0) state STOP_COPY', 'vfio_migration_set_state', { state: 'STOP_COPY' }],
    ['vfio_migration_set_state  (0000:65:00.0) state UNKNOWN STATE', 'vfio_migration_set_state', { state: 'UNKNOWN STATE' }],
    ['vfio_vmstate_change  (0000:65:00.0) running 1 reason running device state RUNNING', 'vfio_vmstate_change', { running: 1n, reason: 'running', deviceState: 'RUNNING' }],
    ['vfio_save_setup  (0000:65:00.0) data buffer size 0x100000', 'vfio_save_setup', { dataBufferSize: 0x100000n }],
    ['vfio_save_block  (0000:65:00.0) data_size 1048576', 'vfio_save_block', { dataSize: 1048576n }],
    ['vfio_save_complete_precopy  (0000:65:00.0) ret 0', 'vfio_save_complete_precopy', { ret: 0n }],
    ['vfio_state_pending_exact  (0000:65:00.0) precopy 0x0 postcopy 0x0 stopcopy size 0x1000', 'vfio_state_pending_exact', { precopy: 0n, postcopy: 0n, stopcopySize: 0x1000n }],
    ['vfio_load_state_device_data  (0000:65:00.0) size 0x2000 ret 0', 'vfio_load_state_device_data', { dataSize: 0x2000n, ret: 0n }],
    ['vfio_load_state_device_data  (0000:65:00.0) size 0x2000 ret -22', 'vfio_load_state_device_data', { dataSize: 0x2000n, ret: -22n }],
    // 8.1 era: pre-copy and P2P
    ['vfio_save_iterate  (0000:65:00.0) precopy initial size 0x1000 precopy dirty size 0x2000', 'vfio_save_iterate', { precopyInitialSize: 0x1000n, precopyDirtySize: 0x2000n }],
    [
      'vfio_state_pending_estimate  (0000:65:00.0) precopy 0x3000 postcopy 0x0 precopy initial size 0x1000 precopy dirty size 0x2000',
      'vfio_state_pending_estimate',
      { precopy: 0x3000n, postcopy: 0n, precopyInitialSize: 0x1000n, precopyDirtySize: 0x2000n },
    ],
    [
      'vfio_state_pending_exact  (0000:65:00.0) precopy 0x3000 postcopy 0x0 stopcopy size 0x8000 precopy initial size 0x1000 precopy dirty size 0x2000',
      'vfio_state_pending_exact',
      { precopy: 0x3000n, postcopy: 0n, stopcopySize: 0x8000n, precopyInitialSize: 0x1000n, precopyDirtySize: 0x2000n },
    ],
    ['vfio_vmstate_change_prepare  (0000:65:00.0) running 0 reason finish-migrate device state PRE_COPY_P2P', 'vfio_vmstate_change_prepare', { running: 0n, reason: 'finish-migrate', deviceState: 'PRE_COPY_P2P' }],
    // ~9.x: decimal sizes, realize, split set-state tracing, numeric notifier state
    ['vfio_migration_realize  (0000:65:00.0)', 'vfio_migration_realize', {}],
    ['vfio_migration_state_notifier  (0000:65:00.0) state 2', 'vfio_migration_state_notifier', { state: 2n }],
    ['vfio_load_state_device_data  (0000:65:00.0) size 8192 ret 0', 'vfio_load_state_device_data', { dataSize: 8192n, ret: 0n }],
    ['vfio_save_iterate  (0000:65:00.0) precopy initial size 4096 precopy dirty size 0', 'vfio_save_iterate', { precopyInitialSize: 4096n, precopyDirtySize: 0n }],
    ['vfio_migration_set_device_state  (0000:65:00.0) state RUNNING_P2P', 'vfio_migration_set_device_state', { state: 'RUNNING_P2P' }],
    ['vfio_migration_set_state  (0000:65:00.0) new state STOP_COPY, recover state ERROR', 'vfio_migration_set_state', { newState: 'STOP_COPY', recoverState: 'ERROR' }],
    ['vfio_save_iterate  (0000:65:00.0)', 'vfio_save_iterate', {}],
  ];
  for (const [text, event, args] of cases) {
    it(text, () => {
      expect(parseQemuEvent(text)).toEqual({ event, device: D, args });
    });
  }

  it('discovery events: the %0x8 typo and its fix, region setup', () => {
    expect(parseQemuEvent('vfio_get_dev_region 0000:65:00.0 index 9, 00000003/18')).toEqual({ event: 'vfio_get_dev_region', device: D, args: { index: 9n, type: 3n, subtype: 1n } });
    expect(parseQemuEvent('vfio_get_dev_region 0000:65:00.0 index 9, 00000003/00000001')).toEqual({ event: 'vfio_get_dev_region', device: D, args: { index: 9n, type: 3n, subtype: 1n } });
    expect(parseQemuEvent('vfio_region_setup Device 0000:65:00.0, region 9 "migration", flags: 0xb, offset: 0x90000000000, size: 0x1000')).toEqual({
      event: 'vfio_region_setup',
      device: D,
      args: { index: 9n, name: 'migration', flags: 0xbn, offset: 0x90000000000n, size: 0x1000n },
    });
  });

  it('container-level events have no device', () => {
    expect(parseQemuEvent('vfio_get_dirty_bitmap container fd=7, iova=0x0 size= 0x80000000 bitmap_size=0x10000 start=0x0')).toEqual({
      event: 'vfio_get_dirty_bitmap',
      device: undefined,
      args: { containerFd: 7n, iova: 0n, size: 0x80000000n, bitmapSize: 0x10000n, start: 0n },
    });
    expect(parseQemuEvent('vfio_get_dirty_bitmap container fd=7, iova=0x0 size= 0x80000000 bitmap_size=0x10000 start=0x0 dirty_pages=12')?.args['dirtyPages']).toBe(12n);
    expect(parseQemuEvent('vfio_iommu_map_dirty_notify iommu dirty @ 0x100000 - 0x1fffff')).toEqual({ event: 'vfio_iommu_map_dirty_notify', device: undefined, args: { start: 0x100000n, end: 0x1fffffn } });
  });

  it('newer development-tree events (unverified formats) are read generically', () => {
    const ev = parseQemuEvent('vfio_state_pending  (0000:65:00.0) stopcopy size 0x1000 precopy initial size 0 precopy dirty size 0x2000 request switchover ack 1');
    expect(ev).toEqual({
      event: 'vfio_state_pending',
      device: D,
      args: { stopcopySize: 0x1000n, precopyInitialSize: 0n, precopyDirtySize: 0x2000n, requestSwitchoverAck: 1n },
    });
    expect(parseQemuEvent('vfio_query_stop_copy_size  (0000:65:00.0) size 4096 ret 0')?.args).toEqual({ size: 4096n, ret: 0n });
  });

  it('a single space after the name (whitespace-collapsed logs) is accepted', () => {
    expect(parseQemuEvent('vfio_migration_set_state (0000:65:00.0) state 3')?.args).toEqual({ state: 3n });
  });

  it('rejects non-vfio text and known events in no known format', () => {
    expect(parseQemuEvent('memory_region_ops_read cpu 0 mr 0x562fdfbb3820 addr 0x3cc value 0x67 size 1')).toBeUndefined();
    expect(parseQemuEvent('hello')).toBeUndefined();
    expect(parseQemuEvent('vfio_save_buffer  (0000:65:00.0) Offset 0x1000 size')).toBeUndefined(); // truncated
    expect(parseQemuEvent('vfio_update_pending  (0000:65:00.0) pending 0xzz')).toBeUndefined();
    expect(parseQemuEvent('vfio_migration_probe  () Region 9')).toBeUndefined();
  });
});

const S = samplesDir();
if (S === undefined) console.warn('test/fixtures/samples (or $MIGSCOPE_SAMPLES) not found: sample test skipped');

describe.skipIf(S === undefined)('QEMU events in the samples', () => {
  it("every marker the workload wrote parses, naming the device", () => {
    const { records } = parseFile(join(S ?? '', 'ftrace/ftrace-trace-local.txt'), (f, s) => createFtraceTextParser(f, s));
    const markers = records.flatMap((r) => (r.kind === 'marker' ? [r.text] : []));
    expect(markers).toHaveLength(23);
    for (const m of markers) expect(parseQemuEvent(m)?.device, m).toBe(D);
    const states = markers.map(parseQemuEvent).flatMap((e) => (e?.event === 'vfio_migration_set_state' ? [e.args] : []));
    expect(states).toEqual([{ state: 3n }, { state: 2n }, { state: 2n }, { state: 0n }, { newState: 'STOP_COPY', recoverState: 'ERROR', ret: -25n, recoverRet: -25n }]);
  });
});
