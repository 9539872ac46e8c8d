// Public surface of src/check: the checker, the rule catalogue (for docs and reports) and
// the finding types.

export { createChecker, DEFAULT_EAGAIN_LIMIT, DEFAULT_SEGMENTS_KEPT, DEFAULT_V2_HANG_SECONDS } from './checker.js';
export type { Checker, CheckerOptions } from './checker.js';
export { checkOps, createOpsChecker } from './ops-checker.js';
export type { OpsChecker } from './ops-checker.js';
export { ALL_RULES, MIG_RULES, V1_RULES, V2_RULES } from './rules/index.js';
export type { RuleDef, RuleInfo } from './rule.js';
export type { Blame, Certainty, Evidence, Finding, NotJudged, Severity } from './types.js';

import type { RuleInfo } from './rule.js';
import { ALL_RULES } from './rules/index.js';

/** The catalogue as plain data: id, title, severities, blames, spec reference, description. */
export function ruleCatalogue(): readonly RuleInfo[] {
  return ALL_RULES.map(({ id, title, severities, blames, specRef, description, uncertainWhen, notJudgedWhat }) => ({
    id,
    title,
    severities,
    blames,
    specRef,
    description,
    uncertainWhen,
    ...(notJudgedWhat !== undefined ? { notJudgedWhat } : {}),
  }));
}
