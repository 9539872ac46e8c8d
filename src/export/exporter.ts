// The streaming exporter: sessions are exported as they end (watch mode), and
// exportAnalysis (export-analysis.ts) drives the same object over a finished Analysis.
//
//   const exp = createExporter({ migrationId });
//   tracker onSessionEnd → await exp.session({ host, clock, device, session, findings })
//   a finding outside every session → await exp.finding({ host, clock, finding })
//   tracker onStateChange → exp.deviceState(host, device, raw)
//   tracker onPending → exp.pendingBytes(host, device, bytes)
//   tracker onProcessGone → exp.deviceGone(host, id) for each device of the process
//   live (watch): createExporter({ countFindingsOnSight: true }) and exp.countFinding(host, f)
//     as each finding is found, so the findings counter does not wait for the session's end
//   const summary = await exp.shutdown();   // bounded; summary.ok === false → exit non-zero
//
// Memory is bounded by the number of devices (a little state each) plus the span queue.

import { ROOT_CONTEXT, SpanKind, TraceFlags, trace, type Attributes, type Context, type HrTime, type Link, type SpanContext } from '@opentelemetry/api';
import type { IMetricReader, PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ClockMapping } from '../analysis/types.js';
import type { Finding } from '../check/types.js';
import type { DeviceTimeline } from '../track/types.js';
import { readExportConfig, type Env, type MetricsExporterName, type TracesExporterName } from './config.js';
import { ATTR, EVENT, SPAN } from './conventions.js';
import { migrationRootSpanId, resolveCorrelation, saveSessionSpanId, type Correlation } from './correlation.js';
import { createConsoleMetricExporter, createConsoleSpanExporter, createOtlpMetricExporter, createOtlpSpanExporter } from './exporters.js';
import { createMetricPipeline, type MetricPipelineExporter } from './metric-pipeline.js';
import { buildResource, isOtherHost } from './resource.js';
import { addFindings, findingAttributes, isErrorFinding, planSession, type SessionInput, type SessionPlan, type SpanPlan } from './session-plan.js';
import { createSpanPipeline, type SpanPipelineExporter } from './span-pipeline.js';
import { emitSession, emitSingle, type RootOptions } from './spans.js';
import { planMigration } from './migration-plan.js';
import type { Migration } from '../track/migration-types.js';
import type { ExportSummary, ExporterSummary } from './summary.js';
import { nsToHrTime, toWallNs, wallClockOf } from './time.js';

export type { SessionInput } from './session-plan.js';

export interface ExportOptions {
  /**
   * The migration id the orchestrator gave both hosts (--migration-id). Every session's
   * trace id derives from it; the first save session of each device gets a derived span
   * id that the destination's resume session links to (correlation.ts).
   */
  readonly migrationId?: string | undefined;
  /** W3C traceparent to join (default: the TRACEPARENT environment variable); --migration-id wins. */
  readonly traceparent?: string | undefined;
  /**
   * Name a local device id for cross-host linking when source and destination see the
   * device under different ids (e.g. both hosts map their BDF to "nic0"). Default: the id.
   */
  readonly deviceLinkNames?: ReadonlyMap<string, string> | undefined;
  /** Override OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER (e.g. --export console). */
  readonly traces?: readonly TracesExporterName[] | undefined;
  readonly metrics?: readonly MetricsExporterName[] | undefined;
  /** Per export, retries included (default OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]TIMEOUT or 10 s). */
  readonly exportTimeoutMs?: number | undefined;
  /** Bound on the final flush + shutdown (default: twice the export timeout + 5 s). */
  readonly shutdownTimeoutMs?: number | undefined;
  /** Batch span processor limits (default OTEL_BSP_MAX_QUEUE_SIZE 2048 / OTEL_BSP_MAX_EXPORT_BATCH_SIZE 512). */
  readonly maxQueueSize?: number | undefined;
  readonly maxExportBatchSize?: number | undefined;
  /** service.name (default OTEL_SERVICE_NAME, then service.name in OTEL_RESOURCE_ATTRIBUTES, then "migscope"). */
  readonly serviceName?: string | undefined;
  /** service.version and the instrumentation scope version (Analysis.tool.version). */
  readonly serviceVersion?: string | undefined;
  /** Use these span exporters instead of the configured ones (tests, in-memory). */
  readonly spanExporters?: readonly { readonly name: string; readonly exporter: SpanExporter; readonly grpc?: boolean }[] | undefined;
  readonly metricExporters?: readonly { readonly name: string; readonly exporter: PushMetricExporter; readonly grpc?: boolean }[] | undefined;
  /**
   * Watch mode: findings are counted by countFinding() the moment they are found, so the
   * findings counter is live; session() and finding() then make only the spans (span
   * events) for them, without counting them again. Default false: session() and finding()
   * count the findings they carry (one-shot exports of a finished analysis).
   */
  readonly countFindingsOnSight?: boolean | undefined;
  /**
   * Distinct `device` label values per host before further devices are folded into
   * device="_overflow" (counted; device-labels.ts). Default 256.
   */
  readonly maxDevicesPerHost?: number | undefined;
  /** Extra metric readers, e.g. a PrometheusExporter for watch mode's /metrics. */
  readonly metricReaders?: readonly IMetricReader[] | undefined;
  /** Environment to read OTEL_* from (default process.env; the OTLP exporters always read process.env for endpoints and headers). */
  readonly env?: Env | undefined;
}

