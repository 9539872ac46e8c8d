// The kernel's v2 state machine: vfio_mig_get_next_state() in drivers/vfio/vfio_main.c
// (spec/vfio-migration.md §5.5). A SET of `requested` from `cur` walks single arcs, each
// chosen by this function, until it arrives; the user sees only the end (or, on failure,
// any state on the way, or ERROR).

import { MIG_FLAG_P2P, MIG_FLAG_PRE_COPY, MIG_FLAG_STOP_COPY, V2_STATES, type V2StateName } from './v2.js';

const E = 'ERROR';
const S = 'STOP';
const R = 'RUNNING';
const SC = 'STOP_COPY';
const RS = 'RESUMING';
const RP = 'RUNNING_P2P';
const PC = 'PRE_COPY';
const PP = 'PRE_COPY_P2P';

/**
 * vfio_from_fsm_table[cur][requested] = next arc's target. Indexed by the enum values
 * (ERROR 0, STOP 1, RUNNING 2, STOP_COPY 3, RESUMING 4, RUNNING_P2P 5, PRE_COPY 6,
 * PRE_COPY_P2P 7). Transcribed from the spec's raw table (columns reordered to the enum).
 */
const FSM: Readonly<Record<V2StateName, Readonly<Record<V2StateName, V2StateName>>>> = {
  STOP: { STOP: S, RUNNING: RP, STOP_COPY: SC, RESUMING: RS, RUNNING_P2P: RP, PRE_COPY: RP, PRE_COPY_P2P: RP, ERROR: E },
  RUNNING: { STOP: RP, RUNNING: R, STOP_COPY: RP, RESUMING: RP, RUNNING_P2P: RP, PRE_COPY: PC, PRE_COPY_P2P: RP, ERROR: E },
  STOP_COPY: { STOP: S, RUNNING: S, STOP_COPY: SC, RESUMING: S, RUNNING_P2P: S, PRE_COPY: E, PRE_COPY_P2P: E, ERROR: E },
  RESUMING: { STOP: S, RUNNING: S, STOP_COPY: S, RESUMING: RS, RUNNING_P2P: S, PRE_COPY: S, PRE_COPY_P2P: S, ERROR: E },
  RUNNING_P2P: { STOP: S, RUNNING: R, STOP_COPY: S, RESUMING: S, RUNNING_P2P: RP, PRE_COPY: R, PRE_COPY_P2P: PP, ERROR: E },
  PRE_COPY: { STOP: R, RUNNING: R, STOP_COPY: PP, RESUMING: R, RUNNING_P2P: R, PRE_COPY: PC, PRE_COPY_P2P: PP, ERROR: E },
  PRE_COPY_P2P: { STOP: RP, RUNNING: RP, STOP_COPY: SC, RESUMING: RP, RUNNING_P2P: RP, PRE_COPY: PC, PRE_COPY_P2P: PP, ERROR: E },
  ERROR: { STOP: E, RUNNING: E, STOP_COPY: E, RESUMING: E, RUNNING_P2P: E, PRE_COPY: E, PRE_COPY_P2P: E, ERROR: E },
};

/** vfio_mig_get_next_state's state_flags_table: the migration flags a state needs. ERROR needs ~0 (never supported). */
const NEEDS: Readonly<Record<V2StateName, number>> = {
  STOP: MIG_FLAG_STOP_COPY,
  RUNNING: MIG_FLAG_STOP_COPY,
  STOP_COPY: MIG_FLAG_STOP_COPY,
  RESUMING: MIG_FLAG_STOP_COPY,
  RUNNING_P2P: MIG_FLAG_STOP_COPY | MIG_FLAG_P2P,
  PRE_COPY: MIG_FLAG_STOP_COPY | MIG_FLAG_PRE_COPY,
  PRE_COPY_P2P: MIG_FLAG_STOP_COPY | MIG_FLAG_P2P | MIG_FLAG_PRE_COPY,
  ERROR: ~0,
};

