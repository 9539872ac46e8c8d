// V2-MIG-CAPS (spec §6.2; §5.2 MIGRATION GET [L518]): a MIGRATION GET reply must have
// STOP_COPY (bit 0); the defined combinations are STOP_COPY, +P2P, +PRE_COPY and
// +P2P+PRE_COPY. Anything else is "to be defined" (warning).

import type { V2Op } from '../../decode/ops.js';
import { MIG_FLAG_P2P, MIG_FLAG_PRE_COPY, MIG_FLAG_STOP_COPY } from '../../protocol/v2.js';
import type { DeviceRuleDef } from '../rule.js';
import { migFlagsText, v2Evidence } from './v2-format.js';

const DEFINED = new Set([MIG_FLAG_STOP_COPY, MIG_FLAG_STOP_COPY | MIG_FLAG_P2P, MIG_FLAG_STOP_COPY | MIG_FLAG_PRE_COPY, MIG_FLAG_STOP_COPY | MIG_FLAG_P2P | MIG_FLAG_PRE_COPY]);

export const v2MigCaps: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-MIG-CAPS',
  title: 'Migration flags the protocol does not define',
  severities: ['error', 'warning'],
  blames: ['driver'],
  specRef: 'spec §6.2 V2-MIG-CAPS; §5.2 [L518]',
  description:
    'A successful VFIO_DEVICE_FEATURE GET MIGRATION reply must include VFIO_MIGRATION_STOP_COPY (bit 0): without it the reply is a driver error. The defined combinations are STOP_COPY, STOP_COPY|P2P, STOP_COPY|PRE_COPY and STOP_COPY|P2P|PRE_COPY; any other (including unknown bits) is "to be defined" and a driver warning.',
  uncertainWhen: 'Never: the finding rests on one ioctl reply.',
  create(env) {
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op !== 'v2-mig-flags' || o.result.ok !== true || o.migFlags === undefined) return;
        const f = o.migFlags;
        if ((f & MIG_FLAG_STOP_COPY) === 0) {
          env.report(ctx, { severity: 'error', blame: 'driver', tsNs: o.tsNs, message: `The MIGRATION GET reply has flags ${migFlagsText(f)} without STOP_COPY, which every v2 device must support.`, evidence: [v2Evidence(o)], uncertain: false });
        } else if (!DEFINED.has(f)) {
          env.report(ctx, { severity: 'warning', blame: 'driver', tsNs: o.tsNs, message: `The MIGRATION GET reply has flags ${migFlagsText(f)}, a combination the protocol leaves "to be defined" (defined: STOP_COPY, +P2P, +PRE_COPY, +P2P+PRE_COPY).`, evidence: [v2Evidence(o)], uncertain: false });
        }
      },
    };
  },
};
