// src/decode/qemu-events.ts QEMU_VFIO_EVENTS: every event's forms name the release they
// come from; the 10.0 multifd and 11.1-cycle events are read; QMP VFIO_MIGRATION becomes a
// device op (src/decode/qmp-vfio.ts).

import { describe, expect, it } from 'vitest';
import { parseQemuEvent, QEMU_VFIO_EVENTS } from '../../src/decode/qemu-events.js';
import { QEMU_MIGRATION_EVENTS, parseMigrationEvent } from '../../src/decode/qemu-migration-events.js';
import { qapiVfioState, qmpVfioMigration } from '../../src/decode/qmp-vfio.js';
import { createDecoder } from '../../src/decode/decoder.js';
import type { ProtocolOp } from '../../src/decode/ops.js';
import type { QmpRecord } from '../../src/record/types.js';

const D = '0000:65:00.0';

describe('the QEMU event table', () => {
  it('every form names its release; generic forms list their arguments', () => {
    for (const [name, forms] of Object.entries(QEMU_VFIO_EVENTS)) {
      expect(forms.length, name).toBeGreaterThan(0);
      for (const f of forms) {
        expect(f.release, name).not.toBe('');
        if (f.format === 'generic') expect(f.args?.[0], name).toBe('name');
      }
    }
    for (const [name, forms] of Object.entries(QEMU_MIGRATION_EVENTS)) expect(forms.every((f) => f.release !== ''), name).toBe(true);
  });

  const cases: readonly [string, string, Record<string, bigint | string>][] = [
    // 10.0 multifd device-state transfer
    ['vfio_save_complete_precopy_thread_start  (0000:65:00.0) idstr 0000:00:05.0/vfio instance 0', 'vfio_save_complete_precopy_thread_start', { idstr: '0000:00:05.0/vfio', instance: 0n }],
    ['vfio_save_complete_precopy_thread_end  (0000:65:00.0) ret 0', 'vfio_save_complete_precopy_thread_end', { ret: 0n }],
    ['vfio_load_bufs_thread_start  (0000:65:00.0)', 'vfio_load_bufs_thread_start', {}],
    ['vfio_load_state_device_buffer_incoming  (0000:65:00.0) idx 3', 'vfio_load_state_device_buffer_incoming', { idx: 3n }],
    ['vfio_load_state_device_buffer_starved  (0000:65:00.0) idx 4', 'vfio_load_state_device_buffer_starved', { idx: 4n }],
    ['vfio_load_state_device_buffer_load_start  (0000:65:00.0) idx 4', 'vfio_load_state_device_buffer_load_start', { idx: 4n }],
    ['vfio_load_state_device_buffer_load_end  (0000:65:00.0) idx 4', 'vfio_load_state_device_buffer_load_end', { idx: 4n }],
    ['vfio_load_device_config_state_start  (0000:65:00.0)', 'vfio_load_device_config_state_start', {}],
    // 11.1 cycle, read generically (format strings unverified)
    ['vfio_query_stop_copy_size  (0000:65:00.0) size 107374182400 ret -95', 'vfio_query_stop_copy_size', { size: 107374182400n, ret: -95n }],
    ['vfio_query_precopy_size  (0000:65:00.0) init 4096 dirty 0 reinit 1 ret 0', 'vfio_query_precopy_size', { init: 4096n, dirty: 0n, reinit: 1n, ret: 0n }],
    ['vfio_migration_init  (0000:65:00.0) mig_flags 0x7 precopy_info_v2_used 1 dirty_pages_supported 1', 'vfio_migration_init', { migFlags: 7n, precopyInfoV2Used: 1n, dirtyPagesSupported: 1n }],
    [
      'vfio_state_pending  (0000:65:00.0) stopcopy_size 8192 precopy_init_size 4096 precopy_dirty_size 0 request_switchover_ack 1 exact 1 final 0',
      'vfio_state_pending',
      { stopcopySize: 8192n, precopyInitSize: 4096n, precopyDirtySize: 0n, requestSwitchoverAck: 1n, exact: 1n, final: 0n },
    ],
    // the no-container-fd dirty bitmap form of the current upstream tree
    ['vfio_get_dirty_bitmap iova=0x1000 size= 0x2000 bitmap_size=0x8 start=0x0 dirty_pages=3', 'vfio_get_dirty_bitmap', { iova: 0x1000n, size: 0x2000n, bitmapSize: 8n, start: 0n, dirtyPages: 3n }],
  ];
  for (const [text, event, args] of cases) {
    it(event, () => {
      const ev = parseQemuEvent(text);
      expect(ev).toEqual({ event, device: event === 'vfio_get_dirty_bitmap' ? undefined : D, args });
    });
  }

  it('a known multifd event in no known form is not guessed', () => {
    expect(parseQemuEvent('vfio_load_state_device_buffer_starved  (0000:65:00.0) idx x')).toBeUndefined();
  });

  it('migration-core events: status, VM stop, error, side', () => {
    expect(parseMigrationEvent('migrate_set_state new state active')?.meaning).toEqual({ kind: 'status', status: 'active' });
    expect(parseMigrationEvent('migration_completion_vm_stop ret 0')?.meaning).toEqual({ kind: 'vm-stop', ret: 0 });
    expect(parseMigrationEvent('migrate_fd_error error=Connection reset by peer')?.meaning).toEqual({ kind: 'error', desc: 'Connection reset by peer' });
    expect(parseMigrationEvent('savevm_state_setup ')?.meaning).toEqual({ kind: 'side', side: 'source' });
    expect(parseMigrationEvent('qemu_loadvm_state_section 4')?.meaning).toEqual({ kind: 'side', side: 'destination' });
    expect(parseMigrationEvent('migrate_set_state new state Bogus!')).toBeUndefined();
    expect(parseMigrationEvent('memory_region_ops_read cpu 0')).toBeUndefined();
  });
});

