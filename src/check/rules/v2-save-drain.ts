// V2-SAVE-DRAIN (spec §6.2; §5.4 [L518], §5.6 [QV2]): leaving STOP_COPY before a read() on
// the session's data_fd returned 0 (end of stream) is an incomplete save, unless the
// migration is being abandoned: the VMM resumes the device (a RUNNING state requested), a
// SET failed in the session, or QEMU's migration notifier said failed/cancelled.

import type { V2Op } from '../../decode/ops.js';
import type { DeviceRuleDef } from '../rule.js';
import { v2Evidence, v2StateText } from './v2-format.js';
import { V2_PRE_COPY, V2_PRE_COPY_P2P, V2_RUNNING, V2_RUNNING_P2P, V2_STOP_COPY } from '../../track/v2-model.js';

export const v2SaveDrain: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-SAVE-DRAIN',
  title: 'STOP_COPY left before the end of the stream',
  severities: ['error'],
  blames: ['vmm'],
  specRef: 'spec §6.2 V2-SAVE-DRAIN; §5.4 [L518]; §5.6 [QV2]',
  description:
    'In STOP_COPY the device\'s remaining state is read from the data_fd until read() returns 0 (end of stream). A successful SET out of STOP_COPY (e.g. to STOP) before that is an incomplete save, a VMM error — unless the migration is being abandoned (the VMM takes the device back to a running state, a SET failed during the session, or QEMU\'s migration notifier reported failed/cancelled). Needs the data fd\'s read() calls in the trace (bpftrace capture with read/write); silent when no data traffic of the session was traced.',
  uncertainWhen: 'Events were lost during the session: the end-of-stream read may have been among them.',
  create(env) {
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op !== 'v2-set-state' || o.result.ok !== true) return;
        const st = ctx.v2.state;
        const s = ctx.v2.session;
        if (st?.raw !== V2_STOP_COPY || s === undefined || s.kind !== 'save' || s.serial === undefined || !s.dataSeen || s.eof) return;
        const r = o.requested;
        if (r === V2_STOP_COPY || r === V2_RUNNING || r === V2_RUNNING_P2P || r === V2_PRE_COPY || r === V2_PRE_COPY_P2P) return;
        if (s.failed || ctx.v2.abandoned !== undefined) return;
        env.report(ctx, {
          severity: 'error',
          blame: 'vmm',
          tsNs: o.tsNs,
          message: `The VMM left STOP_COPY for ${v2StateText(r)} before read() on data_fd ${s.dataFd ?? '?'} returned 0 (end of stream): ${s.readBytes} bytes were read, the rest of the device state was not.`,
          evidence: [s.start, v2Evidence(o)],
          uncertain: ctx.gaps.count !== s.gapSerialAtStart,
        });
      },
    };
  },
};
