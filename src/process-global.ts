/**
 * Process-wide singletons. A package installed once can still be loaded twice in one process — its
 * ESM build by an ESM host and its CommonJS build by a `require()`-ing plugin (the dual-package
 * hazard). State that must be one per process (the tenant AsyncLocalStorage, the error brand, the
 * job-stats registry) therefore lives on `globalThis` under a `Symbol.for('clusterkit.…')` key, so
 * both copies find the same object.
 */

/**
 * Returns the process-wide value stored under `Symbol.for('clusterkit.' + name)`, creating it with
 * `init` the first time any copy of clusterkit asks. Bump the name's version suffix when the shape
 * of the value changes incompatibly.
 */
export function processGlobal<T>(name: string, init: () => T): T {
  const key = Symbol.for(`clusterkit.${name}`);
  const store = globalThis as unknown as Record<symbol, T | undefined>;
  let value = store[key];
  if (value === undefined) {
    value = init();
    Object.defineProperty(globalThis, key, { value, enumerable: false, configurable: false, writable: false });
  }
  return value;
}
