// V2-DATAFD (spec §6.2; §5.2, §5.3 [L518, LHEAD]): a successful SET returns data_fd ≥ 0
// exactly when its path contains a session-starting arc (STOP→STOP_COPY, RUNNING→PRE_COPY,
// RUNNING_P2P→PRE_COPY_P2P, STOP→RESUMING), and −1 otherwise; a GET returns −1. With
// inferred flags the verdict must hold for every flag set the trace allows.

import type { V2Op } from '../../decode/ops.js';
import { v2StateFromRaw } from '../../protocol/v2-arcs.js';
import type { DeviceRuleDef } from '../rule.js';
import { pathStartsSession, possibleWalks } from '../../track/v2-context.js';
import { v2Evidence, v2StateText } from './v2-format.js';

export const v2DataFd: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-DATAFD',
  title: 'data_fd returned when it should not be, or missing',
  severities: ['error'],
  blames: ['driver'],
  specRef: 'spec §6.2 V2-DATAFD; §5.2, §5.3 [L518, LHEAD]',
  description:
    'A successful SET MIG_DEVICE_STATE returns a new data_fd (≥ 0) exactly when the arcs it walks include one that starts a data session (STOP→STOP_COPY, RUNNING→PRE_COPY, RUNNING_P2P→PRE_COPY_P2P, STOP→RESUMING), and −1 otherwise; a GET always returns −1. Anything else is a driver error. Needs the reply struct and the state before the SET.',
  uncertainWhen: 'Events were lost since the state before the SET was last seen.',
  create(env) {
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op === 'v2-get-state') {
          if (o.result.ok === true && o.dataFd !== undefined && o.dataFd !== -1) {
            env.report(ctx, { severity: 'error', blame: 'driver', tsNs: o.tsNs, message: `GET MIG_DEVICE_STATE returned data_fd ${o.dataFd}; a GET must return −1.`, evidence: [v2Evidence(o)], uncertain: false });
          }
          return;
        }
        if (o.op !== 'v2-set-state' || o.result.ok !== true || o.dataFd === undefined) return;
        const st = ctx.v2.state;
        const from = st === undefined ? undefined : v2StateFromRaw(st.raw);
        if (st === undefined || from === undefined) return;
        const starts = possibleWalks(ctx.v2, st.raw, o.requested).map((w) => (w.kind === 'path' ? pathStartsSession(from, w.states) !== undefined : undefined));
        if (starts.length === 0 || starts.some((s) => s === undefined) || starts.some((s) => s !== starts[0])) return;
        const want = starts[0] === true;
        const got = o.dataFd >= 0;
        if (want === got) return;
        const message = want
          ? `The SET ${v2StateText(st.raw)} → ${v2StateText(o.requested)} starts a data session, but the kernel returned data_fd ${o.dataFd} instead of a new fd.`
          : `The SET ${v2StateText(st.raw)} → ${v2StateText(o.requested)} starts no data session, but the kernel returned data_fd ${o.dataFd} instead of −1.`;
        env.report(ctx, { severity: 'error', blame: 'driver', tsNs: o.tsNs, message, evidence: [{ src: st.src, what: st.what }, v2Evidence(o)], uncertain: ctx.gaps.count !== st.gapSerial });
      },
    };
  },
};
