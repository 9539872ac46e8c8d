// V1-EAGAIN (spec §6.1; §2.7 [REV only]): -EAGAIN marks a temporary failure of a
// transition or of the save/resume data path. It is not a failed transition (the V1-FAIL-*
// rules and V1-REFUSE-VALID skip it), but a driver that keeps answering EAGAIN stalls the
// migration.

import type { DeviceOp } from '../../decode/ops.js';
import { eagainPath, gapSince } from '../../track/device-view.js';
import { evidence, isEagain } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1Eagain: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-EAGAIN',
  title: 'Repeated EAGAIN',
  severities: ['warning'],
  blames: ['driver'],
  specRef: 'spec §6.1 V1-EAGAIN; §2.7 [REV]',
  description:
    'A device_state write, or a data-path access (pending_bytes, data_offset, data_size, data section), that fails with EAGAIN (-11) is a transient failure: it is not counted as a failed transition. More than N consecutive EAGAIN failures (N is configurable, default 3) of device_state writes, or of data-path accesses, is a driver warning. device_state reads in between do not break a streak of write failures; any other outcome of the same kind of access does.',
  uncertainWhen: 'Events were lost during the streak: a lost access may have succeeded and broken it.',
  create(env) {
    // The streak is the tracker's (ctx.eagain, as it was before this op); the rule only
    // remembers which streak it already reported, by the streak's first op.
    const reported = new WeakSet<DeviceOp>();
    return {
      op(o, ctx) {
        const kind = eagainPath(o);
        if (kind === undefined || !isEagain(kind.op.result)) return;
        const { path } = kind;
        const prev = ctx.eagain[path];
        const first = prev?.first ?? o;
        const count = (prev?.count ?? 0) + 1;
        const limit = env.options.eagainLimit;
        if (count <= limit || reported.has(first)) return;
        reported.add(first);
        const what = path === 'state' ? 'device_state writes' : 'data-path accesses';
        env.report(ctx, {
          severity: 'warning',
          blame: 'driver',
          tsNs: o.tsNs,
          message: `${count} consecutive ${what} failed with EAGAIN (more than the limit of ${limit}). EAGAIN is meant for temporary failures; a driver that keeps returning it stalls the migration.`,
          evidence: [evidence(first, 'first of the streak'), evidence(o, `EAGAIN number ${count}`)],
          uncertain: gapSince(ctx, prev?.gapSerial ?? ctx.gaps.count),
        });
      },
    };
  },
};
