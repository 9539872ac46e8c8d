// A loopback OTLP receiver for tests: OTLP/HTTP (protobuf and JSON) on node:http and
// OTLP/gRPC on @grpc/grpc-js. It decodes what the official exporters send against the
// OTLP .proto schema (test/export/proto, protobufjs; an implementation independent of the
// exporters' own hand-written protobuf writer) into plain objects the tests assert on, and
// can misbehave on request (503/UNAVAILABLE for a while, slow, down, partial success) for the
// fault tests.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const PROTO_DIR = join(import.meta.dirname, 'proto');

export interface ReceivedEvent {
  readonly name: string;
  readonly timeNs: bigint;
  readonly attributes: Record<string, unknown>;
}

export interface ReceivedLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Record<string, unknown>;
}

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Record<string, unknown>;
  readonly events: readonly ReceivedEvent[];
  readonly links: readonly ReceivedLink[];
  readonly status: { readonly code: number; readonly message: string };
  readonly droppedEvents: number;
  readonly resource: Record<string, unknown>;
  readonly scope: string;
}

export interface ReceivedPoint {
  readonly metric: string;
  readonly unit: string;
  readonly type: 'sum' | 'gauge' | 'histogram' | 'other';
  readonly monotonic: boolean;
  readonly attributes: Record<string, unknown>;
  /** Sum/gauge value (as number). */
  readonly value: number | undefined;
  readonly count: number | undefined;
  readonly sum: number | undefined;
  readonly bounds: readonly number[];
  readonly bucketCounts: readonly number[];
  readonly resource: Record<string, unknown>;
}

/**
 * What the receiver does with request number `n` (0-based, per signal path). 'partial'
 * accepts the request (200 / OK) and answers an OTLP partial success (otlp.md "Partial
 * Success"): `rejected` spans (traces) or data points (metrics) refused, with `message`.
 */
export type Behaviour =
  | { readonly kind: 'ok' }
  | { readonly kind: 'unavailable'; readonly retryAfterS?: number }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'reject' }
  | { readonly kind: 'partial'; readonly rejected: number; readonly message: string };

/** The Export*ServiceResponse of a behaviour, as a plain object (protobufjs create / OTLP/JSON). */
function responseObject(signal: 'traces' | 'metrics', b: Behaviour, json: boolean): Obj {
  if (b.kind !== 'partial') return {};
  // OTLP/JSON encodes int64 as a decimal string (proto3 JSON mapping)
  const n = json ? String(b.rejected) : b.rejected;
  return { partialSuccess: signal === 'traces' ? { rejectedSpans: n, errorMessage: b.message } : { rejectedDataPoints: n, errorMessage: b.message } };
}

export interface Receiver {
  readonly port: number;
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  readonly points: ReceivedPoint[];
  /** Requests seen per signal, including refused ones. */
  readonly requests: { traces: number; metrics: number };
  /** Raw content types seen (http). */
  readonly contentTypes: Set<string>;
  /** Request headers (http) or metadata (grpc) of every request, in order. */
  readonly headers: Record<string, string>[];
  /** Running counts (always kept; the only record in countOnly mode). */
  readonly counts: { spans: number; uniqueSpanIds: number; byName: Map<string, number> };
  setBehaviour(fn: (signal: 'traces' | 'metrics', n: number) => Behaviour): void;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** Decode every request but keep only counts (the 100,000-session test). */
  readonly countOnly?: boolean;
}

let rootPromise: Promise<protobuf.Root> | undefined;

function loadRoot(): Promise<protobuf.Root> {
  rootPromise ??= (async () => {
    const root = new protobuf.Root();
    root.resolvePath = (_origin: string, target: string) => join(PROTO_DIR, target);
    await root.load(['opentelemetry/proto/collector/trace/v1/trace_service.proto', 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto']);
    return root;
  })();
  return rootPromise;
}

// ---- normalising decoded messages (protobuf toObject or OTLP/JSON) ----------------------

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function arr(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

function anyValue(v: unknown): unknown {
  if (!isObj(v)) return undefined;
  if ('stringValue' in v) return v['stringValue'];
  if ('boolValue' in v) return v['boolValue'];
  if ('intValue' in v) return BigInt(String(v['intValue']));
  if ('doubleValue' in v) return Number(v['doubleValue']);
  if ('arrayValue' in v) return arr(isObj(v['arrayValue']) ? v['arrayValue']['values'] : []).map(anyValue);
  if ('bytesValue' in v) return v['bytesValue'];
  return undefined;
}

function attrs(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of arr(list)) if (isObj(kv) && typeof kv['key'] === 'string') out[kv['key']] = anyValue(kv['value']);
  return out;
}

/** Ids arrive as base64 (protobuf toObject with bytes: String) or hex (OTLP/JSON). */
function idHex(x: unknown, json: boolean): string {
  if (typeof x !== 'string' || x === '') return '';
  return json ? x.toLowerCase() : Buffer.from(x, 'base64').toString('hex');
}

function ns(x: unknown): bigint {
  if (x === undefined || x === null || x === '') return 0n;
  return BigInt(String(x));
}

function spansOf(req: Obj, json: boolean): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of arr(req['resourceSpans'])) {
    if (!isObj(rs)) continue;
    const resource = attrs(isObj(rs['resource']) ? rs['resource']['attributes'] : []);
    for (const ss of arr(rs['scopeSpans'])) {
      if (!isObj(ss)) continue;
      const scope = isObj(ss['scope']) && typeof ss['scope']['name'] === 'string' ? ss['scope']['name'] : '';
      for (const s of arr(ss['spans'])) {
        if (!isObj(s)) continue;
        const st = isObj(s['status']) ? s['status'] : {};
        out.push({
          traceId: idHex(s['traceId'], json),
          spanId: idHex(s['spanId'], json),
          parentSpanId: idHex(s['parentSpanId'], json),
          name: String(s['name'] ?? ''),
          kind: Number(s['kind'] ?? 0),
          startNs: ns(s['startTimeUnixNano']),
          endNs: ns(s['endTimeUnixNano']),
          attributes: attrs(s['attributes']),
          events: arr(s['events']).filter(isObj).map((e) => ({ name: String(e['name'] ?? ''), timeNs: ns(e['timeUnixNano']), attributes: attrs(e['attributes']) })),
          links: arr(s['links']).filter(isObj).map((l) => ({ traceId: idHex(l['traceId'], json), spanId: idHex(l['spanId'], json), attributes: attrs(l['attributes']) })),
          status: { code: Number(st['code'] ?? 0), message: String(st['message'] ?? '') },
          droppedEvents: Number(s['droppedEventsCount'] ?? 0),
          resource,
          scope,
        });
      }
    }
  }
  return out;
}

