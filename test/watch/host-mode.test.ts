// Issue 15, host mode: `migscope watch --all` (the built CLI, real bpftrace) follows VMMs
// that start AFTER it, with one bpftrace for all, and drops the device gauges of a VMM that
// exits. Two lab VMMs (test/watch/lab-runner.py over capture/lab/vfio_fuse.py devices) are
// started once watch is attached: B runs a first v2 scenario, then A a v1 scenario; both
// live on (their devices closed). A exits while B waits: A's device gauges
// (migscope_device_state, migscope_device_pending_bytes) must leave watch's /metrics and a
// real Prometheus scraping it (the same Prometheus as test/watch/prometheus-live.test.ts)
// must stop answering them, while B's stay exactly as they were and A's finding counter stays;
// over OTLP (watch --export otlp to a loopback receiver, a second metric reader) A's finding,
// found outside any session, arrives as a span at A's exit (not when watch stops), and the
// exports after A's exit carry B's gauges only.
// Then B runs a second v2 scenario: its trace must be whole after A's exit. Every finding
// capture/lab/scenarios.json lists for the scenarios must be reported on the right device
// and show in /metrics; B's exit then drops B's gauges too.
//
// The VMMs run python through a symlink with a name of this run's own
// (mslab-<random>), so the process's comm at exec is that name and `--match` selects these
// two processes and nothing else on a shared host. (lab-runner.py then renames its main
// thread "qemu-system-x86" and its migration thread "live_migration": the registration is
// by pid, so renaming threads changes nothing.)
//
// Skips, printing why, without root, FUSE, python3-fusepy, bpftrace or prometheus.

import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LAB_PYTHON, labAvailable, labScenarios, startLab, type RunningLab } from '../../capture/lab/run.js';
import { PROMETHEUS, dataOf, freePort, promApi, startPrometheus, toolAvailable, type RunningPrometheus } from '../helpers/prometheus.js';
import { v1StateName } from '../../src/protocol/v1.js';
import { V2_STATES } from '../../src/protocol/v2.js';
import { ATTR, SPAN } from '../../src/export/conventions.js';
import { builtCli, kill, LAB_RUNNER, startProc, waitFor, type Proc } from './helpers.js';
import { startHttpReceiver, type ReceivedPoint, type Receiver } from '../export/otlp-receiver.js';

const lab = await labAvailable('bpftrace');
const skipReason = !lab.ok ? lab.reason : !toolAvailable(PROMETHEUS) ? `${PROMETHEUS} is missing (Debian package "prometheus")` : undefined;
if (skipReason !== undefined) console.warn(`SKIPPED test/watch/host-mode.test.ts: ${skipReason}`);

const A = 'reserved-state-101-rejected'; // v1, 0000:65:00.0
const B1 = 'v2-clean-live-migration'; // v2, 0000:66:00.0
const B2 = 'v2-stopcopy-not-drained'; // v2, 0000:66:00.0
const DEV_A = '0000:65:00.0';
const DEV_B = '0000:66:00.0';

function scenario(name: string): ReturnType<typeof labScenarios>[number] {
  const s = [...labScenarios('v1'), ...labScenarios('v2')].find((x) => x.name === name);
  if (s === undefined) throw new Error(`scenarios.json has no ${name}`);
  return s;
}

function expectedFindings(name: string): { rule: string; device: string }[] {
  return scenario(name).expect.findings.map((f) => ({ rule: f.rule, device: f.device }));
}

/** The state a scenario leaves its device in, by the state set's name (scenarios.json expect.states). */
function lastState(name: string, device: string, protocol: 'v1' | 'v2'): string {
  const raw = scenario(name).expect.states[device]?.at(-1);
  if (raw === undefined) throw new Error(`${name} lists no states for ${device}`);
  return protocol === 'v1' ? v1StateName(raw) : (V2_STATES[raw] ?? 'INVALID');
}

const esc = (d: string): string => d.replace(/\./g, '\\.');
/** The device gauges' lines for one device in a /metrics text. */
const gaugeLines = (text: string, device: string): string[] =>
  text.split('\n').filter((l) => new RegExp(`^migscope_device_(state|pending_bytes)\\{[^}]*device="${esc(device)}"`).test(l));

interface Line {
  readonly type: string;
  readonly device: string;
  readonly rule?: string;
  readonly host?: string;
  readonly time?: string;
  readonly timeSource?: string;
  readonly evidence?: readonly { readonly src: { readonly line?: number } }[];
}

