/**
 * `booleanOption`: the check of a boolean option shared by the managers (pub/sub `skipSelf`/`onlySelf`,
 * managed-queue `worker`/`schedules`, cache `useCache`). It belongs with the other checks in
 * `validation.ts`; it lives here because that module is frozen for now.
 */
import { ClusterError, ErrorCodes } from './errors.js';
import { describe } from './validation.js';

/**
 * Returns `value`, or `fallback` when it is undefined; anything else than a boolean is refused with
 * `INVALID_OPTION` (`<name> must be a boolean, got ...`, `details.option` = `name`).
 */
export function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new ClusterError(ErrorCodes.INVALID_OPTION, `${name} must be a boolean, got ${describe(value)}`, {
      details: { option: name },
    });
  }
  return value;
}
