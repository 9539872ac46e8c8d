// One colour per migration state, shared by every lane, legend and chart of the report.
// Same meaning, same colour across protocols: v1 SAVING (stop-and-copy, spec §2.2) and v2
// STOP_COPY (§5.3) share orange; v1 PRE_COPY (RUNNING|SAVING) and v2 PRE_COPY share blue.
// Hues are picked to stay apart for the common colour-vision deficiencies; the state name
// is always also given as text (legend, tables, tooltips), never by colour alone.

import type { SessionOutcome } from '../../track/types.js';

const STATE_COLORS: Readonly<Record<string, string>> = {
  RUNNING: '#2f9e44',
  RUNNING_P2P: '#12b886',
  STOP: '#868e96',
  PRE_COPY: '#1c7ed6',
  PRE_COPY_P2P: '#74c0fc',
  SAVING: '#f08c00',
  STOP_COPY: '#f08c00',
  RESUMING: '#7048e8',
  ERROR: '#e03131',
  UNKNOWN: '#dee2e6',
};

/** Reserved or out-of-range values (v1 INVALID_101/111, v2 INVALID_n). */
const INVALID_COLOR = '#c2255c';

export function stateColor(name: string): string {
  return STATE_COLORS[name] ?? (name.startsWith('INVALID') ? INVALID_COLOR : '#adb5bd');
}

/** States that must stay visible however far the timeline is zoomed out. */
export function isAlarmState(name: string): boolean {
  return name === 'ERROR' || name.startsWith('INVALID');
}

/** The states the legend always lists, in protocol order (v1 §2.2, then v2-only §5.3). */
export const LEGEND_STATES: readonly string[] = [
  'RUNNING',
  'PRE_COPY',
  'SAVING',
  'STOP',
  'RESUMING',
  'ERROR',
  'STOP_COPY',
  'RUNNING_P2P',
  'PRE_COPY_P2P',
  'UNKNOWN',
];

export const OUTCOME_ORDER: readonly SessionOutcome[] = ['completed', 'failed', 'cancelled', 'incomplete', 'unknown'];

export const OUTCOME_COLORS: Readonly<Record<SessionOutcome, string>> = {
  completed: '#2f9e44',
  failed: '#e03131',
  cancelled: '#f59f00',
  incomplete: '#adb5bd',
  unknown: '#dee2e6',
};
