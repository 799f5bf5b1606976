// OpenTelemetry spans (API only) around the calls that leave the request's own code: upstream IdPs,
// authorizers, hooks and storage. Without an SDK registered in the process every span is a no-op;
// with one (docs/operations.md shows OTLP), they join the incoming request's trace.
import { INVALID_SPAN_CONTEXT, ProxyTracerProvider, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type TracerProvider } from '@opentelemetry/api';

const tracer = trace.getTracer('baton');

export { SpanKind };

/** What the API's provider delegates to while no SDK is registered (the API's own no-op provider). */
const NO_SDK: TracerProvider = new ProxyTracerProvider().getDelegate();
/** The span `work` gets while no SDK is registered: what the API's no-op tracer would create, once. */
const NO_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Whether spans go anywhere: an SDK registered a tracer provider (at start-up or later). Asked per
 * call, so a provider registered or removed at any time takes effect on the next span.
 */
export function tracing(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NO_SDK;
}

/** Runs `work` inside an active span named `name`; a rejection marks the span as an error and is rethrown. */
export function traced<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  // No SDK: the API would make a non-recording span and an unused context per call; skip both.
  if (!tracing()) return work(NO_SPAN);
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
