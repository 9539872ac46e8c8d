// Config file and MIGSCOPE_* variables (src/cli/config-file.ts): flag > environment > file >
// default, each step shown winning and losing; bad files stop with file:line.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { addConfigSupport, DEFAULT_CONFIG_PATH } from '../../src/cli/config-file.js';
import { collect } from '../../src/cli/flags.js';
import { registerWatchCommand } from '../../src/cli/watch.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'migscope-config-'));
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

function file(text: string): string {
  const p = join(dir, 'config.yaml');
  writeFileSync(p, text);
  return p;
}

interface Seen {
  readonly opts: Record<string, unknown>;
  readonly sources: Record<string, string | undefined>;
}

/** A program shaped like migscope's: run `watch` with argv, return its options and their sources (or the error). */
async function run(argv: string[]): Promise<Seen | { error: string; exitCode: number }> {
  const program = new Command().exitOverride();
  let seen: Seen | undefined;
  const cmd = program
    .command('watch')
    .option('--metrics-address <host:port>', 'where', '127.0.0.1:9464')
    .option('--no-metrics', 'off')
    .option('--json-lines', 'json')
    .option('--device <PID:FD=NAME>', 'repeatable', collect)
    .addOption(new Option('--fail-on <severity>', 'sev').choices(['error', 'warning', 'never']).default('error'))
    .action((_o, c: Command) => {
      const opts = c.opts();
      seen = { opts, sources: Object.fromEntries(Object.keys(opts).map((k) => [k, c.getOptionValueSource(k)])) };
    });
  program.command('analyze').option('--eagain-limit <n>', 'n', '3').action(() => undefined);
  cmd.exitOverride();
  let err = '';
  cmd.configureOutput({ writeErr: (s) => (err += s), writeOut: () => undefined });
  addConfigSupport(program);
  try {
    await program.parseAsync(['node', 'migscope', 'watch', ...argv]);
  } catch (e) {
    return { error: err, exitCode: (e as { exitCode?: number }).exitCode ?? -1 };
  }
  if (seen === undefined) throw new Error('action did not run');
  return seen;
}

function ok(r: Awaited<ReturnType<typeof run>>): Seen {
  if ('error' in r) throw new Error(`expected success, got: ${r.error}`);
  return r;
}

describe('precedence: flag > environment > file > default', () => {
  it('default without file, environment or flag', async () => {
    const r = ok(await run([]));
    expect([r.opts['metricsAddress'], r.sources['metricsAddress']]).toEqual(['127.0.0.1:9464', 'default']);
  });

  it('the file beats the default', async () => {
    const r = ok(await run(['--config', file('metrics-address: 0.0.0.0:9100\n')]));
    expect([r.opts['metricsAddress'], r.sources['metricsAddress']]).toEqual(['0.0.0.0:9100', 'config']);
  });

  it('the environment beats the file', async () => {
    vi.stubEnv('MIGSCOPE_METRICS_ADDRESS', '10.0.0.1:9200');
    const r = ok(await run(['--config', file('metrics-address: 0.0.0.0:9100\n')]));
    expect([r.opts['metricsAddress'], r.sources['metricsAddress']]).toEqual(['10.0.0.1:9200', 'env']);
  });

  it('the flag beats the environment and the file', async () => {
    vi.stubEnv('MIGSCOPE_METRICS_ADDRESS', '10.0.0.1:9200');
    const r = ok(await run(['--config', file('metrics-address: 0.0.0.0:9100\n'), '--metrics-address', '127.0.0.1:9300']));
    expect([r.opts['metricsAddress'], r.sources['metricsAddress']]).toEqual(['127.0.0.1:9300', 'cli']);
  });

  it('MIGSCOPE_CONFIG names the file; negated and repeatable flags and choices from the file', async () => {
    vi.stubEnv('MIGSCOPE_CONFIG', file('metrics: false\njson-lines: true\ndevice:\n  - "4242:27=0000:65:00.0"\n  - "?:30=nic1"\nfail-on: warning\neagain-limit: 5\n'));
    const r = ok(await run([]));
    expect(r.opts).toMatchObject({ metrics: false, jsonLines: true, device: ['4242:27=0000:65:00.0', '?:30=nic1'], failOn: 'warning' });
    // A flag of another command (analyze's eagain-limit) is allowed and not applied to watch.
    expect(r.opts['eagainLimit']).toBeUndefined();
  });

  it('an empty file sets nothing', async () => {
    const r = ok(await run(['--config', file('')]));
    expect(r.sources['metricsAddress']).toBe('default');
  });
});

describe('bad config files stop with file:line and exit status 2', () => {
  const cases: [string, string, RegExp][] = [
    ['unknown key', 'metrics-address: 1.2.3.4:5\n\nbogus: 1\n', /config\.yaml:3: unknown setting "bogus"/],
    ['flag spelled with dashes', '--metrics-address: x\n', /config\.yaml:1: unknown setting "--metrics-address" \(write "metrics-address" without the dashes\)/],
    ['negated key', 'no-metrics: true\n', /config\.yaml:1: unknown setting "no-metrics" \(write "metrics: false"\)/],
    ['wrong type', 'json-lines: 3\n', /config\.yaml:1: json-lines: expected true or false/],
    ['not a choice', 'metrics: true\nfail-on: sometimes\n', /config\.yaml:2: fail-on: expected one of error, warning, never/],
    ['bad list item', 'device:\n  - "1:2=a"\n  - [nested]\n', /config\.yaml:3: device\[1\]: expected a string or a number/],
    ['not YAML', 'metrics-address: [unclosed\n', /config\.yaml:\d+: not valid YAML/],
    ['not a mapping', '- a\n- b\n', /config\.yaml:1: expected a mapping/],
  ];
  for (const [name, text, want] of cases) {
    it(name, async () => {
      const r = await run(['--config', file(text)]);
      expect('error' in r && r.exitCode).toBe(2);
      expect('error' in r ? r.error : '').toMatch(want);
    });
  }

  it('a named file that does not exist', async () => {
    const r = await run(['--config', join(dir, 'missing.yaml')]);
    expect('error' in r && r.exitCode).toBe(2);
    expect('error' in r ? r.error : '').toMatch(/cannot read config file .*missing\.yaml/);
  });
});

describe('migscope watch --help', () => {
  it('shows the config flag with its default path and the MIGSCOPE_* variables', () => {
    const program = new Command();
    registerWatchCommand(program);
    addConfigSupport(program);
    const help = program.commands[0]!.helpInformation().replace(/\s+/g, ' ');
    expect(help).toContain(`default ${DEFAULT_CONFIG_PATH} if it exists`);
    expect(help).toContain('env: MIGSCOPE_CONFIG');
    expect(help).toContain('env: MIGSCOPE_METRICS_ADDRESS');
  });
});
