// V1-FAIL-RECOVER (spec §6.1; §2.7 [REV: Dave Gilbert / Alex 2020-01-07]): after a failed
// transition during a migration, with the device still in a valid state, the VMM should
// take it back to RUNNING (write 001b) before failing the migration or resuming the VM.
// When the migration ends is decided by migration-context.ts.

import { v1IsValid, V1_STATE_MASK } from '../../protocol/v1.js';
import { gapSince, stateEvidence } from '../../track/device-view.js';
import { stateText } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1FailRecover: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-FAIL-RECOVER',
  title: 'No return to RUNNING after a failed transition',
  severities: ['warning'],
  blames: ['vmm'],
  specRef: 'spec §6.1 V1-FAIL-RECOVER; §2.7 [REV: Dave Gilbert / Alex 2020-01-07]',
  description:
    'When a device_state write fails during a migration (errno other than EAGAIN) and the device is still in a valid state, the VMM should write RUNNING (001b) before it fails the migration or resumes the VM. A VMM warning if the migration ends (QEMU\'s migration state notifier reports failed/cancelled, QEMU resumes the VM, the device is closed, or the trace ends) with the device in a valid state other than RUNNING. Quiet when the device is in the error state (only a reset helps, V1-ERROR-EXIT), when its state after the failure was never seen, or when a later write had an unseen value or result. A VMM that tried to write 001b and was refused has done its part (V1-REFUSE-VALID judges the driver).',
  uncertainWhen: 'Events were lost after the failed write: the write of 001b may have been among them.',
  create(env) {
    // The migration's failure and what followed it are the tracker's (migration-episode.ts:
    // ActiveMigration.failure / afterFailure); the rule judges them when the migration ends.
    return {
      migrationEnd(end, ctx) {
        const f = end.migration.failure;
        const after = end.migration.afterFailure;
        if (f === undefined || after === undefined || end.backToRunning || after.triedRunning || after.unseenWrite || !after.stateSeen) return;
        const s = ctx.state;
        if (s === undefined || !v1IsValid(s.raw) || (s.raw & V1_STATE_MASK) === 1) return;
        const ev = [{ src: f.src, what: `${f.what} (failed transition)` }, stateEvidence(s, 'state after the failure')];
        if (end.src !== undefined) ev.push({ src: end.src, what: `migration over: ${end.reason}` });
        env.report(ctx, {
          severity: 'warning',
          blame: 'vmm',
          tsNs: end.tsNs ?? s.tsNs,
          message: `The device_state write${f.toRaw === undefined ? '' : ` of ${stateText(f.toRaw)}`} ${f.resultText} during a ${end.migration.kind === 'save' ? 'save (source)' : 'resume (destination)'} migration. The device was in ${stateText(s.raw)}, a valid state, when the migration ended (${end.reason}), and the VMM never wrote RUNNING (001b). After a failed transition the VMM should take the device back to RUNNING before failing the migration or resuming the VM.`,
          evidence: ev,
          uncertain: gapSince(ctx, f.gapSerial),
        });
      },
    };
  },
};
