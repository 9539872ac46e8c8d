// The rule catalogue: v1 in the order of spec/vfio-migration.md §6.1, then migscope's
// own V1-GROUP-RECOVER; v2 in the order of §6.2; then the convergence rules of either
// protocol (issue 12). Docs and the HTML report list rules from here.

import type { RuleDef } from '../rule.js';
import { migEarlySwitchover } from './mig-early-switchover.js';
import { migEstimateWrong } from './mig-estimate-wrong.js';
import { migPrecopyStall } from './mig-precopy-stall.js';
import { migStopcopySizeUnknown } from './mig-stopcopy-size-unknown.js';
import { v1Async } from './v1-async.js';
import { v1DataOffset } from './v1-data-offset.js';
import { v1Eagain } from './v1-eagain.js';
import { v1EmptyIter } from './v1-empty-iter.js';
import { v1ErrorEnter } from './v1-error-enter.js';
import { v1ErrorExit } from './v1-error-exit.js';
import { v1ErrorOrigin } from './v1-error-origin.js';
import { v1FailReadback } from './v1-fail-readback.js';
import { v1FailRecover } from './v1-fail-recover.js';
import { v1GroupRecover } from './v1-group-recover.js';
import { v1RefuseValid } from './v1-refuse-valid.js';
import { v1RegionId } from './v1-region-id.js';
import { v1ReservedField } from './v1-reserved-field.js';
import { v1ReservedState } from './v1-reserved-state.js';
import { v1ResumeOrder } from './v1-resume-order.js';
import { v1Rmw } from './v1-rmw.js';
import { v1RoField } from './v1-ro-field.js';
import { v1SaveDrain } from './v1-save-drain.js';
import { v1SaveOrder } from './v1-save-order.js';
import { v1SaveStable } from './v1-save-stable.js';
import { v1SavingToResuming } from './v1-saving-to-resuming.js';
import { v1Segments } from './v1-segments.js';
import { v1StateScope } from './v1-state-scope.js';
import { v1UserReadback } from './v1-user-readback.js';
import { v1Width } from './v1-width.js';
import { v2Arc } from './v2-arc.js';
import { v2Async } from './v2-async.js';
import { v2BlockedArc } from './v2-blocked-arc.js';
import { v2DataFd } from './v2-datafd.js';
import { v2Enomsg } from './v2-enomsg.js';
import { v2ErrorExit } from './v2-error-exit.js';
import { v2FailRecover } from './v2-fail-recover.js';
import { v2FailState } from './v2-fail-state.js';
import { v2FdDirection } from './v2-fd-direction.js';
import { v2FeatureArgs } from './v2-feature-args.js';
import { v2MigCaps } from './v2-mig-caps.js';
import { v2P2pOrder } from './v2-p2p-order.js';
import { v2PrecopyInfo } from './v2-precopy-info.js';
import { v2ResumeAbort } from './v2-resume-abort.js';
import { v2SaveDrain } from './v2-save-drain.js';
import { v2SessionEnd } from './v2-session-end.js';
import { v2StateRange } from './v2-state-range.js';
import { v2StoppedAccess } from './v2-stopped-access.js';
import { v2StreamBytes } from './v2-stream-bytes.js';
import { v2Unsupported } from './v2-unsupported.js';

export const V1_RULES: readonly RuleDef[] = [
  v1RegionId,
  v1Width,
  v1RoField,
  v1ReservedField,
  v1ReservedState,
  v1ErrorEnter,
  v1ErrorExit,
  v1ErrorOrigin,
  v1FailReadback,
  v1UserReadback,
  v1Rmw,
  v1Async,
  v1RefuseValid,
  v1Eagain,
  v1FailRecover,
  v1SavingToResuming,
  v1SaveOrder,
  v1SaveStable,
  v1DataOffset,
  v1SaveDrain,
  v1EmptyIter,
  v1ResumeOrder,
  v1StateScope,
  v1Segments,
  v1GroupRecover,
];

export const V2_RULES: readonly RuleDef[] = [
  v2FeatureArgs,
  v2MigCaps,
  v2StateRange,
  v2Unsupported,
  v2BlockedArc,
  v2Arc,
  v2FailState,
  v2ErrorExit,
  v2Async,
  v2DataFd,
  v2SessionEnd,
  v2FdDirection,
  v2Enomsg,
  v2SaveDrain,
  v2PrecopyInfo,
  v2ResumeAbort,
  v2FailRecover,
  v2P2pOrder,
  v2StoppedAccess,
  v2StreamBytes,
];

/** Convergence and downtime (issue 12): they read the session-end fact of v1 and v2 devices alike. */
export const MIG_RULES: readonly RuleDef[] = [migPrecopyStall, migEarlySwitchover, migStopcopySizeUnknown, migEstimateWrong];

export const ALL_RULES: readonly RuleDef[] = [...V1_RULES, ...V2_RULES, ...MIG_RULES];
