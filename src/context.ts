/**
 * What every manager needs from the app it belongs to: the namespace, the node identity, where to
 * log, and where background failures go. A manager constructed on its own (NocoBase style) gets a
 * standalone context.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_MAX_PAYLOAD_BYTES } from './validation.js';

/** A structured logger. pino, winston and console-like objects fit. */
export interface Logger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

/** Shared facts and hooks handed to each manager by the app. */
export interface ManagerContext {
  /** App name; every channel, queue and key is namespaced by it. */
  readonly appName: string;
  /** Unique id of this app instance (one "node" of the cluster). */
  readonly nodeId: string;
  readonly logger: Logger;
  /** Payload size limit in bytes of serialized JSON. @default 1048576 */
  readonly maxPayloadBytes: number;
  /** Reports a failure that has no caller to reject (a handler throwing, a broker dropping). */
  reportError(error: unknown, meta?: Record<string, unknown>): void;
}

/** A logger that drops debug/info and writes warnings and errors to stderr. */
export const defaultLogger: Logger = {
  debug() {},
  info() {},
  warn(message, meta) {
    console.warn(`[clusterkit] ${message}`, meta ?? '');
  },
  error(message, meta) {
    console.error(`[clusterkit] ${message}`, meta ?? '');
  },
};

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Builds a context for a manager used outside an app. */
export function standaloneContext(overrides: Partial<ManagerContext> = {}): ManagerContext {
  const appName = overrides.appName ?? 'main';
  const logger = overrides.logger ?? defaultLogger;
  return {
    appName,
    nodeId: overrides.nodeId ?? `${appName}#${randomUUID().slice(0, 8)}`,
    logger,
    maxPayloadBytes: overrides.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    reportError:
      overrides.reportError ??
      ((error, meta) => logger.error(error instanceof Error ? error.message : String(error), { ...meta, error })),
  };
}
