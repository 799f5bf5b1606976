// OpenTelemetry spans (API only) around the calls that leave the request's own code: upstream IdPs,
// authorizers, hooks and storage. Without an SDK registered in the process every span is a no-op;
// with one (docs/operations.md shows OTLP), they join the incoming request's trace.
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

const tracer = trace.getTracer('baton');

export { SpanKind };

/** Runs `work` inside an active span named `name`; a rejection marks the span as an error and is rethrown. */
export function traced<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
      span.setAttribute('error.type', errorType(err));
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A low-cardinality error class for span attributes: never the message (it may quote input). */
function errorType(err: unknown): string {
  const kind = (err as { kind?: unknown } | null)?.kind;
  if (typeof kind === 'string') return kind;
  return err instanceof Error ? err.name : 'unknown';
}
