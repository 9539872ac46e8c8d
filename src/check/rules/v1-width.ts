// V1-WIDTH (spec §6.1; §2.3 rule 1 [L58]): header fields only at their native width and
// alignment. The access is the VMM's error; a driver that answers it with full success
// gets a warning, because the header says it "should return an error".

import { V1_FIELDS } from '../../protocol/v1.js';
import { evidence } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

const LAYOUT = V1_FIELDS.map((f) => `${f.width} bytes at +${f.offset} (${f.name})`).join(', ');

export const v1Width: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-WIDTH',
  title: 'Header access width and alignment',
  severities: ['error', 'warning'],
  blames: ['vmm', 'driver'],
  specRef: 'spec §6.1 V1-WIDTH; §2.3 rule 1 [L58]',
  description: `Accesses to the 32-byte header of the migration region must be exactly one field at its native width and alignment: ${LAYOUT}. Any other access is a VMM error. If the driver returns full success for such an access (all bytes transferred), that is a driver warning: the header says the driver should return an error.`,
  uncertainWhen: 'Never: the finding rests on one access.',
  create(env) {
    return {
      op(o, ctx) {
        if (o.op !== 'v1-bad-access') return;
        const what = `${o.size}-byte ${o.write ? 'pwrite' : 'pread'} at header offset +${o.regionOffset}`;
        env.report(ctx, {
          severity: 'error',
          blame: 'vmm',
          tsNs: o.tsNs,
          message: `${what} touches ${o.fields.join(', ')} at the wrong width or alignment. Header fields must be accessed one at a time at their native width: ${LAYOUT}.`,
          evidence: [evidence(o)],
          uncertain: false,
        });
        if (o.result.ok === true && o.result.ret === o.size) {
          env.report(ctx, {
            severity: 'warning',
            blame: 'driver',
            tsNs: o.tsNs,
            message: `The driver accepted the ${what} in full (returned ${o.size}); for an access at the wrong width or alignment it should return an error.`,
            evidence: [evidence(o)],
            uncertain: false,
          });
        }
      },
    };
  },
};
