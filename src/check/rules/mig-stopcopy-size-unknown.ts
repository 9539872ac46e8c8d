// MIG-STOPCOPY-SIZE-UNKNOWN (issue 12; field-2026.md): QEMU could not get the stop-copy
// size from the driver (vfio_query_stop_copy_size ret < 0, or QEMU's 100 GiB sentinel in
// a size event; or the driver's MIG_DATA_SIZE GET failing in the syscall view), so QEMU could not judge convergence: with 100 GiB pending the migration
// never converges by QEMU's own test. The driver's VFIO_DEVICE_FEATURE_MIG_DATA_SIZE failed.
//
// Reads the records the tracker collected for the session (convergence.stopCopySizeUnknown).

import type { DeviceRuleDef } from '../rule.js';

export const migStopcopySizeUnknown: DeviceRuleDef = {
  scope: 'device',
  id: 'MIG-STOPCOPY-SIZE-UNKNOWN',
  title: 'QEMU could not get the stop-copy size',
  severities: ['warning'],
  blames: ['driver'],
  specRef: 'issue 12; field-2026.md (MIG_DATA_SIZE failure, 100 GiB sentinel); spec §5.2 MIG_DATA_SIZE',
  description:
    'During the save QEMU reported a failed stop-copy size query (vfio_query_stop_copy_size with ret < 0) or its 100 GiB sentinel (107374182400) as the stop-copy size, or the trace shows the driver refusing VFIO_DEVICE_FEATURE_MIG_DATA_SIZE itself: QEMU then cannot judge convergence and predicts a stop-copy it can never fit. Needs QEMU\'s trace events (QEMU 11.1 cycle, or a stop-copy size in vfio_state_pending*) or the FEATURE ioctl\'s reply.',
  uncertainWhen: 'Not affected by lost events: the records that show it are in the trace.',
  create(env) {
    return {
      fact(f, ctx) {
        if (f.kind !== 'session-end') return;
        const c = f.session.convergence;
        if (c === undefined || c.stopCopySizeUnknown.length === 0) return;
        env.report(ctx, {
          severity: 'warning',
          blame: 'driver',
          tsNs: f.session.endNs,
          message: `QEMU could not get the stop-copy size from the driver (${c.stopCopySizeUnknown.length}${c.stopCopySizeUnknown.length >= 16 ? '+' : ''} time${c.stopCopySizeUnknown.length === 1 ? '' : 's'}: MIG_DATA_SIZE failed, QEMU used its 100 GiB sentinel), so convergence could not be judged by QEMU.`,
          evidence: c.stopCopySizeUnknown.slice(0, 4),
          uncertain: false,
        });
      },
    };
  },
};
