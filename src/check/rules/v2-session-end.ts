// V2-SESSION-END (spec §6.2; §5.3 sessions [LHEAD], mlx5 behaviour): read or write on a
// data_fd after its session ended (session-ending arc, reset, ERROR, a new session) should
// fail. The VMM's attempt is a warning; the driver's success is a warning.

import type { V2Op } from '../../decode/ops.js';
import type { DeviceRuleDef } from '../rule.js';
import { sessionBySerial, type V2Session } from '../../track/v2-context.js';
import { v2Evidence } from './v2-format.js';

export const v2SessionEnd: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-SESSION-END',
  title: 'Data fd used after its session ended',
  severities: ['warning'],
  blames: ['vmm', 'driver'],
  specRef: 'spec §6.2 V2-SESSION-END; §5.3 [LHEAD]; §5.4 (mlx5: ENODEV once disabled)',
  description:
    'A data session ends at its session-ending arc (STOP_COPY→STOP, PRE_COPY→RUNNING, PRE_COPY_P2P→RUNNING_P2P, RESUMING→STOP), at a reset, at ERROR, or when a new session starts. read() or write() on its data_fd afterwards is a VMM warning (once per session); if the driver lets it succeed, that is a driver warning (mlx5, for one, fails it with ENODEV).',
  uncertainWhen: 'Events were lost since the session started: the end may have been misplaced.',
  create(env) {
    const warned = new WeakSet<V2Session>();
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op !== 'v2-data') return;
        const s = sessionBySerial(ctx.v2, o.session);
        if (s?.ended === undefined || warned.has(s)) return;
        warned.add(s);
        const ev = [s.start, { src: s.ended.src, what: `${s.ended.what} (ends the session)` }, v2Evidence(o)];
        const uncertain = ctx.gaps.count !== s.gapSerialAtStart;
        env.report(ctx, { severity: 'warning', blame: 'vmm', tsNs: o.tsNs, message: `The VMM ${o.write ? 'wrote to' : 'read from'} data_fd ${o.dataFd} after its ${s.kind} session ended.`, evidence: ev, uncertain });
        if (o.result.ok === true) env.report(ctx, { severity: 'warning', blame: 'driver', tsNs: o.tsNs, message: `A ${o.write ? 'write to' : 'read from'} data_fd ${o.dataFd} succeeded after its ${s.kind} session ended; it should fail.`, evidence: ev, uncertain });
      },
    };
  },
};
