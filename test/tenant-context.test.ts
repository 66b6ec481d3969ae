/**
 * Tenant context: `runWithTenant` makes a tenant current for everything the function awaits or
 * schedules; outside it there is none.
 */
import { describe, expect, it } from 'vitest';
import { currentTenant, ErrorCodes, runWithoutTenant, runWithTenant } from 'clusterkit';

describe('runWithTenant / currentTenant', () => {
  it('has no tenant outside any context', () => {
    expect(currentTenant()).toBeUndefined();
  });

  it('carries the tenant through awaits, timers and nested contexts', async () => {
    await runWithTenant({ tenantId: 't1', organizationId: 'o1' }, async () => {
      expect(currentTenant()).toEqual({ tenantId: 't1', organizationId: 'o1' });
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(currentTenant()?.tenantId).toBe('t1');
      await runWithTenant({ tenantId: 't2' }, async () => {
        await Promise.resolve();
        expect(currentTenant()).toEqual({ tenantId: 't2' });
      });
      expect(currentTenant()?.tenantId).toBe('t1');
    });
    expect(currentTenant()).toBeUndefined();
  });

  it('keeps concurrent contexts apart', async () => {
    const seen = await Promise.all(
      ['a', 'b', 'c'].map((tenantId) =>
        runWithTenant({ tenantId }, async () => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
          return currentTenant()?.tenantId;
        }),
      ),
    );
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('returns the function result and freezes the context', () => {
    const result = runWithTenant({ tenantId: 't1' }, () => {
      const ctx = currentTenant()!;
      expect(Object.isFrozen(ctx)).toBe(true);
      return 42;
    });
    expect(result).toBe(42);
  });

  it('refuses an empty or missing tenantId and empty optional ids with INVALID_ARGUMENT', () => {
    for (const bad of [{}, { tenantId: '' }, { tenantId: 't', organizationId: '' }, { tenantId: 't', userId: 5 }]) {
      expect(() => runWithTenant(bad as never, () => 1)).toThrow(
        expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
      );
    }
  });

  it('runWithoutTenant leaves the current context for fn and what it awaits', async () => {
    await runWithTenant({ tenantId: 't1' }, async () => {
      const inside = await runWithoutTenant(async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return currentTenant();
      });
      expect(inside).toBeUndefined();
      expect(currentTenant()?.tenantId).toBe('t1');
    });
  });
});
