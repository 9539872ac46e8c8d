// The terminal lines of a save's convergence account (track/convergence.ts): the verdict
// and its curve, the stop-copy estimate against what moved, predicted against actual time,
// and the downtime split against the limit. Figures the trace cannot give say so.

import type { SessionConvergence } from '../track/types.js';
import { formatBytes, formatDuration } from './terminal-format.js';

function rate(bps: number): string {
  return `${bps < 0 ? '-' : ''}${formatBytes(Math.abs(Math.round(bps)))}/s`;
}

export function convergenceLines(c: SessionConvergence): string[] {
  const out: string[] = [];
  const curve = c.iterations.length === 0 ? 'no remaining-bytes samples in pre-copy' : `${c.iterations.length}${c.iterationsDropped > 0 ? ` (+${c.iterationsDropped} not kept)` : ''} samples from ${c.curveFrom}`;
  const rates = [c.shrinkRateBytesPerS !== undefined ? `shrink ${rate(c.shrinkRateBytesPerS)}` : '', c.dirtyRateBytesPerS !== undefined ? `dirtied ${rate(c.dirtyRateBytesPerS)}` : ''].filter((x) => x !== '').join(', ');
  out.push(`    convergence: ${c.verdict} (${c.verdictReason}); ${curve}${rates !== '' ? `; ${rates}` : ''}${c.uncertain ? ' [uncertain: lost events, a partial session or dropped samples]' : ''}`);
  const est = c.stopCopyEstimateBytes !== undefined ? `estimate ${formatBytes(Number(c.stopCopyEstimateBytes))} (${c.estimateFrom ?? '?'})` : 'no estimate at switchover';
  const moved = c.stopCopyActualBytes !== undefined ? `moved ${formatBytes(c.stopCopyActualBytes)}` : 'data moved not shown';
  const tp = c.throughputBytesPerS !== undefined ? `; throughput ${rate(c.throughputBytesPerS)} (${c.throughputFrom ?? '?'})` : '';
  const times = `predicted ${c.predictedStopCopyNs !== undefined ? formatDuration(c.predictedStopCopyNs) : 'unknown'}, actual ${c.actualStopCopyNs !== undefined ? formatDuration(c.actualStopCopyNs) : 'unknown'}`;
  out.push(`    stop-copy: ${est} → ${moved}${tp}; ${times}`);
  const d = c.downtime;
  const parts = [
    `this device's stop-copy ${d.deviceStopCopyNs !== undefined ? formatDuration(d.deviceStopCopyNs) : 'unknown'}`,
    `not running ${formatDuration(d.notRunningNs)}`,
    ...(d.otherDevicesNs !== undefined ? [`longest other device ${formatDuration(d.otherDevicesNs)}`] : []),
    ...(d.migrationDowntimeMs !== undefined ? [`QEMU downtime ${d.migrationDowntimeMs} ms`] : []),
    ...(d.dominantDevice !== undefined ? [`dominated by ${d.dominantDevice}`] : []),
  ];
  const limit = c.downtimeLimitMs !== undefined ? `limit ${c.downtimeLimitMs} ms (${c.downtimeLimitFrom === 'flag' ? '--downtime-limit' : 'migrate-set-parameters'}), fits ${c.fits}` : 'no downtime limit known (--downtime-limit), fits unknown';
  out.push(`    downtime: ${parts.join(', ')}; ${limit}`);
  if (c.stopCopySizeUnknown.length > 0) out.push(`    QEMU could not get the stop-copy size (${c.stopCopySizeUnknown.length} record${c.stopCopySizeUnknown.length === 1 ? '' : 's'}: MIG_DATA_SIZE failed or the 100 GiB sentinel)`);
  return out;
}
