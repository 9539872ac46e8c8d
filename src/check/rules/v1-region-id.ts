// V1-REGION-ID (spec §6.1; §1.3, §2.1 [L58]): a migration region is one whose
// GET_REGION_INFO reply carries a TYPE cap with type 3 / subtype 1, and it must be larger
// than the 32-byte header, since the data section follows the header.

import { REGION_SUBTYPE_MIGRATION, REGION_TYPE_MIGRATION } from '../../protocol/ioctl.js';
import { V1_HEADER_SIZE } from '../../protocol/v1.js';
import { evidence, hex } from '../format.js';
import type { DeviceRuleDef } from '../rule.js';

export const v1RegionId: DeviceRuleDef = {
  scope: 'device',
  id: 'V1-REGION-ID',
  title: 'Migration region identity and size',
  severities: ['error'],
  blames: ['driver'],
  specRef: 'spec §6.1 V1-REGION-ID; §1.3, §2.1 [L58]',
  description:
    'A region is the v1 migration region only if the driver\'s VFIO_DEVICE_GET_REGION_INFO reply has a TYPE capability with type 3 (VFIO_REGION_TYPE_MIGRATION) and subtype 1 (VFIO_REGION_SUBTYPE_MIGRATION), and its size must exceed 32 bytes: the 32-byte header (struct vfio_device_migration_info) is followed by the data section. A region used for migration whose reply says otherwise, or one of 32 bytes or less, is a driver error.',
  uncertainWhen: 'Never: the finding rests on one reply.',
  create(env) {
    return {
      op(o, ctx) {
        if (o.op !== 'region') return;
        // The decoder attaches the reply of the region's index to a region found otherwise
        // (--region, inference, QEMU) when the driver answered GET_REGION_INFO for it.
        if (o.capType !== undefined && o.capSubtype !== undefined) {
          if (o.capType !== REGION_TYPE_MIGRATION || o.capSubtype !== REGION_SUBTYPE_MIGRATION) {
            env.report(ctx, {
              severity: 'error',
              blame: 'driver',
              tsNs: o.tsNs,
              message: `The region used as the migration region${o.index === undefined ? '' : ` (index ${o.index})`} has a TYPE capability of type ${o.capType} / subtype ${o.capSubtype}; only type 3 / subtype 1 marks a v1 migration region.`,
              evidence: [evidence(o), ...(o.capSrc !== undefined ? [{ src: o.capSrc, what: `GET_REGION_INFO index ${o.index ?? '?'}: TYPE cap ${o.capType}/${o.capSubtype}` }] : [])],
              uncertain: false,
            });
          }
        }
        // The size is judged only from the driver's own answers (region-info, or QEMU's
        // vfio_region_setup event quoting it): a --region flag or an inference has none.
        if (o.source !== 'region-info' && o.source !== 'qemu') return;
        if (o.size !== undefined && o.size <= BigInt(V1_HEADER_SIZE)) {
          env.report(ctx, {
            severity: 'error',
            blame: 'driver',
            tsNs: o.tsNs,
            message: `The migration region${o.index === undefined ? '' : ` (index ${o.index})`} is ${hex(o.size)} bytes; it must be larger than the ${V1_HEADER_SIZE}-byte header so that a data section can follow it.`,
            evidence: [evidence(o)],
            uncertain: false,
          });
        }
      },
    };
  },
};
