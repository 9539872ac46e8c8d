// Records through the decoder and the tracker, as the pipeline runs them: the devices at
// the end and every session in the order it ended (onSessionEnd).

import { createDecoder } from '../../src/decode/decoder.js';
import type { TraceRecord } from '../../src/record/types.js';
import { createTracker } from '../../src/track/tracker.js';
import type { DeviceTimeline, MigrationSession } from '../../src/track/types.js';

export function track(records: readonly TraceRecord[]): { devices: DeviceTimeline[]; ended: MigrationSession[] } {
  const ended: MigrationSession[] = [];
  const t = createTracker({ onSessionEnd: (_d, s) => ended.push(s) });
  const d = createDecoder({ onOp: (o) => t.op(o) });
  for (const r of records) d.record(r);
  d.end();
  t.end();
  return { devices: t.devices(), ended };
}
