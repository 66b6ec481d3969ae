/**
 * Runs a Lua script by SHA (EVALSHA), loading it on the first NOSCRIPT reply — the server keeps
 * scripts across calls but forgets them on restart or on a node that has never seen them.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from '../connection.js';

/** A Lua script with its SHA1. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/** Declares a script (computes its SHA once). */
export function luaScript(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Runs `script` with `keys` and `args`; keys must share a hash slot on a Cluster. */
export async function runScript(
  client: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return client.eval(script.source, keys.length, ...keys, ...args);
  }
}
