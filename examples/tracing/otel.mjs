// Preload (NODE_OPTIONS="--import ./examples/tracing/otel.mjs") to export Baton's OpenTelemetry
// spans over OTLP/HTTP. Needs, installed beside Baton (they are not Baton dependencies):
//   npm install @opentelemetry/sdk-node @opentelemetry/exporter-trace-otlp-http @opentelemetry/auto-instrumentations-node
// Configure with the standard variables: OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT, ...
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';

const sdk = new NodeSDK({
  traceExporter: new OTLPTraceExporter(),
  instrumentations: [getNodeAutoInstrumentations({
    '@opentelemetry/instrumentation-fs': { enabled: false },
  })],
});
sdk.start();

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => { sdk.shutdown().catch(() => undefined); });
}
