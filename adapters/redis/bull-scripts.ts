/**
 * BullMQ's own Lua scripts as BullMQ defined them on an ioredis client (`client.scriptsSet`, named
 * `<base>:<version>`): the one place that reads them, for the adapters that wrap or patch the
 * installed BullMQ's source (`bull-add-scripts.ts`, `bull-dead-index.ts`, `bull-promote-limit.ts`).
 */

type Scripts = Record<string, { lua?: string; numberOfKeys?: number | null } | undefined>;

/** One of BullMQ's scripts: its command name on the client, its source and its number of keys. */
export interface BullScript {
  readonly name: string;
  readonly lua: string;
  readonly numberOfKeys: number;
}

function scriptsOf(client: object): Scripts | undefined {
  return (client as { scriptsSet?: Scripts }).scriptsSet;
}

/** BullMQ's script `base` (e.g. `moveToFinished`) on `client`; undefined when BullMQ has not defined it there. */
export function bullScript(client: object, base: string): BullScript | undefined {
  const scripts = scriptsOf(client);
  if (!scripts) return undefined;
  const name = Object.keys(scripts).find((key) => key.startsWith(`${base}:`));
  const script = name ? scripts[name] : undefined;
  if (!name || typeof script?.lua !== 'string' || typeof script.numberOfKeys !== 'number') return undefined;
  return { name, lua: script.lua, numberOfKeys: script.numberOfKeys };
}

/** True when a command `name` is defined on `client` (BullMQ's or one defined next to them). */
export function hasScript(client: object, name: string): boolean {
  return scriptsOf(client)?.[name] !== undefined;
}