/** A finding that belongs to no session. */
export interface FindingInput {
  readonly host: string | undefined;
  readonly clock: ClockMapping;
  readonly finding: Finding;
}

export interface MigscopeExporter {
  /** The trace id all sessions go to when correlated, else undefined. */
  readonly traceId: string | undefined;
  /** Export one ended session (spans + metrics). Resolves once queued; waits when the queue is full. */
  session(input: SessionInput): Promise<void>;
  /** Export a finding outside every session: counted, and a span of its own (a child of the device's latest session span when there is one). */
  finding(input: FindingInput): Promise<void>;
  /** Export one migration of the `migrations` section (migration-plan.ts): spans only. */
  migration(m: Migration, clock: ClockMapping, host: string | undefined): Promise<void>;
  /** Set the device state gauge (raw value; undefined = unknown). */
  deviceState(host: string | undefined, device: Pick<DeviceTimeline, 'id' | 'protocol'>, raw: number | undefined): void;
  /** Set the pending-bytes gauge to a device's latest sample (tracker onPending). */
  pendingBytes(host: string | undefined, device: Pick<DeviceTimeline, 'id' | 'protocol'>, bytes: bigint): void;
  /**
   * The device's VMM is gone: its state and pending-bytes series are no longer exported (its
   * counters stay), and its span state is forgotten once its last session is out.
   */
  deviceGone(host: string | undefined, id: string): void;
  /** Devices the exporter keeps span state for now (tests of host mode's memory). */
  liveDevices(): number;
  /** Count a finding now (with countFindingsOnSight; without it session()/finding() count, and this is a no-op). */
  countFinding(host: string | undefined, finding: Finding): void;
  /** Add input counters (records, malformed, lost events) — deltas. */
  input(host: string | undefined, counts: { readonly records: number; readonly malformed: number; readonly lostEvents: number }): void;
  /** Push everything queued now (bounded by the exporters' timeouts). */
  flush(): Promise<void>;
  /** Flush and stop, within the shutdown timeout; never throws. Call once. */
  shutdown(): Promise<ExportSummary>;
}

/** A session span already emitted: where later findings in its window go (as child spans). */
interface Emitted {
  readonly ctx: SpanContext;
  readonly startNs: bigint | undefined;
  readonly endNs: bigint | undefined;
}

/** A session accepted by session() and not emitted yet: findings of its window still join it as events. */
interface Pending {
  readonly input: SessionInput;
  readonly plan: SessionPlan;
  /** Findings of the session's window that arrived after session(). */
  readonly late: Finding[];
}

interface DeviceState {
  sessions: number;
  savedDerived: boolean;
  pending: Pending | undefined;
  /** The latest emitted sessions, newest last (at most RECENT_SESSIONS). */
  readonly recent: Emitted[];
  /** Its key in `devices`, and whether its VMM is gone (deviceGone): then it is forgotten once nothing waits on it. */
  readonly key: string;
  gone: boolean;
}

/**
 * How many emitted sessions per device a late finding can still find by its time. A late
 * finding is one found after its session ended (the drain check at the SET that ends a save)
 * and after the session left the pending slot; one session back is the common case.
 */
const RECENT_SESSIONS = 8;