function pointsOf(req: Obj): ReceivedPoint[] {
  const out: ReceivedPoint[] = [];
  for (const rm of arr(req['resourceMetrics'])) {
    if (!isObj(rm)) continue;
    const resource = attrs(isObj(rm['resource']) ? rm['resource']['attributes'] : []);
    for (const sm of arr(rm['scopeMetrics'])) {
      if (!isObj(sm)) continue;
      for (const m of arr(sm['metrics'])) {
        if (!isObj(m)) continue;
        const metric = String(m['name'] ?? '');
        const unit = String(m['unit'] ?? '');
        const data = isObj(m['sum']) ? m['sum'] : isObj(m['gauge']) ? m['gauge'] : isObj(m['histogram']) ? m['histogram'] : undefined;
        const type = isObj(m['sum']) ? 'sum' : isObj(m['gauge']) ? 'gauge' : isObj(m['histogram']) ? 'histogram' : 'other';
        const monotonic = isObj(m['sum']) && m['sum']['isMonotonic'] === true;
        for (const p of arr(data?.['dataPoints'])) {
          if (!isObj(p)) continue;
          const v = p['asInt'] !== undefined ? Number(String(p['asInt'])) : p['asDouble'] !== undefined ? Number(p['asDouble']) : undefined;
          out.push({
            metric,
            unit,
            type,
            monotonic,
            attributes: attrs(p['attributes']),
            value: v,
            count: p['count'] !== undefined ? Number(String(p['count'])) : undefined,
            sum: p['sum'] !== undefined ? Number(p['sum']) : undefined,
            bounds: arr(p['explicitBounds']).map(Number),
            bucketCounts: arr(p['bucketCounts']).map((c) => Number(String(c))),
            resource,
          });
        }
      }
    }
  }
  return out;
}

/** Count the spans of a decoded (not converted) request. */
function countSpans(s: State, msg: protobuf.Message): void {
  const req: unknown = msg;
  if (!isObj(req)) return;
  for (const rs of arr(req['resourceSpans'])) {
    if (!isObj(rs)) continue;
    for (const ss of arr(rs['scopeSpans'])) {
      if (!isObj(ss)) continue;
      for (const sp of arr(ss['spans'])) {
        if (!isObj(sp)) continue;
        s.counts.spans++;
        const id = sp['spanId'];
        if (id instanceof Uint8Array) s.ids.add(Buffer.from(id).toString('hex'));
        s.counts.uniqueSpanIds = s.ids.size;
        const name = String(sp['name'] ?? '');
        s.counts.byName.set(name, (s.counts.byName.get(name) ?? 0) + 1);
      }
    }
  }
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, bytes: String, enums: Number, defaults: false, oneofs: false };

// ---- HTTP --------------------------------------------------------------------------------

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** A port nobody listens on (yet): bind to 0, read it, close. */
export async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listen(s, 0);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

interface State extends Omit<Receiver, 'close' | 'setBehaviour'> {
  behaviour: (signal: 'traces' | 'metrics', n: number) => Behaviour;
  readonly ids: Set<string>;
}

function state(port: number, endpoint: string): State {
  return {
    port,
    endpoint,
    spans: [],
    points: [],
    requests: { traces: 0, metrics: 0 },
    contentTypes: new Set(),
    headers: [],
    counts: { spans: 0, uniqueSpanIds: 0, byName: new Map() },
    ids: new Set<string>(),
    behaviour: () => ({ kind: 'ok' }),
  };
}

