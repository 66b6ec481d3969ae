/**
 * Tenant context carried through async calls with AsyncLocalStorage. The managed job layer
 * captures it at enqueue and restores it around handlers.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ClusterError, ErrorCodes } from '../errors.js';
import { processGlobal } from '../process-global.js';

/** Who the current work is for. */
export interface TenantContext {
  readonly tenantId: string;
  readonly organizationId?: string;
  readonly userId?: string;
}

// One storage per process, shared by the ESM and CommonJS copies of clusterkit (a CJS plugin inside
// an ESM host sees the host's tenant).
const storage = processGlobal('tenantStorage.v1', () => new AsyncLocalStorage<TenantContext>());

/** Runs `fn` with `tenant` as the current tenant; everything `fn` awaits or schedules sees it. */
export function runWithTenant<T>(tenant: TenantContext, fn: () => T): T {
  if (!tenant || typeof tenant.tenantId !== 'string' || tenant.tenantId.length === 0) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, 'runWithTenant: tenantId must be a non-empty string');
  }
  for (const field of ['organizationId', 'userId'] as const) {
    const v = tenant[field];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) {
      throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `runWithTenant: ${field} must be a non-empty string`);
    }
  }
  return storage.run(Object.freeze({ ...tenant }), fn);
}

/** The current tenant, or undefined outside any `runWithTenant` (platform/operator code). */
export function currentTenant(): TenantContext | undefined {
  return storage.getStore();
}

/**
 * Runs `fn` outside any tenant context: it (and everything it awaits or schedules) sees no tenant,
 * even when called from inside `runWithTenant`. For platform work such as schedules.
 */
export function runWithoutTenant<T>(fn: () => T): T {
  return storage.exit(fn);
}
