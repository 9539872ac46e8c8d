// The `state` label of the device state set (metric-names.ts deviceState): a bounded set of
// names, whatever the trace holds.

import type { Protocol } from '../track/types.js';
import { v1StateName } from '../protocol/v1.js';
import { V2_STATES } from '../protocol/v2.js';
import { UNKNOWN_STATE } from './metric-names.js';

/**
 * v1: the name of device_state's low three bits (spec §2.2; reserved bits 3-31 do not change
 * the state the device is in). v2: the enum vfio_device_mig_state name (§5.3), INVALID for a
 * value outside it (v2StateName would give INVALID_<n>, one new label per corrupt value).
 * Unknown raw or protocol: UNKNOWN.
 */
export function stateLabel(protocol: Protocol, raw: number | undefined): string {
  if (raw === undefined) return UNKNOWN_STATE;
  if (protocol === 'v1') return v1StateName(raw);
  if (protocol === 'v2') return V2_STATES[raw] ?? 'INVALID';
  return UNKNOWN_STATE;
}