describe.skipIf(skipReason !== undefined)('watch --all: VMMs that start later, one bpftrace; one that exits takes its device gauges along', () => {
  const dir = mkdtempSync(join(tmpdir(), 'migscope-hostmode-'));
  const name = `mslab-${Math.random().toString(36).slice(2, 8)}`;
  const python = join(dir, name);
  symlinkSync(LAB_PYTHON, python);
  const save = join(dir, 'host.trace');
  let labs: RunningLab[] = [];
  let watch: Proc | undefined;
  let prom: RunningPrometheus | undefined;
  let otlp: Receiver | undefined;
  const vmms: Proc[] = [];

  afterAll(async () => {
    for (const v of vmms) await kill(v);
    await kill(watch, true);
    await prom?.stop();
    await otlp?.close();
    await Promise.all(labs.map((l) => l.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees both, reports each one’s findings and metrics, drops the gauges of the one that exits and leaves the other whole', async () => {
    const began = Date.now();
    labs = [await startLab(A), await startLab(B1), await startLab(B2)];
    const [labA, labB1, labB2] = labs as [RunningLab, RunningLab, RunningLab];
    const port = await freePort();
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', '  - job_name: migscope', '    static_configs:', `      - targets: ['127.0.0.1:${port}']`, ''].join('\n'));
    prom = await startPrometheus({ configFile: config, dataDir: join(dir, 'prom-data') });
    const p = prom;
    const query = async (q: string): Promise<{ labels: Record<string, string>; value: number }[]> =>
      dataOf(await promApi(p.base, '/api/v1/query', { query: q })).result.map((r) => ({ labels: r.metric, value: Number(r.value?.[1]) }));
    /** Wall-clock ms of Prometheus' latest successful scrape of watch. */
    const lastScrapeMs = async (): Promise<number> => {
      const [up] = await query('up{job="migscope"}');
      if (up?.value !== 1) return 0;
      const [ts] = await query('timestamp(up{job="migscope"})');
      return Math.round((ts?.value ?? 0) * 1000);
    };
    const scrapedAfter = async (ms: number): Promise<void> => {
      for (let i = 0; (await lastScrapeMs()) <= ms; i++) {
        if (i > 200) throw new Error(`prometheus did not scrape watch after ${ms}: ${p.log()}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    };

    // Spans and metrics over OTLP too (a second metric reader: every second).
    otlp = await startHttpReceiver();
    const o = otlp;
    watch = startProc(
      [process.execPath, builtCli(), 'watch', '--all', '--match', `^${name}$`, '--json-lines', '--save', save, '--metrics-address', `127.0.0.1:${port}`, '--export', 'otlp', '--fail-on', 'never', '--no-color'],
      {
        detached: true,
        env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: o.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_NODE_RESOURCE_DETECTORS: 'env' },
      },
    );
    /** The OTLP metric exports so far, each as its points (every export ends with the input counters, created last). */
    const otlpExports = (): ReceivedPoint[][] => {
      const out: ReceivedPoint[][] = [[]];
      for (const pt of o.points) {
        out[out.length - 1]?.push(pt);
        if (pt.metric === 'migscope.device.label_overflow') out.push([]);
      }
      return out.slice(0, -1);
    };
    const gaugeDevices = (points: readonly ReceivedPoint[]): string[] => [...new Set(points.filter((pt) => pt.type === 'gauge').map((pt) => String(pt.attributes['device'])))].sort();
    const w = watch;
    await waitFor(() => /waiting for one to start/.test(w.stderr()), 60_000, `watch --all to attach: ${w.stderr()}`);
    const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    /** Scrapes watch until `cond` holds (watch handles a line a moment after the VMM made it); the last text. */
    const scrapeUntil = async (cond: (text: string) => boolean, what: string): Promise<string> => {
      for (let i = 0; ; i++) {
        const t = await scrape();
        if (cond(t)) return t;
        if (i > 100) throw new Error(`${what}: never in /metrics:\n${t}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    };

    // Both VMMs start after watch is attached; each opens its devices and waits (--wait-go).
    const start = (runs: readonly string[], more: readonly string[]): Proc => {
      const v = startProc([python, LAB_RUNNER, ...runs.flatMap((r) => ['--run', r]), '--wait-go', ...more, '--wait-end'], { stdin: 'pipe' });
      vmms.push(v);
      return v;
    };
    const a = start([`${labA.mount}:${A}`], []);
    const b = start([`${labB1.mount}:${B1}`, `${labB2.mount}:${B2}`], ['--wait-each']);
    const pidA = a.child.pid ?? -1;
    const pidB = b.child.pid ?? -1;
    await waitFor(() => /ready/.test(a.stdout()) && /ready/.test(b.stdout()), 30_000, 'both VMMs ready');
    await waitFor(() => w.stderr().includes(`tracing pid ${pidA} (${name})`) && w.stderr().includes(`tracing pid ${pidB} (${name})`), 10_000, `watch to name both pids: ${w.stderr()}`);

    // B migrates once and waits; then A runs its scenario. Both live on, their devices closed.
    b.child.stdin?.write('\n');
    await waitFor(() => b.stdout().includes(`next ${B2}`), 30_000, `B's first run: ${b.stdout()}`);
    a.child.stdin?.write('\n');
    await waitFor(() => /finished/.test(a.stdout()), 30_000, 'A finished');

    // Both devices' state sets show the state their scenario left them in, in watch's
    // /metrics and in Prometheus (a device a live VMM closed keeps its gauges).
    const stateA = lastState(A, DEV_A, 'v1');
    const stateB = lastState(B1, DEV_B, 'v2');
    const isOne = (device: string, protocol: string, state: string): RegExp => new RegExp(`^migscope_device_state\\{[^}]*device="${esc(device)}",protocol="${protocol}",state="${state}"[^}]*\\} 1$`, 'm');
    await scrapeUntil((t) => isOne(DEV_A, 'v1', stateA).test(t) && isOne(DEV_B, 'v2', stateB).test(t), 'both state sets in /metrics');
    let before = await scrape(); // the second scrape: a new counter series reads 0 on its first (ZeroFirstPrometheusExporter)
    before = await scrape();
    expect(before).toMatch(isOne(DEV_A, 'v1', stateA));
    expect(before).toMatch(isOne(DEV_B, 'v2', stateB));
    const gaugesB = gaugeLines(before, DEV_B);
    expect(gaugesB.some((l) => l.startsWith('migscope_device_pending_bytes{'))).toBe(true); // B1's save sampled PRECOPY_INFO
    const seenBoth = Date.now();
    await scrapedAfter(seenBoth);
    const current = async (): Promise<string[]> => (await query('migscope_device_state == 1')).map((r) => `${r.labels['device']} ${r.labels['state']}`).sort();
    expect(await current()).toEqual([`${DEV_A} ${stateA}`, `${DEV_B} ${stateB}`]);

    // A exits while B waits between its migrations.
    a.child.stdin?.end('\n');
    expect(await a.exit).toBe(0);
    await waitFor(() => w.stderr().includes(`pid ${pidA} no longer traced (exit)`), 10_000, `watch to see A exit: ${w.stderr()}`);
    const after = await scrapeUntil((t) => gaugeLines(t, DEV_A).length === 0, "A's gauges gone after its exit");
    // B's gauges are exactly as they were; A's finding counter stays (a counter never goes back).
    expect(gaugeLines(after, DEV_B)).toEqual(gaugesB);
    for (const f of expectedFindings(A)) expect(after).toMatch(new RegExp(`^migscope_findings_total\\{[^}]*device="${esc(f.device)}"[^}]*rule="${f.rule}"[^}]*\\} 1$`, 'm'));
    // Prometheus marks A's series stale at its next scrape: instant queries no longer return them.
    await scrapedAfter(Date.now());
    expect(await current()).toEqual([`${DEV_B} ${stateB}`]);
    expect(await query(`migscope_device_state{device="${DEV_A}"}`)).toEqual([]);
    expect(await query(`migscope_device_pending_bytes{device="${DEV_A}"}`)).toEqual([]);
    expect((await query(`migscope_device_pending_bytes{device="${DEV_B}"}`)).length).toBe(1);
    expect((await query(`migscope_findings_total{device="${DEV_A}"}`)).map((r) => r.value)).toEqual(expectedFindings(A).map(() => 1));

    // Over OTLP: A's finding (outside any session) is a span now, not when watch stops, and
    // from one export on (the other reader may have collected while A lived) no gauge of A's.
    for (const f of expectedFindings(A)) {
      await waitFor(() => o.spans.some((sp) => sp.name === SPAN.finding && sp.attributes[ATTR.ruleId] === f.rule), 10_000, `A's ${f.rule} span over OTLP after A's exit`);
    }
    const exportsAtGone = otlpExports().length;
    await waitFor(() => otlpExports().length >= exportsAtGone + 3, 20_000, 'three more OTLP metric exports');
    const laterExports = otlpExports().slice(exportsAtGone + 1);
    expect(otlpExports().slice(0, exportsAtGone).some((e) => gaugeDevices(e).includes(DEV_A))).toBe(true);
    for (const e of laterExports) expect(gaugeDevices(e)).toEqual([DEV_B]);

    // Then B migrates again: its trace must be unaffected by A's exit.
    b.child.stdin?.write('\n');
    await waitFor(() => /finished/.test(b.stdout()), 30_000, 'B finished');
    const lines = (): Line[] =>
      w
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Line);
    const wanted = [...expectedFindings(A), ...expectedFindings(B1), ...expectedFindings(B2)];
    expect(wanted.length).toBeGreaterThanOrEqual(2);
    await waitFor(() => wanted.every((f) => lines().some((l) => l.type === 'finding' && l.rule === f.rule && l.device === f.device)), 10_000, `findings ${JSON.stringify(wanted)} in ${w.stdout()}`);

    // Each VMM's findings, and no other: the findings are exactly the scenarios' lists.
    const found = lines().filter((l) => l.type === 'finding').map((l) => ({ rule: l.rule, device: l.device }));
    expect(found.sort((x, y) => `${x.rule}${x.device}`.localeCompare(`${y.rule}${y.device}`))).toEqual(
      wanted.sort((x, y) => `${x.rule}${x.device}`.localeCompare(`${y.rule}${y.device}`)),
    );
    // Every JSON line says where and when: this host, and the wall clock of its trace time
    // through the capture's clock-sync record (so within this test's run).
    for (const l of lines()) {
      expect(l.host).toBe(hostname());
      expect(l.timeSource).toBe('trace');
      expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      const ms = Date.parse(l.time ?? '');
      expect(ms).toBeGreaterThanOrEqual(began);
      expect(ms).toBeLessThanOrEqual(Date.now());
    }
    // B's saves ended (V2-SAVE-DRAIN cites the second): a session line for each, one after A exited.
    const sessionsB = [B1, B2].flatMap((n) => scenario(n).expect.sessions?.[DEV_B] ?? []);
    expect(sessionsB).toHaveLength(2);
    // The second save's session line can follow the finding that cites it (it is printed when
    // the session's last record has been through the reorder hold): wait for it, then count.
    const sessionLinesB = (): Line[] => lines().filter((l) => l.type === 'session' && l.device === DEV_B);
    await waitFor(() => sessionLinesB().length >= sessionsB.length, 10_000, `B's session lines in ${w.stdout()}`).catch(() => undefined);
    expect(sessionLinesB()).toHaveLength(sessionsB.length);

    // /metrics has every finding, and B's state set the state B2 left it in (a new counter
    // series reads 0 on its first scrape: ZeroFirstPrometheusExporter; so the second scrape is the one that counts).
    await scrape();
    const metrics = await scrape();
    for (const f of wanted) expect(metrics).toMatch(new RegExp(`migscope_findings_total\\{[^}]*device="${f.device.replace(/\./g, '\\.')}"[^}]*rule="${f.rule}"[^}]*\\} [1-9]`));
    expect(metrics).toMatch(isOne(DEV_B, 'v2', lastState(B2, DEV_B, 'v2')));

    b.child.stdin?.end('\n');
    expect(await b.exit).toBe(0);
    await waitFor(() => w.stderr().includes(`pid ${pidB} no longer traced (exit)`), 10_000, `watch to see B exit: ${w.stderr()}`);
    // B's gauges go too; no device gauge is left.
    await scrapeUntil((t) => !/^migscope_device_(state|pending_bytes)\{/m.test(t), 'no device gauge left after both exits');
    process.kill(-(w.child.pid ?? 0), 'SIGINT');
    expect(await w.exit).toBe(0);

    // One bpftrace for both: the saved capture is one file whose records come from both pids,
    // with the kernel side's registration and exit records for each.
    const saved = readFileSync(save, 'utf8');
    expect(saved.match(/program=migscope\.bt/g)?.length).toBe(1);
    for (const pid of [pidA, pidB]) {
      expect(saved).toMatch(new RegExp(`^\\d+ vmm pid=${pid} tid=${pid} early_vfio=0 `, 'm'));
      expect(saved).toMatch(new RegExp(`^\\d+ vmmexit pid=${pid} tid=${pid} why=exit$`, 'm'));
      expect(saved).toMatch(new RegExp(`^\\d+ ioctl pid=${pid} `, 'm'));
    }
    // Nothing of any other process was traced.
    const pids = new Set([...saved.matchAll(/^\d+ \w+ pid=(\d+) /gm)].map((m) => Number(m[1])));
    expect([...pids].sort()).toEqual([pidA, pidB].sort());
    expect(w.stderr()).toMatch(/2 device\(s\)/);
  }, 240_000);
});
