/**
 * The event queue's per-message path on Redis: what a plain publish runs on the server
 * (docs/performance.md, "Redis eventQueue throughput").
 *
 * - A publish without a job-store record runs the wrapped add WITHOUT the record step: that step's
 *   prelude (the job store's helper closures) cost ~2 µs of Lua on every add.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveRedisUrl } from '../conformance/redis-factory.js';
import { connectionsFixture, queuePublisher } from './connections-fixture.js';

const target = await resolveRedisUrl();

/** The Lua of every script ioredis knows on `client`, by command name. */
function scripts(client: unknown): Record<string, string> {
  const set = (client as { scriptsSet?: Record<string, { lua?: string }> }).scriptsSet ?? {};
  return Object.fromEntries(Object.entries(set).map(([name, s]) => [name, s.lua ?? '']));
}

describe.skipIf('skip' in target)('redis event-queue publish path', () => {
  const url = 'url' in target ? target.url : '';
  const fx = connectionsFixture(url, 'ckpp');

  it('runs the add without the job-store record step for a plain publish', async () => {
    const queue = 'plain';
    const { q, publisher } = await queuePublisher(fx, queue);
    const sent: string[] = [];
    const client = fx.connections.command as unknown as {
      sendCommand(command: { name: string; args: unknown[] }): unknown;
    };
    const send = client.sendCommand.bind(client);
    const byHash = new Map<string, string>();
    client.sendCommand = (command) => {
      if (command.name === 'evalsha') sent.push(String(command.args[0]));
      return send(command);
    };
    try {
      await publisher.publish(q, queue, {
        id: 'gen-1',
        body: '{"v":1,"id":"gen-1","publishedAt":1,"message":1}',
        priority: 2,
        delayMs: 0,
        callerId: false,
      });
    } finally {
      client.sendCommand = send;
    }
    const lua = scripts(fx.connections.command);
    for (const [name, source] of Object.entries(lua)) byHash.set(createHash('sha1').update(source).digest('hex'), name);
    const ran = sent.map((sha) => byHash.get(sha));
    const add = ran.find((name) => name?.includes('addStandardJob'));
    expect(add).toBeDefined();
    // The record step's prelude (the job store's helpers) is not in what ran...
    expect(lua[add!]).not.toContain('local function unindex');
    // ...but the variant a managed job's fused create uses has it.
    expect(lua[add!.replace(/^ck:/, 'ckc:')]).toContain('local function unindex');
    await q.close();
  });
});