/**
 * The kernel's test `(state_flags_table[s] & migration_flags) == state_flags_table[s]`.
 * ERROR needs ~0U: no real device has every bit, and a flags word that does (garbage, or
 * bits above those defined) must not make ERROR a state the walk may step through — the
 * kernel's loop ends at ERROR with -EINVAL either way. `flags` is the u64 flags word; only
 * its defined low bits are tested, so high bits cannot leak in through 32-bit arithmetic.
 */
export function v2Supported(state: V2StateName, flags: number): boolean {
  if (state === 'ERROR') return false;
  const low = Number(BigInt.asUintN(3, BigInt(Math.trunc(flags))));
  return (low & NEEDS[state]) === NEEDS[state];
}

export function v2StateFromRaw(raw: number): V2StateName | undefined {
  return raw >= 0 && raw < V2_STATES.length ? V2_STATES[raw] : undefined;
}

/**
 * What a SET of `requested` from `cur` does on a device with `flags`:
 * - path: the states stepped through, in order (empty when cur === requested);
 * - einval: rejected without a state change (unsupported or out-of-range request, or cur is ERROR/unsupported);
 * - blocked: STOP_COPY → PRE_COPY(_P2P) on a PRE_COPY device: EINVAL on fixed kernels, an
 *   endless loop holding the state mutex on kernels since 6.2 without the 2026 fix.
 */
export type V2Walk =
  | { readonly kind: 'path'; readonly states: readonly V2StateName[] }
  | { readonly kind: 'einval'; readonly why: string }
  | { readonly kind: 'blocked' };

export function v2Walk(cur: V2StateName, requested: number, flags: number): V2Walk {
  // The drivers' set_state loops run `while (new != cur)` around vfio_mig_get_next_state
  // (e.g. mlx5vf_pci_step_device_state_locked): a SET of the current state is a successful
  // no-op, whatever the flags. (The spec's V2-STATE-RANGE text reads otherwise; this follows
  // the kernel.)
  if (v2StateFromRaw(requested) === cur) return { kind: 'path', states: [] };
  if (!v2Supported(cur, flags)) return { kind: 'einval', why: `current state ${cur} is not supported by the device's flags (kernel WARN_ON)` };
  const req = v2StateFromRaw(requested);
  if (req === undefined) return { kind: 'einval', why: `requested state ${requested} is out of range` };
  if (!v2Supported(req, flags)) return { kind: 'einval', why: `requested state ${req} is not enabled by the device's flags` };
  const states: V2StateName[] = [];
  let at: V2StateName = cur;
  // Each iteration is one call of vfio_mig_get_next_state; bounded by the number of states.
  for (let guard = 0; at !== req && guard < 16; guard++) {
    let next = FSM[at][req];
    let skips = 0;
    while (!v2Supported(next, flags)) {
      if (next === 'ERROR') return { kind: 'blocked' }; // table[ERROR][*] is ERROR: the unfixed loop never ends
      next = FSM[next][req];
      if (++skips > 16) return { kind: 'blocked' };
    }
    states.push(next);
    at = next;
  }
  return { kind: 'path', states };
}

/** Arcs that start a data transfer session and return a data_fd (spec §5.3). */
export function v2ArcStartsSession(from: V2StateName, to: V2StateName): 'save' | 'resume' | undefined {
  if ((from === 'RUNNING' && to === 'PRE_COPY') || (from === 'RUNNING_P2P' && to === 'PRE_COPY_P2P') || (from === 'STOP' && to === 'STOP_COPY')) return 'save';
  if (from === 'STOP' && to === 'RESUMING') return 'resume';
  return undefined;
}

/** Arcs that end the data transfer session (spec §5.3). */
export function v2ArcEndsSession(from: V2StateName, to: V2StateName): boolean {
  return (
    (from === 'STOP_COPY' && to === 'STOP') ||
    (from === 'PRE_COPY' && to === 'RUNNING') ||
    (from === 'PRE_COPY_P2P' && to === 'RUNNING_P2P') ||
    (from === 'RESUMING' && to === 'STOP')
  );
}
