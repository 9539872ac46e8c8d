// V2-STOPPED-ACCESS (spec §6.2; §5.4 "Device region access" [L518]): pread/pwrite on the
// device fd (BARs, config space) while in STOP, STOP_COPY or RESUMING risks corrupting the
// migration stream.

import type { V2Op } from '../../decode/ops.js';
import type { DeviceRuleDef } from '../rule.js';
import { v2Evidence, v2StateText } from './v2-format.js';
import { V2_RESUMING, V2_STOP, V2_STOP_COPY } from '../../track/v2-model.js';

export const v2StoppedAccess: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-STOPPED-ACCESS',
  title: 'Device regions accessed while stopped',
  severities: ['warning'],
  blames: ['vmm'],
  specRef: 'spec §6.2 V2-STOPPED-ACCESS; §5.4 [L518]',
  description: 'While a v2 device is in STOP, STOP_COPY or RESUMING the VMM should keep away from its regions (BARs, config space) on the device fd: accesses risk corrupting the migration stream. A pread/pwrite there is a VMM warning (once per stay in such a state). Accesses through mmap make no syscall and are invisible.',
  uncertainWhen: 'Events were lost since the state was last seen.',
  create(env) {
    let warned: object | undefined;
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op !== 'v2-device-access') return;
        const st = ctx.v2.state;
        if (st === undefined || (st.raw !== V2_STOP && st.raw !== V2_STOP_COPY && st.raw !== V2_RESUMING) || warned === st) return;
        warned = st;
        env.report(ctx, { severity: 'warning', blame: 'vmm', tsNs: o.tsNs, message: `The VMM accessed region ${o.regionIndex} of the device fd while the device was in ${v2StateText(st.raw)}; this risks corrupting the migration stream.`, evidence: [{ src: st.src, what: st.what }, v2Evidence(o)], uncertain: ctx.gaps.count !== st.gapSerial });
      },
    };
  },
};
