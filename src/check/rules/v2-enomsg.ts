// V2-ENOMSG (spec §6.2; §5.4 [LHEAD]): read() on a saving data_fd may fail with ENOMSG
// (temporary end of data) only in PRE_COPY or PRE_COPY_P2P; in STOP_COPY the end of the
// stream is read() = 0.

import type { V2Op } from '../../decode/ops.js';
import { ERRNO } from '../../protocol/ioctl.js';
import type { DeviceRuleDef } from '../rule.js';
import { sessionBySerial } from '../../track/v2-context.js';
import { v2Evidence, v2StateText } from './v2-format.js';
import { V2_PRE_COPY, V2_PRE_COPY_P2P } from '../../track/v2-model.js';

export const v2Enomsg: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-ENOMSG',
  title: 'ENOMSG outside PRE_COPY',
  severities: ['error'],
  blames: ['driver'],
  specRef: 'spec §6.2 V2-ENOMSG; §5.4 [LHEAD]',
  description: 'read() on the saving data_fd fails with ENOMSG (no data for now) only in PRE_COPY or PRE_COPY_P2P. In STOP_COPY (or any other state of a live session) it is a driver error: there, the end of the stream is read() returning 0.',
  uncertainWhen: 'Events were lost since the state was last seen.',
  create(env) {
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op !== 'v2-data' || o.write || o.result.ok !== false || o.result.errno !== ERRNO.ENOMSG) return;
        const st = ctx.v2.state;
        const s = sessionBySerial(ctx.v2, o.session);
        if (st === undefined || s === undefined || s !== ctx.v2.session || st.raw === V2_PRE_COPY || st.raw === V2_PRE_COPY_P2P) return;
        env.report(ctx, { severity: 'error', blame: 'driver', tsNs: o.tsNs, message: `read() on the saving data_fd failed with ENOMSG in ${v2StateText(st.raw)}; ENOMSG is only allowed in PRE_COPY states (in STOP_COPY the end of the stream is read() = 0).`, evidence: [{ src: st.src, what: st.what }, v2Evidence(o)], uncertain: ctx.gaps.count !== st.gapSerial });
      },
    };
  },
};
