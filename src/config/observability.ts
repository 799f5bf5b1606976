// Configuration of what Baton tells its operators besides logs: the Prometheus endpoint and the
// audit log. (Tracing needs no configuration: it follows whatever OpenTelemetry SDK the process runs.)
import { z } from 'zod';

export const metricsSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve Prometheus metrics at `/metrics`.'),
    port: z.number().int().min(0).max(65535).optional().describe('Serve `/metrics` on this separate port (e.g. one only the monitoring network reaches) instead of the main listener.'),
    host: z.string().min(1).optional().describe('Address the separate metrics listener binds; defaults to `server.host`.'),
  })
  .describe('Prometheus metrics (see docs/operations.md).');

export const auditSchema = z
  .strictObject({
    output: z
      .enum(['off', 'stdout', 'file'])
      .default('off')
      .describe('Where audit events go: `off`, `stdout` (beside the logs, one JSON object per line), or `file` (appended to `file`).'),
    file: z.string().min(1).optional().describe('Path of the audit file (relative to the configuration file) when `output` is `file`; created if missing, appended to.'),
  })
  .refine((audit) => audit.output !== 'file' || audit.file !== undefined, { message: '`file` is required when `output` is `file`', path: ['file'] })
  .describe('The audit log: JSON lines of sign-ins, tokens issued and refreshed, reuse, authorizer decisions, hook failures, logouts, configuration and key changes. Token ids are hashed; tokens, codes and secrets never appear.');

export type MetricsConfig = z.output<typeof metricsSchema>;
export type AuditConfig = z.output<typeof auditSchema>;
