// What one migration session becomes in OpenTelemetry, as plain data (docs/telemetry.md
// "Spans"): a root span for the session, a child span per state interval inside it, an
// event per state write (on the state span it produced or was attempted in) and per
// finding (on the root), the status, the link. spans.ts hands the plan to the SDK;
// keeping the decisions here makes them testable without an SDK and cheap to bench.

import { SpanKind, type Attributes, type HrTime } from '@opentelemetry/api';
import type { DeviceTimeline, MigrationSession, StateInterval, StateWrite } from '../track/types.js';
import type { Finding } from '../check/types.js';
import type { ClockMapping } from '../analysis/types.js';
import { ATTR, ERROR_TYPE, EVENT, SPAN } from './conventions.js';
import { nsToHrTime, toWallNs, type WallClock } from './time.js';
import { sourceRef } from './source-ref.js';

/** One ended session, with the device it belongs to and the findings to show on it. */
export interface SessionInput {
  /** Analysis.host: the host the trace was captured on. */
  readonly host: string | undefined;
  readonly clock: ClockMapping;
  /**
   * The device; its timeline and stateWrites must cover the session (the whole device, or
   * the slice the tracker's onSessionEnd hands over). Items outside the session are ignored.
   */
  readonly device: DeviceTimeline;
  readonly session: MigrationSession;
  /** Findings to attach as events (the caller chose them: same device, inside the session). */
  readonly findings: readonly Finding[];
}

export interface EventPlan {
  readonly name: string;
  readonly time: HrTime;
  readonly attributes: Attributes;
}

export interface SpanPlan {
  readonly name: string;
  /**
   * Save sessions are PRODUCER and resume sessions CONSUMER spans: the source produces the
   * device state that the destination consumes later, asynchronously (OTel trace API,
   * "SpanKind"), and the resume links to the save as a consumer links to its producer.
   * State intervals and findings are INTERNAL.
   */
  readonly kind: SpanKind;
  readonly start: HrTime;
  readonly end: HrTime;
  readonly attributes: Attributes;
  readonly events: readonly EventPlan[];
  /** Status message of an ERROR span (its `error.type` attribute is set with it); undefined: UNSET. */
  readonly error: string | undefined;
}

export interface StatePlan extends SpanPlan {
  readonly state: string;
  /** Exact duration inside the session. */
  readonly durationNs: bigint;
  /** The interval went on before or after the session: durationNs is only the part inside. */
  readonly clipped: boolean;
}

export interface SessionPlan {
  readonly root: SpanPlan;
  readonly states: readonly StatePlan[];
  readonly timed: boolean;
}

export interface PlanContext {
  readonly wall: WallClock;
  readonly sessionIndex: number;
  readonly migrationId: string | undefined;
}

/** Session bounds in trace ns; undefined when the trace gives the session no time. */
export function sessionBounds(device: DeviceTimeline, s: MigrationSession): { readonly startNs: bigint; readonly endNs: bigint } | undefined {
  const startNs = s.startNs;
  if (startNs === undefined) return undefined;
  if (s.endNs !== undefined) return { startNs, endNs: s.endNs >= startNs ? s.endNs : startNs };
  // Open at the end of the trace: up to the last time the device shows after the start.
  let endNs = startNs;
  for (const iv of device.timeline) {
    if (iv.startNs !== undefined && iv.startNs > endNs) endNs = iv.startNs;
    if (iv.endNs !== undefined && iv.endNs > endNs) endNs = iv.endNs;
  }
  for (const w of device.stateWrites) if (w.tsNs !== undefined && w.tsNs > endNs) endNs = w.tsNs;
  return { startNs, endNs };
}

/**
 * Whether an interval is a child of the session [s, e]: it starts inside (the state
 * reached at e is included, as a zero-length span, so every state the session visited
 * has a span), or it started before and is still going at s.
 */
export function intervalInSession(iv: StateInterval, s: bigint, e: bigint): boolean {
  if (iv.startNs === undefined) return false;
  if (iv.startNs >= s) return iv.startNs <= e;
  return iv.endNs === undefined || iv.endNs > s;
}

function deviceAttributes(input: SessionInput, ctx: PlanContext): Attributes {
  const d = input.device;
  const a: Attributes = {
    [ATTR.deviceId]: d.id,
    [ATTR.deviceFd]: d.fd,
    [ATTR.deviceNaming]: d.naming,
    [ATTR.protocol]: d.protocol,
    [ATTR.clockSource]: ctx.wall.source,
  };
  if (d.pid !== undefined) a[ATTR.processPid] = d.pid;
  if (d.comm !== undefined) a[ATTR.threadName] = d.comm;
  if (input.host !== undefined) a[ATTR.hostName] = input.host;
  if (ctx.wall.clockName !== undefined) a[ATTR.clockName] = ctx.wall.clockName;
  if (ctx.migrationId !== undefined) a[ATTR.migrationId] = ctx.migrationId;
  return a;
}

