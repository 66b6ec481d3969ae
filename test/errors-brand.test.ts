/**
 * The ClusterError brand: errors from another copy of clusterkit (its CommonJS build next to the ESM
 * one) are recognised by `isClusterError` and `instanceof`. The end-to-end check with two real
 * copies is in test/package/pack-install.test.ts; here a foreign copy is simulated by a class that
 * only carries the process-wide brand.
 */
import { describe, expect, it } from 'vitest';
import { ClusterError, ErrorCodes, isClusterError, LockAcquireError, UnrecoverableError } from 'clusterkit';

/** What a ClusterError of another copy of the library looks like: same brand, different class. */
function foreignError(name: string): Error {
  const error = new Error('from another copy');
  error.name = name;
  Object.defineProperty(error, Symbol.for('clusterkit.ClusterError'), { value: true });
  return Object.assign(error, { code: ErrorCodes.INVALID_ARGUMENT, retryable: true });
}

describe('ClusterError brand', () => {
  it('isClusterError: true for own and foreign ClusterErrors, false for anything else', () => {
    expect(isClusterError(new ClusterError(ErrorCodes.INVALID_NAME, 'x'))).toBe(true);
    expect(isClusterError(new LockAcquireError('held'))).toBe(true);
    expect(isClusterError(foreignError('ClusterError'))).toBe(true);
    for (const other of [new Error('x'), { code: 'INVALID_NAME' }, null, undefined, 'ClusterError']) {
      expect(isClusterError(other)).toBe(false);
    }
  });

  it('instanceof ClusterError accepts a foreign ClusterError; subclasses match by class name', () => {
    expect(foreignError('ClusterError')).toBeInstanceOf(ClusterError);
    expect(foreignError('LockAcquireError')).toBeInstanceOf(ClusterError);
    expect(foreignError('LockAcquireError')).toBeInstanceOf(LockAcquireError);
    expect(foreignError('LockAcquireError')).not.toBeInstanceOf(UnrecoverableError);
    expect(new LockAcquireError('held')).not.toBeInstanceOf(UnrecoverableError);
    expect(new Error('plain')).not.toBeInstanceOf(ClusterError);
  });
});
