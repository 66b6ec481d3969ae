/**
 * `codeOf`: the `code` a failing call rejects with, for tests that check stable error codes
 * (`expect(await codeOf(() => manager.acquire(''))).toBe(ErrorCodes.INVALID_ARGUMENT)`).
 */
import { ClusterError } from 'clusterkit';

/**
 * Awaits `call` (a promise, or a function whose result is awaited; a synchronous throw counts as a
 * rejection) and returns the `code` of what it rejected with, or undefined when it did not reject
 * (or the error has no code).
 */
export async function codeOf(call: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof call === 'function' ? call() : call);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

/**
 * Stricter {@link codeOf} for a promise: the code of the {@link ClusterError} it rejects with; any other
 * rejection gives `not a ClusterError: <error>`, so a test expecting a code fails with what really happened.
 */
export async function clusterCodeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error instanceof ClusterError ? error.code : `not a ClusterError: ${String(error)}`;
  }
}