export function findingAttributes(f: Finding, timed: boolean): Attributes {
  const a: Attributes = {
    [ATTR.ruleId]: f.rule,
    [ATTR.severity]: f.severity,
    [ATTR.blame]: f.blame,
    [ATTR.certainty]: f.certainty,
    [ATTR.message]: f.message,
    [ATTR.specRef]: f.specRef,
    [ATTR.evidence]: f.evidence.map((e) => sourceRef(e.src)),
    [ATTR.evidenceWhat]: f.evidence.map((e) => e.what),
    [ATTR.deviceId]: f.device,
  };
  if (!timed) a[ATTR.findingTimed] = false;
  return a;
}

/** A certain error-severity finding makes its span an ERROR; an uncertain one does not (DESIGN.md "Knowing versus guessing"). */
export function isErrorFinding(f: Finding): boolean {
  return f.severity === 'error' && f.certainty === 'certain';
}

function writeAttributes(w: StateWrite): Attributes {
  const a: Attributes = {
    [ATTR.fromState]: w.from,
    [ATTR.toState]: w.to,
    [ATTR.writeResult]: w.result,
    [ATTR.source]: sourceRef(w.src),
  };
  if (w.fromRaw !== undefined) a[ATTR.fromRaw] = w.fromRaw;
  if (w.toRaw !== undefined) a[ATTR.toRaw] = w.toRaw;
  if (w.errno !== undefined) a[ATTR.writeErrno] = w.errno;
  if (w.readBackRaw !== undefined) a[ATTR.readBackRaw] = w.readBackRaw;
  return a;
}

/** The session span's status message (undefined: UNSET); sets error.type in `attrs` with it. */
function rootError(session: MigrationSession, findings: readonly Finding[], attrs: Attributes): string | undefined {
  let error: string | undefined;
  if (session.outcome === 'failed') {
    error = `${session.kind} session failed`;
    attrs[ATTR.errorType] = ERROR_TYPE.sessionFailed;
  }
  const firstError = findings.find(isErrorFinding);
  if (firstError !== undefined) {
    error = `${error !== undefined ? `${error}; ` : ''}${firstError.rule}: ${firstError.message}`;
    // The rule says more than "failed": it is the class of the error.
    attrs[ATTR.errorType] = firstError.rule;
  }
  return error;
}

/**
 * The plan with more findings of the session (found after the plan was made, before its
 * spans were sent: the drain check at the SET that ends a save comes after the session end):
 * their events on the root, the counts and the status redone over all findings.
 */
export function addFindings(plan: SessionPlan, input: SessionInput, late: readonly Finding[], wall: WallClock): SessionPlan {
  if (late.length === 0) return plan;
  const all = [...input.findings, ...late];
  const attributes: Attributes = { ...plan.root.attributes };
  attributes[ATTR.findingsCount] = all.length;
  attributes[ATTR.findingsErrors] = all.filter(isErrorFinding).length;
  const error = rootError(input.session, all, attributes);
  const hr = (ns: bigint): HrTime => nsToHrTime(toWallNs(ns, wall));
  const events = [...plan.root.events];
  for (const f of late) events.push({ name: EVENT.finding, time: f.tsNs !== undefined ? hr(f.tsNs) : plan.root.start, attributes: findingAttributes(f, f.tsNs !== undefined) });
  return { ...plan, root: { ...plan.root, attributes, events, error } };
}

