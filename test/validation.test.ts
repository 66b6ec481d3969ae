/**
 * The shared input checks: names, payloads, durations, integers and option keys, each refused
 * with its stable code.
 */
import { describe, expect, it } from 'vitest';
import {
  assertDuration,
  assertInteger,
  assertName,
  assertOptions,
  ErrorCodes,
  serializePayload,
} from 'clusterkit/adapter-kit';

const code = (c: string) => expect.objectContaining({ code: c });

describe('assertName', () => {
  it.each([
    ['', 'empty'],
    ['   ', 'whitespace only'],
    [' a', 'leading whitespace'],
    ['a\t', 'trailing whitespace'],
    ['a\u0000b', 'NUL'],
    ['a\nb', 'newline'],
    ['a\u007fb', 'DEL'],
    ['x'.repeat(513), 'too long'],
  ])('refuses %j (%s) with INVALID_NAME', (value) => {
    expect(() => assertName('channel', value)).toThrow(code(ErrorCodes.INVALID_NAME));
  });

  it.each([[42], [null], [undefined], [{}]])('refuses the non-string %j', (value) => {
    expect(() => assertName('channel', value)).toThrow(code(ErrorCodes.INVALID_NAME));
  });

  it('accepts names with colons, dots, spaces inside and unicode', () => {
    for (const name of ['orders', 'app:main:orders', 'a.b#c*d', 'two words', 'zamówienia', 'x'.repeat(512)]) {
      expect(assertName('channel', name)).toBe(name);
    }
  });
});

describe('serializePayload', () => {
  it('serializes JSON values, dropping undefined properties like JSON.stringify', () => {
    expect(serializePayload('m', { a: 1, b: undefined, c: [1, 'x', null], d: new Date(0) })).toBe(
      '{"a":1,"c":[1,"x",null],"d":"1970-01-01T00:00:00.000Z"}',
    );
    for (const v of [null, 0, false, '', 'text', [], {}]) expect(serializePayload('m', v)).toBe(JSON.stringify(v));
  });

  it.each([
    ['a function', { f: () => 1 }],
    ['a BigInt', { n: 1n }],
    ['a symbol', [Symbol('s')]],
    ['NaN', { n: NaN }],
    ['Infinity', [Infinity]],
    ['undefined at the top', undefined],
    ['undefined in an array', [1, undefined]],
    ['a Map', { m: new Map() }],
    ['a Set', new Set([1])],
  ])('refuses %s with INVALID_PAYLOAD', (_what, value) => {
    expect(() => serializePayload('message', value)).toThrow(code(ErrorCodes.INVALID_PAYLOAD));
  });

  it('refuses cycles but accepts the same object twice (a DAG)', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    expect(() => serializePayload('message', a)).toThrow(code(ErrorCodes.INVALID_PAYLOAD));
    const shared = { y: 1 };
    expect(serializePayload('message', { p: shared, q: shared })).toBe('{"p":{"y":1},"q":{"y":1}}');
  });

  it('names a cycle at its first repeat, shallow or deep, and accepts deep acyclic payloads', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    expect(() => serializePayload('message', a)).toThrow(
      'message is not JSON-serializable: a circular reference at $.self',
    );
    const list: unknown[] = [];
    list.push({ back: list });
    expect(() => serializePayload('message', list)).toThrow('a circular reference at $[0].back');
    // Past the Set-free walk's depth (32): nesting of 40 is fine, a cycle there is named where it closes.
    const root: Record<string, unknown> = {};
    let node = root;
    for (let i = 0; i < 40; i++) node = node.n = {} as Record<string, unknown>;
    node.leaf = [1, 'x'];
    expect(serializePayload('message', root)).toBe(JSON.stringify(root));
    node.loop = root.n;
    expect(() => serializePayload('message', root)).toThrow(`a circular reference at $${'.n'.repeat(40)}.loop`);
    delete node.loop;
    node.bad = 1n;
    expect(() => serializePayload('message', root)).toThrow(`a BigInt at $${'.n'.repeat(40)}.bad`);
  });

  it('names the path of the bad value', () => {
    expect(() => serializePayload('message', { a: [{ b: () => 1 }] })).toThrow(/\$\.a\[0\]\.b/);
  });

  it('counts bytes, not characters, against the limit', () => {
    expect(serializePayload('m', 'é'.repeat(10), 30)).toBe(JSON.stringify('é'.repeat(10)));
    expect(() => serializePayload('m', 'é'.repeat(20), 30)).toThrow(code(ErrorCodes.PAYLOAD_TOO_LARGE));
    expect(() => serializePayload('m', 'x'.repeat(100), 50)).toThrow(code(ErrorCodes.PAYLOAD_TOO_LARGE));
  });
});

describe('assertDuration / assertInteger / assertOptions', () => {
  it('refuses non-finite, negative, zero (unless allowed) and too-large durations', () => {
    for (const bad of [NaN, Infinity, -1, '5', null, 2 ** 31]) {
      expect(() => assertDuration('ttl', bad)).toThrow(code(ErrorCodes.INVALID_OPTION));
    }
    expect(() => assertDuration('ttl', 0)).toThrow(code(ErrorCodes.INVALID_OPTION));
    expect(assertDuration('delay', 0, { allowZero: true })).toBe(0);
    expect(assertDuration('ttl', 1.2)).toBe(2);
  });

  it('checks integers within a range', () => {
    expect(assertInteger('concurrency', 3, 1)).toBe(3);
    for (const bad of [0, 1.5, NaN, '2'])
      expect(() => assertInteger('concurrency', bad, 1)).toThrow(code(ErrorCodes.INVALID_OPTION));
  });

  it('refuses unknown option keys and non-object options', () => {
    expect(() => assertOptions('call', { timout: 1 } as object, ['timeout'])).toThrow(code(ErrorCodes.UNKNOWN_OPTION));
    expect(() => assertOptions('call', 5 as never, ['timeout'])).toThrow(code(ErrorCodes.INVALID_ARGUMENT));
    expect(assertOptions('call', undefined, ['timeout'])).toEqual({});
  });
});
