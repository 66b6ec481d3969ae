/**
 * The names of a native handler's queue and ids (native-job-engine.ts), computed once per node
 * (the engine's `add` runs per job), and BullMQ's retention options, one frozen object per age.
 */
import type { JobsOptions } from 'bullmq';
import { handlerKey } from 'clusterkit/adapter-kit';
import { idIndexEntry, idIndexKey, nativeBullName } from './native-ids.js';
import { generatedIdPrefix, type HandlerName } from './native-job-shape.js';

/** A handler's names (see {@link NativeNames.named}). */
export interface HandlerNames {
  /** The BullMQ name of its queue (nativeBullName). */
  readonly queueName: string;
  /** BullMQ's key prefix of its queue (`<prefix>:<queueName>:`). */
  readonly keyPrefix: string;
  /** Its queue's key prefix and its entry in its plugin's id index (native-ids.ts). */
  readonly idEntry: string;
  /** Its plugin's id index. */
  readonly indexKey: string;
  /** handlerKey(plugin, queue, job). */
  readonly handlerKey: string;
  /** What its generated public ids start with. */
  readonly idPrefix: string;
}

/** The handler names of one app's native engine, cached. */
export class NativeNames {
  private readonly byHandler = new Map<string, HandlerNames>();
  private last: (HandlerName & { readonly names: HandlerNames }) | undefined;
  private readonly keeps = new Map<number, { readonly age: number }>();

  /**
   * @param bullPrefix BullMQ's prefix of the engine's queues (bull-names.ts `bullPrefix`)
   * @param prefix the adapters' key prefix
   */
  constructor(
    private readonly bullPrefix: string,
    private readonly prefix: string,
    private readonly appName: string,
  ) {}

  /** A handler's names (the last one asked needs no lookup). */
  named(h: HandlerName): HandlerNames {
    const last = this.last;
    if (last && last.pluginName === h.pluginName && last.queueName === h.queueName && last.jobName === h.jobName)
      return last.names;
    const cacheKey = `${h.pluginName}\n${h.queueName}\n${h.jobName}`;
    let names = this.byHandler.get(cacheKey);
    if (!names) {
      const queueName = nativeBullName(this.appName, h);
      const hk = handlerKey(h.pluginName, h.queueName, h.jobName);
      const keyPrefix = `${this.bullPrefix}:${queueName}:`;
      names = {
        queueName,
        keyPrefix,
        idEntry: idIndexEntry(keyPrefix, hk),
        indexKey: idIndexKey(this.prefix, this.appName, h.pluginName),
        handlerKey: hk,
        idPrefix: generatedIdPrefix(h),
      };
      this.byHandler.set(cacheKey, names);
    }
    this.last = { pluginName: h.pluginName, queueName: h.queueName, jobName: h.jobName, names };
    return names;
  }

  /** BullMQ's key prefix of a handler's queue. */
  keyPrefixOf(h: HandlerName): string {
    return `${this.bullPrefix}:${nativeBullName(this.appName, h)}:`;
  }

  /** The id index of a plugin. */
  indexKeyOf(pluginName: string): string {
    return idIndexKey(this.prefix, this.appName, pluginName);
  }

  /** BullMQ's retention option of a job: `true`, or the age in whole seconds (`false`: `fallbackMs`). */
  keep(remove: boolean | number, fallbackMs: number): JobsOptions['removeOnComplete'] {
    if (remove === true) return true;
    const age = Math.max(1, Math.ceil((remove === false ? fallbackMs : remove) / 1000));
    let keep = this.keeps.get(age);
    if (!keep) {
      keep = Object.freeze({ age });
      if (this.keeps.size < 64) this.keeps.set(age, keep);
    }
    return keep;
  }
}
