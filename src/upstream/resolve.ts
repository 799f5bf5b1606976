// Turns an upstream's configuration (with its preset) into the complete settings the connector
// uses, or the configuration problems that prevent it.
import type { ConfigIssue } from '../config/issues.ts';
import type { RefreshPolicy, UpstreamConfig } from '../config/upstreams.ts';
import { merged } from '../lang/merged.ts';
import { presetFor } from './presets.ts';

export interface ResolvedUpstream {
  readonly id: string;
  readonly name: string;
  readonly type: 'oidc' | 'oauth2';
  /** OIDC issuer, possibly a `{tenantid}` template. */
  readonly issuer?: string;
  readonly discoveryUrl?: string;
  readonly authorizationEndpoint?: string;
  readonly tokenEndpoint?: string;
  readonly userinfoEndpoint?: string;
  readonly emailsEndpoint?: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly authMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  readonly privateKey?: Record<string, unknown>;
  readonly scopes: readonly string[];
  readonly subject: readonly string[];
  readonly claims: Readonly<Record<string, string>>;
  readonly authorizationParams: Readonly<Record<string, string>>;
  readonly emailDomains?: readonly string[];
  readonly hostedDomain?: string;
  readonly tenants?: readonly string[];
  readonly refresh: RefreshPolicy;
  readonly refreshGracePeriod?: number;
  /** Milliseconds. */
  readonly timeoutMs: number;
  readonly revokeOnLogout: boolean;
  readonly continueLogout: boolean;
}

export function resolveUpstream(config: UpstreamConfig): { upstream?: ResolvedUpstream; issues: Array<Omit<ConfigIssue, 'path'> & { key?: string }> } {
  const preset = presetFor(config);
  const issues: Array<{ key?: string; message: string }> = [];
  const type = config.type ?? preset.type;
  const issuer = config.issuer ?? preset.issuer?.(config);
  const authMethod = config.token_endpoint_auth_method ?? 'client_secret_basic';

  if (type === 'oidc' && !issuer) issues.push({ key: 'issuer', message: 'required for an oidc upstream (or use a preset that sets it)' });
  if (type === 'oauth2') {
    for (const key of ['authorizationEndpoint', 'tokenEndpoint', 'userinfoEndpoint'] as const) {
      if (!(config[key] ?? preset[key])) issues.push({ key, message: 'required for an oauth2 upstream' });
    }
  }
  if (issuer?.includes('{tenantid}') && !(config.subject ?? preset.subject).includes('tid')) {
    issues.push({ key: 'subject', message: 'must include tid when the issuer is a {tenantid} template' });
  }
  let privateKey: Record<string, unknown> | undefined;
  if (authMethod === 'private_key_jwt') {
    if (!config.privateKey) issues.push({ key: 'privateKey', message: 'required for private_key_jwt' });
    else {
      try {
        privateKey = JSON.parse(config.privateKey) as Record<string, unknown>;
        if (typeof privateKey.d !== 'string') issues.push({ key: 'privateKey', message: 'must be a private JWK (JSON with "d")' });
      } catch {
        issues.push({ key: 'privateKey', message: 'must be a private JWK in JSON' });
      }
    }
  } else if (!config.client_secret) {
    issues.push({ key: 'client_secret', message: `required for ${authMethod}` });
  }
  if (issues.length > 0) return { issues };

  return {
    issues,
    upstream: {
      id: config.id,
      name: config.name ?? (config.preset ? preset.name : config.id),
      type,
      issuer,
      discoveryUrl: config.discoveryUrl ?? preset.discoveryUrl?.(config),
      authorizationEndpoint: config.authorizationEndpoint ?? preset.authorizationEndpoint,
      tokenEndpoint: config.tokenEndpoint ?? preset.tokenEndpoint,
      userinfoEndpoint: config.userinfoEndpoint ?? preset.userinfoEndpoint,
      emailsEndpoint: config.emailsEndpoint ?? preset.emailsEndpoint,
      clientId: config.client_id,
      clientSecret: config.client_secret,
      authMethod,
      privateKey,
      scopes: config.scopes ?? preset.scopes,
      subject: config.subject ?? preset.subject,
      claims: merged(preset.claims ?? {}, config.claims ?? {}),
      authorizationParams: merged(preset.authorizationParams?.(config) ?? {}, config.authorizationParams ?? {}),
      emailDomains: config.emailDomains,
      hostedDomain: config.hostedDomain,
      tenants: config.tenants,
      refresh: config.refresh ?? 'when-expired',
      refreshGracePeriod: config.refreshGracePeriod,
      timeoutMs: config.timeout * 1000,
      revokeOnLogout: config.revokeOnLogout,
      continueLogout: config.continueLogout,
    },
  };
}
