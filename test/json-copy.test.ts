import { describe, expect, it } from 'vitest';
import { jsonCopy } from '../src/json-copy.js';

const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

function nested(depth: number): unknown {
  let value: unknown = { leaf: true };
  for (let i = 0; i < depth; i += 1) value = { [`level${i}`]: value, list: [i] };
  return value;
}

const record = {
  v: 1,
  id: 'b3a7c1e2-1f7a-4c3e-9d3b-8f7e6d5c4b3a',
  nonce: 'a1b2c3d4e5f6',
  gen: 0,
  state: 'active',
  pluginName: 'bench',
  tenantId: undefined,
  payload: { i: 1, nested: { list: [1, 'a', null, { b: false }] } },
  history: [{ attempt: 1, node: 'n1', startedAt: 1, error: { message: 'x', code: undefined } }],
  backoff: { type: 'exponential', delayMs: 1000, jitter: 0.2 },
  progress: 0,
  returnValue: undefined,
  stacktrace: ['Error: x\n    at y'],
};

const cases: [string, unknown][] = [
  ['a job record', record],
  ['primitives', ['s', 1, true, null, 0.5, -3]],
  ['non-finite and -0', { a: Number.NaN, b: Infinity, c: -Infinity, d: -0, e: [Number.NaN, -0] }],
  [
    'undefined, functions and symbols',
    { a: undefined, b: () => 1, c: Symbol('s'), d: [undefined, () => 1, Symbol('t')] },
  ],
  ['array holes', [1, , 3]], // eslint-disable-line no-sparse-arrays
  ['a Date (toJSON)', { at: new Date(1_765_000_000_000), list: [new Date(0)] }],
  ['a toJSON method', { value: { toJSON: () => ({ replaced: true }) } }],
  ['a class instance', { point: new Point(1, 2) }],
  ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1 })],
  ['a __proto__ key', JSON.parse('{"a":1,"__proto__":{"polluted":true}}')],
  ['boxed primitives', { n: new Number(1), s: new String('x') }],
  ['deep nesting', nested(40)],
  ['symbol keys', { a: 1, [Symbol('k')]: 2 }],
  ['integer-like keys', { b: 1, 2: 'two', a: 3, 1: 'one' }],
  ['strings', { lone: '\ud800', emoji: '😀', quote: '"\\\n' }],
  ['empty', [{}, []]],
  ['a top-level string', 'text'],
  ['a top-level number', 42],
  ['null', null],
];

describe('jsonCopy', () => {
  it.each(cases)('gives the JSON round trip’s result: %s', (_name, value) => {
    const copy = jsonCopy(value);
    const expected = roundTrip(value);
    expect(copy).toStrictEqual(expected);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(expected));
    if (typeof copy === 'object' && copy !== null) expect(Object.keys(copy)).toEqual(Object.keys(expected as object));
  });

  it('shares no object with its input', () => {
    const copy = jsonCopy(record);
    expect(copy.payload).not.toBe(record.payload);
    expect(copy.payload.nested.list).not.toBe(record.payload.nested.list);
    expect(copy.history[0]).not.toBe(record.history[0]);
    expect(copy.history[0]!.error).not.toBe(record.history[0]!.error);
  });

  it('leaves undefined as undefined, turns -0 into 0', () => {
    expect(jsonCopy(undefined)).toBeUndefined();
    expect(Object.is(jsonCopy({ z: -0 }).z, 0)).toBe(true);
    expect(Object.is(jsonCopy([-0])[0], 0)).toBe(true);
  });

  it('throws where the round trip throws: a bigint, a cycle', () => {
    expect(() => jsonCopy({ n: 1n })).toThrow(TypeError);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    expect(() => jsonCopy(cyclic)).toThrow(TypeError);
  });
});