export function planSession(input: SessionInput, ctx: PlanContext): SessionPlan {
  const { device, session } = input;
  const wall = ctx.wall;
  const bounds = sessionBounds(device, session);
  const hr = (ns: bigint): HrTime => nsToHrTime(toWallNs(ns, wall));
  // Filled by assignment, not by spreading a shared base: spreading objects with computed
  // (dotted) keys costs microseconds each in V8, which showed up as the top cost in the bench.
  const rootAttrs: Attributes = deviceAttributes(input, ctx);
  rootAttrs[ATTR.kind] = session.kind;
  rootAttrs[ATTR.outcome] = session.outcome;
  rootAttrs[ATTR.bytes] = session.bytes;
  rootAttrs[ATTR.iterations] = session.iterations;
  rootAttrs[ATTR.notRunningNs] = Number(session.notRunningNs);
  const c = session.convergence;
  if (c !== undefined) {
    rootAttrs[ATTR.convergenceVerdict] = c.verdict;
    rootAttrs[ATTR.downtimeFits] = c.fits;
    if (c.stopCopyEstimateBytes !== undefined) rootAttrs[ATTR.stopCopyEstimateBytes] = Number(c.stopCopyEstimateBytes);
    if (c.stopCopyActualBytes !== undefined) rootAttrs[ATTR.stopCopyActualBytes] = c.stopCopyActualBytes;
    if (c.predictedStopCopyNs !== undefined) rootAttrs[ATTR.predictedStopCopyNs] = Number(c.predictedStopCopyNs);
    if (c.actualStopCopyNs !== undefined) rootAttrs[ATTR.actualStopCopyNs] = Number(c.actualStopCopyNs);
    if (c.downtimeLimitMs !== undefined) rootAttrs[ATTR.downtimeLimitMs] = c.downtimeLimitMs;
  }
  rootAttrs[ATTR.states] = [...session.states];
  rootAttrs[ATTR.resets] = device.resets;
  rootAttrs[ATTR.sessionIndex] = ctx.sessionIndex;
  rootAttrs[ATTR.findingsCount] = input.findings.length;
  rootAttrs[ATTR.findingsErrors] = input.findings.filter(isErrorFinding).length;
  if (session.src !== undefined) rootAttrs[ATTR.source] = sourceRef(session.src);
  if (device.intervalsDropped > 0) rootAttrs[ATTR.intervalsDropped] = device.intervalsDropped;

  const error = rootError(session, input.findings, rootAttrs);
  const rootKind = session.kind === 'save' ? SpanKind.PRODUCER : SpanKind.CONSUMER;

  if (bounds === undefined) {
    // No times: the session still exists (counted, with its findings), at the epoch.
    rootAttrs[ATTR.timed] = false;
    const zero = hr(0n);
    return {
      timed: false,
      states: [],
      root: {
        name: SPAN.session(session.kind),
        kind: rootKind,
        start: zero,
        end: zero,
        attributes: rootAttrs,
        events: input.findings.map((f) => ({ name: EVENT.finding, time: f.tsNs !== undefined ? hr(f.tsNs) : zero, attributes: findingAttributes(f, f.tsNs !== undefined) })),
        error,
      },
    };
  }

  const { startNs: s, endNs: e } = bounds;
  rootAttrs[ATTR.traceStartNs] = s.toString();

  // Child spans, in time order, clipped to the session.
  const children: { iv: StateInterval; from: bigint; to: bigint; events: EventPlan[] }[] = [];
  for (const iv of device.timeline) {
    if (!intervalInSession(iv, s, e)) continue;
    const from = iv.startNs !== undefined && iv.startNs > s ? iv.startNs : s;
    const to = iv.endNs === undefined || iv.endNs > e ? e : iv.endNs < from ? from : iv.endNs;
    children.push({ iv, from, to, events: [] });
  }

  // State writes go on the last state span started at or before their time: at a boundary
  // that is the span the write produced; a failed write lands in the state it was
  // attempted from. Before every child: on the root.
  const rootEvents: EventPlan[] = [];
  for (const w of device.stateWrites) {
    if (w.tsNs === undefined || w.tsNs < s || w.tsNs > e) continue;
    const ev: EventPlan = { name: EVENT.stateWrite, time: hr(w.tsNs), attributes: writeAttributes(w) };
    let home: (typeof children)[number] | undefined;
    for (let i = children.length - 1; i >= 0 && home === undefined; i--) {
      const c = children[i];
      if (c !== undefined && c.from <= w.tsNs) home = c;
    }
    (home?.events ?? rootEvents).push(ev);
  }
  for (const f of input.findings) {
    const t = f.tsNs;
    rootEvents.push({ name: EVENT.finding, time: hr(t ?? s), attributes: findingAttributes(f, t !== undefined) });
  }

  const states: StatePlan[] = children.map((c) => {
    const a: Attributes = {
      [ATTR.state]: c.iv.state,
      [ATTR.stateCertainty]: c.iv.certainty,
      [ATTR.stateBytes]: c.iv.bytes,
      [ATTR.deviceId]: device.id,
      [ATTR.protocol]: device.protocol,
      [ATTR.traceStartNs]: c.from.toString(),
    };
    if (c.iv.raw !== undefined) a[ATTR.stateRaw] = c.iv.raw;
    if (c.iv.src !== undefined) a[ATTR.source] = sourceRef(c.iv.src);
    // The state a session ends in is handed over as a zero-length interval at the session's
    // end (track/device-state.ts): it goes on after the session, so it is clipped too.
    const arriving = c.iv.startNs !== undefined && c.iv.startNs === e && c.iv.endNs === e;
    const clipped = (c.iv.startNs !== undefined && c.iv.startNs < s) || c.iv.endNs === undefined || c.iv.endNs > e || arriving;
    if (clipped) a[ATTR.stateClipped] = true;
    if (c.iv.endNs === undefined) a[ATTR.stateOpen] = true;
    const isError = c.iv.state === 'ERROR';
    if (isError) a[ATTR.errorType] = ERROR_TYPE.deviceError;
    return {
      name: SPAN.state(c.iv.state),
      kind: SpanKind.INTERNAL,
      state: c.iv.state,
      start: hr(c.from),
      end: hr(c.to),
      durationNs: c.to - c.from,
      clipped,
      attributes: a,
      events: c.events,
      // spec §7: the span status is ERROR if the device reached its error state.
      error: isError ? 'device in ERROR state' : undefined,
    };
  });

  return {
    timed: true,
    states,
    root: { name: SPAN.session(session.kind), kind: rootKind, start: hr(s), end: hr(e), attributes: rootAttrs, events: rootEvents, error },
  };
}
