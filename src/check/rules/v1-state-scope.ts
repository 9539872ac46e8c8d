// V1-STATE-SCOPE (spec §6.1, derived from §2.1/§2.5 [L58]): the data path belongs to
// saving and resuming. data_offset, data_size and the data section are used only while
// SAVING or RESUMING is set, and data_size is written only while resuming.

import { V1_RESUMING, V1_SAVING, V1_STATE_MASK } from '../../protocol/v1.js';
import { stateEvidence } from '../../track/device-view.js';
import { evidence, stateText } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1StateScope: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-STATE-SCOPE',
  title: 'Data path used in the wrong state',
  severities: ['warning'],
  blames: ['vmm'],
  specRef: 'spec §6.1 V1-STATE-SCOPE; §2.1, §2.5 [L58] (derived)',
  description:
    'The data path belongs to saving and resuming: reading or writing the data section, data_offset or data_size while neither SAVING nor RESUMING is set (STOP 000b, RUNNING 001b), or writing data_size while not RESUMING (e.g. while saving), is a VMM warning. Reported once per stay in a state. Needs the device state (from values, QEMU\'s events, or the default after open or reset).',
  uncertainWhen: 'Events were lost since the state was last seen: a lost write may have moved the device to a saving or resuming state.',
  create(env) {
    let reportedLow: number | undefined;
    return {
      op(o, ctx) {
        const s = ctx.state;
        const low = s === undefined ? undefined : s.raw & V1_STATE_MASK;
        if (low !== reportedLow) reportedLow = undefined;
        if (s === undefined || low === undefined || reportedLow !== undefined) return;
        let what: string | undefined;
        if (o.op === 'v1-data') what = `${o.write ? 'wrote' : 'read'} the data section`;
        else if (o.op === 'v1-field' && (o.field === 'data_offset' || o.field === 'data_size')) what = `${o.write ? 'wrote' : 'read'} ${o.field}`;
        else return;
        const dataSizeWrite = o.op === 'v1-field' && o.field === 'data_size' && o.write;
        let why: string;
        if ((low & (V1_SAVING | V1_RESUMING)) === 0) why = 'neither SAVING nor RESUMING is set; the data path is only used while saving or resuming';
        else if (dataSizeWrite && low !== V1_RESUMING && (low === V1_SAVING || low === (V1_SAVING | 1))) why = 'data_size is written only while resuming (100b); while saving it is read';
        else return;
        reportedLow = low;
        env.report(ctx, {
          severity: 'warning',
          blame: 'vmm',
          tsNs: o.tsNs,
          message: `The VMM ${what} while the device was in ${stateText(s.raw)}: ${why}. (Further such accesses in this state are not reported separately.)`,
          evidence: [stateEvidence(s, 'state at the time'), evidence(o)],
          uncertain: ctx.stateUncertain,
        });
      },
    };
  },
};
