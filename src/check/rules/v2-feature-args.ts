// V2-FEATURE-ARGS (spec §6.2; §5.2 core decoding [LHEAD]): a VFIO_DEVICE_FEATURE call with
// argsz < 8, unknown flag bits, GET+SET without PROBE, or a short data area must fail with
// EINVAL (vfio_ioctl_device_feature / vfio_check_feature). Issuing one is a VMM error;
// the kernel accepting one is a driver error.

import type { V2Op } from '../../decode/ops.js';
import { featureArgsProblem } from '../../decode/v2-feature.js';
import type { DeviceRuleDef } from '../rule.js';
import { v2Evidence } from './v2-format.js';

export const v2FeatureArgs: DeviceRuleDef = {
  scope: 'device',
  id: 'V2-FEATURE-ARGS',
  title: 'Malformed VFIO_DEVICE_FEATURE call',
  severities: ['error'],
  blames: ['vmm', 'driver'],
  specRef: 'spec §6.2 V2-FEATURE-ARGS; §5.2 [LHEAD]',
  description:
    'A VFIO_DEVICE_FEATURE ioctl must have argsz ≥ 8, no flag bits outside the feature index (bits 0–15), GET (1<<16), SET (1<<17) and PROBE (1<<18), not GET and SET together without PROBE, an operation the feature supports, and (without PROBE) room for the feature\'s data after the 8-byte header. Issuing such a call is a VMM error; the kernel must refuse it with EINVAL, so success is a driver error. Needs the argument struct (bpftrace capture); silent when it was not seen.',
  uncertainWhen: 'Never: the finding rests on one ioctl record.',
  create(env) {
    return {
      v2Op(o: V2Op, ctx) {
        if (o.op !== 'v2-feature' && o.op !== 'v2-mig-flags' && o.op !== 'v2-set-state' && o.op !== 'v2-get-state' && o.op !== 'v2-data-size') return;
        const problem = featureArgsProblem(o.call);
        if (problem === undefined) return;
        env.report(ctx, {
          severity: 'error',
          blame: 'vmm',
          tsNs: o.tsNs,
          message: `The VMM issued a malformed VFIO_DEVICE_FEATURE call: ${problem}. The kernel refuses it with EINVAL.`,
          evidence: [v2Evidence(o)],
          uncertain: false,
        });
        if (o.result.ok === true) {
          env.report(ctx, {
            severity: 'error',
            blame: 'driver',
            tsNs: o.tsNs,
            message: `The kernel accepted a malformed VFIO_DEVICE_FEATURE call (${problem}); it must fail with EINVAL.`,
            evidence: [v2Evidence(o)],
            uncertain: false,
          });
        }
      },
    };
  },
};