export async function startHttpReceiver(port = 0, opts: ReceiverOptions = {}): Promise<Receiver> {
  const root = await loadRoot();
  const TraceReq = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  const MetricReq = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
  const TraceRes = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
  const MetricRes = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse');
  const encodeRes = (signal: 'traces' | 'metrics', b: Behaviour): Buffer => {
    const T = signal === 'traces' ? TraceRes : MetricRes;
    return Buffer.from(T.encode(T.fromObject(responseObject(signal, b, false))).finish());
  };
  let st: State | undefined;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const s = st;
      if (s === undefined) return;
      const signal = req.url === '/v1/traces' ? 'traces' : req.url === '/v1/metrics' ? 'metrics' : undefined;
      const body = await readBody(req);
      if (signal === undefined || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      const n = s.requests[signal]++;
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') h[k] = v;
      s.headers.push(h);
      const b = s.behaviour(signal, n);
      if (b.kind === 'unavailable') {
        res.writeHead(503, b.retryAfterS !== undefined ? { 'retry-after': String(b.retryAfterS) } : {}).end('unavailable');
        return;
      }
      if (b.kind === 'reject') {
        res.writeHead(400).end('bad request');
        return;
      }
      if (b.kind === 'delay') await new Promise((r) => setTimeout(r, b.ms));
      const ct = String(req.headers['content-type'] ?? '');
      s.contentTypes.add(ct);
      const json = ct.includes('json');
      if (opts.countOnly === true && !json) {
        if (signal === 'traces') countSpans(s, TraceReq.decode(body));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(encodeRes(signal, b));
        return;
      }
      const obj: unknown = json ? JSON.parse(body.toString('utf8')) : (signal === 'traces' ? TraceReq : MetricReq).toObject((signal === 'traces' ? TraceReq : MetricReq).decode(body), TO_OBJECT);
      if (!isObj(obj)) throw new Error('undecodable request');
      if (signal === 'traces') {
        const got = spansOf(obj, json);
        s.spans.push(...got);
        for (const sp of got) {
          s.counts.spans++;
          s.ids.add(sp.spanId);
          s.counts.byName.set(sp.name, (s.counts.byName.get(sp.name) ?? 0) + 1);
        }
        s.counts.uniqueSpanIds = s.ids.size;
      } else s.points.push(...pointsOf(obj));
      if (json) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(responseObject(signal, b, true)));
      else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(encodeRes(signal, b));
    })().catch((e: unknown) => {
      res.writeHead(500).end(String(e));
    });
  });
  const actual = await listen(server, port);
  st = state(actual, `http://127.0.0.1:${actual}`);
  const s = st;
  return {
    get port() {
      return s.port;
    },
    get endpoint() {
      return s.endpoint;
    },
    spans: s.spans,
    points: s.points,
    requests: s.requests,
    contentTypes: s.contentTypes,
    headers: s.headers,
    counts: s.counts,
    setBehaviour(fn) {
      s.behaviour = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- gRPC --------------------------------------------------------------------------------

export async function startGrpcReceiver(port = 0): Promise<Receiver> {
  const root = await loadRoot();
  const TraceReq = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  const MetricReq = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
  const TraceRes = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
  const MetricRes = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse');
  const server = new grpc.Server();
  const raw = (path: string): grpc.ServiceDefinition => ({
    Export: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  });
  let st: State | undefined;
  const handler =
    (signal: 'traces' | 'metrics') =>
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>): void => {
      const s = st;
      if (s === undefined) return;
      const n = s.requests[signal]++;
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap())) h[k] = String(v);
      s.headers.push(h);
      const b = s.behaviour(signal, n);
      if (b.kind === 'unavailable') {
        cb({ code: grpc.status.UNAVAILABLE, details: 'receiver unavailable (test)' });
        return;
      }
      if (b.kind === 'reject') {
        cb({ code: grpc.status.INVALID_ARGUMENT, details: 'rejected (test)' });
        return;
      }
      const finish = (): void => {
        const T = signal === 'traces' ? TraceReq : MetricReq;
        const obj = T.toObject(T.decode(call.request), TO_OBJECT);
        if (signal === 'traces') s.spans.push(...spansOf(obj, false));
        else s.points.push(...pointsOf(obj));
        const R = signal === 'traces' ? TraceRes : MetricRes;
        cb(null, Buffer.from(R.encode(R.fromObject(responseObject(signal, b, false))).finish()));
      };
      if (b.kind === 'delay') setTimeout(finish, b.ms);
      else finish();
    };
  server.addService(raw('/opentelemetry.proto.collector.trace.v1.TraceService/Export'), { Export: handler('traces') });
  server.addService(raw('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export'), { Export: handler('metrics') });
  const actual = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err !== null ? reject(err) : resolve(p))),
  );
  st = state(actual, `http://127.0.0.1:${actual}`);
  const s = st;
  return {
    get port() {
      return s.port;
    },
    get endpoint() {
      return s.endpoint;
    },
    spans: s.spans,
    points: s.points,
    requests: s.requests,
    contentTypes: s.contentTypes,
    headers: s.headers,
    counts: s.counts,
    setBehaviour(fn) {
      s.behaviour = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}
