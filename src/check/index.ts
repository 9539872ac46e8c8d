// Public surface of src/check: the checker, the rule catalogue (for docs and reports) and
// the finding types.

export { createChecker, DEFAULT_EAGAIN_LIMIT, DEFAULT_SEGMENTS_KEPT } from './checker.js';
export type { Checker, CheckerOptions } from './checker.js';
export { V1_RULES } from './rules/index.js';
export type { RuleDef, RuleInfo } from './rule.js';
export type { Blame, Certainty, Evidence, Finding, Severity } from './types.js';

import type { RuleInfo } from './rule.js';
import { V1_RULES } from './rules/index.js';

/** The catalogue as plain data: id, title, severities, blames, spec reference, description. */
export function ruleCatalogue(): readonly RuleInfo[] {
  return V1_RULES.map(({ id, title, severities, blames, specRef, description, uncertainWhen }) => ({
    id,
    title,
    severities,
    blames,
    specRef,
    description,
    uncertainWhen,
  }));
}
