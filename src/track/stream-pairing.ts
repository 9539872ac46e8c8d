// The two ends of one migration traced in two inputs (source and destination hosts, or two
// processes): what the destination shows can settle what the source's trace leaves open.
// A v2 save whose end of stream (read() = 0) the source's trace never showed, while the
// destination's device of the same name accepted exactly the bytes the source read, is
// not a failed save: the stream arrived whole. It is reported completed, and its reason
// says exactly what was and was not seen (issue 16; spec §5.4).

import type { Source } from '../record/types.js';
import type { DeviceTimeline, MigrationSession } from './types.js';
import { mapList } from './spilled-list.js';

/** Device names in two inputs carry "@<file>" on the second (src/cli/pipeline.ts); "@pid…" for two processes. */
function nameOf(id: string): string {
  const at = id.indexOf('@');
  return at > 0 ? id.slice(0, at) : id;
}

/** Bytes of a save's stream: its own reads and those of the pre-copy session it continues (same end/start time). */
function streamBytes(sessions: readonly MigrationSession[], i: number): number {
  let s = sessions[i];
  if (s === undefined) return 0;
  let bytes = s.bytes;
  for (let j = i - 1; j >= 0; j--) {
    const prev = sessions[j];
    if (prev === undefined || prev.kind !== 'save' || prev.endNs === undefined || prev.endNs !== s.startNs) break;
    bytes += prev.bytes;
    s = prev;
  }
  return bytes;
}

export interface SettledSave {
  readonly device: string;
  readonly startNs: bigint | undefined;
  readonly endNs: bigint | undefined;
  /** The destination session that accepted the stream. */
  readonly by: { readonly device: string; readonly src: Source | undefined };
}

/**
 * Returns the devices with such saves settled (new objects; the rest unchanged) and the
 * list of what was settled, so that findings about those saves can say so.
 */
export function settleByDestination(devices: readonly DeviceTimeline[]): { devices: DeviceTimeline[]; settled: SettledSave[] } {
  const settled: SettledSave[] = [];
  const resumes = devices.flatMap((d) =>
    d.protocol !== 'v2' || (d.naming === 'pid-fd' || d.naming === 'path') ? [] : d.sessions.filter((s) => s.kind === 'resume' && s.outcome === 'completed').map((s) => ({ d, s })),
  );
  const out = devices.map((d) => {
    if (d.protocol !== 'v2' || (d.naming === 'pid-fd' || d.naming === 'path')) return d;
    let changed = false;
    // mapList: a spilled list is rewritten one session at a time, never held whole (spilled-list.ts).
    const sessions = mapList(d.sessions, (s, i): MigrationSession => {
      if (s.kind !== 'save' || s.outcome !== 'failed' || s.bytes === 0 || s.reason === undefined || !s.reason.includes('end of the stream was never confirmed')) return s;
      const bytes = streamBytes(d.sessions, i);
      const dst = resumes.find((r) => r.d !== d && nameOf(r.d.id) === nameOf(d.id) && (r.d.pid !== d.pid || r.d.id !== d.id) && r.s.bytes === bytes);
      if (dst === undefined) return s;
      changed = true;
      settled.push({ device: d.id, startNs: s.startNs, endNs: s.endNs, by: { device: dst.d.id, src: dst.s.src } });
      return {
        ...s,
        outcome: 'completed' as const,
        reason: `the destination (${dst.d.id}${dst.d.pid !== undefined ? `, pid ${dst.d.pid}` : ''}) accepted the whole stream (${bytes} bytes); the end of the stream (read() = 0) was never seen on the source`,
        ...(dst.s.src !== undefined ? { reasonSrc: dst.s.src } : {}),
      };
    });
    return changed ? { ...d, sessions } : d;
  });
  return { devices: out, settled };
}
