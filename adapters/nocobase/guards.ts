/**
 * Input checks in front of NocoBase's own managers. NocoBase accepts an empty channel (its channel
 * names then collapse to the app name), silently drops functions from pub/sub messages, and only
 * fails on a cycle or a BigInt inside `JSON.stringify`. With the bridge installed, the same calls
 * are refused at once with a `ClusterError` (stable `code`, clear message), before anything reaches
 * the broker. The wrappers are own properties of the manager instances; removing them restores
 * NocoBase's methods untouched.
 */
import { ClusterError, ErrorCodes, assertFunction, assertName, describe, serializePayload } from 'clusterkit';
import type { NocoBaseApp } from './nocobase-types.js';

type Method = (...args: any[]) => any;

/** Wraps `target[name]` with `check`; returns the undo. */
function guard(target: object, name: string, check: (...args: any[]) => void): () => void {
  const host = target as Record<string, Method>;
  const original = host[name];
  if (typeof original !== 'function') return () => {};
  const had = Object.prototype.hasOwnProperty.call(host, name);
  const wrapped = function (this: unknown, ...args: unknown[]) {
    check(...args);
    return original.apply(this, args);
  };
  host[name] = wrapped;
  return () => {
    if (host[name] !== wrapped) return;
    if (had) host[name] = original;
    else delete host[name];
  };
}

/** A promise-returning method rejects instead of throwing synchronously, as callers `await` it. */
function guardAsync(target: object, name: string, check: (...args: any[]) => void): () => void {
  const host = target as Record<string, Method>;
  const original = host[name];
  if (typeof original !== 'function') return () => {};
  const had = Object.prototype.hasOwnProperty.call(host, name);
  const wrapped = function (this: unknown, ...args: unknown[]) {
    try {
      check(...args);
    } catch (error) {
      return Promise.reject(error);
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

function optionalObject(call: string, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ClusterError(ErrorCodes.INVALID_ARGUMENT, `${call}: options must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function optionalNumber(
  call: string,
  option: string,
  value: unknown,
  rule: (n: number) => boolean,
  what: string,
): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !rule(value)) {
    throw new ClusterError(ErrorCodes.INVALID_OPTION, `${call}: ${option} must be ${what}, got ${describe(value)}`, {
      details: { option },
    });
  }
}

/** Installs the checks on `app`'s current managers; returns the undo. */
export function installGuards(app: NocoBaseApp, maxPayloadBytes: number): () => void {
  const undo = [
    guard(app.eventQueue, 'subscribe', (channel: unknown, options: unknown) => {
      assertName('channel', channel);
      const o = optionalObject('eventQueue.subscribe', options);
      assertFunction('process', o.process);
      if (o.idle !== undefined) assertFunction('idle', o.idle);
      optionalNumber(
        'eventQueue.subscribe',
        'concurrency',
        o.concurrency,
        Number.isInteger,
        'an integer (<= 0: unlimited)',
      );
      optionalNumber(
        'eventQueue.subscribe',
        'interval',
        o.interval,
        (n) => Number.isFinite(n) && n > 0,
        'a positive number of ms',
      );
    }),
    guardAsync(app.eventQueue, 'publish', (channel: unknown, message: unknown, options: unknown) => {
      assertName('channel', channel);
      serializePayload('message', message, maxPayloadBytes);
      const o = optionalObject('eventQueue.publish', options);
      optionalNumber(
        'eventQueue.publish',
        'maxRetries',
        o.maxRetries,
        (n) => Number.isInteger(n) && n >= 0,
        'an integer >= 0',
      );
      optionalNumber(
        'eventQueue.publish',
        'timeout',
        o.timeout,
        (n) => Number.isFinite(n) && n > 0,
        'a positive number of ms',
      );
    }),
    guardAsync(app.pubSubManager, 'subscribe', (channel: unknown, callback: unknown, options: unknown) => {
      assertName('channel', channel);
      assertFunction('callback', callback);
      const o = optionalObject('pubSubManager.subscribe', options);
      optionalNumber(
        'pubSubManager.subscribe',
        'debounce',
        o.debounce,
        (n) => Number.isFinite(n) && n >= 0,
        'a number of ms >= 0',
      );
    }),
    guardAsync(app.pubSubManager, 'publish', (channel: unknown, message: unknown, options: unknown) => {
      assertName('channel', channel);
      serializePayload('message', message, maxPayloadBytes);
      optionalObject('pubSubManager.publish', options);
    }),
    guardAsync(app.syncMessageManager, 'publish', (channel: unknown, message: unknown, options: unknown) => {
      assertName('channel', channel);
      serializePayload('message', message, maxPayloadBytes);
      optionalObject('syncMessageManager.publish', options);
    }),
  ];
  return () => {
    for (const step of undo.reverse()) step();
  };
}
