// deploy/: what can be checked here without a cluster or a Collector binary. The systemd unit
// through `systemd-analyze verify` (skipped, saying why, when it is missing) and the fields
// the docs promise; the Kubernetes manifest against the official OpenAPI schemas of its
// kinds (kubernetes-models' validate(), the schemas bundled in the npm package: offline,
// where kubeconform cannot be installed) and, like the Collector config, against the fields
// migscope relies on (hand-written structural checks, each shown to catch a broken copy;
// the schemas allow unknown fields, so a misspelt key is caught by those); the container image definition
// likewise (no image builder here); the config file examples against the real CLI's settings.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { knownSettings, readConfigFile } from '../../src/cli/config-schema.js';
import { registerAnalyzeCommand } from '../../src/cli/analyze.js';
import { registerCaptureCommand } from '../../src/cli/capture.js';
import { registerReportCommand } from '../../src/cli/report.js';
import { registerWatchCommand } from '../../src/cli/watch.js';

const DEPLOY = join(import.meta.dirname, '../../deploy');
const read = (p: string): string => readFileSync(join(DEPLOY, p), 'utf8');
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const haveSystemd = existsSync(SYSTEMD_ANALYZE);
if (!haveSystemd) console.warn(`SKIPPED systemd-analyze part of test/deploy/deploy-files.test.ts: ${SYSTEMD_ANALYZE} is missing`);

