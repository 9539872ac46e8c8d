// `analyze --json`: the Analysis with a schema tag and the summary. Nanosecond times and
// 64-bit values are bigints inside migscope; JSON carries them as decimal strings so they
// stay exact (schema: docs/json-schema.md).

import type { Analysis } from '../analysis/types.js';
import { summarize } from '../analysis/summary.js';

export const JSON_SCHEMA_ID = 'migscope.analysis/1';

export function toJsonValue(a: Analysis): unknown {
  return JSON.parse(renderJson(a));
}

export function renderJson(a: Analysis, indent = 2): string {
  const doc = { schema: JSON_SCHEMA_ID, ...a, summary: summarize(a) };
  return JSON.stringify(doc, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
}
