// The config file: what the flags set, for an agent started by systemd or a DaemonSet where a
// long command line is awkward. Precedence as OpenTelemetry SDKs have it for their own
// settings (and as commander implements option value sources): flag > environment >
// file > default.
//
//   --config FILE, else MIGSCOPE_CONFIG, else /etc/migscope/config.yaml when it exists.
//   Keys are the long flag names without "--" (`metrics-address: 0.0.0.0:9464`); a negated
//   flag is its positive name with false (`--no-metrics` → `metrics: false`); a repeatable
//   flag takes a list (`device: ["4242:27=0000:65:00.0"]`). Keys of flags another command
//   has are allowed and ignored by commands without them; any other key is an error.
//   Every configurable flag that takes a value also reads MIGSCOPE_<FLAG>
//   (`MIGSCOPE_METRICS_ADDRESS`); on/off flags come from the command line or the file only.
//
// The file is YAML (JSON is YAML too), parsed with `yaml` and checked with zod; an error
// names the file and line (`/etc/migscope/config.yaml:4: metrics-address: expected a
// string`) and the command stops with exit status 2 before doing anything.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Option, type Command } from 'commander';
import type { Document, LineCounter } from 'yaml';
import type { ZodType } from 'zod';

// zod and yaml are loaded when a config file is read, not at every start: together they are
// about a quarter of the CLI's start-up (measured: 0.07 of 0.29 s for `--version`), and most
// runs have no config file. Both ship CommonJS builds; nothing else here imports them.
const require = createRequire(import.meta.url);
const zod = (): typeof import('zod') => require('zod') as typeof import('zod');
const yaml = (): typeof import('yaml') => require('yaml') as typeof import('yaml');

/** What a setting's value must be: built on first use (zod is loaded then). */
type Schema = ZodType<string | boolean | string[]>;

export const DEFAULT_CONFIG_PATH = '/etc/migscope/config.yaml';
export const CONFIG_ENV = 'MIGSCOPE_CONFIG';

/** Flags that are not settings. */
const NOT_CONFIGURABLE: ReadonlySet<string> = new Set(['help', 'version', 'config']);

/** A bad config file: the message starts with file:line. */
export class ConfigError extends Error {}

interface Setting {
  readonly option: Option;
  /** Config key: the long flag without "--" (and without "no-" for a negated flag). */
  readonly key: string;
  /** commander's attribute name (option value key). */
  readonly attribute: string;
  readonly schema: () => Schema;
}

function keyOf(o: Option): string | undefined {
  const long = o.long?.replace(/^--/, '');
  if (long === undefined) return undefined;
  return o.negate ? long.replace(/^no-/, '') : long;
}

export function envNameOf(key: string): string {
  return `MIGSCOPE_${key.toUpperCase().replace(/-/g, '_')}`;
}

/** The settings of a command: every long option but help/version/config. */
function settingsOf(cmd: Command): Setting[] {
  const out: Setting[] = [];
  for (const o of cmd.options) {
    const key = keyOf(o);
    if (key === undefined || NOT_CONFIGURABLE.has(key)) continue;
    let built: Schema | undefined;
    const schema = (): Schema => (built ??= schemaOf(o));
    out.push({ option: o, key, attribute: o.attributeName(), schema });
  }
  return out;
}

function schemaOf(o: Option): Schema {
  const { z } = zod();
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
export function readConfigFile(path: string, text: string, known: ReadonlyMap<string, () => Schema>): Map<string, string | boolean | string[]> {
  const { LineCounter, isMap, isScalar, parseDocument } = yaml();
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
    const schemaOfKey = known.get(key);
    if (schemaOfKey === undefined) {
      const hint = key.startsWith('--') ? ` (write "${key.replace(/^--/, '')}" without the dashes)` : key.startsWith('no-') ? ` (write "${key.slice(3)}: false")` : '';
      throw new ConfigError(`${at}: unknown setting "${key}"${hint}; the settings are the long flags of \`migscope <command> --help\``);
    }
    const value: unknown = doc.getIn([key]) === undefined ? null : (doc.toJS() as Record<string, unknown>)[key];
    const parsed = schemaOfKey().safeParse(value);
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
export function knownSettings(program: Command): Map<string, () => Schema> {
  const known = new Map<string, () => Schema>();
  for (const cmd of program.commands) for (const s of settingsOf(cmd)) known.set(s.key, s.schema);
  return known;
}

/**
 * Give `program`'s subcommands config-file and environment support: a --config flag, a
 * MIGSCOPE_<FLAG> environment variable per setting, and before each action the file's
 * values for every setting still at its default.
 */
export function addConfigSupport(program: Command): void {
  const known = knownSettings(program);
  for (const cmd of program.commands) {
    for (const o of cmd.options) {
      const key = keyOf(o);
      if (key === undefined || NOT_CONFIGURABLE.has(key) || o.envVar !== undefined) continue;
      // Not for on/off flags: commander takes a boolean option's variable as "set" whatever
      // its value, so MIGSCOPE_JSON_LINES=false would turn it on. Those come from flag or file.
      // Set here for --help's "(env: …)"; commander only listens for variables of options
      // that had one when added, so the preAction hook below applies them itself.
      if (!o.isBoolean() && !o.negate) o.env(envNameOf(key));
    }
    cmd.addOption(
      new Option('--config <file>', `config file with flag values (YAML; flag > environment > file > default); default ${DEFAULT_CONFIG_PATH} if it exists`).env(CONFIG_ENV),
    );
    cmd.hook('preAction', (thisCommand) => {
      // Environment over default (and over the file, applied after), under the flag.
      for (const s of settingsOf(thisCommand)) {
        const name = s.option.envVar;
        const raw = name !== undefined ? process.env[name] : undefined;
        if (raw === undefined || thisCommand.getOptionValueSource(s.attribute) === 'cli') continue;
        let v: unknown = raw;
        try {
          if (s.option.parseArg !== undefined) v = s.option.parseArg(raw, undefined as unknown as string);
        } catch (e) {
          thisCommand.error(`migscope: ${name}: ${(e as Error).message}`, { exitCode: 2 });
        }
        const choices = s.option.argChoices;
        if (choices !== undefined && !choices.includes(raw)) thisCommand.error(`migscope: ${name}="${raw}": expected one of ${choices.join(', ')}`, { exitCode: 2 });
        thisCommand.setOptionValueWithSource(s.attribute, v, 'env');
      }
      const explicit = thisCommand.getOptionValue('config') as string | undefined;
      const path = explicit ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
      if (path === undefined) return;
      let text = '';
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        thisCommand.error(`migscope: cannot read config file ${path}: ${(e as Error).message}`, { exitCode: 2 });
      }
      let values: Map<string, string | boolean | string[]>;
      try {
        values = readConfigFile(path, text, known);
      } catch (e) {
        if (e instanceof ConfigError) thisCommand.error(`migscope: ${e.message}`, { exitCode: 2 });
        throw e;
      }
      for (const s of settingsOf(thisCommand)) {
        const v = values.get(s.key);
        if (v === undefined) continue;
        const source = thisCommand.getOptionValueSource(s.attribute);
        // Flags (cli) and environment (env) win over the file.
        if (source === 'cli' || source === 'env') continue;
        thisCommand.setOptionValueWithSource(s.attribute, v, 'config');
      }
    });
  }
}