describe('QMP VFIO_MIGRATION', () => {
  const rec = (data: unknown): QmpRecord => ({
    kind: 'qmp',
    dir: 'event',
    tsNs: 5n,
    pid: undefined,
    tid: undefined,
    comm: undefined,
    cpu: undefined,
    src: { file: 'q', line: 1 },
    monitor: undefined,
    message: { event: 'VFIO_MIGRATION', data },
  });

  it('QAPI state names map to the kernel\'s; anything else is not a state', () => {
    expect(qapiVfioState('stop-copy')).toBe('STOP_COPY');
    expect(qapiVfioState('pre-copy-p2p')).toBe('PRE_COPY_P2P');
    expect(qapiVfioState('prepare')).toBeUndefined();
    expect(qapiVfioState(3)).toBeUndefined();
  });

  it('device-id names the device (qom-path when there is no id); bad data is ignored', () => {
    expect(qmpVfioMigration(rec({ 'device-id': 'hostdev0', 'qom-path': '/machine/peripheral/hostdev0', 'device-state': 'running' }))).toEqual({
      event: 'VFIO_MIGRATION',
      device: 'hostdev0',
      args: { state: 'RUNNING', qomPath: '/machine/peripheral/hostdev0' },
    });
    expect(qmpVfioMigration(rec({ 'device-id': '', 'qom-path': '/machine/peripheral-anon/device[0]', 'device-state': 'stop' }))?.device).toBe('/machine/peripheral-anon/device[0]');
    expect(qmpVfioMigration(rec({ 'device-id': 'x', 'device-state': 'sideways' }))).toBeUndefined();
    expect(qmpVfioMigration(rec('not an object'))).toBeUndefined();
  });

  it('the decoder turns it into a qemu op named from QMP', () => {
    const ops: ProtocolOp[] = [];
    const dec = createDecoder({ onOp: (o) => ops.push(o) });
    dec.record(rec({ 'device-id': 'hostdev0', 'qom-path': '/machine/peripheral/hostdev0', 'device-state': 'stop-copy' }));
    dec.end();
    expect(ops).toEqual([expect.objectContaining({ op: 'qemu', event: 'VFIO_MIGRATION', tsNs: 5n, device: expect.objectContaining({ id: 'hostdev0', naming: 'qmp' }), args: expect.objectContaining({ state: 'STOP_COPY' }) })]);
  });
});
