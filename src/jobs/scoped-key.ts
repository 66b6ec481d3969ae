/**
 * Key building for plugin state and job ids. Every component is escaped so that no value can
 * forge a separator: a tenant called `a:t:b` can never reach tenant `a`'s keys, and no component
 * can smuggle SCAN glob characters or Redis Cluster hash tags into a key.
 */
import { ClusterError, ErrorCodes } from '../errors.js';
import { escapeKeyPart } from '../names.js';
import { currentTenant, runWithoutTenant } from '../tenant/tenant-context.js';
import { assertName, assertOptions, describe } from '../validation.js';
import type { KeyScope } from './types.js';

// The one name encoding of every manager (src/names.ts); re-exported for the job layer's modules.
export { escapeKeyPart, unescapeKeyPart } from '../names.js';

/**
 * Runs `fn` outside any tenant context (platform work: schedules, tenant-less jobs), even if the async
 * chain that triggered it (an in-process broker delivering from inside `runWithTenant`) had one.
 */
export const outsideTenant: <T>(fn: () => T) => T = runWithoutTenant;

/** A scope with tenant/organization resolved against the current tenant context. */
export interface ResolvedScope {
  readonly pluginName: string;
  readonly tenantId?: string;
  readonly organizationId?: string;
  readonly scopeKey?: string;
}

const SCOPE_KEYS = ['pluginName', 'tenantId', 'organizationId', 'scopeKey'] as const;

const TENANT_FIELDS = ['tenantId', 'organizationId', 'userId'] as const;
/** {@link resolveTenant}'s answer when there is no tenant (shared: callers only read it). */
const NO_TENANT: { tenantId?: string; organizationId?: string; userId?: string } = Object.freeze({});

/**
 * Checks a tenant/organization pair against the current tenant context: omitted values come from
 * it; a value that contradicts it is refused with `TENANT_MISMATCH`.
 */
export function resolveTenant(
  call: string,
  given: { tenantId?: unknown; organizationId?: unknown; userId?: unknown },
): { tenantId?: string; organizationId?: string; userId?: string } {
  const current = currentTenant();
  // Nothing given and no tenant context (most calls): nothing to check or fill.
  if (current === undefined && given.tenantId == null && given.organizationId == null && given.userId == null)
    return NO_TENANT;
  const out: { tenantId?: string; organizationId?: string; userId?: string } = {};
  for (const field of TENANT_FIELDS) {
    const value = given[field];
    const ambient = current?.[field];
    if (value === undefined || value === null) {
      if (ambient !== undefined) out[field] = ambient;
      continue;
    }
    assertName(`${call}: ${field}`, value);
    // userId may differ (a job enqueued for another user of the same tenant); tenant and org may not.
    if (field !== 'userId' && ambient !== undefined && ambient !== value) {
      throw new ClusterError(
        ErrorCodes.TENANT_MISMATCH,
        `${call}: ${field} "${String(value)}" contradicts the current tenant context (${field} "${ambient}")`,
        { details: { field } },
      );
    }
    out[field] = value as string;
  }
  return out;
}

/** Validates a {@link KeyScope} and fills tenant/organization from the current tenant context. */
export function resolveScope(call: string, scope: KeyScope): ResolvedScope {
  if (typeof scope !== 'object' || scope === null) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `${call}: scope must be an object, got ${describe(scope)}`);
  }
  assertOptions(call, scope, SCOPE_KEYS);
  const pluginName = assertName(`${call}: pluginName`, scope.pluginName);
  const { tenantId, organizationId } = resolveTenant(call, scope);
  const scopeKey = scope.scopeKey === undefined ? undefined : assertName(`${call}: scopeKey`, scope.scopeKey);
  return { pluginName, tenantId, organizationId, scopeKey };
}

/**
 * The key prefix of one scope: `<app>:plugin:<plugin>:t:<tenant>:o:<org>:s:<scopeKey>:` with every
 * component escaped and `-` standing for "none" (a literal `-` value is escaped as `%2D`, so it
 * cannot pose as "none").
 */
export function scopePrefix(appName: string, scope: ResolvedScope): string {
  const opt = (v: string | undefined) => (v === undefined ? '-' : escapeKeyPart(v).replace(/^-$/, '%2D'));
  return [
    escapeKeyPart(appName),
    'plugin',
    escapeKeyPart(scope.pluginName),
    't',
    opt(scope.tenantId),
    'o',
    opt(scope.organizationId),
    's',
    opt(scope.scopeKey),
    '',
  ].join(':');
}

/** Builds `<scope prefix><part>:<part>...` with every part escaped. */
export function buildScopedKey(appName: string, scope: ResolvedScope, parts: readonly unknown[]): string {
  if (parts.length === 0) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, 'scopedKey: give at least one key part');
  }
  const escaped = parts.map((part, i) => {
    if (typeof part !== 'string' && typeof part !== 'number') {
      throw new ClusterError(
        ErrorCodes.INVALID_ARGUMENT,
        `scopedKey: part ${i} must be a string or number, got ${describe(part)}`,
      );
    }
    const text = String(part);
    if (text.length === 0) throw new ClusterError(ErrorCodes.INVALID_NAME, `scopedKey: part ${i} must not be empty`);
    return escapeKeyPart(text);
  });
  return scopePrefix(appName, scope) + escaped.join(':');
}

/**
 * The public id of a job with a caller-given id: `<plugin>:<tenant>:<callerId>` with plugin and
 * tenant escaped (so the first two `:` are always the separators) and the caller's id verbatim
 * (it may contain `:`). The same caller id in two plugins or tenants gives two ids.
 */
export function namespacedJobId(pluginName: string, tenantId: string | undefined, callerId: string): string {
  return `${escapeKeyPart(pluginName)}:${tenantId === undefined ? '-' : escapeKeyPart(tenantId).replace(/^-$/, '%2D')}:${callerId}`;
}

/** `<plugin>:<queue>` with both parts escaped: the name of a logical queue (paused flags, stats). */
export function logicalQueueKey(pluginName: string, queueName: string): string {
  return `${escapeKeyPart(pluginName)}:${escapeKeyPart(queueName)}`;
}

/** `<plugin>:<queue>:<job>`, escaped: the key of a handler (lanes, heartbeats, global limits). */
export function handlerKey(pluginName: string, queueName: string, jobName: string): string {
  return `${escapeKeyPart(pluginName)}:${escapeKeyPart(queueName)}:${escapeKeyPart(jobName)}`;
}

/** {@link handlerKey} of a job's record or ticket. */
export function handlerKeyOf(job: { pluginName: string; queueName: string; jobName: string }): string {
  return handlerKey(job.pluginName, job.queueName, job.jobName);
}
