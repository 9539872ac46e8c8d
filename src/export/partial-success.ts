// OTLP partial success (OTLP spec, otlp.md "Partial Success"): the collector accepts the
// request (HTTP 200 / gRPC OK) but says in the response that it rejected some of it:
// ExportTracePartialSuccess.rejected_spans, ExportMetricsPartialSuccess.rejected_data_points,
// with an error_message. The official JS exporters (@opentelemetry/otlp-exporter-base 0.223,
// otlp-export-delegate.js) decode that response for all three protocols (http/protobuf,
// http/json, grpc) and hand it to a response handler that only logs it through diag
// (logging-response-handler.js), then report SUCCESS: the rejected items would count as
// delivered. So the counting exporters put their own handler in front of that one.
//
// The handler is not public API: it is the `_responseHandler` of the exporter's
// `_delegate` (OTLPExporterBase). When that shape is missing (another exporter, another
// SDK version) nothing is hooked and the caller says partial successes cannot be seen;
// test/export/partial-success.test.ts fails if the shape changes.

export interface Rejection {
  readonly rejected: number;
  readonly message: string | undefined;
}

export interface PartialSuccessTap {
  /** The rejection of the response handled last, cleared by reading it. */
  take(): Rejection | undefined;
}

interface ResponseHandler {
  handleResponse(response: unknown): void;
}

function isHandler(x: unknown): x is ResponseHandler {
  return typeof x === 'object' && x !== null && 'handleResponse' in x && typeof x.handleResponse === 'function';
}

function count(x: unknown): number {
  // int64: a number or bigint (protobuf reader), a decimal string (OTLP/JSON)
  if (typeof x === 'number' || typeof x === 'bigint') return Number(x);
  if (typeof x === 'string' && /^\d+$/.test(x)) return Number(x);
  return 0;
}

/**
 * Hook the exporter's response handler; `field` is rejectedSpans or rejectedDataPoints.
 * The delegate calls handleResponse and then the export's result callback synchronously,
 * one response at a time, so the rejection taken in the result callback is that export's.
 */
export function tapPartialSuccess(exporter: unknown, field: 'rejectedSpans' | 'rejectedDataPoints'): PartialSuccessTap | undefined {
  if (typeof exporter !== 'object' || exporter === null || !('_delegate' in exporter)) return undefined;
  const delegate: unknown = exporter._delegate;
  if (typeof delegate !== 'object' || delegate === null || !('_responseHandler' in delegate)) return undefined;
  const inner: unknown = delegate._responseHandler;
  if (!isHandler(inner)) return undefined;
  let last: Rejection | undefined;
  const tap: ResponseHandler = {
    handleResponse(response: unknown): void {
      if (typeof response === 'object' && response !== null && 'partialSuccess' in response) {
        const ps: unknown = response.partialSuccess;
        if (typeof ps === 'object' && ps !== null) {
          const n = field in ps ? count((ps as Record<string, unknown>)[field]) : 0;
          const m = 'errorMessage' in ps && typeof ps.errorMessage === 'string' && ps.errorMessage !== '' ? ps.errorMessage : undefined;
          // A partial success with 0 rejected and a message is a warning (spec): not a loss.
          if (n > 0) last = { rejected: n, message: m };
        }
      }
      inner.handleResponse(response);
    },
  };
  (delegate as { _responseHandler: ResponseHandler })._responseHandler = tap;
  return {
    take(): Rejection | undefined {
      const r = last;
      last = undefined;
      return r;
    },
  };
}
