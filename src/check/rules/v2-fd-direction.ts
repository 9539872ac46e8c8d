// V2-FD-DIRECTION (spec §6.2; §5.4 [L518]): a saving data_fd is read, a resuming one is
// written; the other direction is a VMM error.

import type { V2Op } from '../../decode/ops.js';
import type { DeviceRuleDef } from '../rule.js';
import { sessionBySerial, type V2Session } from '../../track/v2-context.js';
import { v2Evidence } from './v2-format.js';

export const v2FdDirection: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-FD-DIRECTION',
  title: 'Data fd used in the wrong direction',
  severities: ['error'],
  blames: ['vmm'],
  specRef: 'spec §6.2 V2-FD-DIRECTION; §5.4 [L518]',
  description: 'The data_fd of a saving session (PRE_COPY, STOP_COPY) is only read; that of a resuming session (RESUMING) is only written. write() on a saving fd or read() on a resuming fd is a VMM error (reported once per session).',
  uncertainWhen: 'Never: the session kind comes from the SET that returned the fd.',
  create(env) {
    const warned = new WeakSet<V2Session>();
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op !== 'v2-data') return;
        const s = sessionBySerial(ctx.v2, o.session);
        if (s === undefined || warned.has(s) || o.write === (s.kind === 'resume')) return;
        warned.add(s);
        env.report(ctx, { severity: 'error', blame: 'vmm', tsNs: o.tsNs, message: `The VMM ${o.write ? 'wrote to' : 'read from'} data_fd ${o.dataFd}, the fd of a ${s.kind === 'save' ? 'saving' : 'resuming'} session, which is only ${s.kind === 'save' ? 'read' : 'written'}.`, evidence: [s.start, v2Evidence(o)], uncertain: false });
      },
    };
  },
};