function cliSettings(): ReturnType<typeof knownSettings> {
  const program = new Command();
  registerCaptureCommand(program);
  registerAnalyzeCommand(program);
  registerWatchCommand(program);
  registerReportCommand(program);
  return knownSettings(program);
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

// The host agent (watch --all, every VMM) and the one-VM template (watch --pid).
describe.each([
  { unit: 'migscope.service', instance: 'migscope.service', exec: /main\.js watch --all$/, restart: 'always' },
  { unit: 'migscope@.service', instance: 'migscope@vm42.service', exec: /main\.js watch --pid /, restart: 'on-abnormal' },
])('systemd unit $unit', ({ unit, instance, exec, restart }) => {
  const UNIT = `systemd/${unit}`;

  /** systemd-analyze verify's complaints about a copy of the unit with `edit` applied. */
  function verify(edit: (t: string) => string): string {
    const dir = mkdtempSync(join(tmpdir(), 'migscope-unit-'));
    try {
      writeFileSync(join(dir, unit), edit(read(UNIT)));
      const r = spawnSync(SYSTEMD_ANALYZE, ['verify', join(dir, instance)], { encoding: 'utf8' });
      // verify exits 0 on many problems and prints them: every line naming the unit counts.
      return (r.stdout + r.stderr).split('\n').filter((l) => l.includes(unit.replace('.service', ''))).join('\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it.skipIf(!haveSystemd)('passes systemd-analyze verify, which catches a broken copy', () => {
    expect(verify((t) => t)).toBe('');
    expect(verify((t) => t.replace(`Restart=${restart}`, 'Restart=sometimes'))).toMatch(/restart specifier/);
  });

  it('has the capabilities bpftrace needs, a restart policy, the OTEL_* environment file and SIGINT for a flushed stop', () => {
    const t = read(UNIT);
    const line = (k: string): string => new RegExp(`^${k}=(.*)$`, 'm').exec(t)?.[1] ?? '';
    for (const cap of ['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_ADMIN']) {
      expect(line('CapabilityBoundingSet').split(' '), cap).toContain(cap);
      expect(line('AmbientCapabilities').split(' '), cap).toContain(cap);
    }
    expect(line('Restart')).toBe(restart);
    expect(line('EnvironmentFile')).toBe('-/etc/migscope/migscope.env');
    expect(line('KillSignal')).toBe('SIGINT');
    expect(line('ExecStart')).toMatch(exec);
    // The environment file: KEY=value lines only, OTEL_* among them.
    const env = read('systemd/migscope.env').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    for (const l of env) expect(l, l).toMatch(/^[A-Z_][A-Z0-9_]*=\S*$/);
    expect(env.some((l) => l.startsWith('OTEL_EXPORTER_OTLP_ENDPOINT='))).toBe(true);
  });
});

describe('config file examples', () => {
  it('deploy/config.yaml and the DaemonSet ConfigMap hold only settings the CLI has, with valid values', () => {
    const known = cliSettings();
    expect(readConfigFile('deploy/config.yaml', read('config.yaml'), known).get('metrics-address')).toBe('0.0.0.0:9464');
    const cm = parseAllDocuments(read('kubernetes/daemonset.yaml')).map((d) => obj(d.toJS())).find((d) => d['kind'] === 'ConfigMap');
    const text = String(obj(cm?.['data'])['config.yaml']);
    expect(readConfigFile('configmap config.yaml', text, known).get('export')).toBe('otlp');
    // The check can fail.
    expect(() => readConfigFile('x.yaml', 'metrics-adress: 1\n', known)).toThrow(/x\.yaml:1: unknown setting "metrics-adress"/);
  });
});

/** The problems of a DaemonSet manifest, for the fields migscope relies on. */
function daemonSetProblems(text: string): string[] {
  const docs = parseAllDocuments(text).map((d) => obj(d.toJS()));
  const p: string[] = [];
  const ds = docs.find((d) => d['kind'] === 'DaemonSet');
  if (ds === undefined) return ['no DaemonSet'];
  if (ds['apiVersion'] !== 'apps/v1') p.push('apiVersion is not apps/v1');
  const spec = obj(ds['spec']);
  const tmpl = obj(spec['template']);
  const labels = obj(obj(tmpl['metadata'])['labels']);
  for (const [k, v] of Object.entries(obj(obj(spec['selector'])['matchLabels']))) if (labels[k] !== v) p.push(`selector ${k}=${String(v)} does not match the pod labels`);
  const pod = obj(tmpl['spec']);
  if (pod['hostPID'] !== true) p.push('hostPID is not true');
  // The host label is os.hostname(): the node's only in the node's network (UTS) namespace.
  if (pod['hostNetwork'] !== true) p.push('hostNetwork is not true (the host label would be the pod name)');
  else if (pod['dnsPolicy'] !== 'ClusterFirstWithHostNet') p.push('dnsPolicy is not ClusterFirstWithHostNet (cluster service names would not resolve)');
  const volumes = new Map(arr(pod['volumes']).map((v) => [String(obj(v)['name']), obj(v)]));
  const containers = arr(pod['containers']).map(obj);
  if (containers.length === 0) p.push('no containers');
  for (const c of containers) {
    if (obj(c['securityContext'])['privileged'] !== true) p.push(`container ${String(c['name'])} is not privileged`);
    if (typeof c['image'] !== 'string') p.push('no image');
    if (arr(c['args'])[0] !== 'watch' || !arr(c['args']).includes('--all')) p.push('the container does not run migscope watch --all');
    const mounts = arr(c['volumeMounts']).map(obj);
    for (const m of mounts) if (!volumes.has(String(m['name']))) p.push(`volumeMount ${String(m['name'])} has no volume`);
    const tracefs = mounts.find((m) => m['mountPath'] === '/sys/kernel/tracing');
    if (tracefs === undefined || obj(volumes.get(String(tracefs['name']))?.['hostPath'])['path'] !== '/sys/kernel/tracing') p.push('tracefs is not mounted from the host');
    const port = arr(c['ports']).map(obj).find((x) => x['name'] === 'metrics')?.['containerPort'];
    if (port !== 9464) p.push('no metrics port 9464');
    const env = new Map(arr(c['env']).map((e) => [String(obj(e)['name']), obj(e)]));
    if (!env.has('OTEL_EXPORTER_OTLP_ENDPOINT')) p.push('no OTEL_EXPORTER_OTLP_ENDPOINT');
  }
  if (obj(obj(tmpl['metadata'])['annotations'])['prometheus.io/port'] !== '9464') p.push('the scrape annotation does not name port 9464');
  return p;
}

/** Kinds in deploy/kubernetes/, by apiVersion/kind: their models validate against the Kubernetes OpenAPI schema. */
const MODELS: Readonly<Record<string, (doc: Obj) => { validate(): void }>> = {
  'v1/Namespace': (d) => new Namespace(d),
  'v1/ConfigMap': (d) => new ConfigMap(d),
  'apps/v1/DaemonSet': (d) => new DaemonSet(d),
};

/** Each document's schema violations ("Kind: message"), or that its kind has no model here. */
function schemaProblems(text: string): string[] {
  return parseAllDocuments(text).flatMap((d) => {
    const doc = obj(d.toJS());
    const kind = `${String(doc['apiVersion'])}/${String(doc['kind'])}`;
    const model = MODELS[kind];
    if (model === undefined) return [`${kind}: no schema model in this test`];
    try {
      model(doc).validate();
      return [];
    } catch (e) {
      return [`${String(doc['kind'])}: ${e instanceof Error ? e.message : String(e)}`];
    }
  });
}

describe('Kubernetes manifests against the Kubernetes OpenAPI schemas', () => {
  const files = readdirSync(join(DEPLOY, 'kubernetes')).filter((f) => f.endsWith('.yaml'));
  it.each(files)('%s is valid; a wrong field type or a missing required field is caught', (f) => {
    const text = read(`kubernetes/${f}`);
    expect(parseAllDocuments(text).length).toBeGreaterThan(0);
    expect(schemaProblems(text)).toEqual([]);
    if (f !== 'daemonset.yaml') return;
    expect(schemaProblems(text.replace('hostPID: true', 'hostPID: "yes"'))).toEqual(['DaemonSet: data/spec/template/spec/hostPID must be boolean']);
    expect(schemaProblems(text.replace('containerPort: 9464', 'containerPort: "9464"'))).toEqual(['DaemonSet: data/spec/template/spec/containers/0/ports/0/containerPort must be integer']);
    expect(schemaProblems(text.replace(/\n  selector:\n    matchLabels:\n      app\.kubernetes\.io\/name: migscope/, ''))).toEqual(['DaemonSet: data/spec must have required property selector']);
  });
});

describe('Kubernetes DaemonSet', () => {
  it('is privileged, in the host pid and network namespaces, with tracefs from the host and the metrics port; a broken copy is caught', () => {
    const text = read('kubernetes/daemonset.yaml');
    expect(daemonSetProblems(text)).toEqual([]);
    expect(daemonSetProblems(text.replace('hostPID: true', 'hostPID: false'))).toEqual(['hostPID is not true']);
    expect(daemonSetProblems(text.replace('privileged: true', 'privileged: false'))).toEqual(['container migscope is not privileged']);
    expect(daemonSetProblems(text.replace('hostNetwork: true', 'hostNetwork: false'))).toEqual(['hostNetwork is not true (the host label would be the pod name)']);
    expect(daemonSetProblems(text.replace('dnsPolicy: ClusterFirstWithHostNet', 'dnsPolicy: ClusterFirst'))).toEqual(['dnsPolicy is not ClusterFirstWithHostNet (cluster service names would not resolve)']);
    expect(daemonSetProblems(text.replace('- name: tracefs\n          hostPath', '- name: tracefs-x\n          hostPath'))).toEqual(
      expect.arrayContaining(['volumeMount tracefs has no volume', 'tracefs is not mounted from the host']),
    );
  });
});

/** Problems of a Collector config: every pipeline component defined, OTLP on migscope's ports. */
function collectorProblems(text: string): string[] {
  const c = obj(parse(text));
  const p: string[] = [];
  const otlp = obj(obj(obj(c['receivers'])['otlp'])['protocols']);
  if (!String(obj(otlp['grpc'])['endpoint']).endsWith(':4317')) p.push('no OTLP/gRPC receiver on :4317');
  if (!String(obj(otlp['http'])['endpoint']).endsWith(':4318')) p.push('no OTLP/HTTP receiver on :4318');
  const service = obj(c['service']);
  const pipelines = obj(service['pipelines']);
  for (const signal of ['traces', 'metrics']) if (!(signal in pipelines)) p.push(`no ${signal} pipeline`);
  for (const [name, pipe] of Object.entries(pipelines)) {
    for (const kind of ['receivers', 'processors', 'exporters'] as const) {
      for (const id of arr(obj(pipe)[kind])) if (!(String(id) in obj(c[kind]))) p.push(`pipeline ${name}: ${kind.slice(0, -1)} ${String(id)} is not defined`);
    }
    if (!arr(obj(pipe)['receivers']).includes('otlp')) p.push(`pipeline ${name} does not receive OTLP`);
  }
  for (const id of arr(service['extensions'])) if (!(String(id) in obj(c['extensions']))) p.push(`extension ${String(id)} is not defined`);
  return p;
}

describe('OpenTelemetry Collector config', () => {
  it('receives OTLP on migscope\'s ports and every pipeline names defined components; a broken copy is caught', () => {
    const text = read('otel-collector/config.yaml');
    expect(collectorProblems(text)).toEqual([]);
    expect(collectorProblems(text.replace('exporters: [otlp/tempo]', 'exporters: [otlp/jaeger]'))).toEqual(['pipeline traces: exporter otlp/jaeger is not defined']);
    expect(collectorProblems(text.replace('0.0.0.0:4318', '0.0.0.0:4319'))).toEqual(['no OTLP/HTTP receiver on :4318']);
  });
});

/**
 * Problems of the container image definition that a build would hit or that would leave the
 * agent unable to run (no image builder here: structural, each shown to catch a broken copy).
 */
function containerfileProblems(text: string, repo: string): string[] {
  const p: string[] = [];
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  const stages: string[][] = [];
  for (const l of lines) {
    if (/^FROM\s/i.test(l)) stages.push([]);
    stages.at(-1)?.push(l);
  }
  if (stages.length !== 2) return [`expected a build and a runtime stage, found ${stages.length}`];
  const [build = [], run = []] = stages;
  const copies = (stage: readonly string[]): { from: string | undefined; srcs: string[]; dest: string }[] =>
    stage
      .filter((l) => /^COPY\s/i.test(l))
      .map((l) => {
        const words = l.split(/\s+/).slice(1);
        const from = words[0]?.startsWith('--from=') === true ? words.shift()?.slice('--from='.length) : undefined;
        const dest = words.pop() ?? '';
        return { from, srcs: words, dest };
      });
  // Every file taken from the build context exists in the repository.
  for (const c of [...copies(build), ...copies(run)]) {
    if (c.from !== undefined) continue;
    for (const s of c.srcs) if (!existsSync(join(repo, s))) p.push(`COPY ${s}: not in the build context`);
  }
  // The build stage has every directory tsc compiles (tsconfig include), and compiles.
  const tsconfig = obj(JSON.parse(readFileSync(join(repo, 'tsconfig.json'), 'utf8')));
  const buildSrcs = new Set(copies(build).flatMap((c) => c.srcs));
  for (const dir of arr(tsconfig['include']).map(String)) if (!buildSrcs.has(dir)) p.push(`the build stage does not copy ${dir} (tsconfig include)`);
  if (!build.some((l) => /\bnpm ci\b/.test(l) && /\btsc -p tsconfig\.json\b/.test(l))) p.push('the build stage does not run npm ci and tsc');
  // The CLI users run is the bundle made after tsc (scripts/bundle-cli.mjs); tsc alone leaves the slower per-module entry.
  if (!build.some((l) => /\btsc -p tsconfig\.json\b.*\bnode scripts\/bundle-cli\.mjs\b/.test(l))) p.push('the build stage does not bundle the CLI after tsc (node scripts/bundle-cli.mjs)');
  // The runtime stage: the tracers, package.json (packageRoot finds the package by it), the
  // compiled CLI, capture/ (migscope.bt is read at run time), and an entry point into dist.
  if (!run.some((l) => /apt-get install.*\bbpftrace\b/.test(l))) p.push('the runtime stage does not install bpftrace');
  const runCopies = copies(run).filter((c) => c.from === 'build');
  for (const need of ['/src/package.json', '/src/node_modules', '/src/dist', '/src/capture']) if (!runCopies.some((c) => c.srcs.includes(need))) p.push(`the runtime stage does not copy ${need}`);
  const workdir = /^WORKDIR\s+(\S+)/m.exec(run.join('\n'))?.[1] ?? '';
  const entry = /^ENTRYPOINT\s+(\[.*\])/m.exec(run.join('\n'))?.[1];
  const argv = entry === undefined ? [] : arr(JSON.parse(entry)).map(String);
  const outDir = String(obj(tsconfig['compilerOptions'])['outDir']);
  if (argv[0] !== 'node' || argv[1] !== `${workdir}/${outDir}/src/cli/main.js`) p.push(`ENTRYPOINT ${entry ?? '(none)'} is not node ${workdir}/${outDir}/src/cli/main.js`);
  if (!existsSync(join(repo, 'src', 'cli', 'main.ts'))) p.push('src/cli/main.ts is gone');
  return p;
}

describe('container image definition', () => {
  const REPO = join(DEPLOY, '..');
  it('copies what exists, compiles what tsconfig includes, ships the tracers, capture/ and an entry point tsc produces; a broken copy is caught', () => {
    const text = read('Containerfile');
    expect(containerfileProblems(text, REPO)).toEqual([]);
    expect(containerfileProblems(text.replace('COPY capture ./capture', 'COPY captures ./capture'), REPO)).toEqual(['COPY captures: not in the build context', 'the build stage does not copy capture (tsconfig include)']);
    expect(containerfileProblems(text.replace('dist/src/cli/main.js"]', 'dist/cli/main.js"]'), REPO)).toEqual([expect.stringMatching(/^ENTRYPOINT .* is not node \/opt\/migscope\/dist\/src\/cli\/main\.js$/)]);
    expect(containerfileProblems(text.replace('COPY --from=build /src/capture ./capture\n', ''), REPO)).toEqual(['the runtime stage does not copy /src/capture']);
    expect(containerfileProblems(text.replace(' bpftrace trace-cmd', ' trace-cmd'), REPO)).toEqual(['the runtime stage does not install bpftrace']);
    expect(containerfileProblems(text.replace(' && node scripts/bundle-cli.mjs', ''), REPO)).toEqual(['the build stage does not bundle the CLI after tsc (node scripts/bundle-cli.mjs)']);
  });
});
