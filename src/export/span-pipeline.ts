// The trace side of an export: a BasicTracerProvider (not registered globally: migscope is
// a library to its CLI and tests, and owns no process-wide state) with one official
// BatchSpanProcessor per configured exporter, each exporter wrapped for accounting
// (counting-span-exporter.ts).
//
// Backpressure: the batch processor drops every span that arrives while its queue holds
// maxQueueSize (2048 by default) and only logs it. The pipeline knows how many spans were
// ended and how many each exporter has finished with; before more spans end it waits until
// they fit in maxQueueSize together with the outstanding ones, kicking the processor to
// flush. (Outstanding ⊇ the processor's queue, so the queue never reaches its limit.) So the
// processor's queue never overflows and memory stays bounded by the queue size, whatever the
// number of sessions.
//
// One resource per traced host: the SDK takes a span's resource from its tracer's provider
// (sdk-trace-base 2.x: Tracer gets the provider's resource, and a provider has exactly one).
// So each host an input names gets a provider of its own (`emitterFor`), built lazily with
// that host's resource and the SAME batch processors: a batch then holds spans of several
// resources, and the OTLP exporters group them into one ResourceSpans per resource. The
// queue accounting below is shared, as the processors are. Hosts are the few an analysis
// names (one per input at most), so providers stay few.

import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Resource } from '@opentelemetry/resources';
import type { Tracer } from '@opentelemetry/api';
import { createCountingSpanExporter, type CountingSpanExporter } from './counting-span-exporter.js';
import { createMigrationIdGenerator, type MigrationIdGenerator } from './id-generator.js';
import { GRPC_RETRY_POLICY } from './grpc-retry.js';
import type { Emitter } from './spans.js';

export interface SpanPipelineExporter {
  readonly name: string;
  readonly exporter: SpanExporter;
  /** Retry gRPC failures around it (the official gRPC exporter does not). */
  readonly grpc: boolean;
}

export interface SpanPipelineOptions {
  readonly resource: Resource;
  /**
   * The resource of spans about a traced host (resource.ts buildResource tracedHost);
   * undefined for a host, or no function: `resource`.
   */
  readonly resourceFor?: (host: string) => Resource | undefined;
  readonly exporters: readonly SpanPipelineExporter[];
  /** Trace id of every root span (migration id); undefined: random. */
  readonly traceId: string | undefined;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMs: number;
  readonly bspExportTimeoutMs: number;
  /** Per export, retries included. */
  readonly exportTimeoutMs: number;
  readonly tracerName: string;
  readonly tracerVersion: string | undefined;
}

export interface PipelineTally {
  readonly name: string;
  readonly ended: number;
  readonly exported: number;
  /** Everything ended and not confirmed exported: failed, dropped, or still pending at the deadline. */
  readonly failed: number;
  readonly droppedEvents: number;
  readonly droppedAttributes: number;
  readonly droppedLinks: number;
  readonly lastError: string | undefined;
}

export interface SpanPipeline {
  readonly emitter: Emitter;
  /** The emitter whose spans carry `host`'s resource (emitter itself when it has none of its own). */
  emitterFor(host: string | undefined): Emitter;
  readonly ids: MigrationIdGenerator;
  /** Send everything queued and wait for it (bounded by the exporters' timeouts). */
  flush(): Promise<void>;
  /** flush + shutdown, at most `timeoutMs`; then whatever is not done counts as failed. */
  shutdown(timeoutMs: number): Promise<{ timedOut: boolean }>;
  tally(): readonly PipelineTally[];
}

/** How long a backpressure wait sleeps before it re-kicks the processor (guards against a missed wake-up). */
const REKICK_MS = 200;

