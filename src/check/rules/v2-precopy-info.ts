// V2-PRECOPY-INFO (spec §6.2; §5.4 [LHEAD]): VFIO_MIG_GET_PRECOPY_INFO is valid only in
// PRE_COPY and PRE_COPY_P2P (elsewhere EINVAL), is mandatory for PRE_COPY devices, and
// initial_bytes only goes down. A non-zero reply `flags` is taken as the REINIT indication
// of the 2026 PRECOPY_INFOv2 series (spec §5.1 [U]): it excuses a rise.

import type { V2Op } from '../../decode/ops.js';
import { ERRNO } from '../../protocol/ioctl.js';
import { MIG_FLAG_PRE_COPY } from '../../protocol/v2.js';
import type { DeviceRuleDef } from '../rule.js';
import { sessionBySerial } from '../../track/v2-context.js';
import { v2Evidence, v2StateText } from './v2-format.js';
import { V2_PRE_COPY, V2_PRE_COPY_P2P } from '../../track/v2-model.js';

export const v2PrecopyInfo: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-PRECOPY-INFO',
  title: 'PRECOPY_INFO outside PRE_COPY, refused in PRE_COPY, or initial_bytes rising',
  severities: ['error', 'warning'],
  blames: ['driver'],
  specRef: 'spec §6.2 V2-PRECOPY-INFO; §5.4 [LHEAD]',
  description:
    'VFIO_MIG_GET_PRECOPY_INFO on a data_fd succeeds only in PRE_COPY or PRE_COPY_P2P; success in any other state is a driver error (it must fail with EINVAL). A device that advertises PRE_COPY must answer it: ENOTTY or EINVAL in a PRE_COPY state is a driver error. initial_bytes must not rise between two replies of a session unless the reply flags indicate a re-initialisation (driver warning).',
  uncertainWhen: 'Events were lost since the state was last seen, or between the two replies.',
  create(env) {
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op !== 'v2-precopy-info') return;
        const st = ctx.v2.state;
        const inPre = st !== undefined && (st.raw === V2_PRE_COPY || st.raw === V2_PRE_COPY_P2P);
        if (st !== undefined && !inPre && o.result.ok === true) {
          env.report(ctx, { severity: 'error', blame: 'driver', tsNs: o.tsNs, message: `VFIO_MIG_GET_PRECOPY_INFO succeeded in ${v2StateText(st.raw)}; outside PRE_COPY and PRE_COPY_P2P it must fail with EINVAL.`, evidence: [{ src: st.src, what: st.what }, v2Evidence(o)], uncertain: ctx.gaps.count !== st.gapSerial });
        }
        const flags = ctx.v2.learnedFlags;
        if (inPre && flags !== undefined && (flags.value & MIG_FLAG_PRE_COPY) !== 0 && o.result.ok === false && (o.result.errno === ERRNO.ENOTTY || o.result.errno === ERRNO.EINVAL)) {
          env.report(ctx, { severity: 'error', blame: 'driver', tsNs: o.tsNs, message: `VFIO_MIG_GET_PRECOPY_INFO failed in ${v2StateText(st.raw)} on a device that advertises PRE_COPY; the ioctl is mandatory there.`, evidence: [{ src: flags.src, what: 'MIGRATION GET reply with PRE_COPY' }, v2Evidence(o)], uncertain: false });
        }
        const s = sessionBySerial(ctx.v2, o.session);
        if (s === undefined || o.result.ok !== true || o.initialBytes === undefined) return;
        // The session's previous reply, as the tracker keeps it (before this op).
        const prev = s.precopyInfo;
        if (prev !== undefined && o.initialBytes > prev.initialBytes && (o.flags ?? 0) === 0) {
          env.report(ctx, { severity: 'warning', blame: 'driver', tsNs: o.tsNs, message: `initial_bytes rose from ${prev.initialBytes} to ${o.initialBytes} between two PRECOPY_INFO replies without a re-initialisation flag; it should only go down as data is read.`, evidence: [prev.ev, v2Evidence(o)], uncertain: ctx.gaps.count !== prev.gapSerial });
        }
      },
    };
  },
};
