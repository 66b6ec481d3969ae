/**
 * For child processes run with `node --import tsx --import ./test/resolve-nocobase.mjs`: the bridge's
 * source (../../adapters/nocobase) imports `@nocobase/*`, which is installed only in this folder.
 * This resolve hook looks those specifiers up from here — what the vitest config's aliases do for
 * the in-process tests — so child nodes and the test process load one and the same NocoBase.
 */
import { register } from 'node:module';

register('./resolve-nocobase-hooks.mjs', import.meta.url);
