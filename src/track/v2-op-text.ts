// Words for v2 ops in messages and evidence (spec §5 names), next to format.ts's v1 words.

import { isV2Op, type AnyDeviceOp, type V2FeatureCall, type V2Op } from '../decode/ops.js';
import { assertNever } from '../protocol/assert-never.js';
import { FEATURE_GET, FEATURE_MASK, FEATURE_PROBE, FEATURE_SET, MIG_FLAG_P2P, MIG_FLAG_PRE_COPY, MIG_FLAG_STOP_COPY } from '../protocol/v2.js';
import { v2Name } from './v2-model.js';
import { hex, opText, resultText } from './op-text.js';
import type { Evidence } from './evidence.js';

const FEATURE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'PCI_VF_TOKEN'],
  [1, 'MIGRATION'],
  [2, 'MIG_DEVICE_STATE'],
  [3, 'LOW_POWER_ENTRY'],
  [4, 'LOW_POWER_ENTRY_WITH_WAKEUP'],
  [5, 'LOW_POWER_EXIT'],
  [6, 'DMA_LOGGING_START'],
  [7, 'DMA_LOGGING_STOP'],
  [8, 'DMA_LOGGING_REPORT'],
  [9, 'MIG_DATA_SIZE'],
]);

/** e.g. "STOP_COPY (3)". */
export function v2StateText(raw: number): string {
  return `${v2Name(raw)} (${raw})`;
}

/** e.g. "STOP_COPY|P2P (0x3)". */
export function migFlagsText(flags: number): string {
  const names: string[] = [];
  if (flags & MIG_FLAG_STOP_COPY) names.push('STOP_COPY');
  if (flags & MIG_FLAG_P2P) names.push('P2P');
  if (flags & MIG_FLAG_PRE_COPY) names.push('PRE_COPY');
  const rest = flags & ~(MIG_FLAG_STOP_COPY | MIG_FLAG_P2P | MIG_FLAG_PRE_COPY);
  if (rest !== 0) names.push(hex(rest >>> 0));
  return `${names.length === 0 ? 'none' : names.join('|')} (${hex(flags >>> 0)})`;
}

export function callText(c: V2FeatureCall): string {
  if (c.flags === undefined || c.argsz === undefined) return 'VFIO_DEVICE_FEATURE (struct not seen)';
  const ops = [c.flags & FEATURE_GET ? 'GET' : '', c.flags & FEATURE_SET ? 'SET' : '', c.flags & FEATURE_PROBE ? 'PROBE' : ''].filter((x) => x !== '');
  const idx = c.flags & FEATURE_MASK;
  return `VFIO_DEVICE_FEATURE ${ops.join('|') || 'no op'} ${FEATURE_NAMES.get(idx) ?? `feature ${idx}`} (flags ${hex(c.flags >>> 0)}, argsz ${c.argsz})`;
}

function v2Only(o: V2Op): string {
  switch (o.op) {
    case 'v2-feature':
      return `${callText(o.call)}: ${resultText(o.result)}`;
    case 'v2-mig-flags':
      return `${callText(o.call)}${o.migFlags === undefined ? '' : ` → ${migFlagsText(o.migFlags)}${o.migFlagsRaw !== undefined && o.migFlagsRaw > 0xffffffffn ? ` (u64 0x${o.migFlagsRaw.toString(16)})` : ''}`}: ${resultText(o.result)}`;
    case 'v2-set-state':
      return `SET device_state = ${v2StateText(o.requested)}${o.dataFd === undefined ? '' : `, data_fd ${o.dataFd}`}: ${resultText(o.result)}`;
    case 'v2-get-state':
      return `GET device_state${o.state === undefined ? '' : ` → ${v2StateText(o.state)}`}${o.dataFd === undefined ? '' : `, data_fd ${o.dataFd}`}: ${resultText(o.result)}`;
    case 'v2-data-size':
      return `GET MIG_DATA_SIZE${o.stopCopyLength === undefined ? '' : ` → ${o.stopCopyLength}`}: ${resultText(o.result)}`;
    case 'v2-precopy-info':
      return `VFIO_MIG_GET_PRECOPY_INFO on data_fd ${o.dataFd}${o.initialBytes === undefined ? '' : ` → initial_bytes ${o.initialBytes}, dirty_bytes ${o.dirtyBytes ?? '?'}`}: ${resultText(o.result)}`;
    case 'v2-data':
      return `${o.write ? 'write' : 'read'} of ${o.size} bytes on data_fd ${o.dataFd}: ${resultText(o.result)}`;
    case 'v2-data-close':
      return `close(data_fd ${o.dataFd})`;
    case 'v2-device-access':
      return `${o.write ? 'pwrite' : 'pread'} of ${o.size} bytes at device fd offset ${hex(o.offset)} (region ${o.regionIndex}): ${resultText(o.result)}`;
    default:
      return assertNever(o);
  }
}

export function v2OpText(o: AnyDeviceOp): string {
  return isV2Op(o) ? v2Only(o) : opText(o);
}

export function v2Evidence(o: AnyDeviceOp, note?: string): Evidence {
  return { src: o.src, what: note === undefined ? v2OpText(o) : `${v2OpText(o)} (${note})` };
}