export function createSpanPipeline(opts: SpanPipelineOptions): SpanPipeline {
  const ids = createMigrationIdGenerator(opts.traceId);
  const pipes = opts.exporters.map((e) => {
    const counting: CountingSpanExporter = createCountingSpanExporter(e.exporter, {
      name: e.name,
      retry: e.grpc ? GRPC_RETRY_POLICY : undefined,
      timeoutMs: opts.exportTimeoutMs,
      // Enough to keep a full queue moving, well under the OTLP exporters' limit of 30.
      maxConcurrent: 4,
      coolDownMs: opts.exportTimeoutMs,
    });
    const bsp = new BatchSpanProcessor(counting, {
      maxQueueSize: opts.maxQueueSize,
      maxExportBatchSize: opts.maxExportBatchSize,
      scheduledDelayMillis: opts.scheduledDelayMs,
      exportTimeoutMillis: opts.bspExportTimeoutMs,
    });
    return { counting, bsp };
  });
  const providerOf = (resource: Resource): BasicTracerProvider =>
    new BasicTracerProvider({
      resource,
      idGenerator: ids,
      // Every session is exported: sampling would throw away the evidence (docs/telemetry.md).
      sampler: new AlwaysOnSampler(),
      spanProcessors: pipes.map((p) => p.bsp),
    });
  const provider = providerOf(opts.resource);
  const tracer: Tracer = provider.getTracer(opts.tracerName, opts.tracerVersion);
  /** Providers of traced hosts, by lower-cased name (RFC 4343); shut down with `provider`. */
  const hostProviders: BasicTracerProvider[] = [];
  const hostEmitters = new Map<string, Emitter>();
  let ended = 0;

  function outstanding(p: (typeof pipes)[number]): number {
    const t = p.counting.tally();
    return ended - t.exported - t.failed;
  }

  async function waitForRoom(n: number): Promise<void> {
    for (const p of pipes) {
      while (outstanding(p) + n > opts.maxQueueSize) {
        p.bsp.forceFlush().catch(() => undefined);
        await p.counting.nextCompletion(REKICK_MS);
      }
    }
  }

  const emitter: Emitter = {
    tracer,
    ids,
    capacity: opts.maxQueueSize,
    room(n: number): Promise<void> | undefined {
      for (const p of pipes) if (outstanding(p) + n > opts.maxQueueSize) return waitForRoom(n);
      return undefined;
    },
    ended(): void {
      ended++;
    },
  };

  function emitterFor(host: string | undefined): Emitter {
    if (host === undefined || opts.resourceFor === undefined) return emitter;
    const key = host.toLowerCase();
    let em = hostEmitters.get(key);
    if (em === undefined) {
      const resource = opts.resourceFor(host);
      if (resource === undefined) em = emitter;
      else {
        const p = providerOf(resource);
        hostProviders.push(p);
        em = { ...emitter, tracer: p.getTracer(opts.tracerName, opts.tracerVersion) };
      }
      hostEmitters.set(key, em);
    }
    return em;
  }

  async function flush(): Promise<void> {
    await Promise.all(
      pipes.map(async (p) => {
        // forceFlush rejects when a batch failed; the tally already counted it.
        await p.bsp.forceFlush().catch(() => undefined);
        while (outstanding(p) > 0) {
          p.bsp.forceFlush().catch(() => undefined);
          await p.counting.nextCompletion(REKICK_MS);
        }
      }),
    );
  }

  let finalTally: readonly PipelineTally[] | undefined;

  function snapshot(): readonly PipelineTally[] {
    return pipes.map((p) => {
      const t = p.counting.tally();
      return {
        name: p.counting.name,
        ended,
        exported: t.exported,
        failed: ended - t.exported,
        droppedEvents: t.droppedEvents,
        droppedAttributes: t.droppedAttributes,
        droppedLinks: t.droppedLinks,
        lastError: t.lastError,
      };
    });
  }

  return {
    emitter,
    emitterFor,
    ids,
    flush,
    async shutdown(timeoutMs: number): Promise<{ timedOut: boolean }> {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const work = (async (): Promise<'done'> => {
        await flush();
        // The processors are shared: the first shutdown ends them, the others find them ended.
        await provider.shutdown().catch(() => undefined);
        for (const p of hostProviders) await p.shutdown().catch(() => undefined);
        return 'done';
      })();
      const r = await Promise.race([work, deadline]);
      clearTimeout(timer);
      // Freeze the numbers at the deadline: a batch that completes later does not change the report.
      finalTally = snapshot();
      if (r === 'timeout') for (const p of pipes) p.counting.abandon();
      return { timedOut: r === 'timeout' };
    },
    tally(): readonly PipelineTally[] {
      return finalTally ?? snapshot();
    },
  };
}
