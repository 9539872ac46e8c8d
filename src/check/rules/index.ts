// The v1 rule catalogue, in the order of spec/vfio-migration.md §6.1, then migscope's
// own V1-GROUP-RECOVER. Docs and the HTML report list rules from here.

import type { RuleDef } from '../rule.js';
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
