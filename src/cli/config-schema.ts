// The checking half of the config file (config-file.ts): the YAML parse and the zod schema
// of each setting. Loaded only when a config file is read: yaml and zod are about 25 MB of
// the resident set, which every run without a file need not carry (issue 13).

import type { Command, Option } from 'commander';
import { LineCounter, isMap, isScalar, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { settingsOf } from './config-file.js';

/** A bad config file: the message starts with file:line. */
export class ConfigError extends Error {}

type Schema = z.ZodType<string | boolean | string[]>;

/** The schema of one setting: on/off, a string (or number) within the flag's choices, or a list of them for a repeatable flag. */
function schemaOf(o: Option): Schema {
  if (o.isBoolean() || o.negate) return z.boolean({ error: 'expected true or false' });
  // A repeatable flag's parser accumulates into an array (flags.ts collect).
  let repeatable = false;
  try {
    repeatable = Array.isArray(o.parseArg?.('probe', undefined as unknown as string[]));
  } catch {
    // a parser that rejects the probe is not an accumulator
  }
  const scalar = z.union([z.string(), z.number().transform((n) => String(n))], { error: 'expected a string or a number' });
  const choices = o.argChoices;
  const checked = choices === undefined ? scalar : scalar.refine((v) => choices.includes(v), { message: `expected one of ${choices.join(', ')}` });
  return repeatable ? z.array(checked, { error: 'expected a list' }) : checked;
}

function lineOf(doc: Document, lc: LineCounter, path: readonly (string | number)[]): number | undefined {
  const node = doc.getIn(path, true);
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  return range !== undefined ? lc.linePos(range[0]).line : undefined;
}

/**
 * Read and check a config file against the settings of all commands (`known`: key → schema).
 * Returns key → value (strings, booleans, string lists).
 */
export function readConfigFile(path: string, text: string, known: ReadonlyMap<string, Schema>): Map<string, string | boolean | string[]> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const first = doc.errors[0];
  if (first !== undefined) {
    const line = first.linePos?.[0].line ?? lc.linePos(first.pos[0]).line;
    throw new ConfigError(`${path}:${line}: not valid YAML: ${first.message.split('\n')[0] ?? ''}`);
  }
  const out = new Map<string, string | boolean | string[]>();
  if (doc.contents === null) return out; // an empty file sets nothing
  if (!isMap(doc.contents)) throw new ConfigError(`${path}:1: expected a mapping of flag names to values (e.g. "metrics-address: 127.0.0.1:9464")`);
  for (const item of doc.contents.items) {
    const keyNode = item.key;
    const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
    const line = lineOf(doc, lc, key !== undefined ? [key] : []) ?? (keyNode as { range?: [number, number, number] } | null)?.range?.[0];
    const at = `${path}:${line ?? '?'}`;
    if (key === undefined) throw new ConfigError(`${at}: keys must be flag names`);
    const schema = known.get(key);
    if (schema === undefined) {
      const hint = key.startsWith('--') ? ` (write "${key.replace(/^--/, '')}" without the dashes)` : key.startsWith('no-') ? ` (write "${key.slice(3)}: false")` : '';
      throw new ConfigError(`${at}: unknown setting "${key}"${hint}; the settings are the long flags of \`migscope <command> --help\``);
    }
    const value: unknown = doc.getIn([key]) === undefined ? null : (doc.toJS() as Record<string, unknown>)[key];
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const sub = issue?.path ?? [];
      const subLine = sub.length > 0 ? (lineOf(doc, lc, [key, ...sub.filter((p): p is string | number => typeof p !== 'symbol')]) ?? line) : line;
      throw new ConfigError(`${path}:${subLine ?? '?'}: ${key}${sub.length > 0 ? `[${sub.join('.')}]` : ''}: ${issue?.message ?? 'invalid value'}`);
    }
    out.set(key, parsed.data);
  }
  return out;
}

/** Every setting a config file may hold for `program`'s commands: key → schema. */
export function knownSettings(program: Command): Map<string, Schema> {
  const known = new Map<string, Schema>();
  for (const cmd of program.commands) for (const s of settingsOf(cmd)) known.set(s.key, schemaOf(s.option));
  return known;
}

