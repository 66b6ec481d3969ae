/**
 * Test helpers: deferred promises, random names, and a deadline for anything awaited.
 * Tests wait on events, never on fixed sleeps.
 */
import { randomBytes } from 'node:crypto';

/** A promise with its resolve/reject exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** Creates a {@link Deferred}. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Rejects if `promise` has not settled within `ms` (a deadline, not a sleep). */
export async function within<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A random name for one test run: `prefix-<hex>`. */
export function randomName(prefix = 't'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** Resolves once `count` calls of the returned `hit()` have happened. */
export function counter(count: number): { hit(): void; done: Promise<void>; readonly value: number } {
  const d = deferred();
  let value = 0;
  if (count <= 0) d.resolve();
  return {
    hit() {
      value += 1;
      if (value === count) d.resolve();
    },
    done: d.promise,
    get value() {
      return value;
    },
  };
}

/** A logger that records everything (assert on background failures). */
export function recordingLogger() {
  const entries: { level: string; message: string; meta?: Record<string, unknown> }[] = [];
  const log = (level: string) => (message: string, meta?: Record<string, unknown>) => {
    entries.push({ level, message, meta });
  };
  return { entries, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
