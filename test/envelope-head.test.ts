/**
 * Both envelope decoders read the common envelope from its fixed head and parse only the message.
 * These bodies sit at the edge of that shortcut: each must decode exactly as a full `JSON.parse`
 * of the body would (the same fields, or the same refusal).
 */
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, envelopeId, ErrorCodes } from 'clusterkit/adapter-kit';
import { decodeEnvelope as decodePubSub, encodeEnvelope as encodePubSub } from '../src/pub-sub/envelope.js';

const TAB = '\t';

describe('event-queue decodeEnvelope: the head shortcut agrees with a full parse', () => {
  it.each([
    ['a generated envelope', encodeEnvelope('a1-b2-3', '{"i":1}', 1_700_000_000_000, {})],
    ['a non-ASCII id', encodeEnvelope('café#1', '[1,"x"]', 5, {})],
    ['an escaped id', encodeEnvelope('quote " back \\', 'null', 5, {})],
    ['a brace inside a string message', '{"v":1,"id":"x","publishedAt":1,"message":{"a":"}"}}'],
    ['space after the colon', '{"v":1,"id":"x","publishedAt":0,"message": 7 }'],
    ['a key after the message', '{"v":1,"id":"x","publishedAt":1,"message":1,"maxRetries":2}'],
    ['the message given twice (the last wins)', '{"v":1,"id":"x","publishedAt":1,"message":1,"message":2}'],
  ])('decodes %s', (_what, body) => {
    expect(decodeEnvelope(body)).toEqual(JSON.parse(body));
  });

  it.each([
    ['a stray brace at the end', '{"v":1,"id":"x","publishedAt":1,"message":1}}'],
    ['a bad key after the message', '{"v":1,"id":"x","publishedAt":1,"message":{"a":1},"timeout":0}'],
    ['a leading zero in publishedAt', '{"v":1,"id":"x","publishedAt":01,"message":1}'],
    ['a raw control character in the id', `{"v":1,"id":"a${TAB}b","publishedAt":1,"message":1}`],
    ['an unterminated message', '{"v":1,"id":"x","publishedAt":1,"message":"}'],
    ['an empty id', '{"v":1,"id":"","publishedAt":1,"message":1}'],
  ])('refuses %s with MALFORMED_MESSAGE', (_what, body) => {
    expect(() => decodeEnvelope(body)).toThrow(expect.objectContaining({ code: ErrorCodes.MALFORMED_MESSAGE }));
  });
});

describe('envelopeId: the id read from the head, or undefined', () => {
  it.each([
    ['a generated id', encodeEnvelope('4f1c-9a', '{"i":1}', 1, {}), '4f1c-9a'],
    [
      'an envelope with a policy and a trace',
      encodeEnvelope('j:1', '1', 1, { maxRetries: 2 }, { traceparent: 't' }),
      'j:1',
    ],
    ['an id that needs escapes', encodeEnvelope('quote " back', 'null', 5, {}), undefined],
    ['an empty id', '{"v":1,"id":"","publishedAt":1,"message":1}', undefined],
    ['another version', '{"v":2,"id":"x","publishedAt":1,"message":1}', undefined],
    ['a body that is no envelope', 'not json', undefined],
  ])('reads %s', (_what, body, id) => {
    expect(envelopeId(body)).toBe(id);
    if (id !== undefined) expect(decodeEnvelope(body).id).toBe(id);
  });
});

describe('pub/sub decodeEnvelope: the head shortcut agrees with a full parse', () => {
  it.each([
    ['a compact node id', encodePubSub('#AAAAAAAAAAAAAAAAAAAAAA', '{"i":1}', 1_700_000_000_000)],
    ['an escaped node id', encodePubSub('app#"odd"', '"text"', 3)],
    ['a brace inside a string message', '{"v":1,"from":"n","publishedAt":1,"message":["}"]}'],
    ['the message given twice (the last wins)', '{"v":1,"from":"n","publishedAt":1,"message":1,"message":2}'],
  ])('decodes %s', (_what, body) => {
    expect(decodePubSub(body)).toEqual({ ok: true, envelope: JSON.parse(body) });
  });

  it.each([
    ['a stray brace at the end', '{"v":1,"from":"n","publishedAt":1,"message":1}}'],
    ['a leading zero in publishedAt', '{"v":1,"from":"n","publishedAt":01,"message":1}'],
    ['a raw control character in from', `{"v":1,"from":"a${TAB}b","publishedAt":1,"message":1}`],
    ['an empty from', '{"v":1,"from":"","publishedAt":1,"message":1}'],
  ])('refuses %s', (_what, body) => {
    expect(decodePubSub(body).ok).toBe(false);
  });
});