function inWindow(startNs: bigint | undefined, endNs: bigint | undefined, t: bigint | undefined): boolean {
  if (t === undefined || startNs === undefined || t < startNs) return false;
  return endNs === undefined || t <= endNs;
}

function hrNs(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

export function createExporter(opts: ExportOptions = {}): MigscopeExporter {
  const env: Env = opts.env ?? process.env;
  const config = readExportConfig(env, {
    traces: opts.traces,
    metrics: opts.metrics,
    exportTimeoutMs: opts.exportTimeoutMs,
    maxQueueSize: opts.maxQueueSize,
    maxExportBatchSize: opts.maxExportBatchSize,
  });
  const notes: string[] = [...config.problems];
  const { correlation, problems: corrProblems } = resolveCorrelation({
    migrationId: opts.migrationId,
    traceparent: opts.traceparent ?? env['TRACEPARENT'],
    tracestate: env['TRACESTATE'],
  });
  notes.push(...corrProblems);
  const { resource, problems: resProblems } = buildResource({ serviceName: opts.serviceName, serviceVersion: opts.serviceVersion, env });
  notes.push(...resProblems);

  const spanExporters: SpanPipelineExporter[] =
    opts.spanExporters?.map((e) => ({ name: e.name, exporter: e.exporter, grpc: e.grpc === true })) ??
    config.traces.map((name) =>
      name === 'otlp'
        ? { name: `otlp ${config.tracesProtocol}`, exporter: createOtlpSpanExporter(config.tracesProtocol, config.tracesTimeoutMs), grpc: config.tracesProtocol === 'grpc' }
        : { name: 'console', exporter: createConsoleSpanExporter(), grpc: false },
    );
  const metricExporters: MetricPipelineExporter[] =
    opts.metricExporters?.map((e) => ({ name: e.name, exporter: e.exporter, grpc: e.grpc === true })) ??
    config.metrics.flatMap((name): MetricPipelineExporter[] => {
      if (name === 'otlp') return [{ name: `otlp ${config.metricsProtocol}`, exporter: createOtlpMetricExporter(config.metricsProtocol, config.metricsTimeoutMs), grpc: config.metricsProtocol === 'grpc' }];
      if (name === 'console') return [{ name: 'console', exporter: createConsoleMetricExporter(), grpc: false }];
      // prometheus is a pull reader with its own HTTP server: the caller that serves it
      // (watch mode) passes it in metricReaders; a one-shot export has nothing to serve.
      notes.push('OTEL_METRICS_EXPORTER=prometheus needs a long-running command (migscope watch); ignored here');
      return [];
    });

  const traceId = correlation.mode === 'none' ? undefined : correlation.traceId;
  const spans = createSpanPipeline({
    resource,
    // Spans about another host than this one go out under that host's resource (resource.ts).
    resourceFor: (host) => (isOtherHost(host) ? buildResource({ serviceName: opts.serviceName, serviceVersion: opts.serviceVersion, env, tracedHost: host }).resource : undefined),
    exporters: spanExporters,
    traceId: correlation.mode === 'migration-id' ? correlation.traceId : undefined,
    maxQueueSize: config.maxQueueSize,
    maxExportBatchSize: config.maxExportBatchSize,
    scheduledDelayMs: config.scheduledDelayMs,
    bspExportTimeoutMs: config.bspExportTimeoutMs,
    exportTimeoutMs: config.tracesTimeoutMs,
    tracerName: 'migscope',
    tracerVersion: opts.serviceVersion,
  });
  const metrics = createMetricPipeline({
    resource,
    exporters: metricExporters,
    readers: opts.metricReaders ?? [],
    exportIntervalMs: config.metricExportIntervalMs,
    exportTimeoutMs: config.metricsTimeoutMs,
    meterVersion: opts.serviceVersion,
    maxDevicesPerHost: opts.maxDevicesPerHost,
  });
  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? Math.max(config.tracesTimeoutMs, config.metricsTimeoutMs) * 2 + 5000;

  const parent: Context = parentContext(correlation);
  const devices = new Map<string, DeviceState>();
  let sessions = 0;
  let standalone = 0;
  let relativeNoted = false;
  let shutdownResult: Promise<ExportSummary> | undefined;

  function deviceState(host: string | undefined, id: string): DeviceState {
    const key = `${host ?? ''}\0${id}`;
    let d = devices.get(key);
    if (d === undefined) {
      d = { sessions: 0, savedDerived: false, pending: undefined, recent: [], key, gone: false };
      devices.set(key, d);
    }
    d.gone = false;
    return d;
  }

  /**
   * A host agent sees thousands of VMM lifetimes: a gone VMM's device is forgotten once its
   * last session is out (a later VMM using the name is a new device life, whose sessions
   * count from 0 again), unless it holds a derived save span id, which must never be made
   * twice in one migration (one entry per device name, only with --migration-id).
   */
  function forgetIfGone(d: DeviceState): void {
    if (d.gone && d.pending === undefined && !d.savedDerived) devices.delete(d.key);
  }

  // The migration root (--migration-id): sessions of both hosts are its children; this host
  // emits it at shutdown if it saw a save (it is the source), spanning its sessions.
  const rootSpanId = correlation.mode === 'migration-id' ? migrationRootSpanId(correlation.key) : undefined;
  let rootBounds: { start: HrTime; end: HrTime } | undefined;
  let sawSave = false;
  let rootHost: string | undefined;

  async function emitPending(dev: DeviceState): Promise<void> {
    const p = dev.pending;
    if (p === undefined) return;
    dev.pending = undefined;
    await emitPlan(dev, p);
    forgetIfGone(dev);
  }

  async function emitPlan(dev: DeviceState, p: Pending): Promise<void> {
    const input = p.input;
    const plan = addFindings(p.plan, input, p.late, wallClockOf(input.clock));
    let spanId: string | undefined;
    const links: Link[] = [];
    if (correlation.mode !== 'none') {
      const linkName = opts.deviceLinkNames?.get(input.device.id) ?? input.device.id;
      if (input.session.kind === 'save' && !dev.savedDerived) {
        // Only the first save of a device per migration gets the derived id: two spans
        // must never share an id; a migration saves each device once unless it is retried.
        dev.savedDerived = true;
        spanId = saveSessionSpanId(correlation.key, linkName);
      } else if (input.session.kind === 'resume') {
        links.push({
          context: { traceId: correlation.traceId, spanId: saveSessionSpanId(correlation.key, linkName), traceFlags: TraceFlags.SAMPLED, isRemote: true },
          attributes: { [ATTR.linkType]: SPAN.session('save'), [ATTR.deviceId]: linkName },
        });
      }
    }
    if (input.session.kind === 'save') sawSave = true;
    rootHost ??= input.host;
    if (plan.timed) {
      const b = rootBounds;
      if (b === undefined) rootBounds = { start: plan.root.start, end: plan.root.end };
      else {
        if (hrNs(plan.root.start) < hrNs(b.start)) b.start = plan.root.start;
        if (hrNs(plan.root.end) > hrNs(b.end)) b.end = plan.root.end;
      }
    }
    const ctx = await emitSession(spans.emitterFor(input.host), plan, { parent, spanId, links });
    dev.recent.push({ ctx, startNs: input.session.startNs, endNs: input.session.endNs });
    if (dev.recent.length > RECENT_SESSIONS) dev.recent.shift();
  }

  // Pending sessions go out once the current record's callbacks are done (setImmediate runs
  // after the synchronous work that delivered the session end and its findings).
  let drainScheduled: NodeJS.Immediate | undefined;
  let draining: Promise<void> = Promise.resolve();
  function drainAll(): Promise<void> {
    draining = draining.then(async () => {
      for (const d of devices.values()) if (d.pending !== undefined) await emitPending(d);
    });
    return draining;
  }
  function scheduleDrain(): void {
    if (drainScheduled !== undefined) return;
    drainScheduled = setImmediate(() => {
      drainScheduled = undefined;
      void drainAll();
    });
  }
  function cancelDrain(): void {
    if (drainScheduled !== undefined) clearImmediate(drainScheduled);
    drainScheduled = undefined;
  }

  async function emitRoot(): Promise<void> {
    if (rootSpanId === undefined || !sawSave) return;
    const zero = nsToHrTime(0n);
    const b = rootBounds ?? { start: zero, end: zero };
    const attributes: Attributes = { [ATTR.migrationId]: correlation.mode === 'migration-id' ? correlation.migrationId : '' };
    if (rootHost !== undefined) attributes[ATTR.hostName] = rootHost;
    if (rootBounds === undefined) attributes[ATTR.timed] = false;
    const plan: SpanPlan = { name: SPAN.migration, kind: SpanKind.INTERNAL, start: b.start, end: b.end, attributes, events: [], error: undefined };
    await emitSingle(spans.emitterFor(rootHost), plan, { parent: ROOT_CONTEXT, spanId: rootSpanId, links: [] });
  }

  function noteClock(clock: ClockMapping): void {
    if (!relativeNoted && wallClockOf(clock).source === 'relative') {
      relativeNoted = true;
      notes.push('the trace has no clock sync and no --clock-offset: span times are trace-clock times read as if they counted from 1970; find the spans by trace id');
    }
  }

  return {
    traceId,
    async session(input: SessionInput): Promise<void> {
      if (shutdownResult !== undefined) throw new Error('migscope exporter: session() after shutdown()');
      noteClock(input.clock);
      const dev = deviceState(input.host, input.device.id);
      // Synchronously, before any await: a finding reported right after this call (the drain
      // check at the SET that ended the session) must find the session pending.
      const wall = wallClockOf(input.clock);
      const plan = planSession(input, { wall, sessionIndex: dev.sessions, migrationId: correlation.mode === 'migration-id' ? correlation.migrationId : undefined });
      const previous = dev.pending;
      dev.pending = { input, plan, late: [] };
      dev.sessions++;
      sessions++;
      scheduleDrain();
      metrics.instruments.recordSession(input.host, input.device, input.session, plan.states);
      // The device's previous session goes out now (its window is closed: a later finding
      // cannot belong to it), with the wait for queue room that keeps memory bounded.
      if (opts.countFindingsOnSight !== true) for (const f of input.findings) metrics.instruments.recordFinding(input.host, f);
      if (previous !== undefined) await emitPlan(dev, previous);
    },
    async finding(input: FindingInput): Promise<void> {
      if (shutdownResult !== undefined) throw new Error('migscope exporter: finding() after shutdown()');
      const f = input.finding;
      const wall = wallClockOf(input.clock);
      noteClock(input.clock);
      if (opts.countFindingsOnSight !== true) metrics.instruments.recordFinding(input.host, f);
      const dev = devices.get(`${input.host ?? ''}\0${f.device}`);
      // The session whose [start, end] holds the finding's time, and only that one: an event
      // on it while it is still pending, else a child span of it. Never an earlier session
      // whose window it is not in (that session is unrelated: the finding came after it).
      const p = dev?.pending;
      if (p !== undefined && inWindow(p.input.session.startNs, p.input.session.endNs, f.tsNs)) {
        p.late.push(f);
        return;
      }
      // Not the pending session's: send that one now, so the link below can point at it.
      if (dev !== undefined && p !== undefined) {
        await draining;
        await emitPending(dev);
      }
      let home: Emitted | undefined;
      let after: Emitted | undefined;
      for (const r of dev?.recent ?? []) {
        if (inWindow(r.startNs, r.endNs, f.tsNs)) home = r;
        else if (f.tsNs !== undefined && r.endNs !== undefined && r.endNs < f.tsNs) after = r;
      }
      // Outside every session (e.g. the reset after a failed save): not a child of the
      // session before it, but LINKED to it, so the trace view can still go from one to the other.
      const links: Link[] = [];
      if (home === undefined && after !== undefined) links.push({ context: after.ctx, attributes: { [ATTR.linkType]: 'previous_session' } });
      standalone++;
      const time: HrTime = nsToHrTime(toWallNs(f.tsNs ?? 0n, wall));
      const attributes = findingAttributes(f, f.tsNs !== undefined);
      attributes[ATTR.clockSource] = wall.source;
      if (input.host !== undefined) attributes[ATTR.hostName] = input.host;
      const plan: SpanPlan = {
        name: SPAN.finding,
        kind: SpanKind.INTERNAL,
        start: time,
        end: time,
        attributes,
        events: [{ name: EVENT.finding, time, attributes: findingAttributes(f, f.tsNs !== undefined) }],
        error: isErrorFinding(f) ? `${f.rule}: ${f.message}` : undefined,
      };
      if (plan.error !== undefined) attributes[ATTR.errorType] = f.rule;
      const rootOpts: RootOptions = {
        parent: home !== undefined ? trace.setSpanContext(ROOT_CONTEXT, home.ctx) : parent,
        spanId: undefined,
        links,
      };
      await emitSingle(spans.emitterFor(input.host), plan, rootOpts);
    },
    async migration(m, clock, host): Promise<void> {
      if (shutdownResult !== undefined) throw new Error('migscope exporter: migration() after shutdown()');
      const plan = planMigration(m, clock, host);
      if (plan === undefined) return;
      await emitSession(spans.emitterFor(host), plan, { parent, spanId: undefined, links: [] });
    },
    deviceState(host, device, raw): void {
      metrics.instruments.recordDeviceState(host, device, raw);
    },
    pendingBytes(host, device, bytes): void {
      metrics.instruments.recordPending(host, device, bytes);
    },
    deviceGone(host, id): void {
      metrics.instruments.dropDevice(host, id);
      const d = devices.get(`${host ?? ''}\0${id}`);
      if (d === undefined) return;
      d.gone = true;
      forgetIfGone(d);
    },
    liveDevices: () => devices.size,
    countFinding(host, f): void {
      if (opts.countFindingsOnSight === true) metrics.instruments.recordFinding(host, f);
    },
    input(host, counts): void {
      metrics.instruments.recordInput(host, counts);
    },
    async flush(): Promise<void> {
      cancelDrain();
      await drainAll();
      await Promise.all([spans.flush(), metrics.flush()]);
    },
    shutdown(): Promise<ExportSummary> {
      shutdownResult ??= (async (): Promise<ExportSummary> => {
        cancelDrain();
        await drainAll();
        await emitRoot();
        const [st, mt] = await Promise.all([spans.shutdown(shutdownTimeoutMs), metrics.shutdown(shutdownTimeoutMs)]);
        const exporters: ExporterSummary[] = [
          ...spans.tally().map((t) => ({ signal: 'traces' as const, exporter: t.name, exported: t.exported, failed: t.failed, lastError: t.lastError })),
          ...metrics.tally().map((t) => ({ signal: 'metrics' as const, exporter: t.name, exported: t.exported, failed: t.failed, lastError: t.lastError })),
        ];
        const sum = (sig: 'traces' | 'metrics', k: 'exported' | 'failed'): number => exporters.filter((e) => e.signal === sig).reduce((a, e) => a + e[k], 0);
        const spanTallies = spans.tally();
        const timedOut = st.timedOut || mt.timedOut;
        for (const [h, n] of metrics.instruments.deviceLabels.folded()) {
          notes.push(`metrics: host ${h} has more devices than the label cap: ${n} device id(s) folded into device="_overflow" (migscope_device_label_overflow_total counts their recordings)`);
        }
        if (timedOut) notes.push(`shutdown gave up after ${shutdownTimeoutMs} ms; whatever was not delivered by then is counted as failed`);
        const spansFailed = sum('traces', 'failed');
        const metricPointsFailed = sum('metrics', 'failed');
        return {
          spansExported: sum('traces', 'exported'),
          spansFailed,
          metricPointsExported: sum('metrics', 'exported'),
          metricPointsFailed,
          sessions,
          standaloneFindings: standalone,
          droppedEvents: spanTallies.reduce((a, t) => a + t.droppedEvents, 0),
          droppedAttributes: spanTallies.reduce((a, t) => a + t.droppedAttributes, 0),
          droppedLinks: spanTallies.reduce((a, t) => a + t.droppedLinks, 0),
          traceId,
          timedOut,
          exporters,
          notes,
          ok: spansFailed === 0 && metricPointsFailed === 0 && !timedOut,
        };
      })();
      return shutdownResult;
    },
  };
}

function parentContext(c: Correlation): Context {
  if (c.mode === 'migration-id') {
    // Every session hangs under the migration root, whose id both hosts derive.
    return trace.setSpanContext(ROOT_CONTEXT, { traceId: c.traceId, spanId: migrationRootSpanId(c.key), traceFlags: TraceFlags.SAMPLED, isRemote: true });
  }
  if (c.mode !== 'traceparent') return ROOT_CONTEXT;
  // The orchestrator's span is the parent. Its sampled flag is not honoured: migscope
  // exports every session (sampling would drop the evidence), so ours say sampled.
  return trace.setSpanContext(ROOT_CONTEXT, { ...c.parent.spanContext, traceFlags: TraceFlags.SAMPLED, isRemote: true });
}
