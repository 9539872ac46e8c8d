// V2-STREAM-BYTES (spec §6.2; §5.4 [L518]): with both ends traced, the bytes written to
// the destination's resuming data_fd must equal the bytes read from the source's saving
// data_fd (segment boundaries may differ: v2 does not keep them).
//
// Global: the two ends are devices with the same name in different processes or files
// (the pipeline suffixes a repeated name with "@<file>"; that suffix is ignored here,
// device names never contain "@"). A save counts when its stream was read to the end
// (read() = 0) and every read's result was seen; a resume when it ended by a successful
// SET (the driver accepted the data) and every write's result was seen. Pairs are
// compared when the second of them is known complete (its device closed, or the trace ended).

import type { GlobalRuleDef } from '../rule.js';
import type { DeviceContext } from '../../track/device-view.js';
import type { V2Session } from '../../track/v2-context.js';
import { baseName } from '../../track/facts.js';

interface Done {
  readonly ctx: DeviceContext;
  readonly s: V2Session;
  /** Bytes of the whole stream: for a save, its pre-copy session's reads too (see streamOf). */
  readonly bytes: bigint;
}

/**
 * A save's stream is every read since the migration's first data_fd: the SET that enters
 * STOP_COPY from PRE_COPY_P2P hands out a new fd for the same stream (spec §5.4), so the
 * pre-copy session ends where the stop-copy one starts, and both count. Sessions chain when
 * the op that ended one started the next; a gap in the chain (unseen results) makes it inexact.
 */
function streamOf(sessions: readonly V2Session[], i: number): { bytes: bigint; exact: boolean; first: V2Session } | undefined {
  let cur = sessions[i];
  if (cur === undefined) return undefined;
  let bytes = cur.readBytes;
  let exact = !cur.inexact;
  for (let j = i - 1; j >= 0; j--) {
    const prev = sessions[j];
    if (prev === undefined || prev.kind !== 'save' || prev.ended === undefined || prev.ended.src !== cur.start.src) break;
    bytes += prev.readBytes;
    exact = exact && !prev.inexact && prev.dataSeen;
    cur = prev;
  }
  return { bytes, exact, first: cur };
}

export const v2StreamBytes: GlobalRuleDef = {
  scope: 'global',
  id: 'V2-STREAM-BYTES',
  title: 'Destination received a different number of bytes than the source sent',
  severities: ['warning'],
  blames: ['vmm'],
  specRef: 'spec §6.2 V2-STREAM-BYTES; §5.4 [L518]',
  description:
    'When both ends of a migration are traced (v2 devices with the same name in two processes or files), the total bytes written to the destination\'s resuming data_fd must equal the total read from the source\'s saving data_fd: the stream is opaque and must be delivered whole, though the chunk boundaries may differ. A difference is a VMM warning. Needs the data fds\' read()/write() results on both ends; devices named only by pid:fd are not paired.',
  uncertainWhen: 'Events were lost during either session.',
  create(env) {
    const saves = new Map<string, Done>();
    const resumes = new Map<string, Done>();
    const nameOf = (ctx: DeviceContext): string => baseName(ctx.device.id);
    const compare = (src: Done, dst: Done): void => {
      if (src.bytes === dst.bytes) return;
      env.report(dst.ctx, {
        severity: 'warning',
        blame: 'vmm',
        tsNs: undefined,
        message: `The source (${src.ctx.device.id}${src.ctx.device.pid === undefined ? '' : `, pid ${src.ctx.device.pid}`}) read ${src.bytes} bytes from its saving data_fd${src.bytes !== src.s.readBytes ? `s (pre-copy included)` : ''}; the destination (${dst.ctx.device.id}${dst.ctx.device.pid === undefined ? '' : `, pid ${dst.ctx.device.pid}`}) wrote ${dst.bytes} bytes to its resuming data_fd. The whole stream must be delivered.`,
        evidence: [src.s.start, dst.s.start],
        uncertain: src.ctx.gaps.count !== src.s.gapSerialAtStart || dst.ctx.gaps.count !== dst.s.gapSerialAtStart,
      });
    };
    return {
      processEvicted(f) {
        // The process's ends were put here at their devices' closes (before its exit), and
        // compared then if the other end was done. One still waiting can be paired only
        // while a device of its name is open in another process (a local migration's
        // destination opens its devices before the stream starts): else drop it.
        for (const d of f.devices) {
          const n = nameOf(d);
          if (f.namesInUse.has(n)) continue;
          saves.delete(n);
          resumes.delete(n);
        }
      },
      liveEntries: () => saves.size + resumes.size,
      finish(_reason, _at, ctx) {
        if (!ctx.v2.isV2 || (ctx.device.naming === 'pid-fd' || ctx.device.naming === 'path')) return;
        const name = nameOf(ctx);
        ctx.v2.sessions.forEach((s, i) => {
          if (s.serial === undefined || s.inexact || !s.dataSeen) return;
          if (s.kind === 'save' && s.eof) {
            const stream = streamOf(ctx.v2.sessions, i);
            if (stream === undefined || !stream.exact) return;
            const done: Done = { ctx, s: stream.first, bytes: stream.bytes };
            const other = resumes.get(name);
            if (other !== undefined && other.ctx.key !== ctx.key) {
              resumes.delete(name);
              compare(done, other);
            } else saves.set(name, done);
          } else if (s.kind === 'resume' && s.endedBySet && !s.failed) {
            const done: Done = { ctx, s, bytes: s.writeBytes };
            const other = saves.get(name);
            if (other !== undefined && other.ctx.key !== ctx.key) {
              saves.delete(name);
              compare(other, done);
            } else resumes.set(name, done);
          }
        });
      },
    };
  },
};
