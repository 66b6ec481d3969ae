/**
 * Shared in-process state for the memory adapters. Apps given adapters built on one backend behave
 * as nodes of one cluster; an app without adapters gets a backend of its own. There is no
 * module-level state: two backends never see each other.
 */

/** A bag of named shared state, one entry per memory adapter kind. */
export class MemoryBackend {
  private readonly parts = new Map<string, unknown>();

  /** Returns the shared state called `name`, creating it with `init` on first use. */
  part<T>(name: string, init: () => T): T {
    let value = this.parts.get(name) as T | undefined;
    if (value === undefined) {
      value = init();
      this.parts.set(name, value);
    }
    return value;
  }
}

/** Creates an empty backend to share between several apps in one process. */
export function createMemoryBackend(): MemoryBackend {
  return new MemoryBackend();
}
