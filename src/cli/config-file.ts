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
// The file is YAML (JSON is YAML too), parsed with `yaml` and checked with zod
// (config-schema.ts); an error
// names the file and line (`/etc/migscope/config.yaml:4: metrics-address: expected a
// string`) and the command stops with exit status 2 before doing anything.

import { existsSync, readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
// yaml and zod load with the first config file (config-schema.ts): together they are about
// 25 MB of every command's resident set, and most runs have no file (issue 13).

export const DEFAULT_CONFIG_PATH = '/etc/migscope/config.yaml';
export const CONFIG_ENV = 'MIGSCOPE_CONFIG';

/** Flags that are not settings. */
const NOT_CONFIGURABLE: ReadonlySet<string> = new Set(['help', 'version', 'config']);

export interface Setting {
  readonly option: Option;
  /** Config key: the long flag without "--" (and without "no-" for a negated flag). */
  readonly key: string;
  /** commander's attribute name (option value key). */
  readonly attribute: string;
}

export function keyOf(o: Option): string | undefined {
  const long = o.long?.replace(/^--/, '');
  if (long === undefined) return undefined;
  return o.negate ? long.replace(/^no-/, '') : long;
}

export function envNameOf(key: string): string {
  return `MIGSCOPE_${key.toUpperCase().replace(/-/g, '_')}`;
}

/** The settings of a command: every long option but help/version/config. */
export function settingsOf(cmd: Command): Setting[] {
  const out: Setting[] = [];
  for (const o of cmd.options) {
    const key = keyOf(o);
    if (key === undefined || NOT_CONFIGURABLE.has(key)) continue;
    out.push({ option: o, key, attribute: o.attributeName() });
  }
  return out;
}

/**
 * Give `program`'s subcommands config-file and environment support: a --config flag, a
 * MIGSCOPE_<FLAG> environment variable per setting, and before each action the file's
 * values for every setting still at its default.
 */
export function addConfigSupport(program: Command): void {
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
    cmd.hook('preAction', async (thisCommand) => {
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
      const { ConfigError, knownSettings, readConfigFile } = await import('./config-schema.js');
      let values: Map<string, string | boolean | string[]>;
      try {
        values = readConfigFile(path, text, knownSettings(program));
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
