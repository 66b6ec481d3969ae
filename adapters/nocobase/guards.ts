/**
 * Input checks in front of NocoBase's own managers. NocoBase accepts an empty channel (its channel
 * names then collapse to the app name), silently drops functions from pub/sub messages, and only
 * fails on a cycle or a BigInt inside `JSON.stringify`. With the bridge installed, the same calls
 * are refused at once with a `ClusterError` (stable `code`, clear message), before anything reaches
 * the broker. The wrappers are own properties of the manager instances; removing them restores
 * NocoBase's methods untouched.
 */
import {
  ClusterError,
  ErrorCodes,
  assertFunction,
  assertName,
  describe,
  serializePayload,
} from 'clusterkit/adapter-kit';
import type { NocoBaseApp } from './nocobase-types.js';

type Method = (...args: any[]) => any;

/**
 * Wraps `target[name]` with `check`; returns the undo. With `rejects`, a failed check becomes a
 * rejected promise (for methods callers `await`), otherwise it throws at once.
 */
function guard(target: object, name: string, check: (...args: any[]) => void, rejects = false): () => void {
  const host = target as Record<string, Method>;
  const original = host[name];
  if (typeof original !== 'function') return () => {};
  const had = Object.prototype.hasOwnProperty.call(host, name);
  const wrapped = function (this: unknown, ...args: unknown[]) {
    try {
      check(...args);
    } catch (error) {
      if (rejects) return Promise.reject(error);
      throw error;
    }
    return original.apply(this, args);
  };
  host[name] = wrapped;
  return () => {
    if (host[name] !== wrapped) return;
    if (had) host[name] = original;
    else delete host[name];
  };
}

/** {@link guard} for a promise-returning method. */
const guardAsync = (target: object, name: string, check: (...args: any[]) => void) => guard(target, name, check, true);

function optionalObject(call: string, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `${call}: options must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** What a numeric option must be: a test and its wording. */
type NumberRule = readonly [(n: number) => boolean, string];
const INTEGER: NumberRule = [Number.isInteger, 'an integer (<= 0: unlimited)'];
const COUNT: NumberRule = [(n) => Number.isInteger(n) && n >= 0, 'an integer >= 0'];
const POSITIVE_MS: NumberRule = [(n) => Number.isFinite(n) && n > 0, 'a positive number of ms'];
const MS: NumberRule = [(n) => Number.isFinite(n) && n >= 0, 'a number of ms >= 0'];

function optionalNumber(call: string, options: Record<string, unknown>, option: string, [ok, what]: NumberRule): void {
  const value = options[option];
  if (value === undefined) return;
  if (typeof value !== 'number' || !ok(value)) {
    throw new ClusterError(ErrorCodes.INVALID_OPTION, `${call}: ${option} must be ${what}, got ${describe(value)}`, {
      details: { option },
    });
  }
}

/** The checks of a publish: a channel name, a JSON message, an options object. */
function publishCheck(call: string, maxPayloadBytes: number) {
  return (channel: unknown, message: unknown, options: unknown): Record<string, unknown> => {
    assertName('channel', channel);
    serializePayload('message', message, maxPayloadBytes);
    return optionalObject(call, options);
  };
}

/** Installs the checks on `app`'s current managers; returns the undo. */
export function installGuards(app: NocoBaseApp, maxPayloadBytes: number): () => void {
  const queuePublish = publishCheck('eventQueue.publish', maxPayloadBytes);
  const undo = [
    guard(app.eventQueue, 'subscribe', (channel: unknown, options: unknown) => {
      assertName('channel', channel);
      const o = optionalObject('eventQueue.subscribe', options);
      assertFunction('process', o.process);
      if (o.idle !== undefined) assertFunction('idle', o.idle);
      optionalNumber('eventQueue.subscribe', o, 'concurrency', INTEGER);
      optionalNumber('eventQueue.subscribe', o, 'interval', POSITIVE_MS);
    }),
    guardAsync(app.eventQueue, 'publish', (channel: unknown, message: unknown, options: unknown) => {
      const o = queuePublish(channel, message, options);
      optionalNumber('eventQueue.publish', o, 'maxRetries', COUNT);
      optionalNumber('eventQueue.publish', o, 'timeout', POSITIVE_MS);
    }),
    guardAsync(app.pubSubManager, 'subscribe', (channel: unknown, callback: unknown, options: unknown) => {
      assertName('channel', channel);
      assertFunction('callback', callback);
      optionalNumber('pubSubManager.subscribe', optionalObject('pubSubManager.subscribe', options), 'debounce', MS);
    }),
    guardAsync(app.pubSubManager, 'publish', publishCheck('pubSubManager.publish', maxPayloadBytes)),
    guardAsync(app.syncMessageManager, 'publish', publishCheck('syncMessageManager.publish', maxPayloadBytes)),
  ];
  return () => {
    for (const step of undo.reverse()) step();
  };
}
